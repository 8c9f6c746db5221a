"""Same behaviour before and after a change: the stored timeline of one revision against the working tree.

Usage: python bench/same_timeline.py [--ref REV] [--data ../shared/data] [--topics haiti,mj | all] [--no-real]

For a restructuring or a speed-up that must not change results. The revision REV (default
HEAD) is checked out in a temporary git worktree; each side polls the same inputs (its own
code first on PYTHONPATH) into a new SQLite database, one feed at a time in config order
so that both sides store the same entry ids (`--concurrent`: the real `tracker poll`),
then prints `tracker timeline --format json`. Inputs: the 130 real feeds under
data/feeds/real (read in place) with broad news topics, so that most of them yield events,
and the Timeline17 topics as feeds (bench/_t17.py). The two timelines are compared whole,
mentions and scores included, with only `first_seen` and `updated` left out (they are the
wall clock of each run). Prints events per input, identical or not, and the first
differences; exits 1 when any input differs. Wall times of both sides are printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _t17 import TOPICS, feeds_yaml, load_articles, load_keywords, rss_document, topic_folders  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"
# Broad topics for the real feeds, which are about everything: what matters here is that
# many articles yield events, not that they form a story.
REAL_TOPICS = {
    "politics": ["government", "election*", "president", "minister", "parliament", "senate"],
    "business": ["company", "companies", "market*", "shares", "revenue", "startup*"],
    "tech": ["software", "Apple", "Google", "Microsoft", "release*", "launch*", "AI"],
    "public": ["police", "court", "school*", "hospital*", "city", "council"],
}
VOLATILE = ("first_seen", "updated")
# One feed at a time, in config order, in one process: entry ids, merge order and so event
# ids are the same on every run. `tracker poll` polls feeds in threads and merges as they
# finish, so which entry gets which id, and the order of an event's mentions, vary from
# run to run (and, where merging depends on arrival order, an event or two).
SERIAL_POLL = """
import sys
from pathlib import Path
from tracker.app import make_tracker
from tracker.config import load_config
config = load_config(Path(sys.argv[1]))
with make_tracker(config, processes=0) as tracker:
    for feed in config.feeds:
        tracker.poll([feed.name])
