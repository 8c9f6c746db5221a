"""Full text: queue the article pages a feed's entries need, fetch them politely, store their text, re-extract."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.clock import to_aware_utc, to_naive_utc
from tracker.config import FeedConfig
from tracker.errors import FetchError, StoreError
from tracker.fetch import Validators
from tracker.fulltext import ExtractedPage, extract_page, looks_truncated
from tracker.parse import ParsedEntry
from tracker.merge_step import process_stored
from tracker.outcomes import MergeOutcome
from tracker.parts import Parts
from tracker.store import Entry, in_chunks
from tracker.store.models import Feed, Page
from tracker.workers import WorkerCrashed, WorkersUnavailable

log = logging.getLogger(__name__)

# A failed page is tried again after this long, doubling each time, at most this many times
# in all (until its entry changes in the feed, which queues it afresh).
PAGE_RETRY = timedelta(minutes=30)
MAX_PAGE_ATTEMPTS = 4
# Articles change after publication (updates, corrections, a developing story) while the
# feed entry stays the same: a page read OK is read again this often (conditionally, so an
# unchanged page costs a 304) while its article is younger than PAGE_REFRESH_WINDOW.
PAGE_REFRESH = timedelta(hours=6)
PAGE_REFRESH_WINDOW = timedelta(days=3)
# Pages read per run (a poll, a turn of the daemon's page queue): the rest wait for the next.
PAGES_PER_RUN = 500
# Threads fetching pages at once; the per-host limit and delay keep each site's share polite.
PAGE_THREADS = 8
# In auto mode a feed whose recent pages were much longer than their entries is a feed of
# summaries, however complete each entry looks: all its entries get their page read.
LONGER_RATIO = 2.0
LONGER_MIN_EXTRA = 300
LONGER_SAMPLE = 5
# What an error message keeps.
ERROR_CHARS = 300


@dataclass(frozen=True)
class PageTask:
    """A page to read: its entry, the feed's settings, and what the last fetch left."""

    entry_id: int
    feed: FeedConfig
    url: str
    validators: Validators
    attempts: int


@dataclass(frozen=True)
class PageRead:
    """What reading one page gave; never an exception."""

    task: PageTask
    status: str  # ok | unchanged | failed
    final_url: str | None = None
    validators: Validators = Validators()
    extracted: ExtractedPage | None = None
    error: str | None = None


@dataclass
class PagesOutcome:
    """What a run of page reads did, per feed, for `tracker poll` and the daemon's log."""

    read: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # Entries whose page text is new or changed: re-extracted and merged.
    changed: int = 0
    merge: MergeOutcome | None = None

    def feeds(self) -> list[str]:
        return sorted(set(self.read) | set(self.unchanged) | set(self.failed))

    def line(self, feed: str) -> str:
        """One line per feed with page activity: `NAME: full text: 3 pages read, 1 failed (why)`."""
        parts = []
        for count, what in ((self.read.get(feed, 0), "read"), (self.unchanged.get(feed, 0), "unchanged")):
            if count:
                parts.append(f"{count} {'page' if count == 1 else 'pages'} {what}")
        failed = self.failed.get(feed, 0)
        if failed:
            parts.append(f"{failed} failed (last: {self.errors.get(feed, '?')})")
        changed = self.merge.changed.get(feed, 0) if self.merge is not None else 0
        if changed:
            parts.append(f"{changed} events changed")
        return f"{feed}: full text: {', '.join(parts) or 'nothing to read'}"


def _http_link(link: str | None) -> bool:
    return bool(link) and link.lower().startswith(("http://", "https://"))  # type: ignore[union-attr]


def _feed_gives_summaries(session: Session, feed_id: int) -> bool:
    """True when most of the feed's last pages read were much longer than their entries."""
    rows = session.execute(
        select(Page.chars, func.length(Entry.text))
        .join(Entry, Entry.id == Page.entry_id)
        .where(Page.feed_id == feed_id, Page.status == "ok", Page.chars.is_not(None))
        .order_by(Page.fetched.desc())
        .limit(LONGER_SAMPLE)
    ).all()
    longer = sum(1 for chars, own in rows if chars >= max(LONGER_RATIO * (own or 0), (own or 0) + LONGER_MIN_EXTRA))
    return len(rows) >= 2 and 2 * longer > len(rows)


