"""Pure polling policy: when a feed is next due, given what its last poll said."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_DELAY = timedelta(hours=24)
# Spread feeds so they do not all fire together: +-10% of the interval, at most 5 minutes.
JITTER_FRACTION = 0.1
MAX_JITTER = timedelta(minutes=5)
# A (re)started daemon spreads overdue feeds this far apart on average, over at most a minute.
START_SPACING = timedelta(seconds=0.5)
MAX_START_SPREAD = timedelta(minutes=1)
# Never schedule a poll sooner than this after the previous one.
MIN_DELAY = timedelta(seconds=1)


@dataclass(frozen=True)
class Schedule:
    """When to poll next and, if later than the configured interval, why."""

    next_due: datetime
    reason: str | None = None


def jitter(interval: timedelta, rng: random.Random) -> timedelta:
    """A random offset within +-10% of the interval (capped), so feeds drift apart."""
    spread = min(interval * JITTER_FRACTION, MAX_JITTER).total_seconds()
    return timedelta(seconds=rng.uniform(-spread, spread))


def next_poll(
    *,
    now: datetime,
    interval: timedelta,
    consecutive_errors: int = 0,
    retry_after: float | None = None,
    server_interval: float | None = None,
    rng: random.Random | None = None,
) -> Schedule:
    """The next due time after a poll.

    - success: the configured interval, raised to what the server asked (Cache-Control
      max-age, Expires, RSS ttl) but never beyond 24 h;
    - failure: exponential backoff, the (server-raised) interval doubled per consecutive
      error beyond the first, jittered over its upper half, never shorter than the
      interval, capped at 24 h; a success resets it (the caller passes 0 errors);
    - Retry-After always wins when it is later (also capped at 24 h).
    """
    rng = rng or random.Random()
    base = interval
    reason: str | None = None
    if server_interval is not None and timedelta(seconds=server_interval) > base:
        base = min(timedelta(seconds=server_interval), MAX_DELAY)
        reason = f"server asks for at most one poll per {_human(base)}"
    offset = jitter(base, rng)
    if reason is not None:
        offset = abs(offset)  # the server's lower bound is never undercut
    # Nor does jitter push a server-raised interval past the 24 h cap.
    delay = min(base + offset, max(base, MAX_DELAY))
    if consecutive_errors > 0:
        # Back off from the effective interval, so a server's lower bound holds in failure too.
        backoff = min(base * (2 ** min(consecutive_errors - 1, 20)), max(base, MAX_DELAY))
        if backoff > base:
            # Jitter in [backoff/2, backoff] keeps retries of many feeds from synchronising.
            delay = timedelta(seconds=rng.uniform(backoff.total_seconds() / 2, backoff.total_seconds()))
            delay = max(delay, base)
            reason = f"backing off after {consecutive_errors} consecutive error{'s' if consecutive_errors > 1 else ''}"
    if retry_after is not None:
        wait = min(timedelta(seconds=max(retry_after, 0)), MAX_DELAY)
        if wait > delay:
            delay = wait
            reason = f"server asked to retry after {_human(wait)}"
    return Schedule(next_due=now + max(delay, MIN_DELAY), reason=reason)


def resume_due(
    *,
    now: datetime,
    interval: timedelta,
    next_due: datetime | None,
    last_poll: datetime | None,
    backoff_reason: str | None,
    max_spread: timedelta = MAX_START_SPREAD,
    rng: random.Random | None = None,
) -> datetime:
    """When the daemon should poll a feed it starts scheduling (start, restart, config change).

    - a due time still ahead is kept, so a restart polls nothing early; but a plain
      interval schedule (no backoff reason) is pulled in when the configured interval
      has shrunk since it was computed;
    - a feed never polled, or overdue, is due now plus a random spread of up to 10% of
      its interval and at most `max_spread` (the caller scales it with the number of
      feeds), so a fresh start does not fire every feed in the same second.
    """
    rng = rng or random.Random()
    spread = min(interval * JITTER_FRACTION, max_spread).total_seconds()
    soon = now + timedelta(seconds=rng.uniform(0, spread))
    if next_due is None:
        return soon
    due = next_due
    if backoff_reason is None and last_poll is not None:
        latest = last_poll + interval + min(interval * JITTER_FRACTION, MAX_JITTER)
        if due > latest:
            due = last_poll + interval + jitter(interval, rng)
    return due if due > now else soon


def _human(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"
