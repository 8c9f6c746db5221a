"""The pure scheduling decisions: next_poll after a poll, resume_due when the daemon (re)starts."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from tracker.fetch import _retry_after
from tracker.policy import MAX_DELAY, MAX_JITTER, MIN_DELAY, jitter, next_poll, resume_due

NOW = datetime(2024, 3, 25, 14, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
SEEDS = range(200)


def delay(**kwargs: object) -> timedelta:
    """next_poll's delay for NOW (kwargs as next_poll's)."""
    return next_poll(now=NOW, **kwargs).next_due - NOW  # type: ignore[arg-type]


@pytest.mark.parametrize("interval", [timedelta(seconds=2), 30 * MIN, 10 * timedelta(hours=1)])
def test_jitter_is_bounded_and_spreads(interval: timedelta) -> None:
    bound = min(interval * 0.1, MAX_JITTER)
    offsets = [jitter(interval, random.Random(seed)) for seed in SEEDS]
    assert all(-bound <= o <= bound for o in offsets)
    assert len(set(offsets)) > 150  # actually random, not a constant
    assert min(offsets) < -bound / 2 and max(offsets) > bound / 2  # both ways


def test_success_is_the_interval_with_jitter_and_no_reason() -> None:
    for seed in SEEDS:
        s = next_poll(now=NOW, interval=30 * MIN, rng=random.Random(seed))
        assert 27 * MIN <= s.next_due - NOW <= 33 * MIN
        assert s.reason is None


def test_server_interval_is_a_lower_bound() -> None:
    for seed in SEEDS:
        s = next_poll(now=NOW, interval=30 * MIN, server_interval=7200, rng=random.Random(seed))
        # Never before the server's max-age / ttl, jitter only later.
        assert timedelta(hours=2) <= s.next_due - NOW <= timedelta(hours=2) + MAX_JITTER
        assert s.reason == "server asks for at most one poll per 2h"
    # A hint shorter than the configured interval changes nothing.
    s = next_poll(now=NOW, interval=30 * MIN, server_interval=60, rng=random.Random(1))
    assert s.next_due - NOW <= 33 * MIN and s.reason is None


def test_server_interval_is_capped_at_24h() -> None:
    for seed in SEEDS:
        s = next_poll(now=NOW, interval=30 * MIN, server_interval=7 * 86400, rng=random.Random(seed))
        assert s.next_due - NOW == MAX_DELAY
        assert s.reason == "server asks for at most one poll per 24h"


def test_backoff_grows_exponentially_with_jitter() -> None:
    interval = 10 * MIN
    # The first error keeps the interval (one blip is not a pattern).
    assert delay(interval=interval, consecutive_errors=1, rng=random.Random(0)) <= 11 * MIN
    for errors in range(2, 8):
        ceiling = interval * 2 ** (errors - 1)
        samples = [delay(interval=interval, consecutive_errors=errors, rng=random.Random(s)) for s in SEEDS]
        # Jittered over the upper half of the backoff, so many feeds do not retry together.
        assert all(ceiling / 2 <= d <= ceiling for d in samples)
        assert len(set(samples)) > 150
    s = next_poll(now=NOW, interval=interval, consecutive_errors=3, rng=random.Random(0))
    assert s.reason == "backing off after 3 consecutive errors"


def test_backoff_caps_at_24h() -> None:
    for errors in (9, 12, 50, 10_000):
        for seed in range(20):
            d = delay(interval=10 * MIN, consecutive_errors=errors, rng=random.Random(seed))
            assert MAX_DELAY / 2 <= d <= MAX_DELAY


def test_backoff_respects_the_server_lower_bound() -> None:
    for seed in SEEDS:
        d = delay(interval=10 * MIN, server_interval=3600, consecutive_errors=2, rng=random.Random(seed))
        assert d >= timedelta(hours=1)


def test_success_resets_the_backoff() -> None:
    backing_off = next_poll(now=NOW, interval=10 * MIN, consecutive_errors=6, rng=random.Random(0))
    assert backing_off.next_due - NOW > timedelta(hours=2)
    # The poller passes 0 errors after a success: back to the interval, no reason shown.
    recovered = next_poll(now=NOW, interval=10 * MIN, consecutive_errors=0, rng=random.Random(0))
    assert recovered.next_due - NOW <= 11 * MIN and recovered.reason is None


def test_retry_after_wins_when_later() -> None:
    s = next_poll(now=NOW, interval=2 * MIN, consecutive_errors=1, retry_after=3600, rng=random.Random(0))
    assert s.next_due - NOW == timedelta(hours=1)
    assert s.reason == "server asked to retry after 1h"
    # Shorter than the backoff: the backoff stands.
    s = next_poll(now=NOW, interval=10 * MIN, consecutive_errors=6, retry_after=5, rng=random.Random(0))
    assert s.next_due - NOW > timedelta(hours=2) and s.reason is not None and "backing off" in s.reason
    # Absurd values are capped at 24 h; negative ones mean "now", i.e. the usual schedule.
    assert delay(interval=2 * MIN, consecutive_errors=1, retry_after=30 * 86400, rng=random.Random(0)) == MAX_DELAY
    assert delay(interval=2 * MIN, consecutive_errors=1, retry_after=-5, rng=random.Random(0)) <= 3 * MIN


def test_retry_after_as_http_date() -> None:
    headers = {
        "retry-after": format_datetime(NOW + timedelta(minutes=90), usegmt=True),
        "date": format_datetime(NOW, usegmt=True),
    }
    seconds = _retry_after(headers, lambda: NOW + timedelta(hours=5))  # the server's Date wins over our clock
    assert seconds == 5400
    s = next_poll(now=NOW, interval=2 * MIN, consecutive_errors=1, retry_after=seconds, rng=random.Random(0))
    assert s.next_due == NOW + timedelta(minutes=90) and s.reason == "server asked to retry after 90m"
    assert _retry_after({"retry-after": "120"}, lambda: NOW) == 120
    assert _retry_after({"retry-after": "soon"}, lambda: NOW) is None


def test_never_sooner_than_a_second() -> None:
    assert delay(interval=timedelta(seconds=0.1), rng=random.Random(0)) >= MIN_DELAY


# -- resume_due: where a (re)started daemon picks up -------------------------------------


def resume(**kwargs: object) -> datetime:
    args: dict[str, object] = {"now": NOW, "interval": 30 * MIN, "next_due": None, "last_poll": None, "backoff_reason": None}
    args.update(kwargs)
    return resume_due(**args)  # type: ignore[arg-type]


def test_never_polled_is_due_now_spread() -> None:
    dues = [resume(rng=random.Random(seed)) for seed in SEEDS]
    assert all(NOW <= d <= NOW + MIN for d in dues)  # at most a minute, whatever the interval
    assert len(set(dues)) > 150
    small = [resume(max_spread=timedelta(seconds=2), rng=random.Random(s)) for s in SEEDS]
    assert all(NOW <= d <= NOW + timedelta(seconds=2) for d in small)
    # Never more than 10% of the interval.
    fast = [resume(interval=timedelta(seconds=2), rng=random.Random(s)) for s in SEEDS]
    assert all(NOW <= d <= NOW + timedelta(seconds=0.2) for d in fast)


def test_a_due_time_ahead_is_kept_on_restart() -> None:
    due = NOW + 20 * MIN
    assert resume(next_due=due, last_poll=NOW - 10 * MIN) == due
    # A backoff or Retry-After far ahead is kept too.
    far = NOW + timedelta(hours=20)
    assert resume(next_due=far, last_poll=NOW - MIN, backoff_reason="server asked to retry after 20h") == far


def test_overdue_feeds_are_due_now_spread() -> None:
    d = resume(next_due=NOW - timedelta(hours=3), last_poll=NOW - timedelta(hours=4), rng=random.Random(0))
    assert NOW <= d <= NOW + MIN


def test_a_shrunk_interval_pulls_the_due_time_in() -> None:
    # Polled 10 minutes ago with a 6 h interval; the config now says 30 minutes.
    d = resume(next_due=NOW + timedelta(hours=6) - 10 * MIN, last_poll=NOW - 10 * MIN, rng=random.Random(0))
    assert NOW + 17 * MIN <= d <= NOW + 23 * MIN
