"""The daemon's merge in a big story: one feed's poll into a database that already holds a story.

Usage: python bench/story_merge.py [--feeds 200] [--articles 50] [--on-topic 0.10] [--new 5] [--runs 5]

The daemon polls one feed per job, and merges that feed's new mentions in a write
transaction of their own. This bench builds a story first (--feeds generated feeds of
--articles articles, the stated share about the story, ingested with Tracker.poll; the
defaults store about 7,000 mentions), then polls one more feed, on its own as the daemon
does, whose --new articles are all about the story. Baseline, in the same run: the same
one-feed poll into a fresh database with no story. Printed per run and as medians: the
poll's wall time; the time spent inside write transactions (the write lock: storing the
entries, then applying their mentions) and its share of the poll (the lock share); the
time apply_mentions took (under the lock) and the time plan_mentions took (the merge
planned in a read transaction, outside the lock; absent on checkouts that plan under the
lock, where apply_mentions does it all); how many stored mentions it merged again (the
region: tracker/store/merging.py).
Each run copies the built database, so every measured poll starts from the same state.
"""

from __future__ import annotations

import argparse
import cProfile
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from _newsgen import TOPICS, feed_document, write_feeds  # noqa: E402
from tracker.app import make_tracker  # noqa: E402
from tracker.config import Config, FeedConfig  # noqa: E402
from tracker.store import Store  # noqa: E402
from tracker.store import merging  # noqa: E402
from tracker.store.models import Mention  # noqa: E402

EXTRA = "extra"


def config(folder: Path, db: Path, story: list[Path], extra: Path) -> Config:
    feeds = tuple(
        FeedConfig(name=f"f{i:04d}", url=str(p), interval=timedelta(minutes=30), timeout=timedelta(seconds=20))
        for i, p in enumerate(story)
    ) + (FeedConfig(name=EXTRA, url=str(extra), interval=timedelta(minutes=30), timeout=timedelta(seconds=20)),)
    return Config(path=folder / "feeds.yaml", database_url=f"sqlite:///{db}", feeds=feeds, topics=TOPICS)


@dataclass
class Poll:
    seconds: float
    locked: float  # inside write transactions
    applying: float  # inside apply_mentions
    planning: float  # inside plan_mentions (outside the write lock)
    region: int  # stored mentions merged again
    line: str


def _timed(fn, spent: list[float]):  # type: ignore[no-untyped-def]
    """fn, adding the seconds each call takes to `spent`."""

    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    return timed


def one_feed_poll(cfg: Config) -> Poll:
    """Poll the extra feed alone, timing the write transactions and apply_mentions."""
    locked: list[float] = []
    applying: list[float] = []
    planning: list[float] = []
    regions: list[int] = []
    write, apply = Store.write, merging.apply_mentions
    plan = getattr(merging, "plan_mentions", None)
    # The region merged again; code from before incremental merging merged a neighbourhood
    # with merge() (bench this way on an older checkout, for the figures before).
    region = getattr(merging, "_Region", None)
    settle = region.settle if region is not None else None
    whole = getattr(merging, "merge", None)

    @contextmanager
    def timed_write(self: Store) -> Iterator[Session]:
        started = time.perf_counter()
        try:
            with write(self) as session:
                yield session
        finally:
            locked.append(time.perf_counter() - started)

    timed_apply = _timed(apply, applying)
    timed_plan = _timed(plan, planning) if plan is not None else None

    def counted_settle(self):  # type: ignore[no-untyped-def]
        clusters = settle(self)
        regions.append(len(clusters.preps))
        return clusters

    def counted_merge(mentions):  # type: ignore[no-untyped-def]
        regions.append(len(mentions))
        return whole(mentions)

    Store.write = timed_write  # type: ignore[method-assign]
    merging.apply_mentions = timed_apply
    if region is not None:
        region.settle = counted_settle
    elif whole is not None:
        merging.merge = counted_merge
    if plan is not None:
        merging.plan_mentions = timed_plan
    # The merge step imported apply_mentions (and plan_mentions) by name.
    patched = [m for m in list(sys.modules.values()) if getattr(m, "apply_mentions", None) is apply and m is not merging]
    for module in patched:
        module.apply_mentions = timed_apply  # type: ignore[attr-defined]
        if plan is not None and getattr(module, "plan_mentions", None) is plan:
            module.plan_mentions = timed_plan  # type: ignore[attr-defined]
    tracker = make_tracker(cfg, processes=0)
    try:
        started = time.perf_counter()
        [result] = tracker.poll([EXTRA])
        elapsed = time.perf_counter() - started
    finally:
        tracker.close()
        Store.write = write  # type: ignore[method-assign]
        merging.apply_mentions = apply
        if plan is not None:
            merging.plan_mentions = plan
        if region is not None:
            region.settle = settle
        elif whole is not None:
            merging.merge = whole
        for module in patched:
            module.apply_mentions = apply  # type: ignore[attr-defined]
            if plan is not None and getattr(module, "plan_mentions", None) is timed_plan:
                module.plan_mentions = plan  # type: ignore[attr-defined]
    return Poll(elapsed, sum(locked), sum(applying), sum(planning), max(regions, default=0), result.line())


