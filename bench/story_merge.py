"""The daemon's merge in a big story: one feed's poll into a database that already holds a story.

Usage: python bench/story_merge.py [--feeds 200] [--articles 50] [--on-topic 0.10] [--runs 3]

The daemon polls one feed per job, and merges that feed's new mentions inside the feed's
write transaction: every stored mention overlapping a new one (sharing a topic) is merged
again, with all mentions of the events they belong to. This bench builds a story first
(--feeds generated feeds of --articles articles, the stated share about the story,
ingested with Tracker.poll), then polls one more feed, on its own as the daemon does,
whose 5 articles are all about the story. Baseline, in the same run: the same one-feed
poll into a fresh database with no story. Printed: the neighbourhood the merge saw, the
medians, and the ratio (the time a big story adds to a poll that holds the write lock).
Each run copies the built database, so every measured poll starts from the same state.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _newsgen import TOPICS, feed_document, write_feeds  # noqa: E402
from tracker.app import make_tracker  # noqa: E402
from tracker.config import Config, FeedConfig  # noqa: E402

EXTRA = "extra"


def config(folder: Path, db: Path, story: list[Path], extra: Path) -> Config:
    feeds = tuple(
        FeedConfig(name=f"f{i:04d}", url=str(p), interval=timedelta(minutes=30), timeout=timedelta(seconds=20))
        for i, p in enumerate(story)
    ) + (FeedConfig(name=EXTRA, url=str(extra), interval=timedelta(minutes=30), timeout=timedelta(seconds=20)),)
    return Config(path=folder / "feeds.yaml", database_url=f"sqlite:///{db}", feeds=feeds, topics=TOPICS)


def one_feed_poll(cfg: Config) -> tuple[float, int, str]:
    """Poll the extra feed alone; seconds, the largest neighbourhood merged, the poll's line."""
    merging = importlib.import_module("tracker.store.merging")
    sizes: list[int] = []
    merge = merging.merge

    def counted(mentions):  # type: ignore[no-untyped-def]
        sizes.append(len(mentions))
        return merge(mentions)

    merging.merge = counted
    tracker = make_tracker(cfg, processes=0)
    try:
        started = time.perf_counter()
        [result] = tracker.poll([EXTRA])
        elapsed = time.perf_counter() - started
    finally:
        tracker.close()
        merging.merge = merge
    return elapsed, max(sizes, default=0), result.line()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--articles", type=int, default=50)
    ap.add_argument("--on-topic", type=float, default=0.10)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-storymerge-") as tmp_name:
        tmp = Path(tmp_name)
        story = write_feeds(tmp / "generated", args.feeds, args.articles, on_topic_share=args.on_topic)
        extra = tmp / "extra.xml"
        extra.write_bytes(feed_document(99_999, 5, on_topic_share=1.0, seed=99))
        built = tmp / "story.db"
        tracker = make_tracker(config(tmp, built, story, extra))
        started = time.perf_counter()
        tracker.poll([f"f{i:04d}" for i in range(len(story))])
        tracker.close()
        print(f"story: {args.feeds} feeds x {args.articles} articles, {args.on_topic:.0%} about the story, "
              f"ingested in {time.perf_counter() - started:.1f} s")
        with_story: list[float] = []
        without: list[float] = []
        for run in range(args.runs):
            empty = tmp / f"empty{run}.db"
            base, _, _ = one_feed_poll(config(tmp, empty, story, extra))
            without.append(base)
            copy = tmp / f"story{run}.db"
            shutil.copyfile(built, copy)
            wal = built.with_name(built.name + "-wal")
            if wal.exists():  # normally checkpointed away when the last connection closed
                shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
            elapsed, size, line = one_feed_poll(config(tmp, copy, story, extra))
            with_story.append(elapsed)
            print(f"run {run + 1}: into the story {elapsed:.2f} s (merged a neighbourhood of {size} mentions), "
                  f"into an empty database {base:.2f} s; {line}", flush=True)
        pipe, base = statistics.median(with_story), statistics.median(without)
        print(f"median of {args.runs}: one-feed poll into the story {pipe:.2f} s, into an empty database "
              f"{base:.2f} s, ratio {pipe / base:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
