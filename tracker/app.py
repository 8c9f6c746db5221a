"""The factory that wires config, clock, HTTP client and store into one Tracker."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any, Generic, Literal, TypeVar

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from tracker._terminal import one_line_cut
from tracker.clock import Clock, system_clock, to_aware_utc
from tracker.config import Config, FeedConfig, Topic
from tracker.errors import StoreError
from tracker.fetch import Fetcher
from tracker.fulltext import PageFetcher
from tracker.events import EventMention, TopicMatcher, find_mentions
from tracker.events.topics import fold, keyword_pattern
from tracker.store import Entry, Store, in_chunks, load_entries
from tracker.store.merging import apply_mentions
from tracker.store.models import Feed, Mention, extraction_key

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
# Entries stored by an earlier run and never merged (it was killed, or they failed) are
# finished by the next poll, at most this many per poll so that a huge backlog cannot
# stall it (the rest wait for the next polls, or `tracker reprocess --pending`).
CATCH_UP_LIMIT = 5000
# Stored entries are loaded and extracted this many at a time (memory stays flat). Their
# mentions are merged once MERGE_FIRST have gathered, then twice as many each time up to
# MERGE_MOST: a merge re-reads the whole events it touches, which grow as the backlog is
# merged, so a dense story costs a few merges instead of one per chunk.
STORED_CHUNK = 500
MERGE_FIRST = 250
MERGE_MOST = 4000
# Stored entries that are no suspects (reprocessed after a topic change) go to worker
# processes only when there are at least this many: starting the workers costs a second.
WORKERS_FOR_BACKLOG = 200
# Articles per worker task: enough to amortize pickling, few enough to spread the work.
ARTICLES_PER_TASK = 25
# A failed merge transaction is retried in halves to find the entries at fault; past this
# many failed attempts (plus two per halving the batch needs) the rest are given up.
MERGE_RETRY_SLACK = 4
# Articles extracted one by one in a fresh process after a crash: past this many crashes
# the remaining ones are left for a later run (each crash costs a process start).
CRASHES_PER_BATCH = 3
# Error texts quoted in a poll's warning line are cut to this length.
NOTE_CHARS = 200


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
    """What extracting and merging stored entries did, per feed: events changed, or the
    articles left pending (still marked for extraction) and why."""

    changed: dict[str, int] = field(default_factory=dict)
    # Events created, updated or deleted in all (an event counts once per transaction).
    events: int = 0
    # Entries done: merged, or found to have no mention.
    merged: int = 0
    unextracted: dict[str, list[str]] = field(default_factory=dict)
    unmerged: dict[str, list[str]] = field(default_factory=dict)

    def update(self, other: MergeOutcome) -> None:
        for name, count in other.changed.items():
            self.changed[name] = self.changed.get(name, 0) + count
        self.events += other.events
        self.merged += other.merged
        for mine, theirs in ((self.unextracted, other.unextracted), (self.unmerged, other.unmerged)):
            for name, errors in theirs.items():
                mine.setdefault(name, []).extend(errors)

    def not_extracted(self, feed: str, error: str) -> None:
        self.unextracted.setdefault(feed, []).append(error)

    def not_merged(self, feed: str, error: str) -> None:
        self.unmerged.setdefault(feed, []).append(error)

    @property
    def failed(self) -> int:
        """Entries left pending."""
        return sum(map(len, self.unextracted.values())) + sum(map(len, self.unmerged.values()))

    def warning(self, feed: str) -> str | None:
        """The feed's share of the failures, for its poll line (None: none)."""
        notes = []
        if errors := self.unextracted.get(feed):
            notes.append(f"{_articles(len(errors))} not extracted: {_cut(errors[0])}")
        if errors := self.unmerged.get(feed):
            notes.append(f"events not merged for {_articles(len(errors))}: {_cut(errors[0])}")
        return "; ".join(notes) or None

    def settle(self, result: PollResult) -> PollResult:
        """The result with its feed's share of the merge."""
        if result.status not in ("ok", "not-modified"):
            return result
        warning = "; ".join(filter(None, [result.warning, self.warning(result.feed)])) or None
        return replace(
            result, warning=warning, events_changed=result.events_changed + self.changed.get(result.feed, 0)
        )


def _articles(n: int) -> str:
    return f"{n} article" if n == 1 else f"{n} articles"


