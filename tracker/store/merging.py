"""Apply articles' event mentions to the stored timeline: diff, merge the events a change reaches, write."""

# The stored events are always what merge() makes of all stored mentions (their ids aside:
# an event keeps the id it was first given). A change re-merges only a region: the changed
# mentions and the events that held them. merge() would build the rest differently only if
# one of the region's links to an event outside it, tried when merge() tries it (links go
# best first), now joined the two; each such link that could have changed is tried again
# against the clusters both sides had at that moment, and every event it would join is
# taken into the region, until none is. Whether two mentions link, and how similar they
# are, depends on the two alone (tracker/events/merge.py), so the events outside the region
# form as they did, and the region's links are all that can differ.
#
# Planning and writing are apart, so that the write lock is held only for the writes:
# plan_mentions only reads (a read transaction will do: a snapshot, which waits for no
# writer and makes none wait) and returns a MergePlan, every row it will write worked out;
# write_plan writes it in a write transaction. The plan keeps the changed mentions in
# memory: the new ones under negative ids (not rows yet), the rows to delete left out of
# every read, and the rewritten rows' new values put over what is stored (_Region._read);
# every rewritten or new mention is read before any other read of the region, so what the
# stored values would match in a query never matters. A plan holds only for the stored
# mentions and events it read: merge_state.generation, read in the plan's own transaction,
# is bumped by every transaction that writes mentions or events (write_plan, remerge_all;
# nothing else in tracker writes either, and rows deleted with their entry would be a
# feed's removal, which no command does), so apply_mentions writes a plan only when the
# generation is still the one the plan saw, and plans again under the lock otherwise
# (exact, only slower). Entries are the caller's to check (tracker/merge_step.py).
#
# Databases whose events older merging rules made (merge_state.scheme below MERGE_SCHEME)
# are merged again from scratch once (remerge_all), before their first merge.

from __future__ import annotations

import gc
import logging
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    bindparam,
    delete,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session

from tracker.clock import to_aware_utc, to_naive_utc
from tracker.events import (
    EventMention,
    KeyedMention,
    MentionKey,
    MergedEvent,
    assign_ids,
    diff_mentions,
)
from tracker.events.mentions import RANGE
from tracker.events.merge import Clusters, LinkOrder, PairBook, Prepared, spans_nest
from tracker.store._store import in_chunks
from tracker.store.models import (
    Entry,
    Event,
    EventTopic,
    Feed,
    Mention,
    MergeState,
    span_class,
)

log = logging.getLogger(__name__)

# A change of at least one mention in this many stored around it merges all around it at
# once (see _Region.settle).
WHOLE_WINDOW = 8
# The merging rules the stored events follow (merge_state.scheme): 1, similarity depends
# on the two mentions alone (tracker/events/merge.py); 2, a vague mention ("two years
# ago", "about 2009") links only with mentions of exactly its period; 3, within a month
# what each date dates must be in the other mention, different people opening the two
# sentences make two happenings, and "starting"-like words are no evidence. Bump it when
# merge() changes what it makes of stored mentions; databases made before are merged
# again once (remerge_all).
MERGE_SCHEME = 3

_MENTIONS = cast(Table, Mention.__table__)
_EVENTS = cast(Table, Event.__table__)
_EVENT_TOPICS = cast(Table, EventTopic.__table__)
_STATE = cast(Table, MergeState.__table__)


@dataclass(frozen=True)
class MergeStats:
    """What applying mentions changed."""

    created: int = 0
    updated: int = 0
    deleted: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted


# A mention's values as stored, in _COLUMNS' order (see below).
Values = tuple[object, ...]


@dataclass
class PlannedEvent:
    """An event as a plan writes it: new (pk None) or stored."""

    pk: int | None
    id: str
    values: dict[str, object]  # every column of a new event; the changed ones of a stored one
    moved: list[int]  # the mentions to point at it (negative: new ones), those not there yet
    # Its topics, span class, start, end, summary and quotes, when its index rows are to
    # be written again (the event changed).
    index: tuple[str, int, date, date, str, str] | None


@dataclass
class MergePlan:
    """What applying mentions writes, worked out by reading only (plan_mentions)."""

    generation: int  # merge_state.generation in the transaction that planned
    entry_ids: list[int]  # entries to mark extracted
    deleted: list[int] = field(default_factory=list)  # stored mentions to delete
    rewritten: dict[int, Values] = field(default_factory=dict)  # stored mention -> its new values
    added: dict[int, tuple[int, Values]] = field(default_factory=dict)  # negative id -> (entry, values)
    events: list[PlannedEvent] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)  # events to delete (pks)
    stats: MergeStats = MergeStats()

    @property
    def writes_mentions(self) -> bool:
        return bool(self.deleted or self.rewritten or self.added or self.events or self.gone)


def source_key(feed_name: str, entry_key: str) -> str:
    """A mention's source identity that does not depend on database row ids."""
    return f"{feed_name}\x00{entry_key}"


