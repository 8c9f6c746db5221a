"""One poll of one feed: fetch, parse, store (and extract), each feed in its own transaction."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from tracker.clock import to_naive_utc
from tracker.config import FeedConfig
from tracker.errors import FeedGone, FetchError, ParseError, StoreError
from tracker.fetch import FetchResult, Validators
from tracker.parse import ParsedFeed, parse_feed
from tracker.policy import next_poll
from tracker.store import Feed, upsert_entries

if TYPE_CHECKING:
    from tracker.app import Tracker

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


def poll_feed(tracker: Tracker, cfg: FeedConfig) -> PollResult:
    """Poll one feed now. Never raises: a problem, even a bug, is recorded and returned."""
    started = time.monotonic()
    try:
        return _poll_feed(tracker, cfg, started)
    except Exception as exc:
        # A bug must cost one feed one poll, never the other feeds or the daemon.
        log.exception("%s: unexpected error while polling", cfg.name)
        return PollResult(
            cfg.name, "error", error=f"internal error: {exc.__class__.__name__}: {exc}",
            duration=time.monotonic() - started,
        )


def _poll_feed(tracker: Tracker, cfg: FeedConfig, started: float) -> PollResult:
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

    parsed: ParsedFeed | None = None
    if not fetched.not_modified:
        assert fetched.body is not None
        try:
            parsed = parse_feed(fetched.body, fetched.headers, url=fetched.url, now=now)
        except ParseError as exc:
            return finish(_record_failure(tracker, cfg, state.id, now, exc, rng=rng))

    try:
        result = _record_success(tracker, cfg, state.id, now, fetched, parsed, rng)
    except StoreError as exc:
        log.error("%s: could not store the poll: %s", cfg.name, exc)
        return finish(PollResult(cfg.name, "error", error=str(exc)))
    return finish(result)


def _server_interval(fetched: FetchResult, parsed: ParsedFeed | None) -> float | None:
    hints = [h for h in (fetched.max_age, (parsed.ttl * 60) if parsed and parsed.ttl else None) if h]
    return max(hints) if hints else None


def _record_success(
    tracker: Tracker,
    cfg: FeedConfig,
    feed_id: int,
    now: datetime,
    fetched: FetchResult,
    parsed: ParsedFeed | None,
    rng: random.Random,
) -> PollResult:
    server_interval = _server_interval(fetched, parsed)
    schedule = next_poll(now=now, interval=cfg.interval, server_interval=server_interval, rng=rng)
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
        if parsed is None:
            feed.last_status = "not-modified"
            return PollResult(cfg.name, "not-modified", next_due=schedule.next_due)
        feed.last_status = "ok"
        feed.warning = parsed.warning
        if parsed.title:
            feed.title = parsed.title
        counts, touched = upsert_entries(s, feed_id, parsed.entries, now)
        events_changed = tracker.after_entries(s, cfg, touched, now)
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
