"""Feed leases (tracker.store.leases): the pure decisions, and claims on SQLite and PostgreSQL
from several daemons (owners) at once, including the daemon's own use of them."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import update

from tracker.app import Tracker, make_tracker
from tracker.config import FeedConfig, load_config
from tracker.poll import PollResult
from tracker.scheduler import LEASE_JOB, Daemon
from tracker.store.leases import (
    CLAIMED,
    GONE,
    HELD,
    MISSING,
    NOT_DUE,
    Claim,
    claim_feed,
    decide,
    is_due,
    lease_expired,
    lease_free,
    leases,
    owner_id,
    peek_feed,
    release_feed,
    renew_feeds,
    retry_at,
)
from tracker.store.models import Feed

from pgserver import PgServer

T0 = datetime(2024, 3, 25, 12, 0, tzinfo=timezone.utc)
LEASE = timedelta(seconds=20)
A, B, C = "host-a:101:aaaa", "host-b:202:bbbb", "host-c:303:cccc"


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# -- pure decisions --------------------------------------------------------------------


def test_lease_free_for_nobody_an_expired_holder_or_ourselves() -> None:
    assert lease_free(None, None, me=A, now=T0)
    assert lease_free(A, T0 + LEASE, me=A, now=T0)  # ours, still running: a renewed claim
    assert not lease_free(B, T0 + LEASE, me=A, now=T0)  # a live daemon's
    assert lease_free(B, T0, me=A, now=T0)  # its end has come
    assert lease_free(B, T0 - LEASE, me=A, now=T0)
    assert lease_free(B, None, me=A, now=T0)
    assert lease_expired(None, T0) and lease_expired(T0, T0) and not lease_expired(T0 + timedelta(microseconds=1), T0)


def test_is_due() -> None:
    assert is_due(None, T0)  # never polled, or its URL changed
    assert is_due(T0, T0) and is_due(T0 - timedelta(hours=1), T0)
    assert not is_due(T0 + timedelta(seconds=2), T0)
    assert is_due(T0 + timedelta(seconds=1), T0, slack=timedelta(seconds=1))


def test_decide() -> None:
    common = {"me": A, "now": T0, "lease": LEASE}
    won = decide(next_due=T0, gone=False, owner=None, until=None, **common)  # type: ignore[arg-type]
    assert won == Claim(CLAIMED, T0, A, T0 + LEASE) and won.won
    assert decide(next_due=T0 + timedelta(minutes=5), gone=False, owner=None, until=None,
                  **common).status == NOT_DUE  # type: ignore[arg-type]
    # Not due wins over a lease: a feed polled by another daemon is not polled again early.
    assert decide(next_due=T0 + timedelta(minutes=5), gone=False, owner=B, until=T0 - LEASE,
                  **common).status == NOT_DUE  # type: ignore[arg-type]
    held = decide(next_due=T0, gone=False, owner=B, until=T0 + timedelta(seconds=5), **common)  # type: ignore[arg-type]
    assert held == Claim(HELD, T0, B, T0 + timedelta(seconds=5)) and not held.won
    assert decide(next_due=T0, gone=False, owner=B, until=T0 - timedelta(seconds=1),
                  **common).won  # type: ignore[arg-type]
    assert decide(next_due=None, gone=True, owner=None, until=None, **common).status == GONE  # type: ignore[arg-type]


def test_retry_at() -> None:
    interval = timedelta(minutes=1)
    assert retry_at(Claim(NOT_DUE, T0 + timedelta(minutes=7)), T0, interval) == T0 + timedelta(minutes=7)
    # Held: look again when the holder's lease ends, or after the interval when sooner.
    assert retry_at(Claim(HELD, T0, B, T0 + timedelta(seconds=20)), T0, interval) == T0 + timedelta(seconds=20)
    assert retry_at(Claim(HELD, T0, B, T0 + timedelta(minutes=9)), T0, interval) == T0 + interval


def test_owner_ids_differ_per_call_and_name_the_process() -> None:
    import os
    import socket

    first, second = owner_id(), owner_id()
    assert first != second
    assert first.startswith(f"{socket.gethostname()}:{os.getpid()}:")


# -- claims on a real database (SQLite and PostgreSQL) -----------------------------------


@pytest.fixture
def tracker(tmp_path: Path, database_url: str) -> Tracker:
    return make_tracker_at(tmp_path, database_url)


def set_feed(tracker: Tracker, **values: object) -> None:
    with tracker.store.write() as s:
        s.execute(update(Feed).where(Feed.name == "news").values(**values))


def test_two_daemons_claim_one_due_feed_exactly_one_wins(tracker: Tracker) -> None:
    clock = Clock()
    first = claim_feed(tracker.store, "news", me=A, clock=clock, lease=LEASE)
    second = claim_feed(tracker.store, "news", me=B, clock=clock, lease=LEASE)
    assert first.status == CLAIMED and second.status == HELD and second.owner == A
    assert leases(tracker.store)["news"] == (A, T0 + LEASE)
    tracker.close()


def test_claims_racing_in_threads_exactly_one_wins(tracker: Tracker) -> None:
    """Many daemons' claims at the same moment, on as many connections: one wins."""
    owners = [f"host-{i}:{i}:x" for i in range(8)]
    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(len(owners))

    def claim(me: str) -> None:
        barrier.wait()
        outcomes[me] = claim_feed(tracker.store, "news", me=me, clock=Clock(), lease=LEASE).status

    threads = [threading.Thread(target=claim, args=(me,)) for me in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # One wins; the others find it held, or (PostgreSQL: claims do not wait for each other)
    # its row locked by the winner's claim right now, SKIP LOCKED: MISSING, look again later.
    assert len(outcomes) == len(owners), outcomes
    assert sorted(outcomes.values()).count(CLAIMED) == 1, outcomes
    assert set(outcomes.values()) - {CLAIMED} <= {HELD, MISSING}, outcomes
    [winner] = [me for me, status in outcomes.items() if status == CLAIMED]
    assert leases(tracker.store)["news"][0] == winner
    tracker.close()


def test_an_expired_lease_is_taken_over(tracker: Tracker) -> None:
    assert claim_feed(tracker.store, "news", me=A, clock=Clock(), lease=LEASE).won
    # A dies without releasing; until the lease ends the feed is held ...
    assert claim_feed(tracker.store, "news", me=B, clock=Clock(T0 + LEASE - timedelta(seconds=1)), lease=LEASE).status == HELD
    # ... then B takes it over.
    later = T0 + LEASE
    taken = claim_feed(tracker.store, "news", me=B, clock=Clock(later), lease=LEASE)
    assert taken.won and leases(tracker.store)["news"] == (B, later + LEASE)
    # A, back from the dead, finds it held and cannot release B's lease.
    assert claim_feed(tracker.store, "news", me=A, clock=Clock(later), lease=LEASE).status == HELD
    assert not release_feed(tracker.store, "news", me=A)
    assert leases(tracker.store)["news"][0] == B
    tracker.close()


def test_a_live_daemons_lease_is_respected_and_renewed(tracker: Tracker) -> None:
    assert claim_feed(tracker.store, "news", me=A, clock=Clock(), lease=LEASE).won
    # A's poll runs long: it renews its lease, so B still finds it held past the first end.
    assert renew_feeds(tracker.store, lambda _n: T0 + 2 * LEASE, ["news"], me=A) == []
    assert claim_feed(tracker.store, "news", me=B, clock=Clock(T0 + LEASE + timedelta(seconds=5)), lease=LEASE).status == HELD
    # B cannot renew what it does not hold.
    assert renew_feeds(tracker.store, lambda _n: T0 + 9 * LEASE, ["news"], me=B) == ["news"]
    # A's poll wrote the next due time and released the lease: B finds it not due.
    set_feed(tracker, next_due=(T0 + timedelta(minutes=1)).replace(tzinfo=None))
    assert release_feed(tracker.store, "news", me=A)
    assert leases(tracker.store)["news"] == (None, None)
    not_due = claim_feed(tracker.store, "news", me=B, clock=Clock(T0 + timedelta(seconds=30)), lease=LEASE)
    assert not_due.status == NOT_DUE and not_due.next_due == T0 + timedelta(minutes=1)
    # When it is due again, whoever comes first gets it.
    assert claim_feed(tracker.store, "news", me=B, clock=Clock(T0 + timedelta(minutes=1)), lease=LEASE).won
    tracker.close()


def test_a_gone_feed_is_not_claimed(tracker: Tracker) -> None:
    set_feed(tracker, gone=True)
    assert claim_feed(tracker.store, "news", me=A, clock=Clock(), lease=LEASE).status == GONE
    assert leases(tracker.store)["news"] == (None, None)
    tracker.close()


# -- the daemon's use of them --------------------------------------------------------------


@pytest.fixture
def pg_tracker(tmp_path: Path, postgres_server: PgServer) -> Iterator[Tracker]:
    """tracker on PostgreSQL only: where several daemons share a database."""
    name = postgres_server.create_database()
    yield make_tracker_at(tmp_path, postgres_server.url(name))
    postgres_server.drop_database(name)


def make_tracker_at(tmp_path: Path, url: str) -> Tracker:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"database: {url}\nfeeds:\n  - name: news\n    url: http://127.0.0.1:9/news.xml\n    interval: 1m\n",
        encoding="utf-8",
    )
    return make_tracker(load_config(config), clock=Clock())