def merge_state(session: Session) -> tuple[int, int]:
    """(generation, scheme) as this transaction sees merge_state ((0, 0) without its row)."""
    row = session.execute(select(_STATE.c.generation, _STATE.c.scheme).where(_STATE.c.id == 1)).first()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


def _bump(conn: Connection, scheme: int | None = None) -> None:
    """Record that mentions or events were written (and, given, the merging rules they follow)."""
    values: dict[str, object] = {"generation": _STATE.c.generation + 1}
    if scheme is not None:
        values["scheme"] = scheme
    if conn.execute(update(_STATE).where(_STATE.c.id == 1).values(values)).rowcount == 0:
        conn.execute(insert(_STATE).values(id=1, generation=1, scheme=scheme or 0))


def apply_mentions(
    session: Session,
    updates: Sequence[tuple[Entry, Sequence[EventMention]]],
    now: datetime,
    *,
    plan: MergePlan | None = None,
) -> MergeStats:
    """Replace the mentions of the given entries and merge them into the stored events
    (in a write transaction); the entries are marked extracted.

    The events come out as merge() makes them of all stored mentions, whatever order and
    batches the mentions came in; only the events a change can reach are merged again
    (see the module's comment). `plan`: plan_mentions of the same updates, made in an
    earlier (read) transaction; written as it is when no mention or event was written
    since, else the merge is planned again here.
    """
    if plan is None or merge_state(session)[0] != plan.generation:
        plan = plan_mentions(session, [(entry.id, mentions) for entry, mentions in updates], now)
    return write_plan(session, plan)


def plan_mentions(session: Session, updates: Sequence[tuple[int, Sequence[EventMention]]], now: datetime) -> MergePlan:
    """What apply_mentions of these (entry id, mentions) writes; only reads."""
    generation, _ = merge_state(session)
    entry_ids = sorted({entry_id for entry_id, _ in updates})
    # The stored mentions of all the entries at once: one query, not one per entry (most
    # entries of a poll are new and have none).
    original: dict[int, tuple[int | None, int, Values]] = {}  # stored mention -> (event, entry, values)
    current: dict[int, dict[str, int]] = {}  # entry -> fingerprint -> mention (negative: new)
    for chunk in in_chunks(entry_ids):
        for r in session.execute(
            select(Mention.id, Mention.event_pk, Mention.entry_id, *_COLUMNS).where(Mention.entry_id.in_(chunk))
        ):
            values = tuple(r[3:])
            original[r[0]] = (r[1], r[2], values)
            current.setdefault(r[2], {})[str(values[_FINGERPRINT])] = r[0]
    deleted: set[int] = set()
    rewritten: dict[int, Values] = {}
    added: dict[int, tuple[int, Values]] = {}
    next_id = 0
    for entry_id, fresh in updates:
        fingerprints = [m.fingerprint for m in fresh]
        if len(set(fingerprints)) != len(fingerprints):
            # The store keeps one row per (entry, fingerprint); an extraction that gives one
            # twice is a bug, and this article alone must fail, with a line that says why.
            twice = sorted({fp for fp in fingerprints if fingerprints.count(fp) > 1})
            raise ValueError(f"two mentions of one article share the fingerprint {twice[0]}")
        # Should the entry come again in `updates`, it is compared with what it has by then.
        mine = current.setdefault(entry_id, {})
        diff = diff_mentions(mine.keys(), fresh)
        for fp in diff.removed:
            i = mine.pop(fp)
            if i < 0:
                del added[i]  # added by an earlier update of this same entry: never stored
            else:
                deleted.add(i)
                rewritten.pop(i, None)
        # The same sentence and date can still read differently: topics changed in the
        # config, or a neighbouring sentence changed the context. Such rows are rewritten.
        fresh_by_fp = {m.fingerprint: m for m in fresh}
        for fp in diff.kept:
            i, values = mine[fp], _values_of(fresh_by_fp[fp])
            if i < 0:
                added[i] = (entry_id, values)
            elif values != original[i][2]:
                rewritten[i] = values
            else:
                rewritten.pop(i, None)
        for m in diff.added:
            next_id -= 1
            added[next_id] = (entry_id, _values_of(m))
            mine[m.fingerprint] = next_id
    plan = MergePlan(generation, entry_ids, sorted(deleted), rewritten, added)
    if not (deleted or rewritten or added):
        return plan
    with _collector_paused():
        region = _Region(session, deleted=deleted, rewritten=rewritten)
        for i in sorted(deleted):
            event_pk, entry_id, values = original[i]
            region.removed(event_pk, entry_id, _mention_of(*values))  # type: ignore[arg-type]
        for i in sorted(rewritten):
            event_pk, _, values = original[i]
            region.rewritten(i, event_pk, _mention_of(*values))  # type: ignore[arg-type]
        for i, (entry_id, values) in sorted(added.items()):
            region.added(i, entry_id, values)
        plan.events, plan.gone, plan.stats = _plan_events(session, region, region.settle(), now)
    return plan


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (as it was, after).

    Planning makes tens of thousands of objects that live until the plan is made (the
    mentions read, prepared for merging, their postings and links), hardly any garbage in
    cycles; their number alone set off collections, the full ones each a walk over every
    object of the process: a sixth to a third of a one-article plan in a big story
    (bench/story_merge.py). Reference counting still frees what the plan drops; cycles
    made meanwhile wait for the next collection.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def write_plan(session: Session, plan: MergePlan) -> MergeStats:
    """Write what plan_mentions worked out (in a write transaction; the caller made sure
    that the plan still holds, see apply_mentions); only writes."""
    session.flush()
    conn = session.connection()
    if plan.writes_mentions:
        # Deletes first: a mention removed and added again in one call keeps its fingerprint.
        for chunk in in_chunks(plan.deleted):
            conn.execute(delete(_MENTIONS).where(_MENTIONS.c.id.in_(chunk)))
        for i, values in sorted(plan.rewritten.items()):
            conn.execute(update(_MENTIONS).where(_MENTIONS.c.id == i).values(dict(zip(_NAMES, values))))
        _write_events(conn, plan)
        _bump(conn)
    for chunk in in_chunks(plan.entry_ids):
        session.execute(update(Entry).where(Entry.id.in_(chunk)).values(needs_extraction=False))
    return plan.stats