def _cut(text: str) -> str:
    return one_line_cut(text, NOTE_CHARS)


def extract_mentions(
    matcher: TopicMatcher, feed: FeedConfig, title: str, text: str, published: datetime
) -> list[EventMention]:
    """The event mentions of one article (pure); shared by the poller's worker processes."""
    return find_mentions(title=title, text=text, published=published, matcher=matcher, feed_topics=feed.topics)


# -- worker processes --------------------------------------------------------------------

_T = TypeVar("_T")


class WorkersUnavailable(Exception):
    """No worker process can be had (none configured, or they cannot start here)."""


class WorkerCrashed(Exception):
    """The worker process running a task died: killed (the OOM killer), or a crash in C code."""


# A pipe whose write end only this process holds: a worker reading its read end sees EOF
# when this process is gone, however it ended (kill -9 included).
_lifeline_lock = threading.Lock()
_lifeline: tuple[Connection, Connection] | None = None


def _lifeline_reader() -> Connection:
    global _lifeline
    with _lifeline_lock:
        if _lifeline is None:
            _lifeline = multiprocessing.Pipe(duplex=False)
        return _lifeline[0]


def _forget_lifeline() -> None:
    # A forked child (tracker extract's workers, say) inherits the write end: holding it,
    # it would keep this process's workers alive after this process died.
    global _lifeline, _lifeline_lock
    _lifeline_lock = threading.Lock()
    if _lifeline is not None:
        for end in _lifeline:
            end.close()
        _lifeline = None


os.register_at_fork(after_in_child=_forget_lifeline)


def _worker_started(lifeline: Connection) -> None:
    """Pool initializer: the worker ends within moments of the tracker process that started it.

    With the forkserver a worker's parent is the fork server, not the tracker process, and
    nothing in multiprocessing stops a worker whose tracker process was killed: it waits
    for tasks forever. A thread here exits the worker when the lifeline reaches EOF.
    Belt and braces on Linux: the worker also lets go of the fork server's "alive" pipe,
    so the fork server ends with the tracker process, and asks for SIGKILL when it does;
    that works even while a long C call holds the interpreter.
    """
    threading.Thread(target=_exit_on_eof, args=(lifeline,), name="lifeline", daemon=True).start()
    try:
        server = multiprocessing.forkserver._forkserver
        alive = getattr(server, "_forkserver_alive_fd", None)
        if isinstance(alive, int):
            # Only used to start processes of its own, which a worker never does.
            os.close(alive)
            server._forkserver_alive_fd = None  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        pass
    _die_with_parent()


def _exit_on_eof(lifeline: Connection) -> None:
    try:
        while True:
            lifeline.recv_bytes()  # nothing is ever sent: this waits for EOF
    except (EOFError, OSError):
        pass
    os._exit(1)


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when its parent process ends."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


_PR_SET_PDEATHSIG = 1
_forkserver_lock = threading.Lock()


def _new_executor(max_workers: int) -> ProcessPoolExecutor:
    # Never fork a process that runs threads (the daemon, the poll threads): the forkserver
    # starts workers from a clean single-threaded process.
    context = multiprocessing.get_context("forkserver")
    with _forkserver_lock:
        context.set_forkserver_preload(["tracker.poll"])
        # The fork server runs `python -c ...`, which puts the current folder first on
        # sys.path, and it imports tracker.poll before any worker sets sys.path: a folder
        # holding a tracker/ of its own would be imported instead of the installed package.
        # PYTHONSAFEPATH (Python 3.11) leaves the current folder out. The variable is set
        # only while the fork server starts; it keeps running for later pools.
        saved = os.environ.get("PYTHONSAFEPATH")
        os.environ["PYTHONSAFEPATH"] = "1"
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            if saved is None:
                os.environ.pop("PYTHONSAFEPATH", None)
            else:
                os.environ["PYTHONSAFEPATH"] = saved
    return ProcessPoolExecutor(
        max_workers=max_workers, mp_context=context, initializer=_worker_started, initargs=(_lifeline_reader(),)
    )


def _probe() -> int:
    return os.getpid()


@dataclass(frozen=True)
class Job(Generic[_T]):
    """A task submitted to the shared workers, with the pool it went to."""

    executor: ProcessPoolExecutor
    future: Future[_T]


