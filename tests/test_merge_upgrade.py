"""Databases whose events older merging rules made are merged again from scratch, once.

merge_state.scheme below MERGE_SCHEME: the merge step runs remerge_all under the write
lock before its first merge (tracker/merge_step.py), so the stored events are again what
merge() makes of every stored mention, and the incremental merges that follow stay exact.
"""

from __future__ import annotations

import logging
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import event, select, text
from test_merge_incremental import NOW, apply, fresh_store, from_merge, stored, template  # noqa: F401  (fixture)
from test_merge_lock import FIRST, FOURTH, SECOND, THIRD, dump, merge

from tracker.store import merging
from tracker.store.merging import (
    MERGE_SCHEME,
    MergeStats,
    merge_state,
    remerge_all,
    upgrade_scheme,
)
from tracker.store.models import Event


def test_events_made_by_older_rules_are_merged_again_on_the_next_merge(
    template: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = fresh_store(template)
    try:
        apply(store, [(0, FIRST), (1, SECOND), (2, THIRD)])
        with store.write() as s:
            [first] = s.scalars(select(Event.pk).order_by(Event.pk).limit(1)).all()
            # Events unlike merge()'s: every mention in the first event, the others left
            # empty, one index row wrong; made by "older rules" (scheme 0).
            s.execute(text("UPDATE mentions SET event_pk = :pk"), {"pk": first})
            s.execute(text("UPDATE events SET summary = 'stale', sources = 7"))
            s.execute(text("UPDATE merge_state SET scheme = 0"))
        with caplog.at_level(logging.INFO, logger="tracker.merge_step"):
            merge(store, [(3, FOURTH)])
        assert stored(store) == from_merge({0: FIRST, 1: SECOND, 2: THIRD, 3: FOURTH})
        lines = [r.getMessage() for r in caplog.records if "merged all" in r.getMessage()]
        assert len(lines) == 1 and "all 8 stored mentions" in lines[0], lines
        with store.read() as s:
            assert merge_state(s)[1] == MERGE_SCHEME
        # Once: the next merges are incremental again (and exact).
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="tracker.merge_step"):
            merge(store, [(1, SECOND[:1])])
        assert not [r for r in caplog.records if "merged all" in r.getMessage()]
        assert stored(store) == from_merge({0: FIRST, 1: SECOND[:1], 2: THIRD, 3: FOURTH})
    finally:
        store.close()


def test_merging_events_that_follow_the_rules_again_changes_nothing(template: Path) -> None:
    """Ids, revisions, timestamps and index rows stay as they were (ids kept by assign_ids)."""
    store = fresh_store(template)
    try:
        apply(store, [(0, FIRST), (1, SECOND)])
        apply(store, [(2, THIRD), (3, FOURTH)])
        before = dump(store)
        with store.write() as s:
            count, stats = remerge_all(s, NOW.replace(tzinfo=UTC))
        assert count == 10
        assert stats == MergeStats()
        assert dump(store) == before
    finally:
        store.close()


def test_a_fresh_database_with_scheme_0_costs_nothing(template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = fresh_store(template)
    try:
        statements: list[str] = []
        event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(str(args[2])))
        # (BEGIN is the session's, not a statement of upgrade_scheme.)
        with store.write() as s:
            assert merge_state(s)[1] == 0
            statements.clear()
            assert upgrade_scheme(s, NOW.replace(tzinfo=UTC)) == (0, MergeStats())
        # merge_state read, the mentions (none), the events (none), merge_state written.
        assert len([q for q in statements if not q.startswith("BEGIN")]) <= 4, statements
        with store.read() as s:
            assert merge_state(s)[1] == MERGE_SCHEME
        with store.write() as s:
            statements.clear()
            assert upgrade_scheme(s, NOW.replace(tzinfo=UTC)) is None
            assert [q for q in statements if not q.startswith("BEGIN")] == statements[-1:]
        calls: list[int] = []
        monkeypatch.setattr(merging, "remerge_all", lambda *a: calls.append(1))
        merge(store, [(0, FIRST)])
        assert calls == []
    finally:
        store.close()
