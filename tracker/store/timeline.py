"""Timeline queries: events by topic, date range, full text and feed, with their mentions."""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Unpack

from sqlalchemy import Row, Select, and_, case, func, or_, select, text, union_all
from sqlalchemy.orm import Session

from tracker.clock import to_aware_utc
from tracker.errors import UsageError
from tracker.events import rank
from tracker.store._store import Store
from tracker.store.models import SPAN_CLASSES, Entry, Event, EventTopic, Feed, Mention
from tracker.views import EventView, MentionView, event_features

# Above this many full-text matches, walking events in date order beats sorting matches.
COMMON_MATCHES = 5000
_FTS_TOKEN = re.compile(r"\w+\*?", re.UNICODE)
# Event keys per IN (...) list: well under SQLite's parameter limit.
_CHUNK = 500


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
    # Only the `top` highest-scoring of the events the other filters (limit included) keep.
    top: int | None = None


def fts_query(search: str) -> str | None:
    """User text as a safe FTS5 query: every word must appear; a trailing * is a prefix."""
    tokens = _FTS_TOKEN.findall(search)
    if not tokens:
        return None
    return " ".join(f'"{t[:-1]}"*' if t.endswith("*") else f'"{t}"' for t in tokens)


def tsquery(search: str) -> str | None:
    """User text as a safe PostgreSQL tsquery (for to_tsquery) that means what fts_query's
    FTS5 query means: every word must appear; a trailing * is a prefix. A token is letters,
    digits and underscores only, so quoting it leaves no operator to inject; the server
    splits, unaccents and stems it as it did the indexed text (migration 0007)."""
    tokens = _FTS_TOKEN.findall(search)
    if not tokens:
        return None
    return " & ".join(f"'{t[:-1]}':*" if t.endswith("*") else f"'{t}'" for t in tokens)


# How each backend finds the events whose summary or quotes match :m (events_fts.rowid is
# events.pk on both).
_MATCHES = {
    "sqlite": "SELECT rowid FROM events_fts WHERE events_fts MATCH :m",
    "postgresql": "SELECT rowid FROM events_fts WHERE document @@ to_tsquery('tracker_search', :m)",
}


def search_matches(dialect: str, search: str) -> tuple[str, str] | None:
    """For a backend ("sqlite" or "postgresql", a dialect's name): a SELECT of the keys
    (events.pk) of the events whose summary or quotes match `search` in `timeline --search`
    syntax, taking the parameter :m, and the value of :m. None when search has no word."""
    if dialect == "sqlite":
        match = fts_query(search)
    else:
        match = tsquery(search)
    return None if match is None else (_MATCHES["sqlite" if dialect == "sqlite" else "postgresql"], match)


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
                try:
                    lowest = q.since - timedelta(days=SPAN_CLASSES[cls] - 1)
                except OverflowError:
                    # Library callers may ask for the first centuries; the CLI refuses them.
                    lowest = date.min
                conds.append(table.start >= lowest)
        parts.append(select(key.label("pk")).where(and_(*conds)))
    return parts


def timeline(store: Store, q: TimelineQuery, *, now: datetime | None = None) -> list[EventView]:
    """The events matching q, ordered by date (q.order), each with its mentions and its
    score as of `now` (None: scored without the recency boost)."""
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
            sqlite = s.get_bind().dialect.name == "sqlite"
            found = search_matches(s.get_bind().dialect.name, q.search)
            if found is None:
                return []
            fts, match = found
            # Rare words: look the matches up and sort them. Common words: sorting tens of
            # thousands of matches is slow; "+pk" stops SQLite using the rowid lookup, so it
            # walks ix_events_order in date order and stops after `limit` matches.
            # PostgreSQL's planner weighs the two plans itself.
            common = sqlite and not (q.topics or q.since or q.until or q.feeds) and (
                s.execute(text(f"SELECT count(*) FROM ({fts} LIMIT {COMMON_MATCHES})"), {"m": match}).scalar_one()
                >= COMMON_MATCHES
            )
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
        if q.top is None:
            return _views(s, list(s.scalars(stmt)), now)
        # Every candidate is scored: read only the columns that takes (through Core: ORM
        # rows cost more than the scoring), then load the chosen.
        candidates = s.connection().execute(
            stmt.with_only_columns(Event.pk, Event.id, Event.granularity, Event.start, Event.end, Event.mod)
        ).all()
        chosen, leads = _top(s, candidates, q.top, now)
        position = {pk: i for i, pk in enumerate(chosen)}
        events = sorted(s.scalars(select(Event).where(Event.pk.in_(chosen))), key=lambda e: position[e.pk])
        return _views(s, events, now, leads)