class LoneWorker:
    """One worker process that runs one task at a time: when it dies, the task was the cause."""

    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None

    def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """fn(*args) in the worker; WorkerCrashed when it died (the next task gets a new one)."""
        try:
            if self._executor is None:
                self._executor = _new_executor(1)
            future = self._executor.submit(fn, *args)
        except Exception as exc:
            # No process could be started (see WorkerPool.submit).
            self.close()
            raise WorkersUnavailable(f"{type(exc).__name__}: {exc}") from exc
        try:
            return future.result()
        except BrokenProcessPool as exc:
            self.close()
            raise WorkerCrashed(str(exc)) from exc

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


class WorkerPool:
    """A tracker's worker processes for parsing and extraction, shared by its polls.

    A worker that dies breaks the whole ProcessPoolExecutor (every task in it fails): the
    pool is replaced at once, and the tasks it took down are run again by their owners, one
    at a time in a LoneWorker, so that a task that kills its worker again costs only itself.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        # Lone workers are extra processes: at most as many at once as the pool has.
        self._lone = threading.BoundedSemaphore(max(1, processes))
        self._idle: list[LoneWorker] = []
        # "unusable": workers cannot start here at all; the work is done in-thread.
        self._state: Literal["unknown", "works", "unusable"] = "unknown"
        self._probe_lock = threading.Lock()
        self._state_lock = threading.Lock()

    @property
    def executor(self) -> ProcessPoolExecutor | None:
        """The current pool (None until first used, and after close)."""
        return self._executor

    def submit(self, fn: Callable[..., _T], *args: Any) -> Job[_T]:
        """Queue fn(*args) for a worker; WorkersUnavailable when there is none to be had."""
        if self.processes <= 0 or self._state == "unusable":
            raise WorkersUnavailable("no worker processes")
        for _ in range(2):
            try:
                with self._lock:
                    if self._executor is None:
                        self._executor = _new_executor(self.processes)
                    executor = self._executor
                # Starts a worker process when the pool has fewer than it may.
                return Job(executor, executor.submit(fn, *args))
            except BrokenProcessPool:
                # Broken by another task meanwhile: once more with the new pool.
                self._renew(executor)
            except RuntimeError as exc:
                # Shut down: the tracker is closing.
                raise WorkersUnavailable(str(exc)) from exc
            except Exception as exc:
                # No process could be started (no memory, no fds, the fork server died at
                # start): say so once, and work in-thread from now on.
                self._give_up(f"{type(exc).__name__}: {exc}")
                raise WorkersUnavailable(str(exc)) from exc
        raise WorkersUnavailable("the worker processes keep dying")

    def result(self, job: Job[_T]) -> _T:
        """The task's result; WorkerCrashed when a worker died meanwhile (the pool is replaced)."""
        try:
            value = job.future.result()
        except BrokenProcessPool as exc:
            self._renew(job.executor)
            if not self._usable():
                raise WorkersUnavailable(str(exc)) from exc
            raise WorkerCrashed(str(exc)) from exc
        self._state = "works"
        return value

    def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        return self.result(self.submit(fn, *args))

    @contextmanager
    def alone(self) -> Iterator[LoneWorker]:
        """A LoneWorker for suspect tasks. Its process is kept for the next suspects while
        it lives: most are bystanders of another task's crash, and a process start costs."""
        with self._lone:
            with self._lock:
                worker = self._idle.pop() if self._idle else LoneWorker()
            try:
                yield worker
            finally:
                with self._lock:
                    self._idle.append(worker)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
            idle, self._idle = self._idle, []
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        for worker in idle:
            worker.close()

    def _renew(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is not broken:
                return  # replaced already, by the first task that saw it broken
            self._executor = None
        log.warning("a worker process died; starting new ones (the tasks it took down run again one at a time)")
        broken.shutdown(wait=False, cancel_futures=True)

    def _usable(self) -> bool:
        """Whether workers work here at all; decided once, by a trivial task in a fresh one.

        A pool that breaks before any task finished may not start here at all (a broken
        installation): then the work is done in-thread, as without workers.
        """
        with self._probe_lock:
            if self._state == "unknown":
                worker = LoneWorker()
                try:
                    worker.run(_probe)
                    self._state = "works"
                except (WorkersUnavailable, WorkerCrashed) as exc:
                    self._give_up(str(exc))
                finally:
                    worker.close()
            return self._state == "works"

    def _give_up(self, why: str) -> None:
        with self._state_lock:
            if self._state == "unusable":
                return
            self._state = "unusable"
        log.warning("worker processes cannot run here (%s); parsing in the polling threads", why)


def _database_unavailable(exc: BaseException) -> bool:
    """The database refuses writes (locked, full, read-only): no entry is at fault."""
    return isinstance(exc, StoreError) and isinstance(exc.__cause__, OperationalError)


class Tracker:
    """Everything a command needs, built once; tests build it with their own clock and client."""

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
        """`processes`: worker processes for parsing and extraction in a poll of many feeds
        (None: one per core when there are two or more; 0: never). `prefilter`: skip the
        tagger for articles that name no topic keyword (results are the same either way).
        `sync`: record the configured feeds in the store now (not for read-only use).
        `extract`: the mentions of one article, extract_mentions (tests give their own; it
        must be a module-level function, as worker processes import it by name).
        `articles_per_poll`: new articles read per feed and poll, the rest left for the next
        (None: poll.ARTICLES_PER_POLL)."""
        self.config = config
        self.articles_per_poll = articles_per_poll if articles_per_poll is not None else ARTICLES_PER_POLL
        self.clock = clock
        self.store = store
        self.fetcher = fetcher
        self.page_fetcher = page_fetcher if page_fetcher is not None else _page_fetcher(fetcher, config)
        self.extract = extract
        self.matcher = TopicMatcher(config.topics)
        self.use_prefilter = prefilter
        self.prefilter = TopicPrefilter(config.topics)
        cores = os.cpu_count() or 1
        self.processes = processes if processes is not None else (cores if cores >= 2 else 0)
        self.workers = WorkerPool(self.processes)
        if sync:
            self.store.sync_feeds(config.feeds, clock())

    @property
    def _pool(self) -> ProcessPoolExecutor | None:
        # What tests and benches look at: the worker processes, if started.
        return self.workers.executor

    def close(self) -> None:
        self.close_pool()
        self.fetcher.close()
        self.store.close()

    def close_pool(self) -> None:
        """Stop the worker processes (if started); a later poll starts them again."""
        self.workers.close()

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
        from tracker.poll import poll_feed

        feeds = self.feeds(names)
        if not feeds:
            return []
        use_workers = len(feeds) >= POOL_MIN_FEEDS and self.processes > 0
        outcome = self.catch_up(feeds)
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
        results = self.merge_batch(batch, results, outcome)
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
                outcome.update(self.merge_pending(batch.take()))
                took = time.monotonic() - merge_started
                next_merge = time.monotonic() + max(MERGE_MIN_GAP_S, MERGE_PACE * took)
                for i, result in held:
                    report(i, result)
                held = []
        return [r for r in final if r is not None]

    # -- extraction ------------------------------------------------------------------------

    def entry_mentions(
        self,
        feed: FeedConfig,
        entries: Sequence[Entry],
        extracted: Mapping[str, Extracted] | None = None,
        failures: list[str] | None = None,
    ) -> list[tuple[Entry, list[EventMention]]]:
        """Each entry with its mentions; entries whose extraction failed are left out (logged,
        and their errors added to `failures`): they stay marked for extraction."""
        out = []
        for entry in entries:
            ready = extracted.get(entry.key) if extracted else None
            if ready is not None and ready.content_hash == entry.extraction_key:
                if ready.error is not None:
                    log.error("%s: event extraction failed for %s: %s", feed.name, entry.link or entry.key, ready.error)
                    if failures is not None:
                        failures.append(ready.error)
                    continue
                out.append((entry, list(ready.mentions)))
                continue
            try:
                mentions = self.screened_mentions(feed, entry.title, entry.extraction_text, to_aware_utc(entry.published))
            except Exception as exc:
                # A bug in extraction must not cost the entry itself: it is stored and
                # stays marked for extraction, so a later run can retry it.
                log.exception("%s: event extraction failed for %s", feed.name, entry.link or entry.key)
                if failures is not None:
                    failures.append(f"{type(exc).__name__}: {exc}")
                continue
            out.append((entry, mentions))
        return out

    def screened_mentions(self, feed: FeedConfig, title: str, text: str, published: datetime) -> list[EventMention]:
        """mentions_of, skipping the tagger for articles the topic prefilter rules out."""
        if self.use_prefilter and not self.prefilter.could_mention(title, text, feed.topics):
            return []
        return self.mentions_of(feed, title, text, published)

    def mentions_of(self, feed: FeedConfig, title: str, text: str, published: datetime) -> list[EventMention]:
        """The event mentions of one article (pure: no database)."""
        return self.extract(self.matcher, feed, title, text, published)

    def task_args(self) -> tuple[TopicMatcher, TopicPrefilter | None, ExtractFn]:
        """What a worker task needs to extract as this tracker does."""
        return self.matcher, (self.prefilter if self.use_prefilter else None), self.extract

    def extract_articles(self, items: Sequence[tuple[FeedConfig, Article]], *, use_workers: bool) -> list[Extracted]:
        """Each article's mentions or error, in order; never raises for one article.

        In worker processes (several tasks at once) when `use_workers`, else in this thread.
        The articles of a task that a worker crash took down are extracted again in a
        process of their own (extract_alone), so the article at fault costs only itself.
        """
        args = self.task_args()
        if not use_workers or self.processes <= 0:
            return extract_articles(items, *args)
        parts = [items[i : i + ARTICLES_PER_TASK] for i in range(0, len(items), ARTICLES_PER_TASK)]
        jobs: list[Job[list[Extracted]] | None] = []
        for part in parts:
            try:
                jobs.append(self.workers.submit(extract_articles, part, *args))
            except WorkersUnavailable:
                jobs.append(None)
        out: list[Extracted] = []
        for part, job in zip(parts, jobs):
            if job is None:
                out.extend(extract_articles(part, *args))
                continue
            try:
                results: list[Extracted] = self.workers.result(job)
                out.extend(results)
            except WorkersUnavailable:
                out.extend(extract_articles(part, *args))
            except WorkerCrashed:
                with self.workers.alone() as worker:
                    out.extend(self.extract_alone(worker, part))
        return out

    def extract_alone(
        self, worker: LoneWorker, items: Sequence[tuple[FeedConfig, Article]], *, whole_first: bool = True
    ) -> list[Extracted]:
        """Suspects of a worker crash, in `worker` and never in this process (an article that
        kills a worker would kill the tracker): all in one task (most are bystanders of
        another task's crash), then if that dies too (or not `whole_first`) one article per
        task. The ones left after CRASHES_PER_BATCH crashes stay pending with an error."""
        args = self.task_args()
        if whole_first and len(items) > 1:
            try:
                whole: list[Extracted] = worker.run(extract_articles, items, *args)
                return whole
            except WorkerCrashed:
                pass
            except WorkersUnavailable as exc:
                return [Extracted(a.content_hash, error=f"no worker process to extract it alone: {exc}") for _, a in items]
        out: list[Extracted] = []
        crashes = 0
        for feed, article in items:
            if crashes >= CRASHES_PER_BATCH:
                out.append(Extracted(article.content_hash, error=f"left for later: {crashes} worker processes died on its batch"))
                continue
            try:
                out.append(worker.run(extract_articles, [(feed, article)], *args)[0])
            except WorkerCrashed:
                # Logged with the feed's other failures when the batch is merged.
                crashes += 1
                out.append(Extracted(article.content_hash, error="its worker process died (killed, or out of memory)"))
            except WorkersUnavailable as exc:
                out.append(Extracted(article.content_hash, error=f"no worker process to extract it alone: {exc}"))
        return out

    # -- merging ---------------------------------------------------------------------------

    def merge_batch(
        self, batch: MergeBatch, results: list[PollResult], outcome: MergeOutcome | None = None
    ) -> list[PollResult]:
        """Merge the mentions of a whole poll; counts and failures go to each feed's result.

        The entries were stored (marked for extraction) in their feeds' own transactions,
        so a failure here loses no entry: the next poll finishes the job.
        """
        outcome = outcome or MergeOutcome()
        pending = batch.take()
        if pending:
            outcome.update(self.merge_pending(pending))
        return [outcome.settle(r) for r in results]

    def merge_pending(self, pending: Sequence[PendingMerge]) -> MergeOutcome:
        """Merge the mentions of these stored entries, in one transaction if all goes well.

        When the transaction fails, its halves are tried in turn (and theirs), so the entries
        at fault stay pending with the error on their feed and every other one is merged.
        Not when the database refuses writes: then nothing is at fault and all stay pending.
        """
        outcome = MergeOutcome()
        if not pending:
            return outcome
        budget = MERGE_RETRY_SLACK + 2 * len(pending).bit_length()
        parts = [list(pending)]
        while parts:
            part = parts.pop()
            try:
                outcome.update(self._merge_once(part))
                continue
            except Exception as exc:
                error = exc
            if len(part) > 1 and budget > 0 and not _database_unavailable(error):
                budget -= 1
                log.info("merging %d articles failed (%s: %s); merging them in halves", len(part),
                         type(error).__name__, error)
                half = len(part) // 2
                parts += [part[half:], part[:half]]
                continue
            # The entries are stored whatever happens here; a bug in merging must not cost
            # the poll its report (the entries stay marked for extraction).
            if isinstance(error, StoreError):
                log.error("could not merge %s into events: %s (the next poll retries)", _articles(len(part)), error)
            else:
                log.error("merging %s into events failed (the next poll retries)", _articles(len(part)),
                          exc_info=error)
            for p in part:
                outcome.not_merged(p.feed.name, f"{type(error).__name__}: {error}")
        return outcome

    def _merge_once(self, pending: Sequence[PendingMerge]) -> MergeOutcome:
        """Merge these entries in one transaction; what it did counts only if it commits."""
        now = self.clock()
        out = MergeOutcome()
        with self.store.write() as s:
            ids = [p.entry_id for p in pending]
            # An entry's feed content hash and its extraction key (which also covers the page
            # text): a poll's extraction of the feed text is still current while the former
            # matches; entry_mentions then extracts the page text instead.
            current: dict[int, tuple[str, str]] = {}
            had_mentions: set[int] = set()
            for chunk in in_chunks(ids):
                current.update({
                    i: (h, extraction_key(h, ph if has_page else None))
                    for i, h, ph, has_page in s.execute(
                        select(Entry.id, Entry.content_hash, Entry.page_hash, Entry.page_text.is_not(None))
                        .where(Entry.id.in_(chunk))
                    )
                })
                had_mentions.update(s.scalars(select(Mention.entry_id).where(Mention.entry_id.in_(chunk)).distinct()))
            # Edited again by another poll meanwhile: that poll extracts it.
            live = [p for p in pending if p.content_hash in current.get(p.entry_id, ())]
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
                failures: list[str] = []
                updates.extend(
                    self.entry_mentions(p.feed, [row], {row.key: p.extracted} if p.extracted else None, failures)
                )
                for error in failures:
                    out.not_extracted(p.feed.name, error)
            stats = apply_mentions(s, updates, now) if updates else None
            if stats is not None and stats.changed:
                out.events = stats.changed
                # An event counts for every feed with a new or updated article in it.
                for chunk in in_chunks(list(feed_of)):
                    for entry_id, events in s.execute(
                        select(Mention.entry_id, func.count(func.distinct(Mention.event_pk)))
                        .where(Mention.entry_id.in_(chunk))
                        .group_by(Mention.entry_id)
                    ):
                        name = feed_of[entry_id]
                        out.changed[name] = out.changed.get(name, 0) + events
            out.merged = len(quiet) + len(updates)
        return out

    # -- entries left pending ------------------------------------------------------------------

    def catch_up(self, feeds: Sequence[FeedConfig]) -> MergeOutcome:
        """Extract and merge the entries of these feeds still marked for extraction: stored
        by a run that was killed before merging them, or whose extraction failed before.

        At most CATCH_UP_LIMIT, and articles_per_poll a feed, oldest first. Never raises: a problem is logged (the poll
        that follows meets a database problem too) and the entries wait for the next poll.
        """
        by_name = {f.name: f for f in feeds}
        try:
            with self.store.read() as s:
                todo: list[tuple[int, str]] = []
                for names in in_chunks(list(by_name)):
                    # Each feed's own budget too: a feed with a huge backlog (a 50,000-entry
                    # archive) is read over several polls and never crowds the others out.
                    ranked = (
                        select(
                            Entry.id.label("entry_id"),
                            Feed.name.label("name"),
                            func.row_number().over(partition_by=Entry.feed_id, order_by=Entry.id).label("n"),
                        )
                        .join(Feed, Feed.id == Entry.feed_id)
                        .where(Entry.needs_extraction.is_(True), Feed.name.in_(names))
                        .subquery()
                    )
                    todo += [
                        (entry_id, name)
                        for entry_id, name in s.execute(
                            select(ranked.c.entry_id, ranked.c.name)
                            .where(ranked.c.n <= self.articles_per_poll)
                            .order_by(ranked.c.entry_id)
                            .limit(CATCH_UP_LIMIT)
                        )
                    ]
        except StoreError as exc:
            log.error("could not look for articles left unextracted: %s", exc)
            return MergeOutcome()
        if not todo:
            return MergeOutcome()
        todo = sorted(todo)[:CATCH_UP_LIMIT]
        log.info("finishing %s stored but not merged into events by an earlier run", _articles(len(todo)))
        try:
            # Suspects all: one of them may have killed the run that stored it, so they are
            # extracted in worker processes whenever the tracker has any.
            return self.process_stored([(entry_id, by_name[name]) for entry_id, name in todo], use_workers=True)
        except StoreError as exc:
            log.error("could not finish the articles left unextracted: %s", exc)
        except Exception:
            # A bug here must not cost the poll that follows; the entries stay pending.
            log.exception("finishing the articles left unextracted failed")
        return MergeOutcome()

    def process_stored(
        self,
        todo: Sequence[tuple[int, FeedConfig]],
        *,
        use_workers: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> MergeOutcome:
        """Extract (outside any transaction) and merge these stored entries, in chunks.

        Each merge is its own transaction, so an interruption loses nothing. An entry whose
        extraction or merge fails stays marked for extraction; the others are merged.
        `on_progress(done, total)` is called at the start and after each merge.
        """
        outcome = MergeOutcome()
        if on_progress is not None:
            on_progress(0, len(todo))
        gathered: list[PendingMerge] = []
        threshold = MERGE_FIRST
        for start in range(0, len(todo), STORED_CHUNK):
            chunk = todo[start : start + STORED_CHUNK]
            gathered += self._extract_stored(chunk, use_workers)
            last = start + len(chunk) >= len(todo)
            if len(gathered) >= threshold or last:
                outcome.update(self.merge_pending(gathered))
                gathered = []
                threshold = min(MERGE_MOST, 2 * threshold)
                if on_progress is not None:
                    on_progress(start + len(chunk), len(todo))
        return outcome

    def _extract_stored(self, chunk: Sequence[tuple[int, FeedConfig]], use_workers: bool) -> list[PendingMerge]:
        """The entries' mentions, for merging (entries deleted meanwhile are left out)."""
        feed_of = dict(chunk)
        with self.store.read() as s:
            rows = [
                row for ids in in_chunks(list(feed_of))
                for row in s.execute(
                    select(
                        Entry.id, Entry.key, Entry.title, Entry.text, Entry.published, Entry.content_hash,
                        Entry.page_text, Entry.page_hash,
                    )
                    .where(Entry.id.in_(ids))
                )
            ]
        rows.sort(key=lambda r: r.id)
        items = [
            (
                feed_of[r.id],
                Article(
                    r.key, r.title, r.page_text or r.text, to_aware_utc(r.published),
                    extraction_key(r.content_hash, r.page_hash if r.page_text else None),
                ),
            )
            for r in rows
        ]
        extracted = self.extract_articles(items, use_workers=use_workers)
        return [
            PendingMerge(feed, row.id, article.content_hash, result)
            for row, (feed, article), result in zip(rows, items, extracted)
        ]

    # -- the daemon -------------------------------------------------------------------------

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
        if (config.pages, config.allow_private_networks) != (self.config.pages, self.config.allow_private_networks):
            self.page_fetcher = _page_fetcher(self.fetcher, config)
        self.config = config


def _page_fetcher(fetcher: Fetcher, config: Config) -> PageFetcher:
    """Article pages go through the feeds' fetcher (its limits and client), politely."""
    return PageFetcher(
        fetcher,
        per_host=config.pages.per_host,
        min_delay=config.pages.delay.total_seconds(),
        allow_private_networks=config.allow_private_networks,
    )


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


# poll and pages import app only for typing; these are needed here at run time.
from tracker.pages import PAGES_PER_RUN, PagesOutcome, read_pages  # noqa: E402
from tracker.poll import (  # noqa: E402
    ARTICLES_PER_POLL,
    Article,
    ExtractFn,
    Extracted,
    MergeBatch,
    PendingMerge,
    PollResult,
    extract_articles,
)
