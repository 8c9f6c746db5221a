"""The merge step: stored entries' mentions merged into events, one transaction per batch, failures isolated.

A batch is planned in a read transaction (the entries read and extracted, their mentions'
merge worked out: tracker/store/merging.py, plan_mentions) and written in a write
transaction that holds the lock only for the writes and a cheap check that the plan
still holds: merge_state.generation as the plan saw it (no mention or event written
since) and the batch's entries as the plan saw them (no poll or page read changed one).
When the check fails, the batch is planned again under the lock, in the same write
transaction, as it always was (exact, only slower).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tracker.clock import to_aware_utc
from tracker.config import FeedConfig
from tracker.errors import StoreError
from tracker.events import EventMention
from tracker.extraction import Article, Extracted
from tracker.outcomes import MergeOutcome, PollResult, articles
from tracker.parts import Parts
from tracker.store import Entry, in_chunks, load_entries
from tracker.store.merging import (
    MERGE_SCHEME,
    MergePlan,
    apply_mentions,
    merge_state,
    plan_mentions,
    upgrade_scheme,
)
from tracker.store.models import Feed, Mention, extraction_key

log = logging.getLogger(__name__)

# Entries stored by an earlier run and never merged (it was killed, or they failed) are
# finished by the next poll, at most this many per poll so that a huge backlog cannot
# stall it (the rest wait for the next polls, or `tracker reprocess --pending`).
CATCH_UP_LIMIT = 5000
# Stored entries are loaded and extracted this many at a time (memory stays flat). Their
# mentions are merged once MERGE_FIRST have gathered, then twice as many each time up to
# MERGE_MOST: a merge re-reads the whole events it touches, which grow as the backlog is
# merged, so a dense story costs a few merges instead of one per chunk.
STORED_CHUNK = 500
MERGE_FIRST = 250
MERGE_MOST = 4000
# Stored entries that are no suspects (reprocessed after a topic change) go to worker
# processes only when there are at least this many: starting the workers costs a second.
WORKERS_FOR_BACKLOG = 200
# A failed merge transaction is retried in halves to find the entries at fault; past this
# many failed attempts (plus two per halving the batch needs) the rest are given up.
MERGE_RETRY_SLACK = 4

@dataclass(frozen=True)
class PendingMerge:
    """A stored entry whose mentions wait for the poll's one merge (merge_batch)."""

    feed: FeedConfig
    entry_id: int
    content_hash: str
    extracted: Extracted | None


