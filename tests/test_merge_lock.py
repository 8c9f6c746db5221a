"""The merge step holds the write lock only for the writes (tracker/merge_step.py).

A batch is planned in a read transaction and written in a write transaction that first
checks the plan still holds; these tests, on real SQLite files, check that what it writes
is what the single write transaction wrote (and what merge() makes of every stored
mention), that a merge committed while it planned makes it plan again under the lock with
the same exact result, and that another writer can take the write lock and commit while
it plans.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, timedelta
from pathlib import Path
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select, text
from test_merge_incremental import (  # noqa: F401  (template: a fixture)
    FEED,
    INTERVALS,
    NOW,
    Arrival,
    _mention,
    apply,
    fresh_store,
    from_merge,
    histories,
    stored,
    template,
)

from tracker.config import FeedConfig
from tracker.extraction import Extracted
from tracker.merge_step import PendingMerge, merge_pending
from tracker.parts import Parts
from tracker.store import Store, merging
from tracker.store.models import Entry, Event, EventTopic, Mention

FEED_CONFIG = FeedConfig(
    name=FEED, url="file:///wire.xml", interval=timedelta(minutes=30), timeout=timedelta(seconds=20)
)


class _Parts:
    """What merge_pending needs of Parts when every entry comes with its mentions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def clock(self) -> object:
        return NOW.replace(tzinfo=UTC)


def merge(store: Store, batch: Sequence[Arrival], after_planning: Callable[[], None] | None = None) -> None:
    """Merge a batch the way a poll does (merge_pending), the entries extracted already."""
    with store.read() as s:
        ids = {e.key: e.id for e in s.scalars(select(Entry))}
    pending = [
        PendingMerge(FEED_CONFIG, ids[f"a{n}"], f"h{n}", Extracted(f"h{n}", tuple(mentions))) for n, mentions in batch
    ]
    outcome = merge_pending(cast(Parts, _Parts(store)), pending, after_planning=after_planning)
    assert outcome.failed == 0


def path_of(store: Store) -> str:
    return store.url.removeprefix("sqlite:///")


def dump(store: Store) -> list[object]:
    """Every row merging writes, by event id rather than row key: what the old single
    transaction and the planned one must agree on exactly."""
    with store.read() as s:
        ids = {pk: event_id for pk, event_id in s.execute(select(Event.pk, Event.id))}
        events = sorted(
            (r.id, r.value, r.mod, r.granularity, r.start, r.end, r.span_class, r.summary, r.topics, r.sources,
             r.first_seen, r.updated, r.date_changed, r.sources_changed, r.revision)
            for r in s.scalars(select(Event))
        )  # fmt: skip
        mentions = sorted(
            (m.entry_id, m.fingerprint, ids.get(m.event_pk) if m.event_pk else None, m.quote, m.start, m.end, m.topics,
             m.terms, m.focus, m.context_topics)
            for m in s.scalars(select(Mention))
        )  # fmt: skip
        topics = sorted((ids[t.event_pk], t.topic, t.span_class, t.start, t.end) for t in s.scalars(select(EventTopic)))
        fts = sorted((ids[r[0]], r[1], r[2]) for r in s.execute(text("SELECT rowid, summary, quotes FROM events_fts")))
        pending = s.scalars(select(Entry.key).where(Entry.needs_extraction.is_(True)).order_by(Entry.key)).all()
    return [events, mentions, topics, fts, pending]


