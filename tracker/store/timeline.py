"""Timeline queries: events by topic, date range, full text and feed, with their mentions."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, and_, func, or_, select, text, union_all
from sqlalchemy.orm import Session

from tracker.clock import to_aware_utc
from tracker.errors import UsageError
from tracker.store._store import Store
from tracker.store.models import SPAN_CLASSES, Entry, Event, EventTopic, Feed, Mention
from tracker.views import EventView, MentionView

# Above this many full-text matches, walking events in date order beats sorting matches.
COMMON_MATCHES = 5000
_FTS_TOKEN = re.compile(r"\w+\*?", re.UNICODE)


@dataclass(frozen=True)
class TimelineQuery:
    """The filters of `tracker timeline`; an event is kept when its interval overlaps the range."""

    topics: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    search: str | None = None
    feeds: tuple[str, ...] = ()
    limit: int | None = None
    # "oldest" or "newest" first; with a limit, newest keeps the latest events.
    order: str = "oldest"


def fts_query(search: str) -> str | None:
    """User text as a safe FTS5 query: every word must appear; a trailing * is a prefix."""
    tokens = _FTS_TOKEN.findall(search)
    if not tokens:
        return None
    return " ".join(f'"{t[:-1]}"*' if t.endswith("*") else f'"{t}"' for t in tokens)


def _range_pks(q: TimelineQuery, topic: str | None) -> list[Select[int]]:
    """Event keys overlapping the range, one index range scan per span class.

    An event that ends on or after `since` and lasts at most N days starts no earlier
    than since - N + 1: that lower bound lets SQLite use the (span_class, start) index.
    """
    table = EventTopic if topic is not None else Event
    key = EventTopic.event_pk if topic is not None else Event.pk
    parts = []
    for cls in range(len(SPAN_CLASSES) + 1):
        conds = [table.span_class == cls]
        if topic is not None:
            conds.insert(0, EventTopic.topic == topic)
        if q.until is not None:
            conds.append(table.start <= q.until)
        if q.since is not None:
            conds.append(table.end >= q.since)
            if cls < len(SPAN_CLASSES):
                conds.append(table.start >= q.since - timedelta(days=SPAN_CLASSES[cls] - 1))
        parts.append(select(key.label("pk")).where(and_(*conds)))
    return parts


def timeline(store: Store, q: TimelineQuery) -> list[EventView]:
    """The events matching q, ordered by date (q.order), each with its mentions."""
    with store.read() as s:
        if q.order == "newest":
            # The exact reverse of the oldest-first order, ties included.
            stmt = select(Event).order_by(Event.start.desc(), Event.end.desc(), Event.id.desc())
        else:
            stmt = select(Event).order_by(Event.start, Event.end, Event.id)
        if q.topics or q.since or q.until:
            # One flat UNION ALL: SQLite rejects compound selects nested in parentheses.
            parts = [p for t in (q.topics or (None,)) for p in _range_pks(q, t)]
            sub = union_all(*parts).subquery()
            stmt = stmt.where(Event.pk.in_(select(sub.c.pk)))
        if q.search:
            match = fts_query(q.search)
            if match is None:
                return []
            fts = "SELECT rowid FROM events_fts WHERE events_fts MATCH :m"
            common = not (q.topics or q.since or q.until or q.feeds) and (
                s.execute(text(f"SELECT count(*) FROM ({fts} LIMIT {COMMON_MATCHES})"), {"m": match}).scalar_one()
                >= COMMON_MATCHES
            )
            # Rare words: look the matches up and sort them. Common words: sorting tens of
            # thousands of matches is slow; "+pk" stops SQLite using the rowid lookup, so it
            # walks ix_events_order in date order and stops after `limit` matches.
            column = "+events.pk" if common else "events.pk"
            stmt = stmt.where(text(f"{column} IN ({fts})")).params(m=match)
        if q.feeds:
            stmt = stmt.where(
                Event.pk.in_(
                    select(Mention.event_pk)
                    .join(Entry, Entry.id == Mention.entry_id)
                    .join(Feed, Feed.id == Entry.feed_id)
                    .where(Feed.name.in_(q.feeds))
                )
            )
        if q.limit is not None:
            stmt = stmt.limit(q.limit)
        events = list(s.scalars(stmt))
        return _views(s, events)


def get_event(store: Store, event_id: str) -> EventView | None:
    """One event by id (or an unambiguous id prefix), with all its mentions; None when none.

    Raises UsageError when the prefix starts several events' ids.
    """
    with store.read() as s:
        exact = list(s.scalars(select(Event).where(Event.id == event_id)))
        if exact:
            return _views(s, exact)[0]
        matching = Event.id.startswith(event_id, autoescape=True)
        rows = list(s.scalars(select(Event).where(matching).limit(2)))
        if len(rows) > 1:
            count = s.scalar(select(func.count()).select_from(Event).where(matching))
            raise UsageError(f"ambiguous: {count} events start with {event_id} (give more of the id)")
        return _views(s, rows)[0] if rows else None


def _views(s: Session, events: Sequence[Event]) -> list[EventView]:
    if not events:
        return []
    by_event: dict[int | None, list[MentionView]] = defaultdict(list)
    pks = [e.pk for e in events]
    for i in range(0, len(pks), 500):
        rows = s.execute(
            select(Mention.event_pk, Mention.expression, Mention.quote, Entry.link, Entry.title, Entry.published, Feed.name)
            .join(Entry, Entry.id == Mention.entry_id)
            .join(Feed, Feed.id == Entry.feed_id)
            .where(Mention.event_pk.in_(pks[i : i + 500]))
            .order_by(Entry.published, Mention.id)
        )
        for event_pk, expression, quote, link, title, published, feed in rows:
            by_event[event_pk].append(
                MentionView(
                    url=link,
                    title=title,
                    feed=feed,
                    published=to_aware_utc(published),
                    expression=expression,
                    quote=quote,
                )
            )
    return [
        EventView(
            id=e.id,
            value=e.value,
            mod=e.mod,
            granularity=e.granularity,
            start=e.start,
            end=e.end,
            summary=e.summary,
            topics=tuple(e.topics.split()),
            first_seen=to_aware_utc(e.first_seen),
            updated=to_aware_utc(e.updated),
            mentions=tuple(by_event.get(e.pk, ())),
        )
        for e in events
    ]