@contextmanager
def two_daemons(tracker: Tracker, due: datetime, check: bool = False) -> Iterator[tuple[Daemon, Daemon, list[str]]]:
    """Daemons A and B on one database, their feed scheduled, paused: A's poll runs B's job
    while it holds the feed, writes `due` as the next due time; B's poll only writes it.
    Yields (A, B, who polled, in order). `check`: each poll asserts it claimed first."""
    polls: list[str] = []
    second_tracker = make_tracker(tracker.config, clock=Clock(tracker.clock()))

    def poll_as(who: str, other: Daemon | None) -> object:
        def poll(_tracker: object, cfg: FeedConfig) -> PollResult:
            if check:
                assert leases(tracker.store)[cfg.name][0] == who  # claimed before the fetch
            polls.append(who)
            if other is not None:
                other._run_feed(cfg.name)  # the other daemon's job fires meanwhile: held
            set_feed(tracker, next_due=due.replace(tzinfo=None))
            return PollResult(cfg.name, "ok", next_due=due)
        return poll

    second = Daemon(second_tracker, poll=poll_as(B, None), owner=B)  # type: ignore[arg-type]
    first = Daemon(tracker, poll=poll_as(A, second), owner=A)  # type: ignore[arg-type]
    second.scheduler.start(paused=True)
    first.scheduler.start(paused=True)
    try:
        for d in (first, second):
            for cfg in d._feeds.values():
                d._schedule_feed(cfg)
        yield first, second, polls
    finally:
        first.stop()
        second.stop()
        tracker.close()
        second_tracker.close()


