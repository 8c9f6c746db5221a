"""The Store: sessions over one SQLite database, and the feed and entry writes of a poll."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar, cast

from sqlalchemy import Engine, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tracker.clock import to_aware_utc, to_naive_utc
from tracker.config import FeedConfig
from tracker.errors import StoreError
from tracker.store.db import ROW_LOCKS, create_sqlite_engine, display_url, ensure_schema, schema_state
from tracker.store.models import Entry, Feed

if TYPE_CHECKING:
    from tracker.parse import ParsedEntry

log = logging.getLogger(__name__)


_T = TypeVar("_T")

# Values per IN (...): well under SQLite's limit on bound parameters.
IN_CHUNK = 5000


def in_chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """`values` in slices small enough for one `column.in_(...)` each."""
    for i in range(0, len(values), IN_CHUNK):
        yield values[i : i + IN_CHUNK]


def load_entries(session: Session, ids: Iterable[int]) -> dict[int, Entry]:
    """The Entry rows with these ids, by id (ids that no longer exist are missing)."""
    rows: dict[int, Entry] = {}
    for chunk in in_chunks(list(ids)):
        rows.update((e.id, e) for e in session.scalars(select(Entry).where(Entry.id.in_(chunk))))
    return rows


@dataclass(frozen=True)
class FeedState:
    """A snapshot of what the poller needs to know about a feed before fetching it."""

    id: int
    name: str
    url: str
    etag: str | None
    last_modified: str | None
    consecutive_errors: int
    redirect_target: str | None
    redirect_count: int
    gone: bool
    next_due: datetime | None
    last_poll: datetime | None


@dataclass(frozen=True)
class EntryCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


class Store:
    """One database: created and migrated on first use, sessions for reading and writing."""

    def __init__(
        self, url: str, *, engine: Engine | None = None, migrate: bool = True, read_only: bool = False
    ) -> None:
        """`read_only`: open an existing database without creating or changing anything (a
        schema behind the code is still upgraded when the file can be written); raises
        NoDatabaseError when there is none. `migrate=False` skips the schema check."""
        self.url = url
        self.read_only = read_only
        self.where = display_url(url)
        try:
            self.engine = engine or create_sqlite_engine(url, read_only=read_only)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the database {self.where}: {exc}") from exc
        if read_only and migrate:
            if schema_state(self.engine, where=self.where) == "behind":
                self._upgrade_for_reading()
        elif migrate:
            ensure_schema(self.engine, where=self.where)
        self._writer = sessionmaker(
            bind=self.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
        )
        self._reader = sessionmaker(
            bind=self.engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False
        )
        self._row_writer = sessionmaker(
            bind=self.engine.execution_options(sqlite_begin="IMMEDIATE", **{ROW_LOCKS: True}), expire_on_commit=False
        )
        # Plain connections for the statements every poll runs, 304s included: an ORM
        # session around one statement was most of a not-modified poll's CPU time.
        self._core_writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._core_reader = self.engine.execution_options(sqlite_begin="DEFERRED")

    def _upgrade_for_reading(self) -> None:
        # Readers used to migrate on first use; keep that where the file may be written.
        writer = create_sqlite_engine(self.url)
        try:
            ensure_schema(writer, where=self.where)
        except StoreError as exc:
            raise StoreError(
                f"the database {self.where} needs a schema upgrade that cannot be written here "
                f"(run tracker db upgrade where it can): {exc}"
            ) from exc
        finally:
            writer.dispose()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction (BEGIN IMMEDIATE): committed on success, rolled back on error."""
        try:
            with self._writer.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"database write failed: {exc.__class__.__name__}: {exc}") from exc

    @contextmanager
    def write_rows(self) -> Iterator[Session]:
        """A write transaction for statements that lock the rows they touch themselves (one
        feed row's lease): on PostgreSQL it does not queue behind the store-wide write lock
        that merges and polls take; on SQLite it is write()."""
        try:
            with self._row_writer.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"database write failed: {exc.__class__.__name__}: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot; never waits for writers (WAL)."""
        try:
            with self._reader() as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"database read failed: {exc.__class__.__name__}: {exc}") from exc

    # -- feeds -------------------------------------------------------------------------

    def sync_feeds(self, feeds: Sequence[FeedConfig], now: datetime) -> None:
        """Make a row for every configured feed; a changed config URL starts afresh."""
        with self.write() as s:
            rows = {f.name: f for f in s.scalars(select(Feed))}
            for cfg in feeds:
                row = rows.get(cfg.name)
                if row is None:
                    s.add(
                        Feed(
                            name=cfg.name,
                            url=cfg.url,
                            config_url=cfg.url,
                            created=to_naive_utc(now),
                            consecutive_errors=0,
                            redirect_count=0,
                            gone=False,
                        )
                    )
                elif row.config_url != cfg.url:
                    row.config_url = row.url = cfg.url
                    row.etag = row.last_modified = None
                    row.gone = False
                    row.consecutive_errors = 0
                    row.redirect_target, row.redirect_count = None, 0
                    row.next_due = None

    def feed_state(self, name: str) -> FeedState:
        try:
            with self._core_reader.begin() as conn:
                row = conn.execute(_FEED_STATE, {"name": name}).one()
        except SQLAlchemyError as exc:
            raise StoreError(f"database read failed: {exc.__class__.__name__}: {exc}") from exc
        return FeedState(
            id=row.id,
            name=row.name,
            url=row.url,
            etag=row.etag,
            last_modified=row.last_modified,
            consecutive_errors=row.consecutive_errors,
            redirect_target=row.redirect_target,
            redirect_count=row.redirect_count,
            gone=row.gone,
            next_due=to_aware_utc(row.next_due) if row.next_due else None,
            last_poll=to_aware_utc(row.last_poll) if row.last_poll else None,
        )

    def record_not_modified(
        self,
        feed_id: int,
        now: datetime,
        next_due: datetime,
        backoff_reason: str | None,
        server_interval: int | None,
        etag: str | None,
        last_modified: str | None,
    ) -> None:
        """A successful poll that found nothing new (a 304): one UPDATE in its own transaction."""
        naive_now = to_naive_utc(now)
        try:
            with self._core_writer.begin() as conn:
                conn.execute(
                    _NOT_MODIFIED,
                    {
                        "feed_id": feed_id, "now": naive_now, "next_due": to_naive_utc(next_due),
                        "backoff_reason": backoff_reason, "server_interval": server_interval,
                        "etag": etag, "last_modified": last_modified,
                    },
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"database write failed: {exc.__class__.__name__}: {exc}") from exc

    def entry_hashes(self, feed_id: int) -> dict[str, str]:
        """key -> content_hash of the feed's stored entries."""
        with self.read() as s:
            return dict(s.execute(select(Entry.key, Entry.content_hash).where(Entry.feed_id == feed_id)).all())

    def entry_counts(self) -> dict[int, int]:
        with self.read() as s:
            return dict(s.execute(select(Entry.feed_id, func.count()).group_by(Entry.feed_id)).all())