def _write_events(conn: Connection, plan: MergePlan) -> None:
    pks: dict[str, int] = {}  # event id -> pk
    new = [p.values for p in plan.events if p.pk is None]
    if new:
        # One statement gives every new event its pk (one per event was most of a merge's cost).
        returned = conn.execute(insert(_EVENTS).returning(_EVENTS.c.pk, _EVENTS.c.id), new)
        pks.update((event_id, pk) for pk, event_id in returned)
    for p in plan.events:
        if p.pk is not None:
            pks[p.id] = p.pk
            if p.values:
                conn.execute(update(_EVENTS).where(_EVENTS.c.pk == p.pk).values(p.values))
    moves = [{"m": i, "e": pks[p.id]} for p in plan.events for i in p.moved if i > 0]
    if moves:
        conn.execute(update(_MENTIONS).where(_MENTIONS.c.id == bindparam("m")).values(event_pk=bindparam("e")), moves)
    # New mentions go in with their events; every one is in the region, so in an event.
    event_of = {i: pks[p.id] for p in plan.events for i in p.moved if i < 0}
    rows = [
        {**dict(zip(_NAMES, values)), "entry_id": entry_id, "event_pk": event_of[i]}
        for i, (entry_id, values) in sorted(plan.added.items(), reverse=True)
    ]
    if rows:
        conn.execute(insert(_MENTIONS), rows)
    # Most events of a region come out as they went in: their topic and full-text rows are
    # left alone (rewriting them dominated the cost of a merge).
    for p in plan.events:
        if p.index is not None:
            _index(conn, pks[p.id], *p.index)
    for pk in plan.gone:
        conn.execute(text("DELETE FROM events_fts WHERE rowid = :pk"), {"pk": pk})
    for chunk in in_chunks(plan.gone):
        conn.execute(delete(_EVENTS).where(_EVENTS.c.pk.in_(chunk)))


def remerge_all(session: Session, now: datetime) -> tuple[int, MergeStats]:
    """Merge every stored mention again from scratch and write the events merge() makes of
    them (each keeps the id most of its mentions' event had, as assign_ids settles it);
    record MERGE_SCHEME. For a database whose events older merging rules made; run it in
    a write transaction. Returns the number of stored mentions and what changed.

    All mentions are read and merged at once (memory grows with the database: about 1 kB
    a mention); with none stored and no event it costs two small queries.
    """
    region = _Region(session)
    region.take_all()
    stats = MergeStats()
    if region.ids or region.old_events:
        clusters = Clusters((region._stored[i].prepared for i in region.ids), region.book)
        plan = MergePlan(merge_state(session)[0], [])
        plan.events, plan.gone, plan.stats = _plan_events(session, region, clusters, now)
        stats = write_plan(session, plan)
    _bump(session.connection(), scheme=MERGE_SCHEME)
    return len(region.ids), stats


def upgrade_scheme(session: Session, now: datetime) -> tuple[int, MergeStats] | None:
    """remerge_all when the stored events follow older merging rules (merge_state.scheme
    below MERGE_SCHEME); None, after one small query, when they follow the current ones."""
    if merge_state(session)[1] >= MERGE_SCHEME:
        return None
    return remerge_all(session, now)


def _values_of(m: EventMention) -> Values:
    """A mention's values as stored, in _COLUMNS' order."""
    return (
        m.sentence_index, m.quote, m.summary, m.expression, m.expr_start, m.expr_end, m.value, m.mod,
        m.granularity, m.start, m.end, " ".join(sorted(m.topics)), m.context_topics, " ".join(sorted(m.terms)),
        " ".join(sorted(m.focus)), " ".join(sorted(m.keywords)), " ".join(sorted(m.names)), m.fingerprint,
    )  # fmt: skip