def get_event(store: Store, event_id: str, *, now: datetime | None = None) -> EventView | None:
    """One event by id (or an unambiguous id prefix), with all its mentions and its score
    as of `now`; None when none.

    Raises UsageError when the prefix starts several events' ids.
    """
    with store.read() as s:
        exact = list(s.scalars(select(Event).where(Event.id == event_id)))
        if exact:
            return _views(s, exact, now, day_points(s, exact[:1], now))[0]
        matching = Event.id.startswith(event_id, autoescape=True)
        rows = list(s.scalars(select(Event).where(matching).limit(2)))
        if len(rows) > 1:
            count = s.scalar(select(func.count()).select_from(Event).where(matching))
            raise UsageError(f"ambiguous: {count} events start with {event_id} (give more of the id)")
        return _views(s, rows, now, day_points(s, rows[:1], now))[0] if rows else None


def day_points(s: Session, events: Iterable[Event], now: datetime | None) -> dict[str, float]:
    """The day's part of the leads of the days of `events`, as the whole timeline (no
    filter) scores them (event id -> points): for views of a few events, such as `tracker
    event` or a digest."""
    out: dict[str, float] = {}
    for day in sorted({e.start for e in events if e.granularity == "day"}):
        out.update(_leads_on(s, day, now))
    return out


def _leads_on(s: Session, day: date, now: datetime | None) -> dict[str, float]:
    rows = s.connection().execute(
        select(Event.pk, Event.id, Event.granularity, Event.start, Event.end, Event.mod).where(
            Event.granularity == "day", Event.start == day
        )
    ).all()
    features = _features(s, rows)
    ids = {r.pk: r.id for r in rows}
    try:
        upto = datetime(day.year, day.month, day.day) + timedelta(days=2)
    except OverflowError:
        upto = datetime.max
    published = _published(
        s,
        select(Mention.event_pk).where(
            Mention.event_pk.is_not(None),
            Mention.entry_id.in_(
                select(Entry.id).where(Entry.published >= datetime(day.year, day.month, day.day), Entry.published < upto)
            ),
        ),
    )
    stats = rank.day_stats(features.values(), published)
    return rank.day_leads(((ids[pk], f, rank.breakdown(f, now)) for pk, f in features.items()), stats)


def _published(s: Session, event_pks: Select[Any] | Sequence[int]) -> dict[date, set[str]]:
    """rank.published_articles of the mentions of these events (keys, or a SELECT of them)."""
    out: dict[date, set[str]] = defaultdict(set)
    chunks: list[Any] = (
        [event_pks] if isinstance(event_pks, Select) else [event_pks[i : i + _CHUNK] for i in range(0, len(event_pks), _CHUNK)]
    )
    for chunk in chunks:
        rows = s.connection().execute(
            select(Entry.link, Entry.title, Entry.published, Feed.name)
            .distinct()
            .join(Mention, Mention.entry_id == Entry.id)
            .join(Feed, Feed.id == Entry.feed_id)
            .where(Mention.event_pk.in_(chunk))
        )
        for link, title, published, feed in rows:
            out[to_aware_utc(published).date()].add(link or f"{feed}\x00{title}")
    return out


