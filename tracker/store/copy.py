"""`tracker db copy`: a whole tracker database into an empty one, SQLite or PostgreSQL on
either side.

The source is read in one snapshot (a read transaction: SQLite WAL or PostgreSQL
REPEATABLE READ) and must be at the newest schema revision; it is never written. The
target is migrated to the newest revision first (Alembic), then every table is copied in
foreign-key order, streamed in chunks, primary keys kept, all in one write transaction:
a copy that fails leaves the target migrated and empty. Then PostgreSQL's sequences are
set past the largest key, and the full-text rows (events_fts: SQLite's FTS5 table, or
PostgreSQL's table whose tsvector the server computes, migration 0007) are copied through
the columns both share (rowid, summary, quotes), so a search finds the same events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, Table, delete, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from tracker.errors import NoDatabaseError, StoreError, UsageError
from tracker.store.db import (
    create_store_engine,
    current_revision,
    display_url,
    head_revision,
    known_revisions,
    read_connection,
    sqlite_file,
    upgrade,
)
from tracker.store.models import Base

log = logging.getLogger(__name__)

# Rows fetched from the source at a time, and at most how much is inserted at once (rows,
# characters of text): memory stays bounded whatever the size of the database.
STREAM_ROWS = 200
BATCH_ROWS = 2000
BATCH_CHARS = 16_000_000

# The full-text rows: copied through the columns both backends' events_fts have.
FTS_TABLE = "events_fts"
# Tables the migrations themselves fill with a row (the database's id, the merge state):
# a target holding only those is empty; their rows are replaced by the source's.
SEEDED_TABLES = frozenset({"database_info", "merge_state"})
# Never copied: Alembic's own table (the target's migrations write it), SQLite's internal
# tables and FTS5's shadow tables (FTS5 keeps them itself).
_SKIPPED = ("alembic_version",)
_SKIPPED_PREFIXES = ("sqlite_", f"{FTS_TABLE}_")


class TargetNotEmpty(UsageError):
    """The target database already holds tracker data (or other tables)."""


@dataclass
class CopyResult:
    """What was copied: rows per table in copy order (events_fts last), and the revision."""

    source: str
    target: str
    revision: str
    tables: list[tuple[str, int]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.tables)


def copy_database(
    source_url: str,
    target_url: str,
    *,
    on_table: Callable[[str, int], None] | None = None,
) -> CopyResult:
    """Copy the tracker database at `source_url` into the empty one at `target_url`.

    Raises NoDatabaseError when there is no source (or it has no schema), UsageError when
    the two name the same database or the source is behind the newest schema revision,
    TargetNotEmpty when the target holds data, StoreError when a database cannot be read
    or written. `on_table(name, rows)` is called as each table is done.
    """
    source_where, target_where = display_url(source_url), display_url(target_url)
    if _same_database(source_url, target_url):
        raise UsageError(f"the source and the target are the same database ({source_where})")
    head = head_revision()
    assert head is not None
    source = create_store_engine(source_url, read_only=True)
    try:
        _check_source(source, source_where, head)
        target = create_store_engine(target_url)
        try:
            _check_target_empty(target, target_where)
            upgrade(target, "head", where=target_where)
            result = CopyResult(source=source_where, target=target_where, revision=head)
            try:
                _copy(source, target, result, on_table)
            except SQLAlchemyError as exc:
                raise StoreError(
                    f"copying {source_where} to {target_where} failed (the target was left empty): "
                    f"{exc.__class__.__name__}: {exc}"
                ) from exc
            return result
        finally:
            target.dispose()
    finally:
        source.dispose()


def _same_database(a: str, b: str) -> bool:
    file_a, file_b = sqlite_file(a), sqlite_file(b)
    if file_a is not None and file_b is not None:
        return _resolved(file_a) == _resolved(file_b)
    try:
        url_a, url_b = make_url(a), make_url(b)
    except ArgumentError:
        return False
    if url_a.get_backend_name() == "sqlite" or url_b.get_backend_name() == "sqlite":
        return False

    def where(url: Any) -> tuple[Any, ...]:
        return (url.get_backend_name(), url.host, url.port, url.database, sorted(url.query.items()))

    return where(url_a) == where(url_b)


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def _check_source(engine: Engine, where: str, head: str) -> None:
    revision = current_revision(engine, where=where)
    if revision is None:
        raise NoDatabaseError(where)
    if revision == head:
        return
    if revision not in known_revisions():
        raise StoreError(
            f"the source database {where} is at schema revision {revision}, which this version of "
            "tracker does not know (was it made by a newer version?)"
        )
    raise UsageError(
        f"the source database {where} is at schema revision {revision}, not the newest ({head}); "
        f"upgrade it first (TRACKER_DATABASE_URL=SOURCE_URL tracker db upgrade)"
    )


def _user_tables(conn: Connection) -> list[str]:
    """The tables of the database, but for SQLite's internal and FTS5's shadow tables."""
    names = inspect(conn).get_table_names()
    return [n for n in names if not n.startswith(_SKIPPED_PREFIXES)]


def _check_target_empty(engine: Engine, where: str) -> None:
    """Raise TargetNotEmpty unless the target has no tables, or only a tracker schema whose
    tables are empty but for the rows its migrations wrote."""
    try:
        revision = current_revision(engine, where=where)
        with read_connection(engine) as conn:
            tables = _user_tables(conn)
            if revision is None:
                if tables:
                    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
                    raise TargetNotEmpty(
                        f"the target database {where} is not empty: it holds tables that are not "
                        f"a tracker database ({shown}); copy into a new, empty database"
                    )
                return
            for name in tables:
                if name in _SKIPPED or name in SEEDED_TABLES:
                    continue
                if conn.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first() is not None:
                    raise TargetNotEmpty(
                        f"the target database {where} already holds data (table {name}); "
                        "copy into a new, empty database"
                    )
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the target database {where}: {exc.__class__.__name__}: {exc}") from exc


def _copy(source: Engine, target: Engine, result: CopyResult, on_table: Callable[[str, int], None] | None) -> None:
    to_postgresql = target.dialect.name == "postgresql"
    with read_connection(source) as src, target.begin() as dst:
        source_tables = set(_user_tables(src))
        target_tables = set(_user_tables(dst))
        tables = [t for t in Base.metadata.sorted_tables]
        known = {t.name for t in tables} | {FTS_TABLE, *_SKIPPED}
        unknown = sorted(source_tables - known)
        if unknown:
            raise StoreError(
                f"the source database {result.source} has tables this version of tracker does not "
                f"know ({', '.join(unknown)}); nothing was copied"
            )
        # The rows the migrations wrote (and nothing else: the target was checked) make way
        # for the source's.
        for table in reversed(tables):
            if table.name in target_tables:
                dst.execute(delete(table))
        if FTS_TABLE in target_tables:
            dst.execute(text(f"DELETE FROM {FTS_TABLE}"))
        for table in tables:
            if table.name not in source_tables:
                continue
            if table.name not in target_tables:
                raise StoreError(f"the target database {result.target} has no table {table.name} after migrating")
            columns = _shared_columns(src, dst, table)
            rows = _copy_rows(src, dst, table, columns, to_postgresql)
            result.tables.append((table.name, rows))
            if on_table is not None:
                on_table(table.name, rows)
        if to_postgresql:
            _reset_sequences(dst, tables)
        if FTS_TABLE in source_tables and FTS_TABLE in target_tables:
            rows = _copy_fts(src, dst, to_postgresql)
            result.tables.append((FTS_TABLE, rows))
            if on_table is not None:
                on_table(FTS_TABLE, rows)
        if to_postgresql:
            # A freshly loaded table has no statistics until autovacuum comes round.
            dst.exec_driver_sql("ANALYZE")


def _shared_columns(src: Connection, dst: Connection, table: Table) -> list[Column[Any]]:
    """The model's columns that both databases have (the same, both being at head)."""
    in_source = {c["name"] for c in inspect(src).get_columns(table.name)}
    in_target = {c["name"] for c in inspect(dst).get_columns(table.name)}
    return [c for c in table.columns if c.name in in_source and c.name in in_target]