def _mention_of(
    sentence_index: int, quote: str, summary: str, expression: str, expr_start: int, expr_end: int, value: str,
    mod: str | None, granularity: str, start: date, end: date, topics: str, context_topics: bool, terms: str,
    focus: str, keywords: str, names: str, fingerprint: str,
) -> EventMention:
    return EventMention(
        sentence_index=sentence_index,
        quote=quote,
        expression=expression,
        expr_start=expr_start,
        expr_end=expr_end,
        value=value,
        mod=mod,
        granularity=granularity,
        start=start,
        end=end,
        topics=frozenset(topics.split()),
        terms=frozenset(terms.split()),
        summary=summary,
        fingerprint=fingerprint,
        context_topics=context_topics,
        focus=frozenset(focus.split()),
        keywords=frozenset(keywords.split()),
        names=frozenset(names.split()),
    )


# The columns of a stored mention that merging reads: enough to find its possible links
# (_LIGHT), and all of them, in _mention_of's order.
_LIGHT = (Mention.granularity, Mention.start, Mention.end, Mention.topics, Mention.terms, Mention.fingerprint)
_COLUMNS = (
    Mention.sentence_index, Mention.quote, Mention.summary, Mention.expression, Mention.expr_start, Mention.expr_end,
    Mention.value, Mention.mod, Mention.granularity, Mention.start, Mention.end, Mention.topics,
    Mention.context_topics, Mention.terms, Mention.focus, Mention.keywords, Mention.names, Mention.fingerprint,
)
_NAMES = tuple(c.key for c in _COLUMNS)
_FINGERPRINT = _NAMES.index("fingerprint")
_QUOTE = _NAMES.index("quote")


def _light_of(values: Values) -> Values:
    """_LIGHT of a mention's values (in _COLUMNS' order)."""
    return values[8], values[9], values[10], values[11], values[13], values[17]


class _Stored:
    """A stored mention as the region reads it: cheaply, prepared for merging only when compared."""

    __slots__ = ("id", "event_pk", "entry_id", "start", "end", "granularity", "terms", "topics", "topic_set",
                 "fingerprint", "source", "_values", "_entry", "_prepared")

    def __init__(self, light: tuple[object, ...], mention_id: int, event_pk: int | None, entry_id: int,
                 entry: tuple[str, datetime, datetime]) -> None:
        self.id = mention_id
        self.event_pk = event_pk
        self.entry_id = entry_id
        self._entry = entry
        self.granularity = str(light[0])
        self.start: date = light[1]  # type: ignore[assignment]
        self.end: date = light[2]  # type: ignore[assignment]
        self.topics = str(light[3])
        self.topic_set = frozenset(self.topics.split())
        self.terms = frozenset(str(light[4]).split())
        self.fingerprint = str(light[5])
        self.source = entry[0]
        self._values: tuple[object, ...] | None = None  # all of _COLUMNS, once read
        self._prepared: Prepared | None = None

    @property
    def full(self) -> bool:
        return self._values is not None

    @property
    def quote(self) -> str:
        assert self._values is not None, "read in full first (_Region._fill)"
        return str(self._values[_QUOTE])

    def fill(self, values: tuple[object, ...]) -> None:
        self._values = values

    @property
    def prepared(self) -> Prepared:
        if self._prepared is None:
            assert self._values is not None, "read in full first (_Region._fill)"
            source, published, first_seen = self._entry
            mention = _mention_of(*self._values)  # type: ignore[arg-type]
            self._prepared = Prepared(KeyedMention(mention, source, published, first_seen))
        return self._prepared


