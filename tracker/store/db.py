"""SQLite engine setup (WAL, busy timeout, FKs, immediate write transactions) and Alembic upgrades."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.engine import make_url

from tracker.errors import StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def create_sqlite_engine(url: str) -> Engine:
    """An engine whose connections use WAL and whose write transactions BEGIN IMMEDIATE.

    Deferred transactions that later write can fail with "database is locked" without
    waiting for the busy timeout; taking the write lock up front makes writers queue.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Hand transaction control to the "begin" hook below (pysqlite would BEGIN lazily).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Any:
    """An Alembic Config pointing at the top-level migrations/ folder."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to revision, holding the write lock throughout."""
    from alembic import command

    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate the database {engine.url}: {exc.__class__.__name__}: {exc}") from exc


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade the database on first use; a no-op when it is at head."""
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open the database {engine.url}: {exc}") from exc
    head = head_revision()
    if current != head:
        log.info("migrating database %s from %s to %s", engine.url, current or "empty", head)
        upgrade(engine)


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose transactions are deferred: readers never wait for writers in WAL."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        yield conn
