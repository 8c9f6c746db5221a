"""Poll every file under the given folders and compare what was stored with feedparser's count.

Usage: python bench/robustness.py ../shared/data/feeds/real ../shared/data/feeds/edge [--json OUT]

Each file becomes a local feed of a throwaway tracker database and is polled through the
whole pipeline (fetch under the size cap, parse, store, extract, merge). Per file it prints
entries stored, feedparser's own entry count on the same bytes, the status and the time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from datetime import timedelta
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.app import make_tracker  # noqa: E402
from tracker.config import Config, FeedConfig  # noqa: E402


def identical_duplicates(path: Path) -> int:
    """Entries that repeat another entry of the same document exactly (stored once)."""
    from datetime import datetime, timezone

    from tracker.errors import TrackerError
    from tracker.parse import parse_feed

    try:
        parsed = parse_feed(path.read_bytes(), {"content-type": "application/xml"}, now=datetime.now(timezone.utc))
    except TrackerError:
        return 0
    return parsed.raw_entry_count - len(parsed.entries)


def feedparser_count(path: Path) -> tuple[int, bool]:
    """Entries feedparser itself finds in the bytes, and whether it flagged the document."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = feedparser.parse(path.read_bytes())
    return len(result.entries), bool(result.bozo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--json", type=Path, help="also write per-file results here")
    args = ap.parse_args()

    files = sorted(
        p for d in args.dirs for p in d.rglob("*") if p.is_file() and p.suffix.lower() not in (".txt", ".md")
    )
    rows = []
    crashes = 0
    with tempfile.TemporaryDirectory() as tmp:
        feeds = tuple(
            FeedConfig(name=f"f{i:04d}", url=str(p.resolve()), interval=timedelta(minutes=30), timeout=timedelta(seconds=20))
            for i, p in enumerate(files)
        )
        config = Config(path=Path(tmp) / "feeds.yaml", database_url=f"sqlite:///{tmp}/bench.db", feeds=feeds)
        tracker = make_tracker(config)
        counts_before = {}
        for path, feed in zip(files, feeds, strict=True):
            expected, bozo = feedparser_count(path)
            dupes = identical_duplicates(path)
            started = time.perf_counter()
            try:
                result = tracker.poll([feed.name])[0]
                status, error = result.status, result.error or result.warning
            except Exception as exc:  # noqa: BLE001 - the point is to count these
                crashes += 1
                status, error = "CRASH", "".join(traceback.format_exception_only(exc)).strip()
            elapsed = time.perf_counter() - started
            counts_before[feed.name] = (path, expected, dupes, bozo, status, error, elapsed)
        stored = tracker.store.entry_counts()
        ids = {f.name: tracker.store.feed_state(f.name).id for f in feeds}
        tracker.close()

    for name, (path, expected, dupes, bozo, status, error, elapsed) in counts_before.items():
        got = stored.get(ids[name], 0)
        rows.append(
            {"file": str(path), "stored": got, "feedparser": expected, "duplicates": dupes, "bozo": bozo, "status": status,
             "error": error, "seconds": round(elapsed, 4)}
        )

    width = max(len(Path(r["file"]).name) for r in rows) if rows else 10
    print(f"{'file':<{width}}  stored   fp  dup  status        time(s)  note")
    for r in rows:
        mark = "" if r["stored"] + r["duplicates"] == r["feedparser"] or r["status"] == "error" else "  MISMATCH"
        note = (r["error"] or "")[:70]
        print(f"{Path(r['file']).name:<{width}}  {r['stored']:>6}  {r['feedparser']:>3}  {r['duplicates']:>3}  {r['status']:<12}  {r['seconds']:>7.3f}  {note}{mark}")

    parsed = [r for r in rows if r["status"] == "ok"]
    equal = [r for r in parsed if r["stored"] == r["feedparser"]]
    explained = [r for r in parsed if r["stored"] + r["duplicates"] == r["feedparser"]]
    errors = [r for r in rows if r["status"] == "error"]
    lost = [r for r in errors if r["feedparser"] > 0]
    times = [r["seconds"] for r in rows]
    print()
    print(f"files: {len(rows)}  processed: {len(rows) - crashes}  crashes (tracebacks): {crashes}")
    print(f"parsed ok: {len(parsed)}  stored == feedparser count: {len(equal)}/{len(parsed)}; "
          f"stored + identical duplicates == feedparser count: {len(explained)}/{len(parsed)}")
    print(f"errors: {len(errors)} (of which feedparser found entries in {len(lost)})")
    print(f"entries stored: {sum(r['stored'] for r in rows)}  feedparser entries: {sum(r['feedparser'] for r in rows)}")
    if times:
        print(f"time per file: median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms, total {sum(times):.2f} s")
    for r in lost:
        print(f"  error with entries: {Path(r['file']).name}: {r['error']}")
    for r in parsed:
        if r["stored"] != r["feedparser"]:
            print(f"  differs: {Path(r['file']).name}: stored {r['stored']}, feedparser {r['feedparser']}, "
                  f"identical duplicates in the document {r['duplicates']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