def _top(
    s: Session, candidates: Sequence[Row[Unpack[tuple[Any, ...]]]], n: int, now: datetime | None
) -> tuple[list[int], dict[str, float]]:
    """The keys of the n best candidates by rank.rank_key, in the candidates' order, and
    the day's part of each day's lead (rank.day_leads; event id -> points).

    candidates: (pk, id, granularity, start, end, mod) rows. Day-precise candidates are
    all scored (a day's lead is the best of its day, and its day's part counts the day's
    references). For the others, scoring reads an event's mentions; most events of a big
    story have one or two articles, and rank.upper_bound from the article count alone shows
    they cannot make the top. So they are scored from the highest bound down, until the
    bound falls below the n-th best score found.
    """
    by_pk = {c.pk: c for c in candidates}
    pks = list(by_pk)
    day_pks = [c.pk for c in candidates if c.granularity == "day"]
    day_features: dict[int, rank.EventFeatures] = {}
    for i in range(0, len(day_pks), _CHUNK):
        day_features.update(_features(s, [by_pk[pk] for pk in day_pks[i : i + _CHUNK]]))
    stats = rank.day_stats(day_features.values(), _published(s, pks) if day_features else {})
    own = {pk: rank.breakdown(f, now) for pk, f in day_features.items()}
    leads = rank.day_leads(((by_pk[pk].id, f, own[pk]) for pk, f in day_features.items()), stats)
    if len(candidates) <= n:
        return [c.pk for c in candidates], leads
    keys: dict[int, tuple[float, int, date, date, str]] = {}
    for pk, b in own.items():
        c = by_pk[pk]
        keys[pk] = rank.rank_key(b.score + leads.get(c.id, 0.0), b.outlets, c.start, c.end, c.id)
    others = [pk for pk in pks if pk not in day_features]
    articles: dict[int | None, int] = {}
    for i in range(0, len(others), _CHUNK):
        # Entries, not articles: one article in two feeds is two entries, so this bounds it.
        for event_pk, count in s.connection().execute(
            select(Mention.event_pk, func.count(Mention.entry_id.distinct()))
            .where(Mention.event_pk.in_(others[i : i + _CHUNK]))
            .group_by(Mention.event_pk)
        ):
            articles[event_pk] = count
    bounds = {
        pk: rank.upper_bound(by_pk[pk].granularity, by_pk[pk].start, by_pk[pk].end, by_pk[pk].mod, articles.get(pk, 0))
        for pk in others
    }
    order = sorted(others, key=lambda pk: -bounds[pk])
    for i in range(0, len(order), _CHUNK):
        if len(keys) >= n:
            nth = heapq.nsmallest(n, keys.values())[-1]
            # Scores compare as shown (2 decimals): a bound that rounds to the n-th score
            # could still tie it and win on outlets, date or id.
            if round(bounds[order[i]], 2) < -nth[0]:
                break
        batch = order[i : i + _CHUNK]
        for pk, features in _features(s, [by_pk[pk] for pk in batch]).items():
            b = rank.breakdown(features, now)
            c = by_pk[pk]
            keys[pk] = rank.rank_key(b.score, b.outlets, c.start, c.end, c.id)
    chosen = set(heapq.nsmallest(n, keys, key=keys.__getitem__))
    return [c.pk for c in candidates if c.pk in chosen], leads