def _copy_rows(
    src: Connection, dst: Connection, table: Table, columns: Sequence[Column[Any]], to_postgresql: bool
) -> int:
    query = select(*columns).order_by(*table.primary_key.columns)
    stream = src.execution_options(yield_per=STREAM_ROWS, stream_results=True).execute(query)
    insert = table.insert()
    copied = 0
    for batch in _batches((dict(row._mapping) for row in stream), to_postgresql):
        dst.execute(insert, batch)
        copied += len(batch)
    return copied


def _copy_fts(src: Connection, dst: Connection, to_postgresql: bool) -> int:
    stream = src.execution_options(yield_per=STREAM_ROWS, stream_results=True).execute(
        text(f"SELECT rowid, summary, quotes FROM {FTS_TABLE} ORDER BY rowid")
    )
    insert = text(f"INSERT INTO {FTS_TABLE} (rowid, summary, quotes) VALUES (:rowid, :summary, :quotes)")
    copied = 0
    rows = ({"rowid": r[0], "summary": r[1] or "", "quotes": r[2] or ""} for r in stream)
    for batch in _batches(rows, to_postgresql):
        dst.execute(insert, batch)
        copied += len(batch)
    return copied


def _batches(rows: Iterator[dict[str, Any]], to_postgresql: bool) -> Iterator[list[dict[str, Any]]]:
    """Rows in lists of at most BATCH_ROWS rows or about BATCH_CHARS characters of text.

    PostgreSQL's text cannot hold NUL: a SQLite database written before feeds' NULs were
    replaced may have some, which become U+FFFD as the parser now makes them.
    """
    batch: list[dict[str, Any]] = []
    chars = 0
    for row in rows:
        for key, value in row.items():
            if isinstance(value, str):
                chars += len(value)
                if to_postgresql and "\x00" in value:
                    row[key] = value.replace("\x00", "\ufffd")
        batch.append(row)
        if len(batch) >= BATCH_ROWS or chars >= BATCH_CHARS:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _reset_sequences(dst: Connection, tables: Sequence[Table]) -> None:
    """Set each serial key's sequence past the largest key copied (the next insert takes max + 1)."""
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1:
            continue
        column = keys[0]
        sequence = dst.execute(
            select(func.pg_get_serial_sequence(table.name, column.name))
        ).scalar_one_or_none()
        if sequence is None:
            continue
        dst.execute(
            text(f'SELECT setval(:sequence, coalesce((SELECT max("{column.name}") FROM "{table.name}"), 0) + 1, false)'),
            {"sequence": sequence},
        )