@dataclass(frozen=True)
class StoredEntry:
    """A new or changed entry as upsert_entries left it: enough to find it again for merging."""

    id: int
    key: str
    content_hash: str


# Built once: constructing a statement costs more than running it on a small table.
_FEED_STATE = select(
    Feed.id, Feed.name, Feed.url, Feed.etag, Feed.last_modified, Feed.consecutive_errors,
    Feed.redirect_target, Feed.redirect_count, Feed.gone, Feed.next_due, Feed.last_poll,
).where(Feed.name == bindparam("name"))
_NOT_MODIFIED = (
    update(Feed)
    .where(Feed.id == bindparam("feed_id"))
    .values(
        last_poll=bindparam("now"), last_success=bindparam("now"), consecutive_errors=0, last_error=None,
        next_due=bindparam("next_due"), backoff_reason=bindparam("backoff_reason"),
        server_interval=bindparam("server_interval"), etag=bindparam("etag"),
        last_modified=bindparam("last_modified"), redirect_target=None, redirect_count=0,
        last_status="not-modified",
    )
)


_STORED_KEYS = select(Entry.id, Entry.key, Entry.content_hash).where(Entry.feed_id == bindparam("feed_id"))
_ENTRIES = cast(Table, Entry.__table__)
_INSERT_ENTRIES = insert(_ENTRIES).returning(_ENTRIES.c.id, _ENTRIES.c.key)


