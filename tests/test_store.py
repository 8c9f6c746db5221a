"""The store: Alembic builds the schema the models describe; SQLite is set up for concurrency."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text, update

from pgserver import PgServer
from tracker.config import FeedConfig
from tracker.errors import StoreError
from tracker.parse import ParsedEntry
from tracker.store import Base, Entry, Store, current_revision, head_revision, upsert_entries
from tracker.store.db import PG_WRITE_LOCK
from tracker.store.models import Feed

NOW = datetime(2024, 3, 25, 12, 0, tzinfo=timezone.utc)


def test_upgrade_empty_database_to_head_matches_models(database_url: str) -> None:
    store = Store(database_url)
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    # The full-text tables (FTS5 and its shadow tables on SQLite, events_fts with its
    # tsvector on PostgreSQL) are made by migrations alone and unknown to the models.
    diff = [d for d in diff if not (d[0] in ("remove_table", "remove_index") and "_fts" in _table_name(d[1]))]
    assert diff == [], diff
    store.close()


def _table_name(item: Any) -> str:
    """The name of a table, or of an index's table, in compare_metadata's answer."""
    return str(item.table.name if hasattr(item, "table") else item.name)


def test_pragmas(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    store.close()


def test_postgresql_writers_serialise_and_readers_take_snapshots(postgres_server: PgServer) -> None:
    """Every write transaction takes the advisory lock first (PostgreSQL's BEGIN IMMEDIATE):
    a second writer waits for the first to commit, then sees its rows; a reader never waits
    and keeps one snapshot; a read-only store refuses writes."""
    name = postgres_server.create_database()
    store = Store(postgres_server.url(name))
    zero = NOW - NOW
    store.sync_feeds([FeedConfig("f", "https://e.com/a", zero, zero)], NOW)
    order: list[str] = []
    holding = threading.Event()
    release = threading.Event()

    def first() -> None:
        with store.write() as s:
            s.execute(update(Feed).values(title="first"))
            order.append("first wrote")
            holding.set()
            release.wait(10)
            order.append("first commits")

    def second() -> None:
        holding.wait(10)
        with store.write() as s:
            order.append(f"second sees {s.scalar(select(Feed.title))}")

    with store.read() as snapshot:
        assert snapshot.scalar(select(Feed.title)) is None
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for t in threads:
            t.start()
        holding.wait(10)
        # The second writer is queued on the lock, not running beside the first.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with postgres_server.admin() as admin:
                waiting = admin.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
                    (PG_WRITE_LOCK & 0xFFFFFFFF,),
                ).fetchone()
            if waiting and waiting[0] == 1:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the second writer never waited for the lock")
        release.set()
        for t in threads:
            t.join()
        # A reader's snapshot is the one it began with (REPEATABLE READ), as in WAL.
        assert snapshot.scalar(select(Feed.title)) is None
    assert order == ["first wrote", "first commits", "second sees first"]
    store.close()

    reader = Store(postgres_server.url(name), read_only=True)
    with reader.read() as s:
        assert s.scalar(select(Feed.title)) == "first"
    with pytest.raises(StoreError, match="read-only transaction"):
        with reader.write() as s:
            s.execute(update(Feed).values(title="nope"))
    reader.close()
    postgres_server.drop_database(name)


def test_postgresql_url_is_normalised_and_a_missing_database_is_one_line(postgres_server: PgServer) -> None:
    name = postgres_server.create_database()
    # postgresql:// means psycopg 3 (SQLAlchemy alone would pick psycopg2).
    store = Store(postgres_server.url(name, driver="postgresql"))
    assert store.engine.dialect.driver == "psycopg"
    assert current_revision(store.engine) == head_revision()
    store.close()
    postgres_server.drop_database(name)
    with pytest.raises(StoreError, match=f'cannot open the database .*database "{name}" does not exist'):
        Store(postgres_server.url(name))


def test_second_open_is_a_noop(database_url: str) -> None:
    url = database_url
    Store(url).close()
    store = Store(url)
    assert current_revision(store.engine) == head_revision()
    store.close()


def test_concurrent_writers_and_readers_never_lock(database_url: str) -> None:
    """Writers queue (SQLite: BEGIN IMMEDIATE; PostgreSQL: the advisory lock); readers see
    committed rows, never an error."""
    store = Store(database_url)
    store.sync_feeds([FeedConfig("f", "https://e.com/f", interval=NOW - NOW, timeout=NOW - NOW)], NOW)
    feed_id = store.feed_state("f").id
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(40):
                with store.write() as s:
                    # Read-then-write in one transaction: the pattern that deadlocks with
                    # deferred transactions ("database is locked") and not with IMMEDIATE.
                    count = s.scalar(select(func.count()).select_from(Entry)) or 0
                    s.add(Entry(feed_id=feed_id, key=f"{n}-{i}-{count}", title="t", text="x",
                                published=NOW.replace(tzinfo=None), content_hash="h",
                                first_seen=NOW.replace(tzinfo=None), last_changed=NOW.replace(tzinfo=None)))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(200):
                with store.read() as s:
                    s.execute(text("SELECT count(*) FROM entries")).scalar()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)] + [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(Entry)) == 160
    store.close()


def test_changed_config_url_starts_afresh(database_url: str) -> None:
    store = Store(database_url)
    zero = NOW - NOW
    store.sync_feeds([FeedConfig("f", "https://e.com/a", zero, zero)], NOW)
    with store.write() as s:
        feed = s.scalars(select(Feed)).one()
        feed.etag, feed.gone, feed.consecutive_errors = '"x"', True, 5
    store.sync_feeds([FeedConfig("f", "https://e.com/b", zero, zero)], NOW)
    state = store.feed_state("f")
    assert (state.url, state.etag, state.gone, state.consecutive_errors) == ("https://e.com/b", None, False, 0)
    store.close()


def _parsed(key: str, body: str, published: datetime | None) -> ParsedEntry:
    return ParsedEntry(
        key=key, guid=key, link=None, title=key.upper(), title_html=None, text=body, html=None, author=None,
        published=published, published_raw=None, updated=None, content_hash=f"h:{body}",
    )


def test_upsert_entries_inserts_updates_and_counts(database_url: str) -> None:
    store = Store(database_url)
    zero = NOW - NOW
    store.sync_feeds([FeedConfig("f", "https://e.com/a", zero, zero)], NOW)
    feed_id = store.feed_state("f").id
    dated = NOW - timedelta(days=2)
    with store.write() as s:
        counts, touched = upsert_entries(s, feed_id, [_parsed("b", "one", dated), _parsed("a", "two", None)], NOW)
    assert (counts.new, counts.updated, counts.unchanged) == (2, 0, 0)
    # Document order, with the ids the rows really have.
    assert [(t.key, t.content_hash) for t in touched] == [("b", "h:one"), ("a", "h:two")]
    with store.read() as s:
        rows = {e.key: e for e in s.scalars(select(Entry))}
    assert {t.key: t.id for t in touched} == {k: e.id for k, e in rows.items()}
    assert rows["a"].published == NOW.replace(tzinfo=None) and rows["a"].published_fallback
    assert rows["b"].published == dated.replace(tzinfo=None) and not rows["b"].published_fallback
    assert all(e.needs_extraction for e in rows.values())

    later = NOW + timedelta(hours=5)
    with store.write() as s:
        s.execute(update(Entry).values(needs_extraction=False))
        counts, touched = upsert_entries(
            s, feed_id, [_parsed("b", "one", dated), _parsed("a", "two, edited", None), _parsed("c", "three", None)], later
        )
    assert (counts.new, counts.updated, counts.unchanged) == (1, 1, 1)
    assert [t.key for t in touched] == ["a", "c"]
    with store.read() as s:
        rows = {e.key: e for e in s.scalars(select(Entry))}
    # An edit keeps the entry's first-seen date (and so its fallback publication date).
    assert rows["a"].text == "two, edited" and rows["a"].published == NOW.replace(tzinfo=None)
    assert rows["a"].first_seen == NOW.replace(tzinfo=None) and rows["a"].last_changed == later.replace(tzinfo=None)
    assert rows["a"].needs_extraction and rows["c"].needs_extraction and not rows["b"].needs_extraction
    assert rows["c"].first_seen == later.replace(tzinfo=None)
    store.close()