def stored_mentions(db: Path) -> int:
    store = Store(f"sqlite:///{db}")
    try:
        with store.read() as s:
            return int(s.scalar(select(func.count()).select_from(Mention)) or 0)
    finally:
        store.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--articles", type=int, default=50)
    ap.add_argument("--on-topic", type=float, default=0.10)
    ap.add_argument("--new", type=int, default=5, help="articles of the polled feed (all about the story)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profile", type=Path, metavar="FILE", help="cProfile the polls into the story (pstats to FILE; slower)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-storymerge-") as tmp_name:
        tmp = Path(tmp_name)
        story = write_feeds(tmp / "generated", args.feeds, args.articles, on_topic_share=args.on_topic)
        extra = tmp / "extra.xml"
        extra.write_bytes(feed_document(99_999, args.new, on_topic_share=1.0, seed=99))
        built = tmp / "story.db"
        tracker = make_tracker(config(tmp, built, story, extra))
        started = time.perf_counter()
        tracker.poll([f"f{i:04d}" for i in range(len(story))])
        tracker.close()
        print(f"story: {args.feeds} feeds x {args.articles} articles, {args.on_topic:.0%} about the story, "
              f"{stored_mentions(built):,} mentions stored, ingested in {time.perf_counter() - started:.1f} s")
        with_story: list[Poll] = []
        without: list[Poll] = []
        for run in range(args.runs):
            empty = tmp / f"empty{run}.db"
            base = one_feed_poll(config(tmp, empty, story, extra))
            without.append(base)
            copy = tmp / f"story{run}.db"
            shutil.copyfile(built, copy)
            wal = built.with_name(built.name + "-wal")
            if wal.exists():  # normally checkpointed away when the last connection closed
                shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
            profiler = cProfile.Profile() if args.profile else None
            if profiler is not None:
                profiler.enable()
            poll = one_feed_poll(config(tmp, copy, story, extra))
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
            with_story.append(poll)
            print(f"run {run + 1}: into the story {poll.seconds:.2f} s (write lock held {poll.locked:.2f} s, "
                  f"{poll.locked / poll.seconds:.0%}; apply_mentions {poll.applying:.2f} s, planned outside the lock "
                  f"{poll.planning:.2f} s, merged again "
                  f"{poll.region} mentions), into an empty database {base.seconds:.2f} s; {poll.line}", flush=True)

        def median(values: list[float]) -> float:
            return statistics.median(values)

        pipe, base_s = median([p.seconds for p in with_story]), median([p.seconds for p in without])
        locked = median([p.locked for p in with_story])
        print(f"median of {args.runs}: one-feed poll into the story {pipe:.2f} s "
              f"(runs {min(p.seconds for p in with_story):.2f}-{max(p.seconds for p in with_story):.2f} s), "
              f"into an empty database {base_s:.2f} s, ratio {pipe / base_s:.1f}x")
        share = median([p.locked / p.seconds for p in with_story])
        print(f"  write lock held {locked:.2f} s (lock share, median: {share:.0%} of the poll), "
              f"of which apply_mentions {median([p.applying for p in with_story]):.2f} s; "
              f"merge planned outside the lock {median([p.planning for p in with_story]):.2f} s; "
              f"merged again: {median([float(p.region) for p in with_story]):.0f} mentions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