"""


def write_real(data: Path, folder: Path) -> Path:
    real = data / "feeds" / "real"
    feeds = sorted(p for p in real.rglob("*") if p.is_file() and p.suffix.lower() not in (".txt", ".md"))
    lines = [
        "database: sqlite:///tracker.db",
        "defaults: {interval: 1d, timeout: 120s, full_text: never}",
        "topics:",
    ]
    for name, words in REAL_TOPICS.items():
        lines.append(f"  {name}: {{keywords: {json.dumps(words)}}}")
    lines.append("feeds:")
    for i, path in enumerate(feeds):
        lines += [f"  - name: real{i:03d}", f"    url: {json.dumps(str(path))}"]
    if not feeds:
        raise SystemExit(f"same_timeline: no feeds under {real}")
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "feeds.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def write_t17(data: Path, topic: str, folder: Path) -> Path:
    t17 = data / "t17"
    folder.mkdir(parents=True, exist_ok=True)
    feeds: dict[str, str] = {}
    for outlet in topic_folders(t17, topic):
        articles = [a for a in load_articles(outlet) if a.sentences]
        path = folder / f"{outlet.name}.xml"
        path.write_bytes(rss_document(outlet.name, articles))
        feeds[outlet.name] = path.name
    text = feeds_yaml(topic, load_keywords(t17, topic), feeds)
    config = folder / "feeds.yaml"
    # Full text stays off: the links lead nowhere, and only the feed's text is compared.
    config.write_text(text.replace("defaults: {", "defaults: {full_text: never, ", 1), encoding="utf-8")
    return config


def run_side(code: Path, config: Path, serial: bool) -> tuple[list[dict[str, Any]], float]:
    env = dict(os.environ)
    env.pop("TRACKER_DATABASE_URL", None)
    env.pop("TRACKER_CONFIG", None)
    env["PYTHONPATH"] = str(code)
    cmd = [sys.executable, "-m", "tracker", "--config", str(config)]
    started = time.monotonic()
    if serial:
        poll = subprocess.run([sys.executable, "-c", SERIAL_POLL, str(config)], cwd=code, env=env, capture_output=True, text=True)
    else:
        poll = subprocess.run([*cmd, "poll", "-q"], cwd=code, env=env, capture_output=True, text=True)
    took = time.monotonic() - started
    if poll.returncode not in (0, 1):
        raise SystemExit(f"same_timeline: poll failed in {code}: {poll.stderr.strip()[-500:]}")
    out = subprocess.run([*cmd, "timeline", "--format", "json"], cwd=code, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"same_timeline: timeline failed in {code}: {out.stderr.strip()[-500:]}")
    events = json.loads(out.stdout)
    for e in events:
        for key in VOLATILE:
            e.pop(key, None)
    return events, took


def differences(a: list[dict[str, Any]], b: list[dict[str, Any]], most: int = 5) -> list[str]:
    out = []
    if len(a) != len(b):
        out.append(f"{len(a)} events before, {len(b)} after")
    by_id_a = {e["id"]: e for e in a}
    by_id_b = {e["id"]: e for e in b}
    for eid in sorted(set(by_id_a) ^ set(by_id_b))[:most]:
        side = "only before" if eid in by_id_a else "only after"
        e = by_id_a.get(eid) or by_id_b[eid]
        out.append(f"{side}: {eid} {e.get('date')} {str(e.get('summary'))[:80]!r}")
    for eid in sorted(set(by_id_a) & set(by_id_b)):
        if by_id_a[eid] != by_id_b[eid] and len(out) < 2 * most:
            keys = sorted(k for k in by_id_a[eid] if by_id_a[eid].get(k) != by_id_b[eid].get(k))
            out.append(f"changed: {eid} in {', '.join(keys)}")
    if not out and a != b:
        out.append("same events, different order")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", default="HEAD", help="the revision to compare the working tree with (default HEAD)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--topics", default="haiti,mj", help=f"Timeline17 topics, comma-separated, or all ({', '.join(TOPICS)})")
    ap.add_argument("--no-real", action="store_true", help="leave out the 130 real feeds")
    ap.add_argument("--concurrent", action="store_true",
                    help="poll with `tracker poll` (feeds in threads) instead of one feed at a time; results then vary run to run")
    args = ap.parse_args(argv)
    topics = list(TOPICS) if args.topics == "all" else [t for t in args.topics.split(",") if t]
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        ap.error(f"unknown topics {unknown}")

    tmp = Path(tempfile.mkdtemp(prefix="same-timeline-"))
    base = tmp / "base"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), args.ref], check=True)
    failed = False
    try:
        inputs: list[tuple[str, Path]] = []
        if not args.no_real:
            inputs.append(("real feeds", write_real(args.data, tmp / "in" / "real")))
        inputs += [(f"t17 {t}", write_t17(args.data, t, tmp / "in" / t)) for t in topics]
        print(f"stored timeline of {args.ref} (before) against the working tree (after); first_seen and updated left out")
        print(f"{'input':<14} {'events':>7} {'before s':>9} {'after s':>9}  result")
        for label, config in inputs:
            results = []
            for side, code in (("before", base), ("after", ROOT)):
                folder = tmp / side / config.parent.name
                shutil.copytree(config.parent, folder)
                results.append(run_side(code, folder / "feeds.yaml", not args.concurrent))
            (before, t_before), (after, t_after) = results
            diff = differences(before, after)
            failed = failed or bool(diff)
            print(f"{label:<14} {len(after):>7} {t_before:>9.1f} {t_after:>9.1f}  {'identical' if not diff else 'DIFFERENT'}")
            for line in diff:
                print(f"    {line}")
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
