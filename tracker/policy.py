"""Pure polling policy: when a feed is next due, given what its last poll said."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_DELAY = timedelta(hours=24)
# Spread feeds so they do not all fire together: +-10% of the interval, at most 5 minutes.
JITTER_FRACTION = 0.1
MAX_JITTER = timedelta(minutes=5)


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
    - failure: exponential backoff, the interval doubled per consecutive error beyond
      the first, jittered over its upper half, never shorter than the interval,
      capped at 24 h; a success resets it (the caller passes 0 errors);
    - Retry-After always wins when it is later (also capped at 24 h).
    """
    rng = rng or random.Random()
    base = interval
    reason: str | None = None
    if server_interval is not None and timedelta(seconds=server_interval) > base:
        base = min(timedelta(seconds=server_interval), MAX_DELAY)
        reason = f"server asks for at most one poll per {_human(base)}"
    delay = base + jitter(base, rng)
    if consecutive_errors > 0:
        backoff = min(interval * (2 ** min(consecutive_errors - 1, 20)), MAX_DELAY)
        if backoff > interval:
            # Jitter in [backoff/2, backoff] keeps retries of many feeds from synchronising.
            delay = timedelta(seconds=rng.uniform(backoff.total_seconds() / 2, backoff.total_seconds()))
            delay = max(delay, interval)
            reason = f"backing off after {consecutive_errors} consecutive error{'s' if consecutive_errors > 1 else ''}"
    if retry_after is not None:
        wait = min(timedelta(seconds=max(retry_after, 0)), MAX_DELAY)
        if wait > delay:
            delay = wait
            reason = f"server asked to retry after {_human(wait)}"
    return Schedule(next_due=now + max(delay, timedelta(seconds=1)), reason=reason)


def _human(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"
