"""One poll of one feed: fetch, parse and extract outside the write lock, then store in one transaction."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tracker.clock import to_naive_utc
from tracker.config import FeedConfig
from tracker.errors import FeedGone, FetchError, ParseError, StoreError
from tracker.events import TopicMatcher
from tracker.extraction import Article, ExtractFn, Extracted, TopicPrefilter, extract_articles
from tracker.fetch import FetchResult, Validators
from tracker import merge_step
from tracker.merge_step import MergeBatch, PendingMerge, merge_pending
from tracker.outcomes import PollResult
from tracker.pages import queue_pages
from tracker.parse import ParsedFeed, parse_feed
from tracker.parts import ARTICLES_PER_POLL, Parts
from tracker.policy import next_poll
from tracker.store import Feed, upsert_entries
from tracker.workers import LoneWorker, WorkerCrashed, WorkersUnavailable

# Imported by name elsewhere (tests, benches): the poll's own vocabulary.
__all__ = ["ARTICLES_PER_POLL", "DEADLINE_FACTOR", "PollResult", "Prepared", "poll_feed", "prepare_document"]

log = logging.getLogger(__name__)

# A permanent redirect must be seen this many polls in a row before we believe it.
REDIRECTS_TO_MOVE = 3
# A fetch may take this many feed timeouts in all (connect, redirects, a slow body).
DEADLINE_FACTOR = 3


@dataclass(frozen=True)
class Prepared:
    """A parsed document with the mentions of its new and changed entries, by entry key."""

    parsed: ParsedFeed
    extracted: dict[str, Extracted]
    # New and changed entries past the per-poll budget: stored, marked for extraction, and
    # read by the next polls' catch-up instead of this one.
    deferred: frozenset[str] = frozenset()


def articles_to_extract(
    parsed: ParsedFeed, known: Mapping[str, str], now: datetime, limit: int = ARTICLES_PER_POLL
) -> tuple[list[Article], frozenset[str]]:
    """The document's entries not stored with this content, the newest `limit` of them, and
    the keys of the rest (deferred to later polls); `known` is key -> content hash."""
    out = []
    for entry in parsed.entries:
        if known.get(entry.key) == entry.content_hash:
            continue
        if entry.published is None and entry.key in known:
            # The stored entry keeps its earlier first-seen date; only the transaction knows it.
            continue
        # The date the store will give the entry: its own, else first seen (now).
        out.append(Article(entry.key, entry.title, entry.text, entry.published or now, entry.content_hash))
    if len(out) <= limit:
        return out, frozenset()
    # Newest first: on a first poll of a feed with a huge archive, today's news is what the
    # user is waiting for. Stable, so equal dates keep document order.
    ranked = sorted(out, key=lambda a: a.published, reverse=True)
    return ranked[:limit], frozenset(a.key for a in ranked[limit:])


def prepare_document(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    now: datetime,
    known: Mapping[str, str],
    feed: FeedConfig,
    matcher: TopicMatcher,
    prefilter: TopicPrefilter | None,
    limit: int,
    extract: ExtractFn | None,
) -> Prepared | str:
    """Parse a document and extract the mentions of entries not stored with this content.

    Pure CPU work, run in a worker process or the polling thread; `known` is key ->
    content hash of the stored entries; at most `limit` articles are extracted, the newest
    (the rest are deferred); `extract` None: parse only. A document that is no
    feed gives the ParseError message (a string crosses process boundaries more safely
    than an exception).
    """
    try:
        parsed = parse_feed(body, headers, url=url, now=now)
    except ParseError as exc:
        return str(exc)
    if extract is None:
        return Prepared(parsed, {})
    articles, deferred = articles_to_extract(parsed, known, now, limit)
    results = extract_articles([(feed, a) for a in articles], matcher, prefilter, extract)
    return Prepared(parsed, {a.key: r for a, r in zip(articles, results)}, deferred)


def poll_feed(
    tracker: Parts,
    cfg: FeedConfig,
    *,
    use_workers: bool = False,
    batch: MergeBatch | None = None,
    catch_up: bool = True,
) -> PollResult:
    """Poll one feed now. Never raises: a problem, even a bug, is recorded and returned.

    With `use_workers`, parsing and extraction run in the tracker's worker processes.
    The entries are stored in one transaction, then their mentions merged: by the caller
    when it gives a `batch` (Tracker.poll, once for many feeds), else here. `catch_up`
    first finishes the feed's entries that an earlier run left unmerged (the daemon's polls
    come here; Tracker.poll does it for all its feeds at once).
    """
    started = time.monotonic()
    try:
        caught = merge_step.catch_up(tracker, [cfg]) if catch_up else None
        own = batch if batch is not None else MergeBatch()
        result = _poll_feed(tracker, cfg, started, use_workers, own)
        if batch is None:
            pending = own.take()
            if pending:
                result = merge_pending(tracker, pending).settle(result)
        if caught is not None:
            result = caught.settle(result)
        return replace(result, duration=time.monotonic() - started)
    except StoreError as exc:
        # The database refused a read (locked, gone, full): an ordinary failed poll, no bug.
        log.error("%s: could not poll: %s", cfg.name, exc)
        return PollResult(cfg.name, "error", error=str(exc), duration=time.monotonic() - started)
    except Exception as exc:
        # A bug must cost one feed one poll, never the other feeds or the daemon.
        log.exception("%s: unexpected error while polling", cfg.name)
        return PollResult(
            cfg.name, "error", error=f"internal error: {exc.__class__.__name__}: {exc}",
            duration=time.monotonic() - started,
        )


def _poll_feed(tracker: Parts, cfg: FeedConfig, started: float, use_workers: bool, batch: MergeBatch) -> PollResult:
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
        return finish(_record_failure(tracker, cfg, state.id, now, exc, gone=True, rng=rng, answered=tracker.clock()))
    except FetchError as exc:
        return finish(_record_failure(tracker, cfg, state.id, now, exc, rng=rng, answered=tracker.clock()))
    # The next poll is an interval from the server's answer, not from the poll's start: a
    # poll that waited for a thread or a read before its request would otherwise be due
    # again less than an interval after the request.
    answered = tracker.clock()

    prepared: Prepared | None = None
    if not fetched.not_modified:
        assert fetched.body is not None
        # All CPU work happens here, before the write lock is taken: the transaction
        # only compares content hashes and writes.
        outcome = _prepare(tracker, cfg, fetched, now, tracker.store.entry_hashes(state.id), use_workers)
        if isinstance(outcome, str):
            return finish(_record_failure(tracker, cfg, state.id, now, ParseError(outcome), rng=rng, answered=answered))
        prepared = outcome

    try:
        result = _record_success(tracker, cfg, state.id, now, fetched, prepared, rng, batch, answered)
    except StoreError as exc:
        log.error("%s: could not store the poll: %s", cfg.name, exc)
        return finish(PollResult(cfg.name, "error", error=str(exc)))
    return finish(result)


def _prepare(
    tracker: Parts,
    cfg: FeedConfig,
    fetched: FetchResult,
    now: datetime,
    known: dict[str, str],
    use_workers: bool,
) -> Prepared | str:
    assert fetched.body is not None
    matcher, prefilter, extract = tracker.task_args()
    args = (fetched.body, dict(fetched.headers), fetched.url, now, known, cfg, matcher, prefilter, tracker.articles_per_poll)
    if use_workers:
        try:
            return tracker.workers.run(prepare_document, *args, extract)
        except WorkersUnavailable as exc:
            # No workers to be had (they cannot start here, the tracker is closing): this
            # feed is done here instead.
            log.debug("%s: worker processes unavailable (%s); parsing in the polling thread", cfg.name, exc)
        except WorkerCrashed:
            # A worker died (killed, out of memory) while this document was in the pool,
            # maybe because of it: never try it in this process, which it could kill too.
            with tracker.workers.alone() as worker:
                return _prepare_alone(tracker, worker, cfg, args, extract, now, known)
    return prepare_document(*args, extract)


def _prepare_alone(
    tracker: Parts,
    worker: LoneWorker,
    cfg: FeedConfig,
    args: tuple[Any, ...],
    extract: ExtractFn,
    now: datetime,
    known: Mapping[str, str],
) -> Prepared | str:
    """The document again in a worker of its own: whole, and if that dies too, parsed there
    and its articles extracted one at a time, so that only the article at fault fails."""
    try:
        return worker.run(prepare_document, *args, extract)
    except WorkerCrashed:
        log.warning("%s: a worker process died on this feed's document; extracting its articles one at a time", cfg.name)
    except WorkersUnavailable as exc:
        return f"no worker process to parse the document after a worker crash: {exc}"
    try:
        prepared = worker.run(prepare_document, *args, None)
    except (WorkerCrashed, WorkersUnavailable) as exc:
        return f"the document could not be parsed: a worker process died parsing it ({exc})"
    if isinstance(prepared, str):
        return prepared
    articles, deferred = articles_to_extract(prepared.parsed, known, now, tracker.articles_per_poll)
    results = tracker.extract_alone(worker, [(cfg, a) for a in articles], whole_first=False)
    return Prepared(prepared.parsed, {a.key: r for a, r in zip(articles, results)}, deferred)


def _server_interval(fetched: FetchResult, parsed: ParsedFeed | None) -> float | None:
    hints = [h for h in (fetched.max_age, (parsed.ttl * 60) if parsed and parsed.ttl else None) if h]
    return max(hints) if hints else None


def _record_success(
    tracker: Parts,
    cfg: FeedConfig,
    feed_id: int,
    now: datetime,
    fetched: FetchResult,
    prepared: Prepared | None,
    rng: random.Random,
    batch: MergeBatch,
    answered: datetime,
) -> PollResult:
    parsed = prepared.parsed if prepared is not None else None
    server_interval = _server_interval(fetched, parsed)
    schedule = next_poll(now=answered, interval=cfg.interval, server_interval=server_interval, rng=rng)
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
        warning = parsed.warning
        if prepared.deferred:
            left = len(prepared.deferred)
            note = (
                f"{left:,} {'article' if left == 1 else 'articles'} stored and left for the next polls "
                f"(at most {tracker.articles_per_poll:,} a feed are read per poll)"
            )
            warning = "; ".join(filter(None, [warning, note]))
        feed.last_status = "ok"
        feed.warning = warning
        if parsed.title:
            feed.title = parsed.title
        counts, touched = upsert_entries(s, feed_id, parsed.entries, now)
        # Pages to read for full text, queued in the same transaction as their entries, so a
        # crash can lose neither; they are read after the poll (Tracker.poll, the daemon's
        # page queue) and never delay it.
        by_key = {e.key: e for e in parsed.entries}
        queue_pages(s, cfg, feed_id, [(e.id, by_key[e.key]) for e in touched if e.key in by_key], now)
        pending = [
            PendingMerge(cfg, e.id, e.content_hash, prepared.extracted.get(e.key))
            for e in touched
            if e.key not in prepared.deferred
        ]
    # Queued only once the entries are committed (marked for extraction): merging them is
    # another transaction, and whatever happens to it, the entries are kept.
    batch.add(pending)
    return PollResult(
        cfg.name,
        "ok",
        new=counts.new,
        updated=counts.updated,
        unchanged=counts.unchanged,
        warning=warning,
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
    tracker: Parts,
    cfg: FeedConfig,
    feed_id: int,
    now: datetime,
    exc: FetchError | ParseError,
    *,
    gone: bool = False,
    rng: random.Random,
    answered: datetime,
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
                now=answered,
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
