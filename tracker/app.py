"""The factory: wires config, clock, HTTP client and store into a Tracker, which runs the poll's stages in order.

A poll reads one way, each stage in its own module, none of which imports this one:

    poll (fetch -> parse -> extract -> store entries, queue pages)
      -> merge_step (mentions into events, one transaction per batch)
      -> pages (article pages for full text -> store -> merge_step again)
      -> digest (the daemon's after_poll)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import httpx

from tracker.clock import Clock, system_clock
from tracker.config import Config
from tracker.digest import maybe_send
from tracker.extraction import ExtractFn, TopicPrefilter, extract_mentions
from tracker.fetch import Fetcher
from tracker.fulltext import PageFetcher
from tracker.merge_step import MergeBatch, catch_up, merge_batch, merge_pending
from tracker.outcomes import MergeOutcome, PollResult
from tracker.pages import PAGES_PER_RUN, PagesOutcome, read_pages
from tracker.parts import Parts
from tracker.poll import poll_feed
from tracker.store import Store
from tracker.workers import WorkerCrashed, WorkersUnavailable

# Re-exported: what callers of the factory name.
__all__ = [
    "MAX_CONCURRENT_POLLS", "Tracker", "TopicPrefilter", "WorkerCrashed", "WorkersUnavailable",
    "extract_mentions", "make_tracker",
]

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


class Tracker(Parts):
    """The parts, wired, and the order a poll runs its stages in; tests build it with their own clock and client."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock,
        store: Store,
        fetcher: Fetcher,
        page_fetcher: PageFetcher | None = None,
        processes: int | None = None,
        prefilter: bool = True,
        sync: bool = True,
        extract: ExtractFn = extract_mentions,
        articles_per_poll: int | None = None,
    ) -> None:
        """See Parts; `sync`: record the configured feeds in the store now (not for read-only use)."""
        super().__init__(
            config, clock=clock, store=store, fetcher=fetcher, page_fetcher=page_fetcher, processes=processes,
            prefilter=prefilter, extract=extract, articles_per_poll=articles_per_poll,
        )
        if sync:
            self.store.sync_feeds(config.feeds, clock())

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def poll(
        self,
        names: Sequence[str] = (),
        *,
        workers: int = MAX_CONCURRENT_POLLS,
        on_result: Callable[[PollResult], None] | None = None,
        on_pages: Callable[[PagesOutcome], None] | None = None,
    ) -> list[PollResult]:
        """Poll the feeds now, concurrently; results in configuration order; then read the
        article pages their entries need for full text (see tracker.pages).

        Entries an earlier run stored but did not merge (it was killed) are finished first.
        `on_result` is called in this thread with each feed's final result (its events
        merged) as soon as it is, in the order feeds finish; `on_pages` with what the page
        reads did, once they are merged (a failed page never fails the poll).
        """
        results = self._poll_feeds(names, workers=workers, on_result=on_result)
        feeds = self.feeds(names)
        # As many pages as articles a poll reads: a cold poll of a summary feed gets the
        # full text of all it read (the daemon's queue takes PAGES_PER_RUN at a turn).
        rounds = -(-self.articles_per_poll * max(1, len(feeds)) // PAGES_PER_RUN)
        pages = read_pages(self, feeds, use_workers=self.processes > 0, rounds=rounds)
        if on_pages is not None:
            on_pages(pages)
        return results

    def _poll_feeds(
        self,
        names: Sequence[str],
        *,
        workers: int,
        on_result: Callable[[PollResult], None] | None,
    ) -> list[PollResult]:
        feeds = self.feeds(names)
        if not feeds:
            return []
        use_workers = len(feeds) >= POOL_MIN_FEEDS and self.processes > 0
        outcome = catch_up(self, feeds)
        if len(feeds) == 1:
            result = outcome.settle(poll_feed(self, feeds[0], catch_up=False))
            if on_result is not None:
                on_result(result)
            return [result]
        # Merging re-reads every stored mention near the new ones, so it is done once for
        # the whole poll instead of once per feed; entries are still stored per feed.
        batch = MergeBatch()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(feeds))), thread_name_prefix="poll") as threads:
            futures = [
                threads.submit(poll_feed, self, f, use_workers=use_workers, batch=batch, catch_up=False) for f in feeds
            ]
            if on_result is not None:
                results = self._report_as_final(futures, batch, on_result, outcome)
                log.debug("polled and merged %d feeds in %.2fs", len(feeds), time.monotonic() - started)
                return results
            results = [f.result() for f in futures]
        polled = time.monotonic()
        results = merge_batch(self, batch, results, outcome)
        log.debug("polled %d feeds in %.2fs, merged in %.2fs", len(feeds), polled - started, time.monotonic() - polled)
        return results

    def _report_as_final(
        self,
        futures: list[Future[PollResult]],
        batch: MergeBatch,
        on_result: Callable[[PollResult], None],
        outcome: MergeOutcome,
    ) -> list[PollResult]:
        """Merge while feeds are still polling, so each result can be reported when final.

        A result with entries still to merge is held until the next merge, which takes
        everything stored by then. Merges are paced (MERGE_PACE) so that repeating the
        merge costs a bounded share of the poll; without a listener poll() merges once.
        """
        index = {f: i for i, f in enumerate(futures)}
        final: list[PollResult | None] = [None] * len(futures)
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
                outcome.update(merge_pending(self, batch.take()))
                took = time.monotonic() - merge_started
                next_merge = time.monotonic() + max(MERGE_MIN_GAP_S, MERGE_PACE * took)
                for i, result in held:
                    report(i, result)
                held = []
        return [r for r in final if r is not None]

    # -- the daemon -------------------------------------------------------------------------

    def after_poll(self, results: list[PollResult]) -> None:
        """The daemon calls this after polls that changed events: the digest step.

        Sends a digest when developments are pending and min_interval (or a pending
        digest's retry backoff) allows; delivery problems are recorded and logged, not raised.
        """
        if self.config.digest is None:
            return
        maybe_send(self)

    def reconfigure(self, config: Config) -> None:
        """Switch to a reloaded config (daemon SIGHUP): rows for new feeds, derived state rebuilt."""
        self.store.sync_feeds(config.feeds, self.clock())
        self.use_config(config)


def make_tracker(
    config: Config,
    *,
    clock: Clock = system_clock,
    http_client: httpx.Client | None = None,
    database_url: str | None = None,
    processes: int | None = None,
    prefilter: bool = True,
    read_only: bool = False,
    extract: ExtractFn = extract_mentions,
    articles_per_poll: int | None = None,
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
        allow_private_networks=config.allow_private_networks,
    )
    return Tracker(
        config, clock=clock, store=store, fetcher=fetcher, processes=processes, prefilter=prefilter,
        sync=not read_only, extract=extract, articles_per_poll=articles_per_poll,
    )
