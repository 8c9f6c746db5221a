"""Apply articles' event mentions to the stored timeline: diff, re-merge the neighbourhood, write."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, insert, literal, or_, select, text
from sqlalchemy.orm import Session

from tracker.clock import to_aware_utc, to_naive_utc
from tracker.events import EventMention, KeyedMention, MentionKey, MergedEvent, assign_ids, diff_mentions, merge
from tracker.store._store import in_chunks
from tracker.store.models import Entry, Event, EventTopic, Feed, Mention, span_class

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MergeStats:
    """What applying mentions changed."""

    created: int = 0
    updated: int = 0
    deleted: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted


def source_key(feed_name: str, entry_key: str) -> str:
    """A mention's source identity that does not depend on database row ids."""
    return f"{feed_name}\x00{entry_key}"


def apply_mentions(
    session: Session, updates: Sequence[tuple[Entry, Sequence[EventMention]]], now: datetime
) -> MergeStats:
    """Replace the mentions of the given entries and re-merge every event they touch.

    Only the neighbourhood is re-merged: stored mentions whose intervals overlap an
    added or removed mention, plus all mentions of the events those belong to, so an
    event is always merged whole.
    """
    seeds: list[tuple[date, date]] = []
    # Topics of the changed mentions: a stored mention can only join one of them if it
    # shares a topic (or both have none), so the neighbourhood need not hold the others.
    seed_topics: set[str] = set()
    untopical = False
    touched_events: set[int] = set()

    def seed(start: date, end: date, topics: str) -> None:
        nonlocal untopical
        seeds.append((start, end))
        names = topics.split()
        seed_topics.update(names)
        untopical = untopical or not names

    # The stored mentions of all the entries at once: one query, not one per entry (most
    # entries of a poll are new and have none).
    by_entry: dict[int, dict[str, Mention]] = {}
    entry_ids = sorted({entry.id for entry, _ in updates})
    for chunk in in_chunks(entry_ids):
        for known in session.scalars(select(Mention).where(Mention.entry_id.in_(chunk))):
            by_entry.setdefault(known.entry_id, {})[known.fingerprint] = known
    for entry, fresh in updates:
        stored = by_entry.get(entry.id, {})
        diff = diff_mentions(stored.keys(), fresh)
        for fp in diff.removed:
            row = stored[fp]
            seed(row.start, row.end, row.topics)
            if row.event_pk is not None:
                touched_events.add(row.event_pk)
            session.delete(row)
        current = {fp: stored[fp] for fp in diff.kept}
        for m in diff.added:
            row = _mention_row(entry.id, m)
            seed(row.start, row.end, row.topics)
            session.add(row)
            current[m.fingerprint] = row
        # Should the entry come again in `updates`, it is compared with what it has now.
        by_entry[entry.id] = current
        # The same sentence and date can still read differently: topics changed in the
        # config, or a neighbouring sentence changed the context. Refresh such rows.
        fresh_by_fp = {m.fingerprint: m for m in fresh}
        for fp in diff.kept:
            row = stored[fp]
            old_topics = row.topics
            if _refresh(row, _mention_row(entry.id, fresh_by_fp[fp])):
                seed(row.start, row.end, f"{old_topics} {row.topics}")
                if row.event_pk is not None:
                    touched_events.add(row.event_pk)
        entry.needs_extraction = False
    if not seeds:
        return MergeStats()
    session.flush()
    rows = _neighbourhood(session, seeds, touched_events, None if untopical else seed_topics)
    return _remerge(session, rows, now, touched_events)


_REFRESHED = (
    "sentence_index", "quote", "summary", "expression", "expr_start", "expr_end", "value", "mod",
    "granularity", "start", "end", "topics", "context_topics", "terms", "focus", "keywords", "names",
)