def test_daemons_sharing_a_database_poll_a_due_feed_once(pg_tracker: Tracker) -> None:
    """Two Daemons (two owners) on one database run the same due feed: one polls, the other
    moves its job to the due time the poll wrote; the lease is released after the poll."""
    tracker = pg_tracker
    # Near the real time: APScheduler's jobs run on it.
    now = datetime.now(timezone.utc).replace(microsecond=0)
    tracker.clock.now = now  # type: ignore[attr-defined]
    due = now + timedelta(minutes=1)
    with two_daemons(tracker, due, check=True) as (first, second, polls):
        first._run_feed("news")
        assert polls == [A]
        assert leases(tracker.store)["news"] == (None, None)
        # After A's poll the feed is not due: B's job moves to the due time A's poll wrote.
        second._run_feed("news")
        assert polls == [A]
        assert second.scheduled()["news"] == due


def test_alone_on_sqlite_the_daemon_reads_the_due_time_and_writes_no_lease(tmp_path: Path) -> None:
    """On SQLite (one daemon, behind its lock file) a due feed is polled without a lease
    written or released (peek_feed: no write transaction around the poll), and a feed
    polled meanwhile (by `tracker poll`) is not polled: its job moves to the due time."""
    tracker = make_tracker_at(tmp_path, f"sqlite:///{tmp_path / 'tracker.db'}")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    tracker.clock.now = now  # type: ignore[attr-defined]
    due = now + timedelta(minutes=1)
    polls: list[tuple[str | None, datetime | None]] = []

    def poll(_tracker: object, cfg: FeedConfig) -> PollResult:
        polls.append(leases(tracker.store)[cfg.name])
        set_feed(tracker, next_due=due.replace(tzinfo=None))
        return PollResult(cfg.name, "ok", next_due=due)

    daemon = Daemon(tracker, poll=poll, owner=A)  # type: ignore[arg-type]
    daemon.scheduler.start(paused=True)
    try:
        for cfg in daemon._feeds.values():
            daemon._schedule_feed(cfg)
        assert daemon.scheduler.get_job(LEASE_JOB) is None  # nothing to renew
        daemon._run_feed("news")
        assert polls == [(None, None)]  # polled, with no lease written
        assert peek_feed(tracker.store, "news", me=A, clock=tracker.clock).status == NOT_DUE
        # Its job fires again before the due time the poll wrote (as after a `tracker
        # poll`): not polled, moved to that due time.
        daemon._run_feed("news")
        assert len(polls) == 1
        assert daemon.scheduled()["news"] == due
        set_feed(tracker, next_due=(now - timedelta(seconds=1)).replace(tzinfo=None), lease_owner=B,
                 lease_until=(now + timedelta(hours=1)).replace(tzinfo=None))
        # A lease an earlier daemon left behind holds nothing on SQLite.
        daemon._run_feed("news")
        assert len(polls) == 2
        set_feed(tracker, gone=True)
        assert peek_feed(tracker.store, "news", me=A, clock=tracker.clock).status == GONE
    finally:
        daemon.stop()
        tracker.close()


def test_a_daemon_looking_again_after_a_holder_never_polls_before_the_due_time(pg_tracker: Tracker) -> None:
    """B finds the feed held by A and looks again once A is done; A's poll wrote a due time
    less than DUE_SLACK ahead. B's look is no due time of its own: it waits for that due
    time (a run at its own due time may claim up to DUE_SLACK early: clocks and rounding)."""
    tracker = pg_tracker
    now = datetime.now(timezone.utc).replace(microsecond=0)
    tracker.clock.now = now  # type: ignore[attr-defined]
    soon = now + timedelta(milliseconds=500)
    with two_daemons(tracker, soon) as (first, second, polls):
        first._run_feed("news")
        second._run_feed("news")  # B's look again, before the due time A wrote
        assert polls == [A]
        assert second.scheduled()["news"] >= soon  # (at least a moment ahead: _move_job)
        # At its due time B's run claims it as usual.
        second.tracker.clock.now = soon  # type: ignore[attr-defined]
        second._run_feed("news")
        assert polls == [A, B]