class MergeBatch:
    """Entries stored by the feeds of one poll, collected from the polling threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[PendingMerge] = []
        self._feeds: set[str] = set()

    def add(self, items: list[PendingMerge]) -> None:
        with self._lock:
            self._items.extend(items)
            self._feeds.update(p.feed.name for p in items)

    def take(self) -> list[PendingMerge]:
        with self._lock:
            items, self._items = self._items, []
            self._feeds = set()
        return items

    def holds(self, feed: str) -> bool:
        """True while entries of this feed wait in the batch (not yet taken for merging)."""
        with self._lock:
            return feed in self._feeds

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._items)


def _database_unavailable(exc: BaseException) -> bool:
    """The database refuses writes (locked, full, read-only): no entry is at fault."""
    return isinstance(exc, StoreError) and isinstance(exc.__cause__, OperationalError)


def entry_mentions(
    parts: Parts,
    feed: FeedConfig,
    entries: Sequence[Entry],
    extracted: Mapping[str, Extracted] | None = None,
    failures: list[str] | None = None,
) -> list[tuple[Entry, list[EventMention]]]:
    """Each entry with its mentions; entries whose extraction failed are left out (logged,
    and their errors added to `failures`): they stay marked for extraction."""
    out = []
    for entry in entries:
        ready = extracted.get(entry.key) if extracted else None
        if ready is not None and ready.content_hash == entry.extraction_key:
            if ready.error is not None:
                log.error("%s: event extraction failed for %s: %s", feed.name, entry.link or entry.key, ready.error)
                if failures is not None:
                    failures.append(ready.error)
                continue
            out.append((entry, list(ready.mentions)))
            continue
        try:
            mentions = parts.screened_mentions(feed, entry.title, entry.extraction_text, to_aware_utc(entry.published))
        except Exception as exc:
            # A bug in extraction must not cost the entry itself: it is stored and
            # stays marked for extraction, so a later run can retry it.
            log.exception("%s: event extraction failed for %s", feed.name, entry.link or entry.key)
            if failures is not None:
                failures.append(f"{type(exc).__name__}: {exc}")
            continue
        out.append((entry, mentions))
    return out


def merge_batch(
    parts: Parts, batch: MergeBatch, results: list[PollResult], outcome: MergeOutcome | None = None
) -> list[PollResult]:
    """Merge the mentions of a whole poll; counts and failures go to each feed's result.

    The entries were stored (marked for extraction) in their feeds' own transactions,
    so a failure here loses no entry: the next poll finishes the job.
    """
    outcome = outcome or MergeOutcome()
    pending = batch.take()
    if pending:
        outcome.update(merge_pending(parts, pending))
    return [outcome.settle(r) for r in results]


def merge_pending(
    parts: Parts, pending: Sequence[PendingMerge], *, after_planning: Callable[[], None] | None = None
) -> MergeOutcome:
    """Merge the mentions of these stored entries, in one transaction if all goes well.

    When the transaction fails, its halves are tried in turn (and theirs), so the entries
    at fault stay pending with the error on their feed and every other one is merged.
    Not when the database refuses writes: then nothing is at fault and all stay pending.
    `after_planning` is called after each batch is planned, its read transaction still
    open (tests interleave other writers there).
    """
    outcome = MergeOutcome()
    if not pending:
        return outcome
    budget = MERGE_RETRY_SLACK + 2 * len(pending).bit_length()
    todo = [list(pending)]
    while todo:
        part = todo.pop()
        try:
            outcome.update(_merge_once(parts, part, after_planning))
            continue
        except Exception as exc:
            error = exc
        if len(part) > 1 and budget > 0 and not _database_unavailable(error):
            budget -= 1
            log.info("merging %d articles failed (%s: %s); merging them in halves", len(part),
                     type(error).__name__, error)
            half = len(part) // 2
            todo += [part[half:], part[:half]]
            continue
        # The entries are stored whatever happens here; a bug in merging must not cost
        # the poll its report (the entries stay marked for extraction).
        if isinstance(error, StoreError):
            log.error("could not merge %s into events: %s (the next poll retries)", articles(len(part)), error)
        else:
            log.error("merging %s into events failed (the next poll retries)", articles(len(part)),
                      exc_info=error)
        for p in part:
            outcome.not_merged(p.feed.name, f"{type(error).__name__}: {error}")
    return outcome


# What a plan saw of an entry: what its mentions are extracted from (the feed's content,
# the page text's) and the date they are read against; None: no such entry.
_Seen = tuple[str, str | None, bool, datetime] | None


@dataclass
class _Batch:
    """A batch of entries as one transaction saw them, with what merging them writes."""

    generation: int
    scheme: int
    seen: dict[int, _Seen]
    quiet: list[int] = field(default_factory=list)  # entries only to mark extracted
    updates: list[tuple[Entry, list[EventMention]]] = field(default_factory=list)
    feed_of: dict[int, str] = field(default_factory=dict)
    not_extracted: list[tuple[str, str]] = field(default_factory=list)  # (feed, error)
    plan: MergePlan | None = None


def _merge_once(
    parts: Parts, pending: Sequence[PendingMerge], after_planning: Callable[[], None] | None = None
) -> MergeOutcome:
    """Merge these entries: planned in a read transaction, written in a write transaction
    (see the module's comment); what it did counts only if it commits."""
    now = parts.clock()
    with parts.store.read() as s:
        planned = _read_batch(parts, s, pending, now, plan=True)
        if after_planning is not None:
            after_planning()  # the read transaction still open
    with parts.store.write() as s:
        generation, scheme = merge_state(s)
        if scheme < MERGE_SCHEME:
            _upgrade(s, now, scheme)
        elif generation == planned.generation and _seen(s, list(planned.seen)) == planned.seen:
            return _write_batch(s, planned, now)
        # Another merge wrote meanwhile, or an entry changed: as it always was, under the
        # lock (entries whose extraction input did not change are not extracted again).
        known = {entry.id: (planned.seen[entry.id], mentions) for entry, mentions in planned.updates}
        return _write_batch(s, _read_batch(parts, s, pending, now, plan=False, known=known), now)


def _upgrade(s: Session, now: datetime, scheme: int) -> None:
    """Merge every stored mention again when older merging rules made the stored events."""
    started = time.perf_counter()
    got = upgrade_scheme(s, now)
    if got is not None:
        count, stats = got
        # A new database has nothing to merge again: no line for it.
        (log.info if count or stats.changed else log.debug)(
            "merged all %d stored mentions into events again by the current merging rules (scheme %d, was %d): "
            "%d events created, %d updated, %d deleted in %.1f s",
            count, MERGE_SCHEME, scheme, stats.created, stats.updated, stats.deleted, time.perf_counter() - started,
        )


def _seen(s: Session, ids: Sequence[int]) -> dict[int, _Seen]:
    seen: dict[int, _Seen] = dict.fromkeys(ids)
    for chunk in in_chunks(ids):
        for i, h, ph, has_page, published in s.execute(
            select(Entry.id, Entry.content_hash, Entry.page_hash, Entry.page_text.is_not(None), Entry.published)
            .where(Entry.id.in_(chunk))
        ):
            seen[i] = (h, ph, bool(has_page), published)
    return seen


def _read_batch(
    parts: Parts,
    s: Session,
    pending: Sequence[PendingMerge],
    now: datetime,
    *,
    plan: bool,
    known: Mapping[int, tuple[_Seen, list[EventMention]]] | None = None,
) -> _Batch:
    """The entries as this transaction sees them, their mentions and (`plan`) the plan of
    their merge; only reads. `known`: mentions extracted before, by what they were
    extracted from."""
    generation, scheme = merge_state(s)  # in the same transaction (snapshot) as what follows
    ids = [p.entry_id for p in pending]
    batch = _Batch(generation, scheme, _seen(s, ids))
    had_mentions: set[int] = set()
    for chunk in in_chunks(ids):
        had_mentions.update(s.scalars(select(Mention.entry_id).where(Mention.entry_id.in_(chunk)).distinct()))
    # An entry's feed content hash and its extraction key (which also covers the page
    # text): a poll's extraction of the feed text is still current while the former
    # matches; entry_mentions then extracts the page text instead.
    current = {
        i: (seen[0], extraction_key(seen[0], seen[1] if seen[2] else None))
        for i, seen in batch.seen.items() if seen is not None
    }
    # Edited again by another poll meanwhile: that poll extracts it.
    live = [p for p in pending if p.content_hash in current.get(p.entry_id, ())]
    # Most articles yield no mention and had none: they are only marked done,
    # without loading them (a cold poll of many feeds would load every article).
    quiet = {
        p.entry_id for p in live
        if p.extracted is not None and p.extracted.error is None and not p.extracted.mentions
        and p.entry_id not in had_mentions
    }
    batch.quiet = sorted(quiet)
    rest = [p for p in live if p.entry_id not in quiet]
    rows = load_entries(s, (p.entry_id for p in rest))
    for p in rest:
        row = rows[p.entry_id]
        batch.feed_of[row.id] = p.feed.name
        ready = known.get(row.id) if known else None
        if ready is not None and ready[0] == batch.seen[row.id]:
            batch.updates.append((row, ready[1]))
            continue
        failures: list[str] = []
        batch.updates.extend(
            entry_mentions(parts, p.feed, [row], {row.key: p.extracted} if p.extracted else None, failures)
        )
        batch.not_extracted += [(p.feed.name, error) for error in failures]
    if plan and scheme >= MERGE_SCHEME and batch.updates:
        batch.plan = plan_mentions(s, [(entry.id, mentions) for entry, mentions in batch.updates], now)
    return batch


def _write_batch(s: Session, batch: _Batch, now: datetime) -> MergeOutcome:
    """Write a batch's merge (planned in this transaction, or checked to hold in it)."""
    out = MergeOutcome()
    for name, error in batch.not_extracted:
        out.not_extracted(name, error)
    for chunk in in_chunks(batch.quiet):
        s.execute(update(Entry).where(Entry.id.in_(chunk)).values(needs_extraction=False))
    stats = apply_mentions(s, batch.updates, now, plan=batch.plan) if batch.updates else None
    if stats is not None and stats.changed:
        out.events = stats.changed
        # An event counts for every feed with a new or updated article in it.
        for chunk in in_chunks(list(batch.feed_of)):
            for entry_id, events in s.execute(
                select(Mention.entry_id, func.count(func.distinct(Mention.event_pk)))
                .where(Mention.entry_id.in_(chunk))
                .group_by(Mention.entry_id)
            ):
                name = batch.feed_of[entry_id]
                out.changed[name] = out.changed.get(name, 0) + events
    out.merged = len(batch.quiet) + len(batch.updates)
    return out

# -- entries left pending ------------------------------------------------------------------


def catch_up(parts: Parts, feeds: Sequence[FeedConfig]) -> MergeOutcome:
    """Extract and merge the entries of these feeds still marked for extraction: stored
    by a run that was killed before merging them, or whose extraction failed before.

    At most CATCH_UP_LIMIT, and articles_per_poll a feed, oldest first. Never raises: a problem is logged (the poll
    that follows meets a database problem too) and the entries wait for the next poll.
    """
    by_name = {f.name: f for f in feeds}
    try:
        with parts.store.read() as s:
            todo: list[tuple[int, str]] = []
            for names in in_chunks(list(by_name)):
                # Each feed's own budget too: a feed with a huge backlog (a 50,000-entry
                # archive) is read over several polls and never crowds the others out.
                ranked = (
                    select(
                        Entry.id.label("entry_id"),
                        Feed.name.label("name"),
                        func.row_number().over(partition_by=Entry.feed_id, order_by=Entry.id).label("n"),
                    )
                    .join(Feed, Feed.id == Entry.feed_id)
                    .where(Entry.needs_extraction.is_(True), Feed.name.in_(names))
                    .subquery()
                )
                todo += [
                    (entry_id, name)
                    for entry_id, name in s.execute(
                        select(ranked.c.entry_id, ranked.c.name)
                        .where(ranked.c.n <= parts.articles_per_poll)
                        .order_by(ranked.c.entry_id)
                        .limit(CATCH_UP_LIMIT)
                    )
                ]
    except StoreError as exc:
        log.error("could not look for articles left unextracted: %s", exc)
        return MergeOutcome()
    if not todo:
        return MergeOutcome()
    todo = sorted(todo)[:CATCH_UP_LIMIT]
    log.info("finishing %s stored but not merged into events by an earlier run", articles(len(todo)))
    try:
        # Suspects all: one of them may have killed the run that stored it, so they are
        # extracted in worker processes whenever the tracker has any.
        return process_stored(parts, [(entry_id, by_name[name]) for entry_id, name in todo], use_workers=True)
    except StoreError as exc:
        log.error("could not finish the articles left unextracted: %s", exc)
    except Exception:
        # A bug here must not cost the poll that follows; the entries stay pending.
        log.exception("finishing the articles left unextracted failed")
    return MergeOutcome()


def process_stored(
    parts: Parts,
    todo: Sequence[tuple[int, FeedConfig]],
    *,
    use_workers: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> MergeOutcome:
    """Extract (outside any transaction) and merge these stored entries, in chunks.

    Each merge is its own transaction, so an interruption loses nothing. An entry whose
    extraction or merge fails stays marked for extraction; the others are merged.
    `on_progress(done, total)` is called at the start and after each merge.
    """
    outcome = MergeOutcome()
    if on_progress is not None:
        on_progress(0, len(todo))
    gathered: list[PendingMerge] = []
    threshold = MERGE_FIRST
    for start in range(0, len(todo), STORED_CHUNK):
        chunk = todo[start : start + STORED_CHUNK]
        gathered += _extract_stored(parts, chunk, use_workers)
        last = start + len(chunk) >= len(todo)
        if len(gathered) >= threshold or last:
            outcome.update(merge_pending(parts, gathered))
            gathered = []
            threshold = min(MERGE_MOST, 2 * threshold)
            if on_progress is not None:
                on_progress(start + len(chunk), len(todo))
    return outcome


def _extract_stored(parts: Parts, chunk: Sequence[tuple[int, FeedConfig]], use_workers: bool) -> list[PendingMerge]:
    """The entries' mentions, for merging (entries deleted meanwhile are left out)."""
    feed_of = dict(chunk)
    with parts.store.read() as s:
        rows = [
            row for ids in in_chunks(list(feed_of))
            for row in s.execute(
                select(
                    Entry.id, Entry.key, Entry.title, Entry.text, Entry.published, Entry.content_hash,
                    Entry.page_text, Entry.page_hash,
                )
                .where(Entry.id.in_(ids))
            )
        ]
    rows.sort(key=lambda r: r.id)
    items = [
        (
            feed_of[r.id],
            Article(
                r.key, r.title, r.page_text or r.text, to_aware_utc(r.published),
                extraction_key(r.content_hash, r.page_hash if r.page_text else None),
            ),
        )
        for r in rows
    ]
    extracted = parts.extract_articles(items, use_workers=use_workers)
    return [
        PendingMerge(feed, row.id, article.content_hash, result)
        for row, (feed, article), result in zip(rows, items, extracted)
    ]