class _Region:
    """The mentions to merge again, grown until merging them alone gives what merge() of
    all stored mentions gives (see the module's comment)."""

    def __init__(
        self, session: Session, *, deleted: Collection[int] = (), rewritten: Mapping[int, Values] | None = None
    ) -> None:
        self.session = session
        # The plan's changes, not written: mentions to leave out, and new values to read
        # rows with (see the module's comment).
        self._deleted = set(deleted)
        self._overlay = dict(rewritten or {})
        self._added: dict[int, tuple[int, Values]] = {}
        self.book = PairBook()
        # article id -> (source key, published, first_seen)
        self.entries: dict[int, tuple[str, datetime, datetime]] = {}
        # Every stored mention read so far, as stored after this transaction's changes.
        self._stored: dict[int, _Stored] = {}  # new ones (negative ids) too
        self._by_event: dict[int, list[int]] = {}  # events whose every member was read
        # Stored mentions by term, fingerprint, article and span: the links they may have.
        self._postings: dict[tuple[date, date, bool], dict[str, list[int]]] = {}  # by interval, then term
        self._special: dict[object, list[int]] = {}
        # The region: mention ids; the events whose members it holds; the members whose
        # possible links outside were read.
        self.ids: set[int] = set()
        self.old_events: set[int] = set()
        self._windowed: set[int] = set()
        # What changed: new or rewritten mentions; the events as they were before.
        self._changed: set[int] = set()
        self._touched: set[int] = set()
        self._gone: list[tuple[int, int, EventMention]] = []  # event, article, mention as it was
        self._before: dict[int, EventMention] = {}  # rewritten mention id -> as it was
        self._was: dict[int, Clusters] = {}
        self._clusters: dict[int, Clusters] = {}  # events outside the region, as stored
        # Region members' links out of the region, with when merge() tries them.
        self._links: dict[int, list[tuple[LinkOrder, int]]] = {}
        self._read_spans: dict[frozenset[str], list[tuple[date, date]]] = {}
        self._members_read: dict[int, list[int]] = {}  # event -> its members read so far

    # -- what changed ----------------------------------------------------------------------

    def removed(self, event_pk: int | None, entry_id: int, before: EventMention) -> None:
        """A stored mention deleted (as it was stored)."""
        if event_pk is not None:
            self._touched.add(event_pk)
            self._gone.append((event_pk, entry_id, before))

    def rewritten(self, mention_id: int, event_pk: int | None, before: EventMention) -> None:
        """A stored mention with new values (in the overlay); `before`: as stored."""
        self._before[mention_id] = before
        if event_pk is not None:
            self._touched.add(event_pk)

    def added(self, mention_id: int, entry_id: int, values: Values) -> None:
        """A new mention (a negative id)."""
        self._added[mention_id] = (entry_id, values)

    # -- settling --------------------------------------------------------------------------

    def settle(self) -> Clusters:
        """Grow the region until its links to the rest change nothing; its clusters."""
        self._changed = set(self._added) | set(self._before)
        self._read_entries(
            {entry_id for entry_id, _ in self._added.values()} | {entry_id for _, entry_id, _ in self._gone}
        )
        # The changed mentions first, before any read that might find them by their
        # stored values (the new ones are not stored yet).
        for i, (entry_id, values) in sorted(self._added.items()):
            self._admit(i, None, entry_id, values, full=True)
        self._read_ids(self._changed)
        self._read_events(self._touched)
        self.ids = set(self._changed)
        for pk in self._touched:
            self._take(pk)
        self._read_windows(sorted(self._changed))
        if len(self._changed) * WHOLE_WINDOW >= len(self._stored):
            # Many changes among few stored mentions (a first poll, a backlog): checking each
            # link out of the region would cost more than merging all the events around the
            # changes at once.
            for pk in {s.event_pk for s in self._stored.values() if s.event_pk is not None}:
                self._take(pk)
        while True:
            self._fill(self.ids)
            clusters = Clusters((self._stored[i].prepared for i in self.ids), self.book)
            changed = [i for i in sorted(self.ids) if self._may_differ(clusters, i)]
            if self._read_windows(changed):
                continue  # stored mentions with no event joined the region
            joined = self._joined(clusters, changed)
            if not joined:
                return clusters
            for pk in joined:
                self._take(pk)

    def take_all(self) -> None:
        """Every stored mention and event into the region (to merge all from scratch)."""
        self._read(true())
        self.ids = set(self._stored)
        self.old_events = set(self.session.scalars(select(Event.pk)))

    def members(self) -> list[_Stored]:
        """The region's mentions, read in full (once settled)."""
        return [self._stored[i] for i in sorted(self.ids)]

    def _take(self, pk: int) -> None:
        self._read_events({pk})
        self.old_events.add(pk)
        self.ids.update(self._by_event[pk])

    def _may_differ(self, clusters: Clusters, i: int) -> bool:
        """False when i's cluster surely went through what it went through before this
        change (see _first_change); a cheap test."""
        pk = self._stored[i].event_pk
        if i in self._changed or pk is None or pk in self._touched:
            return True
        # Its event came out whole and alone: it formed only from its own links, as merge()
        # of it alone forms it, and as it formed before.
        return clusters.final(self._stored[i].prepared) != {self._stored[m].prepared for m in self._by_event[pk]}

    def _joined(self, clusters: Clusters, changed: list[int]) -> set[int]:
        """The events outside the region that a link from it, tried when merge() tries it,
        would join, were it the first link to join anything outside. The first of those
        links does join; the others may not (the region grows more than it needs to, which
        costs time only). Only the members whose cluster changed can have such a link: for
        the others it was tried as it was before, and joined nothing."""
        tried: list[tuple[LinkOrder, Prepared, list[Prepared], Prepared, int]] = []
        self._read_links(changed)
        for i in changed:
            links = [(when, j) for when, j in self._links[i] if j not in self.ids]
            if not links:
                continue
            p = self._stored[i].prepared
            differs, since = self._first_change(clusters, i, p)
            if not differs:
                continue  # its cluster went through what it went through before
            for when, j in links:
                if since is not None and when < since:
                    continue
                q = self._stored[j].prepared
                ours = clusters.cluster_before(p, when)
                # Cheap first: their cluster holds q, so each of ours must be able to join q.
                if self.book.may_join(ours, q):
                    pk = self._stored[j].event_pk
                    assert pk is not None  # _read_windows took mentions with no event into the region
                    tried.append((when, p, ours, q, pk))
        self._read_events({pk for *_, pk in tried})  # at once, not one query per event
        joined: set[int] = set()
        # Many links try the same two clusters (theirs is often the whole event, ours the
        # same cluster for all its links): each pair of them, in its order, is checked once.
        checked: dict[tuple[tuple[Prepared, ...], tuple[Prepared, ...]], tuple[bool, bool]] = {}
        for when, p, ours, q, pk in tried:
            if pk in joined:
                continue
            theirs = self._outside(pk).cluster_before(q, when)
            key = (tuple(ours), tuple(theirs)) if p.order < q.order else (tuple(theirs), tuple(ours))
            verdict = checked.get(key)
            if verdict is None:
                verdict = checked[key] = self.book.join_check(*key)
            possible, similar_enough = verdict
            if possible and (p.source == q.source or similar_enough):
                joined.add(pk)
        return joined

    def _read_links(self, ids: Iterable[int]) -> None:
        """Work out the links of these region members with stored mentions outside the
        region (read around them), with when merge() tries them (see _links)."""
        todo: dict[int, list[int]] = {}
        for i in ids:
            if i in self._links:
                continue
            mine = self._stored[i]
            p = mine.prepared
            topics = p.mention.topics
            others = todo[i] = []
            # Those in the region now stay in it: their links are the region's own.
            for j in self._candidates(mine, p) - self.ids:
                other = self._stored[j]
                if not spans_nest(mine.start, mine.end, mine.granularity == RANGE,
                                  other.start, other.end, other.granularity == RANGE):
                    continue
                if other.topic_set != topics and topics.isdisjoint(other.topic_set):
                    continue  # no link without a topic in common (or none on both sides)
                others.append(j)
        self._fill({j for others in todo.values() for j in others})
        for i, others in todo.items():
            p = self._stored[i].prepared
            got = self._links[i] = []
            for j in others:
                q = self._stored[j].prepared
                pair = self.book.pair(p, q)
                if pair is not None and pair[1] is not None:
                    got.append(((-pair[1], min(p.order, q.order), max(p.order, q.order)), j))

    def _first_change(self, clusters: Clusters, i: int, p: Prepared) -> tuple[bool, LinkOrder | None]:
        """Whether p's cluster ever differs from the one it went through before this change,
        and from when (None: from the start, as p is new or rewritten)."""
        pk = self._stored[i].event_pk
        if i in self._changed or pk is None:
            return True, None  # new, rewritten, or with no event
        if not self._may_differ(clusters, i):
            return False, None
        was = self._was.get(pk)
        if was is None:
            if pk in self._touched:
                self._fill(self._by_event[pk])
                before = [self._was_mention(m) for m in self._by_event[pk]]
                before += [self._prepared(entry_id, m) for event, entry_id, m in self._gone if event == pk]
                was = Clusters(before, self.book)
            else:
                was = self._outside(pk)
            self._was[pk] = was
        since = was.first_difference(p, clusters)
        return since is not None, since

    def _was_mention(self, mention_id: int) -> Prepared:
        before = self._before.get(mention_id)
        if before is None:
            return self._stored[mention_id].prepared
        return self._prepared(self._stored[mention_id].entry_id, before)

    def _prepared(self, entry_id: int, mention: EventMention) -> Prepared:
        source, published, first_seen = self.entries[entry_id]
        return Prepared(KeyedMention(mention, source, published, first_seen))

    def _outside(self, pk: int) -> Clusters:
        """The clusters of a stored event outside the region (its members as stored)."""
        got = self._clusters.get(pk)
        if got is None:
            self._read_events({pk})
            self._fill(self._by_event[pk])
            members = (self._stored[i].prepared for i in self._by_event[pk])
            got = self._clusters[pk] = Clusters(members, self.book, remember=True)
        return got

    def _candidates(self, mine: _Stored, p: Prepared) -> set[int]:
        """Stored mentions that may link with p (a superset; all of them once p was looked
        around): merge._link links two mentions only if they share a word that is no name
        (a typo is no evidence either), or as a copy, a sentence of the same article or the
        same span (tests/test_events_merge.py holds it to that)."""
        out: set[int] = set()
        words = p.mention.terms - p.mention.names
        start, end, span = mine.start, mine.end, mine.granularity == RANGE
        # By interval first: a story has a few hundred, and only the nested ones can link.
        for (s, e, r), postings in self._postings.items():
            if r == span and ((start <= s and e <= end) or (s <= start and end <= e)):
                for t in words:
                    out.update(postings.get(t, ()))
        for key in _special_keys(mine):
            out.update(self._special.get(key, ()))
        out.discard(mine.id)
        return out

    # -- reading ---------------------------------------------------------------------------

    def _read_windows(self, changed: list[int]) -> bool:
        """Read the stored mentions that may link with the changed members: those whose
        interval overlaps theirs and that share a topic (or have none, as they). Stored
        mentions with no event (an event deleted under them) join the region: True when
        some did."""
        fresh = [self._stored[i] for i in changed if i not in self._windowed]
        self._windowed.update(changed)
        # One window per topic set: a member whose interval lies in a span read for its
        # topics needs no query of its own.
        todo: dict[frozenset[str], list[_Stored]] = {}
        for s in fresh:
            if not self._window_read(s):
                todo.setdefault(s.topic_set, []).append(s)
        for topics, members in todo.items():
            spans = _coalesce((s.start, s.end) for s in members)
            where = or_(*[(Mention.start <= end) & (Mention.end >= start) for start, end in spans])
            if topics:
                padded = literal(" ") + Mention.topics + literal(" ")
                where = where & or_(*[padded.like(f"% {t} %") for t in sorted(topics)])
            else:
                where = where & (Mention.topics == "")
            self._read(where, full=False)
            self._read_spans[topics] = _coalesce([*self._read_spans.get(topics, []), *spans])
        orphans = {i for i, s in self._stored.items() if s.event_pk is None} - self.ids
        self.ids |= orphans
        return bool(orphans)

    def _window_read(self, s: _Stored) -> bool:
        """Whether every stored mention that may link with s was read already: for each of
        its topics, a window read for topics holding it covered s's interval (a mention
        sharing a topic with s shares it with that window's topics). Windows of other topic
        sets count too: a region's events mix the topic sets of a story."""
        def covered(spans: Iterable[tuple[date, date]]) -> bool:
            return any(start <= s.start and s.end <= end for start, end in spans)

        if not s.topic_set:
            return covered(self._read_spans.get(s.topic_set, ()))
        return all(
            any(t in topics and covered(spans) for topics, spans in self._read_spans.items()) for t in s.topic_set
        )

    def _read_ids(self, ids: Collection[int]) -> None:
        for chunk in in_chunks(sorted(set(ids) - self._stored.keys())):
            self._read(Mention.id.in_(chunk))

    def _read_events(self, pks: Collection[int]) -> None:
        todo = sorted(set(pks) - self._by_event.keys())
        for pk in todo:
            self._by_event[pk] = []
        for chunk in in_chunks(todo):
            self._read(Mention.event_pk.in_(chunk))
        for pk in todo:
            # Members read before (by a window) are listed too.
            self._by_event[pk] = sorted(self._members_read.get(pk, ()))

    def _read(self, where: ColumnElement[bool], *, full: bool = True) -> None:
        """Read stored mentions: all their columns, or (not `full`) what finds their links."""
        columns = _COLUMNS if full else _LIGHT
        rows = self.session.execute(select(Mention.id, Mention.event_pk, Mention.entry_id, *columns).where(where)).all()
        rows = [r for r in rows if r[0] not in self._deleted]
        self._read_entries({r[2] for r in rows if r[0] not in self._stored})
        for r in rows:
            values = tuple(r[3:])
            over = self._overlay.get(r[0])
            if over is not None:
                values = over if full else _light_of(over)
            self._admit(r[0], r[1], r[2], values, full)

    def _admit(self, mention_id: int, event_pk: int | None, entry_id: int, values: Values, full: bool) -> None:
        """A mention read (`values`: all of _COLUMNS, or (not `full`) _LIGHT)."""
        stored = self._stored.get(mention_id)
        if stored is None:
            light = _light_of(values) if full else values
            stored = self._stored[mention_id] = _Stored(light, mention_id, event_pk, entry_id, self.entries[entry_id])
            postings = self._postings.setdefault((stored.start, stored.end, stored.granularity == RANGE), {})
            for t in stored.terms:
                postings.setdefault(t, []).append(mention_id)
            for key in _special_keys(stored):
                self._special.setdefault(key, []).append(mention_id)
            if event_pk is not None:
                self._members_read.setdefault(event_pk, []).append(mention_id)
            self.book.typos.add(stored.terms)
        if full and not stored.full:
            stored.fill(values)

    def _fill(self, ids: Iterable[int]) -> None:
        """Read in full the stored mentions read lightly so far."""
        todo = sorted(i for i in ids if not self._stored[i].full)
        for chunk in in_chunks(todo):
            self._read(Mention.id.in_(chunk))

    def _read_entries(self, ids: Collection[int]) -> None:
        todo = sorted(set(ids) - self.entries.keys())
        for chunk in in_chunks(todo):
            for entry_id, key, published, first_seen, feed_name in self.session.execute(
                select(Entry.id, Entry.key, Entry.published, Entry.first_seen, Feed.name)
                .join(Feed, Feed.id == Entry.feed_id)
                .where(Entry.id.in_(chunk))
            ):
                self.entries[entry_id] = (source_key(feed_name, key), to_aware_utc(published), to_aware_utc(first_seen))


