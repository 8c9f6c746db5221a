"""The factory that wires config, clock, HTTP client and store into one Tracker."""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tracker.clock import Clock, system_clock, to_aware_utc
from tracker.config import Config, FeedConfig, Topic
from tracker.errors import StoreError
from tracker.fetch import Fetcher
from tracker.events import EventMention, TopicMatcher, find_mentions
from tracker.events.topics import fold, keyword_pattern
from tracker.store import Entry, Store, in_chunks, load_entries
from tracker.store.merging import apply_mentions
from tracker.store.models import Mention

log = logging.getLogger(__name__)

# Polls are I/O bound; more threads than this mostly queue on the SQLite write lock.
MAX_CONCURRENT_POLLS = 64
# Parsing and extraction move to worker processes only for a poll of at least this many
# feeds: starting the workers costs about a second, one or two documents never repay it.
POOL_MIN_FEEDS = 8
# A poll that reports results as they become final merges while feeds are still polling;
# after a merge that took t seconds the next waits max(MERGE_MIN_GAP_S, MERGE_PACE * t),
# so repeated merges take at most about a quarter of the time.
MERGE_PACE = 3.0
MERGE_MIN_GAP_S = 0.2


class TopicPrefilter:
    """A cheap test that an article cannot yield a mention, so the tagger can skip it.

    With topics configured, find_mentions keeps a sentence only when a keyword of an
    allowed topic occurs in it, its neighbours or the title, and sentences are slices of
    the text: no keyword anywhere in title and text means no mention. The patterns are the
    matcher's keyword patterns without their word-boundary lookarounds and word endings,
    run on the same folded text, so they match wherever the matcher's patterns match in
    any slice of the text.
    """

    def __init__(self, topics: Mapping[str, Topic]) -> None:
        self._active = bool(topics)
        self._patterns: dict[str, re.Pattern[str]] = {
            name: re.compile("|".join(f"(?:{_loose(k)})" for k in topic.keywords))
            for name, topic in topics.items()
            if topic.keywords
        }
        # One pass over the text for the usual case, a feed allowed every topic.
        self._any = re.compile("|".join(f"(?:{p.pattern})" for p in self._patterns.values())) if self._patterns else None

    def could_mention(self, title: str, text: str, feed_topics: Collection[str] | None) -> bool:
        """False only when find_mentions is certain to return nothing for this article."""
        if not self._active:
            # Without topics every dated sentence is a mention.
            return True
        folded_title, folded_text = fold(title), fold(text)
        if feed_topics is None:
            return self._any is not None and bool(self._any.search(folded_title) or self._any.search(folded_text))
        names = self._patterns.keys() & set(feed_topics)
        return any(self._patterns[n].search(folded_title) or self._patterns[n].search(folded_text) for n in names)


def _loose(keyword: str) -> str:
    # Only ever loosens the pattern: the boundary lookarounds and a trailing-* word ending
    # (which can match nothing) go, nothing else is touched.
    pattern = keyword_pattern(keyword).removeprefix(_NOT_AFTER_WORD)
    return pattern.removesuffix(_NOT_BEFORE_WORD).removesuffix(_ANY_ENDING)


_NOT_AFTER_WORD = r"(?<![^\W_])"
_NOT_BEFORE_WORD = r"(?![^\W_])"
_ANY_ENDING = r"[^\W_]*"


@dataclass
class MergeOutcome:
    """What merging stored entries did for each feed: events changed, or why it failed."""

    changed: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def update(self, other: MergeOutcome) -> None:
        for name, count in other.changed.items():
            self.changed[name] = self.changed.get(name, 0) + count
        self.failed.update(other.failed)

    def settle(self, result: PollResult) -> PollResult:
        """The result with its feed's share of the merge."""
        if result.status != "ok":
            return result
        if result.feed in self.failed:
            note = f"events not merged: {self.failed[result.feed]}"
            return replace(result, warning="; ".join(filter(None, [result.warning, note])))
        return replace(result, events_changed=self.changed.get(result.feed, 0))


