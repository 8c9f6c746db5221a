"""One poll of one feed: fetch, parse and extract outside the write lock, then store in one transaction."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from tracker.clock import to_naive_utc
from tracker.config import FeedConfig
from tracker.errors import FeedGone, FetchError, ParseError, StoreError
from tracker.events import EventMention, TopicMatcher
from tracker.fetch import FetchResult, Validators
from tracker.parse import ParsedFeed, parse_feed
from tracker.policy import next_poll
from tracker.store import Feed, load_entries, upsert_entries

if TYPE_CHECKING:
    from tracker.app import TopicPrefilter, Tracker

log = logging.getLogger(__name__)

# A permanent redirect must be seen this many polls in a row before we believe it.
REDIRECTS_TO_MOVE = 3
# A fetch may take this many feed timeouts in all (connect, redirects, a slow body).
DEADLINE_FACTOR = 3


@dataclass(frozen=True)
class PollResult:
    """What one poll of one feed did, for the one-line summary and the scheduler."""

    feed: str
    status: str  # ok | not-modified | error | gone
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    warning: str | None = None
    duration: float = 0.0
    events_changed: int = 0
    next_due: datetime | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("error", "gone")

    def line(self) -> str:
        """The one-line summary `tracker poll` prints."""
        took = f"({self.duration:.1f}s)"
        if self.status == "ok":
            text = f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged"
            if self.events_changed:
                text += f", {self.events_changed} events changed"
            if self.warning:
                text += f"; warning: {self.warning}"
            return f"{self.feed}: ok, {text} {took}"
        if self.status == "not-modified":
            return f"{self.feed}: not modified {took}"
        return f"{self.feed}: {self.status}: {self.error} {took}"


@dataclass(frozen=True)
class Extracted:
    """An entry's mentions, found before the write transaction, for the content it had then."""

    content_hash: str
    mentions: tuple[EventMention, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Prepared:
    """A parsed document with the mentions of its new and changed entries, by entry key."""

    parsed: ParsedFeed
    extracted: dict[str, Extracted]


@dataclass(frozen=True)
class PendingMerge:
    """A stored entry whose mentions wait for the poll's one merge (Tracker.merge_batch)."""

    feed: FeedConfig
    entry_id: int
    content_hash: str
    extracted: Extracted | None


class MergeBatch:
    """Entries stored by the feeds of one poll, collected from the polling threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[PendingMerge] = []
        self._feeds: set[str] = set()

    def add(self, items: list[PendingMerge]) -> None:
        with self._lock:
            self._items.extend(items)
            self._feeds.update(p.feed.name for p in items)

    def take(self) -> list[PendingMerge]:
        with self._lock:
            items, self._items = self._items, []
            self._feeds = set()
        return items

    def holds(self, feed: str) -> bool:
        """True while entries of this feed wait in the batch (not yet taken for merging)."""
        with self._lock:
            return feed in self._feeds

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._items)


def prepare_document(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    now: datetime,
    known: Mapping[str, str],
    feed: FeedConfig,
    matcher: TopicMatcher,
    prefilter: TopicPrefilter | None,
) -> Prepared | str:
    """Parse a document and extract the mentions of entries not stored with this content.

    Pure CPU work, run in a worker process or the polling thread; `known` is key ->
    content hash of the stored entries. A document that is no feed gives the ParseError
    message (a string crosses process boundaries more safely than an exception).
    """
    from tracker.app import extract_mentions

    try:
        parsed = parse_feed(body, headers, url=url, now=now)
    except ParseError as exc:
        return str(exc)
    extracted: dict[str, Extracted] = {}
    for entry in parsed.entries:
        if known.get(entry.key) == entry.content_hash:
            continue
        if entry.published is None and entry.key in known:
            # The stored entry keeps its earlier first-seen date; only the transaction knows it.
            continue
        # The date the store will give the entry: its own, else first seen (now).
        published = entry.published or now
        if prefilter is not None and not prefilter.could_mention(entry.title, entry.text, feed.topics):
            extracted[entry.key] = Extracted(entry.content_hash)
            continue
        try:
            mentions = extract_mentions(matcher, feed, entry.title, entry.text, published)
        except Exception as exc:  # noqa: BLE001 - recorded per entry, as the inline path does
            extracted[entry.key] = Extracted(entry.content_hash, error=f"{type(exc).__name__}: {exc}")
            continue
        extracted[entry.key] = Extracted(entry.content_hash, tuple(mentions))
    return Prepared(parsed, extracted)


def poll_feed(
    tracker: Tracker,
    cfg: FeedConfig,
    *,
    processes: Executor | None = None,
    batch: MergeBatch | None = None,
) -> PollResult:
    """Poll one feed now. Never raises: a problem, even a bug, is recorded and returned.

    With `processes`, parsing and extraction run there; with `batch`, the entries are
    stored now and their mentions merged later by Tracker.merge_batch.
    """
    started = time.monotonic()
    try:
        return _poll_feed(tracker, cfg, started, processes, batch)
    except Exception as exc:
        # A bug must cost one feed one poll, never the other feeds or the daemon.
        log.exception("%s: unexpected error while polling", cfg.name)
        return PollResult(
            cfg.name, "error", error=f"internal error: {exc.__class__.__name__}: {exc}",
            duration=time.monotonic() - started,
        )


def _poll_feed(
    tracker: Tracker, cfg: FeedConfig, started: float, processes: Executor | None, batch: MergeBatch | None
) -> PollResult:
    now = tracker.clock()
    state = tracker.store.feed_state(cfg.name)
    rng = random.Random()

    def finish(result: PollResult) -> PollResult:
        return PollResult(**{**result.__dict__, "duration": time.monotonic() - started})

    if state.gone:
        return finish(PollResult(cfg.name, "gone", error="the server said 410 Gone; change or remove its URL"))

    try:
        fetched = tracker.fetcher.fetch(
            state.url,
            Validators(state.etag, state.last_modified),
            timeout=cfg.timeout.total_seconds(),
            # The whole fetch, however the server trickles, is bounded by the feed's timeout.
            deadline=cfg.timeout.total_seconds() * DEADLINE_FACTOR,
        )
    except FeedGone as exc:
        return finish(_record_failure(tracker, cfg, state.id, now, exc, gone=True, rng=rng))
    except FetchError as exc:
        return finish(_record_failure(tracker, cfg, state.id, now, exc, rng=rng))

    prepared: Prepared | None = None
    if not fetched.not_modified:
        assert fetched.body is not None
        # All CPU work happens here, before the write lock is taken: the transaction
        # only compares content hashes and writes.
        outcome = _prepare(tracker, cfg, fetched, now, tracker.store.entry_hashes(state.id), processes)
        if isinstance(outcome, str):
            return finish(_record_failure(tracker, cfg, state.id, now, ParseError(outcome), rng=rng))
        prepared = outcome

    try:
        result = _record_success(tracker, cfg, state.id, now, fetched, prepared, rng, batch)
    except StoreError as exc:
        log.error("%s: could not store the poll: %s", cfg.name, exc)
        return finish(PollResult(cfg.name, "error", error=str(exc)))
    return finish(result)


def _prepare(
    tracker: Tracker,
    cfg: FeedConfig,
    fetched: FetchResult,
    now: datetime,
    known: dict[str, str],
    processes: Executor | None,
) -> Prepared | str:
    assert fetched.body is not None
    args = (fetched.body, dict(fetched.headers), fetched.url, now, known, cfg, tracker.matcher,
            tracker.prefilter if tracker.use_prefilter else None)
    if processes is not None:
        try:
            future = processes.submit(prepare_document, *args)
        except (BrokenProcessPool, RuntimeError, OSError) as exc:
            # No workers to be had (one died, the pool is shut down, no processes left):
            # this feed is done here instead.
            log.warning("%s: worker processes unavailable (%s); parsing in the polling thread", cfg.name, exc)
        else:
            try:
                return future.result()
            except BrokenProcessPool:
                log.warning("%s: a worker process died; parsing in the polling thread", cfg.name)
    return prepare_document(*args)


def _server_interval(fetched: FetchResult, parsed: ParsedFeed | None) -> float | None:
    hints = [h for h in (fetched.max_age, (parsed.ttl * 60) if parsed and parsed.ttl else None) if h]
    return max(hints) if hints else None


def _record_success(
    tracker: Tracker,
    cfg: FeedConfig,
    feed_id: int,
    now: datetime,
    fetched: FetchResult,
    prepared: Prepared | None,
    rng: random.Random,
    batch: MergeBatch | None,
) -> PollResult:
    parsed = prepared.parsed if prepared is not None else None
    server_interval = _server_interval(fetched, parsed)
    schedule = next_poll(now=now, interval=cfg.interval, server_interval=server_interval, rng=rng)
    if prepared is None and fetched.permanent_redirect is None:
        # A 304 is most polls of a large feed list: one UPDATE, no ORM session.
        tracker.store.record_not_modified(
            feed_id, now, schedule.next_due, schedule.reason, int(server_interval) if server_interval else None,
            fetched.validators.etag, fetched.validators.last_modified,
        )
        return PollResult(cfg.name, "not-modified", next_due=schedule.next_due)
    with tracker.store.write() as s:
        feed = s.scalars(select(Feed).where(Feed.id == feed_id)).one()
        feed.last_poll = feed.last_success = to_naive_utc(now)
        feed.consecutive_errors = 0
        feed.last_error = None
        feed.next_due = to_naive_utc(schedule.next_due)
        feed.backoff_reason = schedule.reason
        feed.server_interval = int(server_interval) if server_interval else None
        feed.etag = fetched.validators.etag
        feed.last_modified = fetched.validators.last_modified
        _follow_redirect(feed, fetched)
        if prepared is None:
            feed.last_status = "not-modified"
            return PollResult(cfg.name, "not-modified", next_due=schedule.next_due)
        parsed = prepared.parsed
        feed.last_status = "ok"
        feed.warning = parsed.warning
        if parsed.title:
            feed.title = parsed.title
        counts, touched = upsert_entries(s, feed_id, parsed.entries, now)
        events_changed = 0
        if batch is None:
            if touched:
                loaded = load_entries(s, (t.id for t in touched))
                rows = [loaded[t.id] for t in touched]
                events_changed = tracker.after_entries(s, cfg, rows, now, prepared.extracted)
        else:
            pending = [PendingMerge(cfg, e.id, e.content_hash, prepared.extracted.get(e.key)) for e in touched]
    if batch is not None:
        # Queued only once the entries are committed.
        batch.add(pending)
    return PollResult(
        cfg.name,
        "ok",
        new=counts.new,
        updated=counts.updated,
        unchanged=counts.unchanged,
        warning=parsed.warning,
        events_changed=events_changed,
        next_due=schedule.next_due,
    )


def _follow_redirect(feed: Feed, fetched: FetchResult) -> None:
    target = fetched.permanent_redirect
    if not target or target == feed.url:
        feed.redirect_target, feed.redirect_count = None, 0
        return
    if feed.redirect_target == target:
        feed.redirect_count += 1
    else:
        feed.redirect_target, feed.redirect_count = target, 1
    if feed.redirect_count >= REDIRECTS_TO_MOVE:
        log.info("%s: moved permanently to %s", feed.name, target)
        feed.url = target
        feed.redirect_target, feed.redirect_count = None, 0


def _record_failure(
    tracker: Tracker,
    cfg: FeedConfig,
    feed_id: int,
    now: datetime,
    exc: FetchError | ParseError,
    *,
    gone: bool = False,
    rng: random.Random,
) -> PollResult:
    status = "gone" if gone else "error"
    message = str(exc)
    try:
        with tracker.store.write() as s:
            feed = s.scalars(select(Feed).where(Feed.id == feed_id)).one()
            feed.consecutive_errors += 1
            feed.last_poll = to_naive_utc(now)
            feed.last_status = status
            feed.last_error = message
            feed.gone = gone
            retry_after = exc.retry_after if isinstance(exc, FetchError) else None
            schedule = next_poll(
                now=now,
                interval=cfg.interval,
                consecutive_errors=feed.consecutive_errors,
                retry_after=retry_after,
                server_interval=feed.server_interval,
                rng=rng,
            )
            feed.next_due = None if gone else to_naive_utc(schedule.next_due)
            feed.backoff_reason = None if gone else schedule.reason
    except StoreError as store_exc:
        log.error("%s: could not record the failure: %s", cfg.name, store_exc)
        return PollResult(cfg.name, "error", error=f"{message}; also: {store_exc}")
    return PollResult(cfg.name, status, error=message, next_due=None if gone else schedule.next_due)
