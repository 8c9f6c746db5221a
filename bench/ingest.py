"""Ingest speed: the whole poll pipeline against a bare feedparser.parse loop over the same bytes.

Usage: python bench/ingest.py [REAL_DIR] [--feeds 200] [--articles 50] [--on-topic 0.03] [--runs 5] [--profile OUT]
       [--no-pool] [--no-prefilter] [--real-only]

The documents are the real feeds under REAL_DIR (default ../shared/data/feeds/real, read in
place, never copied) plus generated news feeds (bench/_newsgen.py, deterministic, written
to a temporary folder): realistic paragraphs with relative dates and topic words, so the
tagger and the merging do real work. Each pipeline run polls every document as a local
feed into a fresh SQLite database with the story's topics configured (fetch, parse,
extract, match, merge, store); each baseline run is `feedparser.parse(bytes)` over the
same documents, already in memory. Runs alternate so load on the machine hits both alike;
the figures are medians and the ratio is pipeline / baseline.

`--real-only` polls the real feeds alone (the same as `--feeds 0`): real documents carry
more markup, links and odd encodings than generated ones, so parsing dominates.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
# The worker processes come from a fork server that imports tracker before it would read
# our sys.path (Python 3.11 ignores it there): on PYTHONPATH, they run this checkout's code
# too, not whichever tracker is installed (a bench copied into another checkout measured
# that checkout's main process with this one's workers).
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

from _newsgen import TOPICS, write_feeds  # noqa: E402
from tracker.app import make_tracker  # noqa: E402
from tracker.config import Config, FeedConfig  # noqa: E402

DEFAULT_REAL = ROOT.parent / "shared" / "data" / "feeds" / "real"


def documents(real: Path, generated: Path, feeds: int, articles: int, on_topic: float) -> list[Path]:
    files = sorted(p for p in real.rglob("*") if p.is_file() and p.suffix.lower() not in (".txt", ".md"))
    return files + write_feeds(generated, feeds, articles, on_topic_share=on_topic)


def baseline(bodies: list[bytes]) -> float:
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for body in bodies:
            feedparser.parse(body)
    return time.perf_counter() - started


def pipeline(paths: list[Path], tmp: Path, run: int, options: dict[str, Any], profile: cProfile.Profile | None = None) -> tuple[float, dict[str, int]]:
    folder = tmp / f"run{run}"
    folder.mkdir()
    feeds = tuple(
        FeedConfig(name=f"f{i:04d}", url=str(p), interval=timedelta(minutes=30), timeout=timedelta(seconds=20),
                   full_text="never")  # feed ingest alone: bench/fulltext.py measures pages
        for i, p in enumerate(paths)
    )
    config = Config(path=folder / "feeds.yaml", database_url=f"sqlite:///{folder}/bench.db", feeds=feeds, topics=TOPICS)
    tracker = make_tracker(config, **options)
    try:
        gc.collect()
        started = time.perf_counter()
        if profile is None:
            results = tracker.poll()
        else:
            # cProfile sees only its own thread: the profiled run polls the feeds one by
            # one in this thread (pool work, if any, happens in other processes).
            from tracker import poll

            # One merge at the end, as Tracker.poll does; also runs on older code (merging in
            # Tracker, or once per feed before the MergeBatch).
            try:
                from tracker.merge_step import MergeBatch, merge_batch

                def merge(batch: Any, results: list[Any]) -> list[Any]:
                    return merge_batch(tracker, batch, results)
            except ImportError:
                MergeBatch = getattr(poll, "MergeBatch", None)  # noqa: N806

                def merge(batch: Any, results: list[Any]) -> list[Any]:
                    return tracker.merge_batch(batch, results)  # type: ignore[attr-defined, no-any-return]
            batch = MergeBatch() if MergeBatch is not None else None
            poll_feed = poll.poll_feed
            profile.enable()
            results = [
                poll_feed(tracker, feed, batch=batch, catch_up=False) if batch is not None else poll_feed(tracker, feed)
                for feed in feeds
            ]
            if batch is not None:
                results = merge(batch, results)
            profile.disable()
        elapsed = time.perf_counter() - started
    finally:
        tracker.close()
    summary = {
        "ok": sum(r.status == "ok" for r in results),
        "errors": sum(r.failed for r in results),
        "entries": sum(r.new + r.updated for r in results),
        "events changed": sum(r.events_changed for r in results),
    }
    return elapsed, summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("real", nargs="?", type=Path, default=DEFAULT_REAL)
    ap.add_argument("--feeds", type=int, default=200, help="generated feeds (default 200)")
    ap.add_argument("--articles", type=int, default=50, help="articles per generated feed (default 50)")
    ap.add_argument("--on-topic", type=float, default=0.03, help="share of generated articles about the story (default 0.03)")
    ap.add_argument("--runs", type=int, default=5, help="runs of each side (default 5)")
    ap.add_argument("--profile", type=Path, help="also profile one pipeline run (cProfile) and save it here")
    ap.add_argument("--no-pool", action="store_true", help="parse and extract in the polling threads")
    ap.add_argument("--no-prefilter", action="store_true", help="run the tagger on every new article")
    ap.add_argument("--real-only", action="store_true", help="the real feeds alone, no generated feeds (--feeds 0)")
    ap.add_argument("-v", action="store_true", help="log each poll's phases (polling vs the one merge)")
    args = ap.parse_args()
    if args.real_only:
        args.feeds = 0
    if args.v:
        logging.basicConfig(format="  %(message)s")
        logging.getLogger("tracker.app").setLevel(logging.DEBUG)

    options: dict[str, Any] = {}
    if args.no_pool:
        options["processes"] = 0
    if args.no_prefilter:
        options["prefilter"] = False

    with tempfile.TemporaryDirectory(prefix="tracker-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        paths = documents(args.real, tmp / "generated", args.feeds, args.articles, args.on_topic)
        bodies = [p.read_bytes() for p in paths]
        size = sum(len(b) for b in bodies)
        generated = (f"{args.feeds} generated x {args.articles} articles, {args.on_topic:.0%} about the story"
                     if args.feeds else "no generated feeds")
        print(f"documents: {len(paths)} ({len(paths) - args.feeds} real from {args.real}, {generated}), "
              f"{size / 2**20:.1f} MiB; options: {options or 'defaults'}")
        base_times: list[float] = []
        pipe_times: list[float] = []
        summary: dict[str, int] = {}
        for run in range(args.runs):
            base_times.append(baseline(bodies))
            elapsed, summary = pipeline(paths, tmp, run, options)
            pipe_times.append(elapsed)
            print(f"run {run + 1}: feedparser loop {base_times[-1]:.2f} s, pipeline {elapsed:.2f} s "
                  f"(ratio {elapsed / base_times[-1]:.2f}x)", flush=True)
        print(f"pipeline result: {summary}")
        base, pipe = statistics.median(base_times), statistics.median(pipe_times)
        print(f"median of {args.runs}: feedparser loop {base:.2f} s, pipeline {pipe:.2f} s, "
              f"ratio {pipe / base:.2f}x (target <= 1.5x, aim <= 1.0x)")

        if args.profile:
            profile = cProfile.Profile()
            pipeline(paths, tmp, args.runs, options, profile)
            profile.dump_stats(str(args.profile))
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            stats.sort_stats("tottime").print_stats(15)
            stats.sort_stats("cumulative").print_stats(30)
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