def upsert_entries(
    session: Session, feed_id: int, entries: Sequence[ParsedEntry], now: datetime
) -> tuple[EntryCounts, list[StoredEntry]]:
    """Insert new entries, update changed ones (marked for re-extraction), count the rest.

    Runs inside the poll's write transaction, so the read of existing keys and the
    writes see the same state: a concurrent poll cannot make us insert a key twice.
    Returns the counts and the new and changed entries, in document order.
    """
    # Keys and hashes first: most entries of a re-fetched feed are unchanged, and loading
    # them whole (HTML and all) would be most of the transaction's work.
    stored = {
        key: (entry_id, content_hash)
        for entry_id, key, content_hash in session.execute(_STORED_KEYS, {"feed_id": feed_id})
    }
    changed_ids = [
        stored[p.key][0] for p in entries if p.key in stored and stored[p.key][1] != p.content_hash
    ]
    existing: dict[str, Entry] = (
        {e.key: e for e in session.scalars(select(Entry).where(Entry.id.in_(changed_ids)))} if changed_ids else {}
    )
    naive_now = to_naive_utc(now)
    new = updated = unchanged = 0
    # New entries go in as one multi-row INSERT of plain values: building an ORM object
    # per entry was most of a cold poll's time in this process.
    inserts: dict[str, dict[str, object]] = {}
    order: list[str] = []
    for parsed in entries:
        if parsed.key in stored and stored[parsed.key][1] == parsed.content_hash:
            unchanged += 1
            continue
        values = _entry_values(parsed, naive_now)
        pending = inserts.get(parsed.key)
        if pending is not None:
            # The same key twice in one document (parse_feed prevents it; stay safe).
            if pending["content_hash"] == parsed.content_hash:
                unchanged += 1
                continue
            published = values.pop("published")
            if parsed.published is not None:
                pending["published"], pending["published_fallback"] = published, False
            pending.update(values)
            updated += 1
            continue
        row = existing.get(parsed.key)
        if row is None:
            inserts[parsed.key] = {
                "feed_id": feed_id,
                "key": parsed.key,
                "first_seen": naive_now,
                # A missing or implausible date falls back to when we first saw it.
                "published_fallback": parsed.published is None,
                **values,
            }
            order.append(parsed.key)
            new += 1
            continue
        if row.content_hash == parsed.content_hash:
            unchanged += 1
            continue
        del values["published"]
        if parsed.published is not None:
            row.published = to_naive_utc(parsed.published)
            row.published_fallback = False
        for name, value in values.items():
            setattr(row, name, value)
        order.append(parsed.key)
        updated += 1
    ids: dict[str, int] = {}
    if inserts:
        # A Core INSERT ... RETURNING on the session's connection: the ORM's bulk insert and
        # a second query for the new ids were 40% of this function's time.
        returned = session.connection().execute(_INSERT_ENTRIES, list(inserts.values()))
        ids.update((key, entry_id) for entry_id, key in returned)
    session.flush()
    touched = [
        StoredEntry(existing[key].id, key, existing[key].content_hash) if key in existing
        else StoredEntry(ids[key], key, str(inserts[key]["content_hash"]))
        for key in order
    ]
    return EntryCounts(new=new, updated=updated, unchanged=unchanged), touched


def _entry_values(parsed: ParsedEntry, naive_now: datetime) -> dict[str, object]:
    """The columns a poll (re)writes from the document; `published` is now when it has none."""
    return {
        "published": to_naive_utc(parsed.published) if parsed.published else naive_now,
        "guid": parsed.guid,
        "link": parsed.link,
        "title": parsed.title,
        "title_html": parsed.title_html,
        "text": parsed.text,
        "html": parsed.html,
        "author": parsed.author,
        "published_raw": parsed.published_raw,
        "updated": to_naive_utc(parsed.updated) if parsed.updated else None,
        "content_hash": parsed.content_hash,
        "last_changed": naive_now,
        "needs_extraction": True,
    }