def _refresh(row: Mention, fresh: Mention) -> bool:
    """Copy fresh's content onto the stored row; True when anything changed."""
    changed = False
    for name in _REFRESHED:
        value = getattr(fresh, name)
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _mention_row(entry_id: int, m: EventMention) -> Mention:
    return Mention(
        entry_id=entry_id,
        fingerprint=m.fingerprint,
        sentence_index=m.sentence_index,
        quote=m.quote,
        summary=m.summary,
        expression=m.expression,
        expr_start=m.expr_start,
        expr_end=m.expr_end,
        value=m.value,
        mod=m.mod,
        granularity=m.granularity,
        start=m.start,
        end=m.end,
        topics=" ".join(sorted(m.topics)),
        context_topics=m.context_topics,
        terms=" ".join(sorted(m.terms)),
        focus=" ".join(sorted(m.focus)),
        keywords=" ".join(sorted(m.keywords)),
        names=" ".join(sorted(m.names)),
    )


def _event_mention(row: Mention) -> EventMention:
    return EventMention(
        sentence_index=row.sentence_index,
        quote=row.quote,
        expression=row.expression,
        expr_start=row.expr_start,
        expr_end=row.expr_end,
        value=row.value,
        mod=row.mod,
        granularity=row.granularity,
        start=row.start,
        end=row.end,
        topics=frozenset(row.topics.split()),
        terms=frozenset(row.terms.split()),
        summary=row.summary,
        fingerprint=row.fingerprint,
        context_topics=row.context_topics,
        focus=frozenset(row.focus.split()),
        keywords=frozenset(row.keywords.split()),
        names=frozenset(row.names.split()),
    )


def _neighbourhood(
    session: Session, seeds: Iterable[tuple[date, date]], events: set[int], topics: Collection[str] | None
) -> list[Mention]:
    """Mentions overlapping the seed intervals (sharing a topic, when given), closed over their events."""
    spans = _coalesce(seeds)
    where = or_(*[(Mention.start <= end) & (Mention.end >= start) for start, end in spans])
    if topics:
        padded = literal(" ") + Mention.topics + literal(" ")
        where = where & or_(*[padded.like(f"% {t} %") for t in sorted(topics)])
    rows = {m.id: m for m in session.scalars(select(Mention).where(where))}
    pending = {m.event_pk for m in rows.values() if m.event_pk is not None} | events
    seen: set[int] = set()
    while pending - seen:
        batch = list(pending - seen)
        seen |= set(batch)
        for m in session.scalars(select(Mention).where(Mention.event_pk.in_(batch))):
            if m.id not in rows:
                rows[m.id] = m
                if m.event_pk is not None:
                    pending.add(m.event_pk)
    return list(rows.values())