def queue_pages(
    session: Session, cfg: FeedConfig, feed_id: int, touched: Sequence[tuple[int, ParsedEntry]], now: datetime
) -> int:
    """In the poll's transaction: queue the pages of these new or changed entries that need
    reading, by the feed's full_text mode; returns how many were queued.

    auto: entries that look truncated; all of them when the feed's pages proved much longer
    than its entries; and, for a feed with no page read yet, its newest entry as a probe
    (how else would we learn that its complete-looking entries are summaries).
    """
    if cfg.full_text == "never" or not touched:
        return 0
    linked = [(entry_id, p) for entry_id, p in touched if _http_link(p.link)]
    if not linked:
        return 0
    if cfg.full_text == "always":
        chosen = linked
    else:
        if _feed_gives_summaries(session, feed_id):
            chosen = linked
        else:
            chosen = [(i, p) for i, p in linked if looks_truncated(p.text, title=p.title)]
            probed = session.scalar(select(Page.entry_id).where(Page.feed_id == feed_id).limit(1)) is not None
            if not probed and not chosen:
                newest = max(linked, key=lambda x: (x[1].published is not None, x[1].published or now, -x[0]))
                chosen = [newest]
    naive = to_naive_utc(now)
    ids = [i for i, _ in chosen]
    existing = {
        page.entry_id: page
        for chunk in in_chunks(ids)
        for page in session.scalars(select(Page).where(Page.entry_id.in_(chunk)))
    }
    for entry_id, parsed in chosen:
        page = existing.get(entry_id)
        if page is None:
            session.add(Page(entry_id=entry_id, feed_id=feed_id, url=parsed.link, status="pending",
                             next_attempt=naive, attempts=0))
            continue
        # The entry changed: read its page again (conditionally: an unchanged page costs a 304).
        page.url = parsed.link or page.url
        page.status, page.next_attempt, page.attempts, page.error = "pending", naive, 0, None
    return len(chosen)


def due_pages(tracker: Parts, feeds: Sequence[FeedConfig], limit: int = PAGES_PER_RUN) -> list[PageTask]:
    """The pages of these feeds due for reading now, oldest due first."""
    by_name = {f.name: f for f in feeds if f.full_text != "never"}
    if not by_name:
        return []
    now = to_naive_utc(tracker.clock())
    out: list[PageTask] = []
    with tracker.store.read() as s:
        for names in in_chunks(list(by_name)):
            rows = s.execute(
                select(Page.entry_id, Page.url, Page.etag, Page.last_modified, Page.attempts, Feed.name)
                .join(Feed, Feed.id == Page.feed_id)
                .where(Feed.name.in_(names), Page.next_attempt.is_not(None), Page.next_attempt <= now)
                .order_by(Page.next_attempt, Page.entry_id)
                .limit(limit)
            ).all()
            out += [
                PageTask(r.entry_id, by_name[r.name], r.url, Validators(r.etag, r.last_modified), r.attempts)
                for r in rows
            ]
    out.sort(key=lambda t: t.entry_id)
    return out[:limit]


def _extract(body: bytes, url: str, content_type: str | None) -> ExtractedPage:
    # Module level: worker processes import it by name.
    return extract_page(body, url=url, content_type=content_type)