def _features(s: Session, events: Sequence[Row[Unpack[tuple[Any, ...]]]]) -> dict[int, rank.EventFeatures]:
    """What rank scores, for (pk, id, granularity, start, end, mod) rows: only the columns
    it needs, no quotes."""
    pks = [e.pk for e in events]
    seen = {
        pk: (to_aware_utc(first_seen), to_aware_utc(updated))
        for pk, first_seen, updated in s.connection().execute(
            select(Event.pk, Event.first_seen, Event.updated).where(Event.pk.in_(pks))
        )
    }
    mentions: dict[int | None, list[rank.MentionFeatures]] = defaultdict(list)
    rows = s.connection().execute(
        select(Mention.event_pk, Entry.link, Entry.title, Entry.published, Feed.name)
        .join(Entry, Entry.id == Mention.entry_id)
        .join(Feed, Feed.id == Entry.feed_id)
        .where(Mention.event_pk.in_(pks))
    )
    for event_pk, link, title, published, feed in rows:
        # The article as MentionView.article names it, so the score is the one shown.
        article = link or f"{feed}\x00{title}"
        mentions[event_pk].append(rank.MentionFeatures(to_aware_utc(published), feed, article, rank.site_of(link)))
    return {
        e.pk: rank.EventFeatures(
            granularity=e.granularity,
            start=e.start,
            end=e.end,
            mod=e.mod,
            first_seen=seen[e.pk][0],
            updated=seen[e.pk][1],
            mentions=tuple(mentions.get(e.pk, ())),
        )
        for e in events
    }


# A quote came from the page unless the entry had none or the feed's own text holds its
# start (a quote is one sentence, whitespace tidied; its first words locate it). Computed
# in SQL, so the timeline never loads article texts.
_QUOTE_HEAD = func.substr(Mention.quote, 1, 60)
_ORIGIN = case(
    (Entry.page_text.is_(None), "feed"),
    (Entry.text.contains(_QUOTE_HEAD) | Entry.title.contains(_QUOTE_HEAD), "feed"),
    else_="page",
)


def _views(
    s: Session, events: Sequence[Event], now: datetime | None, leads: dict[str, float] | None = None
) -> list[EventView]:
    """The events as views with their mentions and scores. leads: the day's part of each
    day's lead (rank.day_leads) when the events are not all that was read (a --top);
    None: found among `events`."""
    if not events:
        return []
    by_event: dict[int | None, list[MentionView]] = defaultdict(list)
    pks = [e.pk for e in events]
    for i in range(0, len(pks), _CHUNK):
        rows = s.execute(
            select(
                Mention.event_pk, Mention.expression, Mention.quote, Entry.link, Entry.title, Entry.published, Feed.name,
                _ORIGIN,
            )
            .join(Entry, Entry.id == Mention.entry_id)
            .join(Feed, Feed.id == Entry.feed_id)
            .where(Mention.event_pk.in_(pks[i : i + _CHUNK]))
            .order_by(Entry.published, Mention.id)
        )
        for event_pk, expression, quote, link, title, published, feed, origin in rows:
            by_event[event_pk].append(
                MentionView(
                    url=link,
                    title=title,
                    feed=feed,
                    published=to_aware_utc(published),
                    expression=expression,
                    quote=quote,
                    origin=origin,
                )
            )
    features_of = {}
    for e in events:
        features_of[e.pk] = event_features(
            e.granularity, e.start, e.end, e.mod, to_aware_utc(e.first_seen), to_aware_utc(e.updated),
            tuple(by_event.get(e.pk, ())),
        )
    own = {pk: rank.breakdown(f, now) for pk, f in features_of.items()}
    if leads is None:
        stats = rank.day_stats(features_of.values(), rank.published_articles(features_of.values()))
        leads = rank.day_leads(((e.id, features_of[e.pk], own[e.pk]) for e in events), stats)
    views = []
    for e in events:
        mentions = tuple(by_event.get(e.pk, ()))
        first_seen, updated = to_aware_utc(e.first_seen), to_aware_utc(e.updated)
        views.append(
            EventView(
                id=e.id,
                value=e.value,
                mod=e.mod,
                granularity=e.granularity,
                start=e.start,
                end=e.end,
                summary=e.summary,
                topics=tuple(e.topics.split()),
                first_seen=first_seen,
                updated=updated,
                mentions=mentions,
                score=own[e.pk].score + leads.get(e.id, 0.0),
            )
        )
    return views