def extract_mentions(
    matcher: TopicMatcher, feed: FeedConfig, title: str, text: str, published: datetime
) -> list[EventMention]:
    """The event mentions of one article (pure); shared by the poller's worker processes."""
    return find_mentions(title=title, text=text, published=published, matcher=matcher, feed_topics=feed.topics)


class Tracker:
    """Everything a command needs, built once; tests build it with their own clock and client."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock,
        store: Store,
        fetcher: Fetcher,
        processes: int | None = None,
        prefilter: bool = True,
        sync: bool = True,
    ) -> None:
        """`processes`: worker processes for parsing and extraction in a poll of many feeds
        (None: one per core when there are two or more; 0: never). `prefilter`: skip the
        tagger for articles that name no topic keyword (results are the same either way).
        `sync`: record the configured feeds in the store now (not for read-only use)."""
        self.config = config
        self.clock = clock
        self.store = store
        self.fetcher = fetcher
        self.matcher = TopicMatcher(config.topics)
        self.use_prefilter = prefilter
        self.prefilter = TopicPrefilter(config.topics)
        cores = os.cpu_count() or 1
        self.processes = processes if processes is not None else (cores if cores >= 2 else 0)
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        if sync:
            self.store.sync_feeds(config.feeds, clock())

    def close(self) -> None:
        self.close_pool()
        self.fetcher.close()
        self.store.close()

    def process_pool(self) -> Executor | None:
        """The worker processes, started on first use; None when the tracker has none."""
        if self.processes <= 0:
            return None
        with self._pool_lock:
            if self._pool is None:
                # Never fork a process that runs threads (the daemon, the poll threads):
                # the forkserver starts workers from a clean single-threaded process.
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(["tracker.poll"])
                self._pool = ProcessPoolExecutor(max_workers=self.processes, mp_context=context)
            return self._pool

    def close_pool(self) -> None:
        """Stop the worker processes (if started); a later poll starts them again."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def feeds(self, names: Sequence[str] = ()) -> list[FeedConfig]:
        """The configured feeds, or the named ones, each once (unknown names are a ConfigError)."""
        if not names:
            return list(self.config.feeds)
        return [self.config.feed(n) for n in dict.fromkeys(names)]

    def poll(
        self,
        names: Sequence[str] = (),
        *,
        workers: int = MAX_CONCURRENT_POLLS,
        on_result: Callable[[PollResult], None] | None = None,
    ) -> list[PollResult]:
        """Poll the feeds now, concurrently; results in configuration order.

        `on_result` is called in this thread with each feed's final result (its events
        merged) as soon as it is, in the order feeds finish.
        """
        from tracker.poll import poll_feed

        feeds = self.feeds(names)
        if not feeds:
            return []
        if len(feeds) == 1:
            result = poll_feed(self, feeds[0])
            if on_result is not None:
                on_result(result)
            return [result]
        processes = self.process_pool() if len(feeds) >= POOL_MIN_FEEDS else None
        # Merging re-reads every stored mention near the new ones, so it is done once for
        # the whole poll instead of once per feed; entries are still stored per feed.
        batch = MergeBatch()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(feeds))), thread_name_prefix="poll") as threads:
            futures = [threads.submit(poll_feed, self, f, processes=processes, batch=batch) for f in feeds]
            if on_result is not None:
                results = self._report_as_final(futures, batch, on_result)
                log.debug("polled and merged %d feeds in %.2fs", len(feeds), time.monotonic() - started)
                return results
            results = [f.result() for f in futures]
        polled = time.monotonic()
        results = self.merge_batch(batch, results)
        log.debug("polled %d feeds in %.2fs, merged in %.2fs", len(feeds), polled - started, time.monotonic() - polled)
        return results

    def _report_as_final(
        self, futures: list[Future[PollResult]], batch: MergeBatch, on_result: Callable[[PollResult], None]
    ) -> list[PollResult]:
        """Merge while feeds are still polling, so each result can be reported when final.

        A result with entries still to merge is held until the next merge, which takes
        everything stored by then. Merges are paced (MERGE_PACE) so that repeating the
        merge costs a bounded share of the poll; without a listener poll() merges once.
        """
        index = {f: i for i, f in enumerate(futures)}
        final: list[PollResult | None] = [None] * len(futures)
        outcome = MergeOutcome()
        held: list[tuple[int, PollResult]] = []
        running = set(futures)
        next_merge = time.monotonic()

        def report(i: int, result: PollResult) -> None:
            final[i] = settled = outcome.settle(result)
            on_result(settled)

        while running or held:
            if running:
                timeout = max(0.0, next_merge - time.monotonic()) if held else None
                done, running = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=index.__getitem__):
                    result = future.result()
                    if batch.holds(result.feed):
                        held.append((index[future], result))
                    else:
                        # Nothing to merge, or merged already (taken while it was finishing).
                        report(index[future], result)
            if held and (not running or time.monotonic() >= next_merge):
                merge_started = time.monotonic()
                outcome.update(self.merge_pending(batch.take()))
                took = time.monotonic() - merge_started
                next_merge = time.monotonic() + max(MERGE_MIN_GAP_S, MERGE_PACE * took)
                for i, result in held:
                    report(i, result)
                held = []
        return [r for r in final if r is not None]

    def after_entries(
        self,
        session: Session,
        feed: FeedConfig,
        entries: Sequence[Entry],
        now: datetime,
        extracted: Mapping[str, Extracted] | None = None,
    ) -> int:
        """Called inside a poll's transaction with the new and changed entries; returns events changed.

        `extracted` holds mentions found before the transaction, by entry key; they are
        used when the entry's content hash still matches, else the entry is extracted here.
        """
        updates = self.entry_mentions(feed, entries, extracted)
        return apply_mentions(session, updates, now).changed if updates else 0

    def entry_mentions(
        self, feed: FeedConfig, entries: Sequence[Entry], extracted: Mapping[str, Extracted] | None = None
    ) -> list[tuple[Entry, list[EventMention]]]:
        """Each entry with its mentions; entries whose extraction failed are left out (logged)."""
        out = []
        for entry in entries:
            ready = extracted.get(entry.key) if extracted else None
            if ready is not None and ready.content_hash == entry.content_hash:
                if ready.error is not None:
                    log.error("%s: event extraction failed for %s: %s", feed.name, entry.link or entry.key, ready.error)
                    continue
                out.append((entry, list(ready.mentions)))
                continue
            try:
                mentions = self.screened_mentions(feed, entry.title, entry.text, to_aware_utc(entry.published))
            except Exception:
                # A bug in extraction must not cost the entry itself: it is stored and
                # stays marked for extraction, so a later run can retry it.
                log.exception("%s: event extraction failed for %s", feed.name, entry.link or entry.key)
                continue
            out.append((entry, mentions))
        return out

    def screened_mentions(self, feed: FeedConfig, title: str, text: str, published: datetime) -> list[EventMention]:
        """mentions_of, skipping the tagger for articles the topic prefilter rules out."""
        if self.use_prefilter and not self.prefilter.could_mention(title, text, feed.topics):
            return []
        return self.mentions_of(feed, title, text, published)

    def merge_batch(self, batch: MergeBatch, results: list[PollResult]) -> list[PollResult]:
        """Merge the mentions of a whole poll in one transaction; counts go to each feed's result.

        The entries were stored (marked for extraction) in their feeds' own transactions,
        so a failure here loses no entry: `tracker reprocess --pending` finishes the job.
        """
        pending = batch.take()
        if not pending:
            return results
        outcome = self.merge_pending(pending)
        return [outcome.settle(r) for r in results]

    def merge_pending(self, pending: Sequence[PendingMerge]) -> MergeOutcome:
        """Merge the mentions of these stored entries in one transaction (see merge_batch)."""
        if not pending:
            return MergeOutcome()
        now = self.clock()
        try:
            with self.store.write() as s:
                ids = [p.entry_id for p in pending]
                current: dict[int, str] = {}
                had_mentions: set[int] = set()
                for chunk in in_chunks(ids):
                    current.update(
                        {i: h for i, h in s.execute(select(Entry.id, Entry.content_hash).where(Entry.id.in_(chunk)))}
                    )
                    had_mentions.update(s.scalars(select(Mention.entry_id).where(Mention.entry_id.in_(chunk)).distinct()))
                # Edited again by another poll meanwhile: that poll extracts it.
                live = [p for p in pending if current.get(p.entry_id) == p.content_hash]
                # Most articles yield no mention and had none: they are only marked done,
                # without loading them (a cold poll of many feeds would load every article).
                quiet = {
                    p.entry_id for p in live
                    if p.extracted is not None and p.extracted.error is None and not p.extracted.mentions
                    and p.entry_id not in had_mentions
                }
                for chunk in in_chunks(sorted(quiet)):
                    s.execute(update(Entry).where(Entry.id.in_(chunk)).values(needs_extraction=False))
                rest = [p for p in live if p.entry_id not in quiet]
                rows = load_entries(s, (p.entry_id for p in rest))
                updates = []
                feed_of: dict[int, str] = {}
                for p in rest:
                    row = rows[p.entry_id]
                    feed_of[row.id] = p.feed.name
                    updates.extend(self.entry_mentions(p.feed, [row], {row.key: p.extracted} if p.extracted else None))
                stats = apply_mentions(s, updates, now) if updates else None
                per_feed: dict[str, int] = {}
                if stats is not None and stats.changed:
                    # An event counts for every feed with a new or updated article in it.
                    for chunk in in_chunks(list(feed_of)):
                        for entry_id, events in s.execute(
                            select(Mention.entry_id, func.count(func.distinct(Mention.event_pk)))
                            .where(Mention.entry_id.in_(chunk))
                            .group_by(Mention.entry_id)
                        ):
                            name = feed_of[entry_id]
                            per_feed[name] = per_feed.get(name, 0) + events
        except Exception as exc:
            # The entries are stored whatever happens here; a bug in merging must not
            # cost the poll its report (the entries stay marked for extraction).
            if isinstance(exc, StoreError):
                log.error("could not merge the new articles into events: %s (tracker reprocess --pending retries)", exc)
            else:
                log.exception("merging the new articles into events failed (tracker reprocess --pending retries)")
            return MergeOutcome(failed={p.feed.name: str(exc) for p in pending})
        return MergeOutcome(changed=per_feed)

    def after_poll(self, results: list[PollResult]) -> None:
        """The daemon calls this after polls that changed events: the digest step.

        Sends a digest when developments are pending and min_interval (or a pending
        digest's retry backoff) allows; delivery problems are recorded and logged, not raised.
        """
        if self.config.digest is None:
            return
        from tracker.digest import maybe_send

        maybe_send(self)

    def reconfigure(self, config: Config) -> None:
        """Switch to a reloaded config (daemon SIGHUP): rows for new feeds, derived state rebuilt."""
        self.store.sync_feeds(config.feeds, self.clock())
        self.matcher = TopicMatcher(config.topics)
        # The prefilter must know new keywords too, or it would skip their articles.
        self.prefilter = TopicPrefilter(config.topics)
        self.config = config

    def mentions_of(self, feed: FeedConfig, title: str, text: str, published: datetime) -> list[EventMention]:
        """The event mentions of one article (pure: no database)."""
        return extract_mentions(self.matcher, feed, title, text, published)


def make_tracker(
    config: Config,
    *,
    clock: Clock = system_clock,
    http_client: httpx.Client | None = None,
    database_url: str | None = None,
    processes: int | None = None,
    prefilter: bool = True,
    read_only: bool = False,
) -> Tracker:
    """Build a Tracker: the one place where dependencies are chosen.

    `read_only`: for commands that only read: the database must exist already
    (NoDatabaseError otherwise) and nothing is written to it.
    """
    store = Store(database_url or config.database_url, read_only=read_only)
    fetcher = Fetcher(
        http_client,
        timeout=config.default_timeout.total_seconds(),
        base_dir=config.base_dir,
        max_connections=MAX_CONCURRENT_POLLS,
    )
    return Tracker(
        config, clock=clock, store=store, fetcher=fetcher, processes=processes, prefilter=prefilter, sync=not read_only
    )


from tracker.poll import Extracted, MergeBatch, PendingMerge, PollResult  # noqa: E402  (poll imports app only for typing)