def count_plans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count plan_mentions calls (the merge step's, and apply_mentions' when it plans again)."""
    calls: list[int] = []
    plan = merging.plan_mentions

    def counted(*args: object, **kwargs: object) -> merging.MergePlan:
        calls.append(1)
        return plan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(merging, "plan_mentions", counted)
    monkeypatch.setattr("tracker.merge_step.plan_mentions", counted)
    return calls


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_a_planned_merge_writes_what_one_write_transaction_wrote(
    template: Path, history: tuple[list[Arrival], list[int]]
) -> None:
    arrivals, cuts = history
    planned, single = fresh_store(template), fresh_store(template)
    try:
        start = 0
        for cut in cuts:
            # A poll's batch holds an article once (its last version).
            batch = list(dict(arrivals[start:cut]).items())
            merge(planned, batch)
            # The single-transaction path: planned and written under the write lock.
            apply(single, batch)
            start = cut
        assert dump(planned) == dump(single)
        assert stored(planned) == from_merge(dict(arrivals))
    finally:
        planned.close()
        single.close()


DAY, WEEK, MONTH = INTERVALS[0], INTERVALS[2], INTERVALS[3]
FIRST = [_mention("f1", DAY, ["strike"], []), _mention("f2", DAY, ["strike"], ["labour"]),
         _mention("f3", WEEK, ["strike", "union"], ["labour"])]  # fmt: skip
SECOND = [_mention("f3", DAY, ["strike"], ["labour"]), _mention("f1", DAY, ["strike"], []),
          _mention("f2", DAY, ["strike"], [])]  # fmt: skip
THIRD = [_mention("f3", MONTH, ["union"], ["labour"]), _mention("f1", WEEK, ["strike", "walkout"], ["labour"])]
FOURTH = [_mention("f2", WEEK, ["union", "strike"], ["labour"]), _mention("f4", DAY, ["strike"], ["labour"])]


def test_a_merge_committed_while_planning_makes_it_plan_again_under_the_lock(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = fresh_store(template)
    try:
        merge(store, [(0, FIRST), (1, SECOND)])
        calls = count_plans(monkeypatch)
        # Another writer merges mentions of the same story while this batch is planned
        # (in its read transaction): the plan no longer holds.
        merge(store, [(2, THIRD), (0, FIRST[:2])], after_planning=lambda: merge(store, [(3, FOURTH)]))
        assert len(calls) == 3  # this batch's plan, the other's, this batch's again under the lock
        final = {0: FIRST[:2], 1: SECOND, 2: THIRD, 3: FOURTH}
        assert stored(store) == from_merge(final)
        # And the same rows as merging the batches one after the other.
        serial = fresh_store(template)
        try:
            merge(serial, [(0, FIRST), (1, SECOND)])
            merge(serial, [(3, FOURTH)])
            merge(serial, [(2, THIRD), (0, FIRST[:2])])
            assert dump(store) == dump(serial)
        finally:
            serial.close()
    finally:
        store.close()


def test_the_write_lock_is_free_while_a_merge_is_planned(template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = fresh_store(template)
    try:
        merge(store, [(0, FIRST), (1, SECOND)])
        calls = count_plans(monkeypatch)
        seen: list[object] = []

        def other_writer() -> None:
            # Still inside the merge's read transaction: another connection takes the write
            # lock at once (timeout 0: it would fail if the lock were held), writes, commits.
            conn = sqlite3.connect(path_of(store), timeout=0, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE feeds SET etag = 'other writer'")
                # The merge wrote nothing yet: its entries are still marked.
                marked = "SELECT key FROM entries WHERE needs_extraction AND key IN ('a2', 'a3') ORDER BY key"
                seen.extend(conn.execute(marked).fetchall())
                seen.append(conn.execute("SELECT count(*) FROM mentions").fetchone())
                conn.execute("COMMIT")
            finally:
                conn.close()

        merge(store, [(2, THIRD), (3, FOURTH)], after_planning=other_writer)
        assert seen[:2] == [("a2",), ("a3",)]
        assert seen[-1] == (6,)  # only the first two articles' mentions
        assert len(calls) == 1  # a write that touches no mention or event leaves the plan good
        assert stored(store) == from_merge({0: FIRST, 1: SECOND, 2: THIRD, 3: FOURTH})
        with store.read() as s:
            assert s.scalar(text("SELECT etag FROM feeds")) == "other writer"
            assert s.scalars(select(Entry.key).where(Entry.needs_extraction.is_(True))).all() == ["a4", "a5"]
            assert s.scalar(text("SELECT generation FROM merge_state")) == 3  # upgrade, first merge, this one
    finally:
        store.close()


def test_an_entry_changed_while_planning_is_left_to_the_poll_that_changed_it(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = fresh_store(template)
    try:
        merge(store, [(0, FIRST)])
        calls = count_plans(monkeypatch)

        def poll_edits_a3() -> None:
            with store.write() as s:
                s.execute(text("UPDATE entries SET content_hash = 'edited', needs_extraction = 1 WHERE key = 'a3'"))

        merge(store, [(2, THIRD), (3, FOURTH)], after_planning=poll_edits_a3)
        assert len(calls) == 2  # planned again under the lock, without a3
        assert stored(store) == from_merge({0: FIRST, 2: THIRD})
        with store.read() as s:
            assert s.scalars(select(Entry.key).where(Entry.needs_extraction.is_(True)).order_by(Entry.key)).all() == [
                "a1", "a3", "a4", "a5",
            ]  # fmt: skip
    finally:
        store.close()


def test_a_failed_write_leaves_the_entries_marked(template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = fresh_store(template)
    try:
        merge(store, [(0, FIRST)])
        before = dump(store)[:4]

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("write bug")

        monkeypatch.setattr(merging, "_write_events", broken)
        with store.read() as s:
            ids = {e.key: e.id for e in s.scalars(select(Entry))}
        pending = [PendingMerge(FEED_CONFIG, ids[f"a{n}"], f"h{n}", Extracted(f"h{n}", tuple(m))) for n, m in
                   [(2, THIRD), (3, FOURTH)]]  # fmt: skip
        outcome = merge_pending(cast(Parts, _Parts(store)), pending)
        assert outcome.failed == 2
        assert dump(store)[:4] == before
        with store.read() as s:
            assert set(s.scalars(select(Entry.key).where(Entry.needs_extraction.is_(True)))) >= {"a2", "a3"}
    finally:
        store.close()
