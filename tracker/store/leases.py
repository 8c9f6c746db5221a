"""Feed leases: several daemons on one database, each due feed polled by exactly one of them.

A daemon claims a feed before polling it: in one short write transaction it locks the
feed's row (PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`; SQLite takes the database's
write lock, and there one daemon runs anyway), checks that the feed is due and that no
other live daemon holds it, and writes itself as `lease_owner` until `lease_until`. The
poll then writes the feed's next due time, and the daemon releases the lease. A daemon
that dies holding a lease holds it only until `lease_until`: then another one takes the
feed over.

The decisions (is this feed due, is this lease free for me) are pure functions of the
row and the clock, apart from the I/O, as in tracker.policy.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from tracker.clock import Clock, to_aware_utc, to_naive_utc
from tracker.store._store import Store
from tracker.store.models import Feed

# A claim outlives the longest fetch (the feed's timeout times poll.DEADLINE_FACTOR) by
# this much, for parsing, extraction and the write; the daemon renews the leases of its
# polls in flight every LEASE_RENEW_EVERY, so a slow merge does not let a lease lapse.
LEASE_MARGIN = timedelta(seconds=10)
LEASE_RENEW_EVERY = timedelta(seconds=3)
MAX_OWNER = 300

CLAIMED, NOT_DUE, HELD, GONE, MISSING = "claimed", "not-due", "held", "gone", "missing"


def owner_id() -> str:
    """Who claims: host, pid and a random part (a restarted container may reuse the pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[-MAX_OWNER:]


def lease_length(deadline: timedelta, margin: timedelta = LEASE_MARGIN) -> timedelta:
    """How long a claim holds: the poll's longest fetch plus the margin."""
    return deadline + margin


# -- the pure decisions ----------------------------------------------------------------


def lease_mine(owner: str | None, me: str) -> bool:
    return owner is not None and owner == me


def lease_expired(until: datetime | None, now: datetime) -> bool:
    """A lease without an end, or whose end has come, holds nothing."""
    return until is None or until <= now


def lease_free(owner: str | None, until: datetime | None, *, me: str, now: datetime) -> bool:
    """May `me` take the feed: nobody holds it, the holder's lease expired, or it is ours."""
    return owner is None or lease_mine(owner, me) or lease_expired(until, now)


def is_due(next_due: datetime | None, now: datetime, slack: timedelta = timedelta(0)) -> bool:
    """Never scheduled (new, or its URL changed), or its due time (within `slack`) has come."""
    return next_due is None or next_due <= now + slack


@dataclass(frozen=True)
class Claim:
    """The outcome of a claim: `status` CLAIMED (poll it), NOT_DUE (polled meanwhile: wait
    for `next_due`), HELD (another daemon polls it: `owner` until `until`), GONE (410) or
    MISSING (no row, or its row locked by another claim right now)."""

    status: str
    next_due: datetime | None = None
    owner: str | None = None
    until: datetime | None = None

    @property
    def won(self) -> bool:
        return self.status == CLAIMED


def decide(
    *,
    next_due: datetime | None,
    gone: bool,
    owner: str | None,
    until: datetime | None,
    me: str,
    now: datetime,
    lease: timedelta,
    slack: timedelta = timedelta(0),
) -> Claim:
    """Whether `me` claims the feed now, and if so until when (pure)."""
    if gone:
        return Claim(GONE, next_due, owner, until)
    if not is_due(next_due, now, slack):
        return Claim(NOT_DUE, next_due, owner, until)
    if not lease_free(owner, until, me=me, now=now):
        return Claim(HELD, next_due, owner, until)
    return Claim(CLAIMED, next_due, me, now + lease)


def retry_at(claim: Claim, now: datetime, recheck: timedelta) -> datetime:
    """When a daemon that lost a claim looks again: at the feed's due time when it is
    ahead, else when the holder's lease ends (or after `recheck` when that is sooner:
    the holder usually finishes well before, and then the due time moved on)."""
    if claim.status == NOT_DUE and claim.next_due is not None and claim.next_due > now:
        return claim.next_due
    if claim.status == HELD and claim.until is not None:
        return max(now, min(claim.until, now + recheck))
    return now + recheck


# -- the I/O ---------------------------------------------------------------------------

_ROW = select(Feed.id, Feed.next_due, Feed.gone, Feed.lease_owner, Feed.lease_until)


def claim_feed(
    store: Store, name: str, *, me: str, clock: Clock, lease: timedelta, slack: timedelta = timedelta(0)
) -> Claim:
    """Claim the feed `name` for `me` if it is due and not held by another live daemon.

    One short write transaction; the row is locked FOR UPDATE SKIP LOCKED, so a daemon
    never waits for another's claim of the same feed (it finds MISSING, and looks again
    later). The time is read once the transaction holds the row. It locks that row alone
    (Store.write_rows): on PostgreSQL claims never queue behind merges. Raises StoreError.
    """
    with store.write_rows() as s:
        row = s.execute(_ROW.where(Feed.name == name).with_for_update(skip_locked=True)).one_or_none()
        if row is None:
            return Claim(MISSING)
        now = clock()
        claim = decide(
            next_due=_aware(row.next_due), gone=row.gone, owner=row.lease_owner, until=_aware(row.lease_until),
            me=me, now=now, lease=lease, slack=slack,
        )
        if claim.won:
            assert claim.until is not None
            s.execute(
                update(Feed).where(Feed.id == row.id).values(lease_owner=me, lease_until=to_naive_utc(claim.until))
            )
        return claim


def peek_feed(store: Store, name: str, *, me: str, clock: Clock, slack: timedelta = timedelta(0)) -> Claim:
    """claim_feed for the only daemon on a database (SQLite, behind its lock file): the same
    decision, read without a write. No other daemon can hold the feed, so a lease left by
    an earlier daemon holds nothing; `tracker poll` run meanwhile shows as NOT_DUE. The
    claim's two small write transactions per poll (and their wait behind a merge for
    SQLite's one writer) are saved. Raises StoreError."""
    with store.read() as s:
        row = s.execute(_ROW.where(Feed.name == name)).one_or_none()
    if row is None:
        return Claim(MISSING)
    return decide(next_due=_aware(row.next_due), gone=row.gone, owner=None, until=None, me=me, now=clock(),
                  lease=timedelta(0), slack=slack)


def release_feed(store: Store, name: str, *, me: str) -> bool:
    """Give the lease back (the poll wrote the next due time); True if it was still ours.
    One row's UPDATE, so no store-wide lock (Store.write_rows)."""
    with store.write_rows() as s:
        result = s.execute(
            update(Feed)
            .where(Feed.name == name, Feed.lease_owner == me)
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


def renew_feeds(store: Store, until: Callable[[str], datetime], names: Sequence[str], *, me: str) -> list[str]:
    """Extend our leases on these feeds (polls still in flight) to until(name); the names
    whose lease was no longer ours (expired and taken over: that poll may be a double)."""
    lost: list[str] = []
    if not names:
        return lost
    # Several rows at once: under the store-wide write lock (not write_rows), so that it can
    # never deadlock with a transaction that updates feed rows in another order.
    with store.write() as s:
        for name in names:
            result = s.execute(
                update(Feed)
                .where(Feed.name == name, Feed.lease_owner == me)
                .values(lease_until=to_naive_utc(until(name)))
                .execution_options(synchronize_session=False)
            )
            if not getattr(result, "rowcount", 0):
                lost.append(name)
    return lost


def leases(store: Store) -> dict[str, tuple[str | None, datetime | None]]:
    """Feed name -> (lease owner, lease end): for tests and `tracker feeds`-like views."""
    with store.read() as s:
        return {
            name: (owner, _aware(until))
            for name, owner, until in s.execute(select(Feed.name, Feed.lease_owner, Feed.lease_until))
        }


def _aware(value: datetime | None) -> datetime | None:
    return to_aware_utc(value) if value is not None else None