def _special_keys(s: _Stored) -> list[object]:
    """What two mentions sharing no term may still link by (see merge._special_pairs)."""
    keys: list[object] = [("fingerprint", s.fingerprint), ("source", s.source)]
    if s.granularity == RANGE:
        keys.append(("span", s.start.year, s.start.month, s.end.year, s.end.month))
    return keys


def _coalesce(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


_EVENT_COLUMNS = (
    Event.pk, Event.id, Event.value, Event.mod, Event.granularity, Event.start, Event.end, Event.span_class,
    Event.summary, Event.topics, Event.sources, Event.updated, Event.date_changed, Event.sources_changed,
    Event.revision,
)


def _plan_events(
    session: Session, region: _Region, clusters: Clusters, now: datetime
) -> tuple[list[PlannedEvent], list[int], MergeStats]:
    """The region's events as they are to be written, the events to delete, the counts."""
    rows = region.members()
    by_key = {MentionKey(m.source, m.fingerprint): m for m in rows}
    # An event whose every mention was just removed has no member left here; it must still go.
    old_events: dict[int, dict[str, object]] = {}
    for pks in in_chunks(sorted(region.old_events)):
        for r in session.execute(select(*_EVENT_COLUMNS).where(Event.pk.in_(pks))):
            old_events[r.pk] = dict(r._mapping)
    previous = {
        key: str(old_events[m.event_pk]["id"])
        for key, m in by_key.items() if m.event_pk is not None and m.event_pk in old_events
    }
    by_id = {str(e["id"]): e for e in old_events.values()}
    # A new event's id must not be one an event outside the region holds (it was derived
    # from the same mention before, and kept when that mention's event split).
    taken: set[str] = set()
    while True:
        merged = assign_ids(clusters.events(), previous, taken=taken)
        missing = [m.id for m in merged if m.id not in by_id and m.id not in taken]
        clash: set[str] = set()
        for ids in in_chunks(missing):
            clash.update(session.scalars(select(Event.id).where(Event.id.in_(ids))))
        if not clash:
            break
        taken |= clash

    naive_now = to_naive_utc(now)
    # Each event's members before this merge: the region holds every mention of every
    # event it touches, so they are all here.
    old_members: dict[int, list[_Stored]] = {}
    for stored in rows:
        if stored.event_pk is not None:
            old_members.setdefault(stored.event_pk, []).append(stored)
    created = updated = 0
    placed: list[PlannedEvent] = []
    kept: set[int] = set()
    for ev in merged:
        members = [by_key[k] for k in ev.mention_keys]
        sources = len({m.entry_id for m in members})
        values = _event_values(ev, sources)
        old = by_id.get(ev.id)
        if old is None:
            values.update(id=ev.id, first_seen=to_naive_utc(ev.first_seen) if ev.first_seen else naive_now,
                          revision=1, date_changed=naive_now, sources_changed=naive_now, updated=naive_now)
            created += 1
            placed.append(PlannedEvent(None, ev.id, values, [m.id for m in members], _index_values(values, members)))
            continue
        pk = int(old["pk"])  # type: ignore[call-overload]
        kept.add(pk)
        previous_members = old_members.get(pk, [])
        shown = ("value", "mod", "start", "end", "summary", "topics", "sources")
        before = (*(old[c] for c in shown), sorted(m.id for m in previous_members))
        after = (*(values[c] for c in shown), sorted(m.id for m in members))
        date_changed = any(old[c] != values[c] for c in ("value", "mod", "start", "end"))
        gained = bool({m.entry_id for m in members} - {m.entry_id for m in previous_members})
        if old["updated"] is None:
            values["updated"] = naive_now
        if date_changed:
            values["date_changed"] = naive_now
        if gained:
            values["sources_changed"] = naive_now
        if date_changed or gained:
            values["revision"] = int(old["revision"]) + 1  # type: ignore[call-overload]
        dirty = before != after
        if dirty:
            values["updated"] = naive_now
            updated += 1
        changed = {c: v for c, v in values.items() if old[c] != v}
        moved = [m.id for m in members if m.event_pk != pk]
        index = _index_values(values, members) if dirty else None
        placed.append(PlannedEvent(pk, ev.id, changed, moved, index))
    gone = sorted(pk for pk in old_events if pk not in kept)
    return placed, gone, MergeStats(created=created, updated=updated, deleted=len(gone))


def _event_values(ev: MergedEvent, sources: int) -> dict[str, object]:
    return {
        "value": ev.value, "mod": ev.mod, "granularity": ev.granularity, "start": ev.start, "end": ev.end,
        "span_class": span_class(ev.start, ev.end), "summary": ev.summary, "topics": " ".join(sorted(ev.topics)),
        "sources": sources,
    }


def _index_values(values: Mapping[str, object], members: Sequence[_Stored]) -> tuple[str, int, date, date, str, str]:
    return (
        str(values["topics"]), int(values["span_class"]), values["start"], values["end"],  # type: ignore[call-overload]
        str(values["summary"]), "\n".join(sorted({m.quote for m in members})),
    )  # type: ignore[return-value]


def _index(
    conn: Connection, pk: int, topics: str, span: int, start: date, end: date, summary: str, quotes: str
) -> None:
    """Keep event_topics and the FTS row in step with the event."""
    conn.execute(delete(_EVENT_TOPICS).where(_EVENT_TOPICS.c.event_pk == pk))
    if topics:
        conn.execute(
            insert(_EVENT_TOPICS),
            [{"event_pk": pk, "topic": t, "span_class": span, "start": start, "end": end} for t in topics.split()],
        )
    conn.execute(text("DELETE FROM events_fts WHERE rowid = :pk"), {"pk": pk})
    conn.execute(
        text("INSERT INTO events_fts (rowid, summary, quotes) VALUES (:pk, :summary, :quotes)"),
        {"pk": pk, "summary": summary, "quotes": quotes},
    )