def read_page(tracker: Parts, task: PageTask, use_workers: bool) -> PageRead:
    """Fetch one page and extract its main text. Never raises: a problem is the page's error."""
    timeout = task.feed.timeout.total_seconds()
    try:
        page = tracker.page_fetcher.fetch(task.url, task.validators, timeout=timeout, deadline=3 * timeout)
    except FetchError as exc:
        return PageRead(task, "failed", error=str(exc)[:ERROR_CHARS])
    except Exception as exc:  # noqa: BLE001 - a bug costs this page, never the others
        log.exception("%s: reading the page %s failed", task.feed.name, task.url)
        return PageRead(task, "failed", error=f"internal error: {type(exc).__name__}: {exc}"[:ERROR_CHARS])
    if page.status == 304 or page.body is None:
        return PageRead(task, "unchanged", final_url=page.url, validators=page.validators)
    args = (page.body, page.url, page.content_type)
    try:
        if use_workers and tracker.processes > 0:
            try:
                extracted: ExtractedPage = tracker.workers.run(_extract, *args)
            except WorkersUnavailable:
                extracted = _extract(*args)
            except WorkerCrashed:
                return PageRead(task, "failed", error="its extraction crashed a worker process (killed, or out of memory)")
        else:
            extracted = _extract(*args)
    except Exception as exc:  # noqa: BLE001
        log.exception("%s: extracting the page %s failed", task.feed.name, task.url)
        return PageRead(task, "failed", error=f"extraction failed: {type(exc).__name__}: {exc}"[:ERROR_CHARS])
    return PageRead(task, "ok", final_url=page.url, validators=page.validators, extracted=extracted)


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def store_reads(tracker: Parts, reads: Iterable[PageRead], outcome: PagesOutcome) -> list[tuple[int, FeedConfig]]:
    """Record the reads in one transaction; returns the entries whose text changed (marked
    for extraction, so a crash before they are merged loses nothing: the next poll does it)."""
    now = tracker.clock()
    naive = to_naive_utc(now)
    changed: list[tuple[int, FeedConfig]] = []
    reads = list(reads)
    with tracker.store.write() as s:
        ids = [r.task.entry_id for r in reads]
        pages = {p.entry_id: p for chunk in in_chunks(ids) for p in s.scalars(select(Page).where(Page.entry_id.in_(chunk)))}
        entries = {e.id: e for chunk in in_chunks(ids) for e in s.scalars(select(Entry).where(Entry.id.in_(chunk)))}
        for r in reads:
            name = r.task.feed.name
            page, entry = pages.get(r.task.entry_id), entries.get(r.task.entry_id)
            if page is None or entry is None:
                continue  # the entry was deleted meanwhile (its feed removed)
            page.last_attempt = naive
            if r.status == "failed":
                page.attempts += 1
                page.error = r.error
                page.status = "failed"
                page.next_attempt = (
                    to_naive_utc(now + PAGE_RETRY * 2 ** (page.attempts - 1)) if page.attempts < MAX_PAGE_ATTEMPTS else None
                )
                outcome.failed[name] = outcome.failed.get(name, 0) + 1
                outcome.errors[name] = r.error or "?"
                continue
            page.status, page.error, page.attempts = "ok", None, 0
            fresh = to_aware_utc(entry.published) > now - PAGE_REFRESH_WINDOW
            page.next_attempt = to_naive_utc(now + PAGE_REFRESH) if fresh else None
            page.final_url = r.final_url
            page.etag, page.last_modified = r.validators.etag, r.validators.last_modified
            if r.status == "unchanged":
                outcome.unchanged[name] = outcome.unchanged.get(name, 0) + 1
                continue
            assert r.extracted is not None
            page.fetched = naive
            outcome.read[name] = outcome.read.get(name, 0) + 1
            text = r.extracted.text.strip()
            page.chars = len(text)
            dirty = False
            if text and _text_hash(text) != entry.page_hash:
                entry.page_text, entry.page_hash = text, _text_hash(text)
                dirty = True
            if entry.published_fallback and r.extracted.published is not None:
                # The feed gave no date; the page's own metadata is better than first seen.
                entry.published = to_naive_utc(r.extracted.published)
                entry.published_fallback = False
                dirty = True
            if dirty:
                entry.needs_extraction = True
                changed.append((entry.id, r.task.feed))
    outcome.changed += len(changed)
    return changed


def read_pages(
    tracker: Parts,
    feeds: Sequence[FeedConfig],
    *,
    use_workers: bool = False,
    limit: int = PAGES_PER_RUN,
    rounds: int = 1,
) -> PagesOutcome:
    """Read the due pages of these feeds, `limit` at a time for at most `rounds` rounds,
    store their text, re-extract and merge the entries they changed. Never raises for one
    page; a database problem is logged and the pages wait for the next run."""
    outcome = PagesOutcome()
    for _ in range(rounds):
        if _read_round(tracker, feeds, use_workers, limit, outcome) < limit:
            break
    return outcome


def _read_round(
    tracker: Parts, feeds: Sequence[FeedConfig], use_workers: bool, limit: int, outcome: PagesOutcome
) -> int:
    """One round of read_pages; returns how many pages it took (fewer than limit: no more due)."""
    try:
        tasks = due_pages(tracker, feeds, limit)
    except StoreError as exc:
        log.error("could not look for article pages to read: %s", exc)
        return 0
    if not tasks:
        return 0
    with ThreadPoolExecutor(max_workers=min(PAGE_THREADS, len(tasks)), thread_name_prefix="page") as threads:
        reads = list(threads.map(lambda t: read_page(tracker, t, use_workers), tasks))
    try:
        changed = store_reads(tracker, reads, outcome)
    except StoreError as exc:
        log.error("could not store %d article pages: %s (they are read again next time)", len(reads), exc)
        return 0
    if changed:
        merged = process_stored(tracker, changed, use_workers=use_workers)
        if outcome.merge is None:
            outcome.merge = merged
        else:
            outcome.merge.update(merged)
    return len(tasks)