def _coalesce(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _remerge(session: Session, rows: list[Mention], now: datetime, touched: Collection[int] = ()) -> MergeStats:
    entry_ids = {m.entry_id for m in rows}
    entries = {
        e.id: (e, feed)
        for e, feed in session.execute(
            select(Entry, Feed.name).join(Feed, Feed.id == Entry.feed_id).where(Entry.id.in_(entry_ids))
        ).all()
    }
    keyed: list[KeyedMention] = []
    by_key: dict[MentionKey, Mention] = {}
    # An event whose every mention was just removed has no row left here; it must still go.
    old_pks = {m.event_pk for m in rows if m.event_pk is not None} | set(touched)
    old_events = {e.pk: e for e in session.scalars(select(Event).where(Event.pk.in_(old_pks)))} if old_pks else {}
    previous: dict[MentionKey, str] = {}
    for stored in rows:
        entry, feed_name = entries[stored.entry_id]
        km = KeyedMention(
            mention=_event_mention(stored),
            source=source_key(feed_name, entry.key),
            published=to_aware_utc(entry.published),
            first_seen=to_aware_utc(entry.first_seen),
        )
        keyed.append(km)
        by_key[km.key] = stored
        if stored.event_pk is not None and stored.event_pk in old_events:
            previous[km.key] = old_events[stored.event_pk].id

    merged = assign_ids(merge(keyed), previous)
    by_id = {e.id: e for e in old_events.values()}
    missing = [m.id for m in merged if m.id not in by_id]
    if missing:
        # An id can belong to an event outside the neighbourhood only by a hash collision
        # or an earlier partial merge; reuse the row rather than violate uniqueness.
        by_id.update({e.id: e for e in session.scalars(select(Event).where(Event.id.in_(missing)))})

    naive_now = to_naive_utc(now)
    # Each event's members before this merge: the neighbourhood holds every mention of
    # every event it touches, so they are all here (nothing is loaded per event).
    old_members: dict[int, list[Mention]] = {}
    for stored in rows:
        if stored.event_pk is not None:
            old_members.setdefault(stored.event_pk, []).append(stored)
    created = updated = 0
    placed: list[tuple[Event, list[Mention], bool]] = []
    for ev in merged:
        members = [by_key[k] for k in ev.mention_keys]
        sources = len({m.entry_id for m in members})
        row = by_id.get(ev.id)
        if row is None:
            row = Event(id=ev.id, first_seen=to_naive_utc(ev.first_seen) if ev.first_seen else naive_now,
                        revision=1, date_changed=naive_now, sources_changed=naive_now)
            _set_event(row, ev, sources, naive_now)
            session.add(row)
            created += 1
            dirty = True
        else:
            previous_members = old_members.get(row.pk, [])
            before = (row.value, row.mod, row.start, row.end, row.summary, row.topics, row.sources,
                      sorted(m.id for m in previous_members))
            old_sources = {m.entry_id for m in previous_members}
            date_changed = (row.value, row.mod, row.start, row.end) != (ev.value, ev.mod, ev.start, ev.end)
            gained = bool({m.entry_id for m in members} - old_sources)
            _set_event(row, ev, sources, naive_now)
            after = (row.value, row.mod, row.start, row.end, row.summary, row.topics, row.sources,
                     sorted(m.id for m in members))
            if date_changed:
                row.date_changed = naive_now
            if gained:
                row.sources_changed = naive_now
            if date_changed or gained:
                row.revision += 1
            dirty = before != after
            if dirty:
                row.updated = naive_now
                updated += 1
        placed.append((row, members, dirty))
    # One flush gives every new event its pk (a flush per event was most of a merge's cost).
    session.flush()
    kept: set[int] = set()
    for row, members, _ in placed:
        kept.add(row.pk)
        for m in members:
            if m.event_pk != row.pk:
                m.event_pk = row.pk
        session.expire(row, ["mentions"])
    session.flush()
    # Most events of a neighbourhood come out as they went in: leave their topic and
    # full-text rows alone (rewriting them dominated the cost of a merge).
    for row, members, dirty in placed:
        if dirty:
            _index(session, row, members)

    gone = [e for pk, e in old_events.items() if pk not in kept]
    for e in gone:
        session.execute(text("DELETE FROM events_fts WHERE rowid = :pk"), {"pk": e.pk})
        session.delete(e)
    session.flush()
    return MergeStats(created=created, updated=updated, deleted=len(gone))


def _set_event(row: Event, ev: MergedEvent, sources: int, now: datetime) -> None:
    row.value, row.mod, row.granularity = ev.value, ev.mod, ev.granularity
    row.start, row.end = ev.start, ev.end
    row.span_class = span_class(ev.start, ev.end)
    row.summary = ev.summary
    row.topics = " ".join(sorted(ev.topics))
    row.sources = sources
    if row.updated is None:
        row.updated = now


def _index(session: Session, row: Event, members: Sequence[Mention]) -> None:
    """Keep event_topics and the FTS row in step with the event."""
    # Plain statements, no ORM objects: these rows are never read back here, and matching
    # the session's objects against the delete's criteria cost more than the delete.
    session.execute(
        delete(EventTopic).where(EventTopic.event_pk == row.pk), execution_options={"synchronize_session": False}
    )
    topics = row.topics.split()
    if topics:
        session.execute(
            insert(EventTopic),
            [dict(event_pk=row.pk, topic=t, span_class=row.span_class, start=row.start, end=row.end) for t in topics],
        )
    quotes = "\n".join(sorted({m.quote for m in members}))
    session.execute(text("DELETE FROM events_fts WHERE rowid = :pk"), {"pk": row.pk})
    session.execute(
        text("INSERT INTO events_fts (rowid, summary, quotes) VALUES (:pk, :summary, :quotes)"),
        {"pk": row.pk, "summary": row.summary, "quotes": quotes},
    )
