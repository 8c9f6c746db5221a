"""Engine setup (SQLite: WAL, busy timeout, FKs, immediate write transactions; PostgreSQL: a
pool and serialised write transactions) and Alembic upgrades."""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from sqlalchemy import Connection, Engine, QueuePool, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from tracker.dburl import driver_problem, normalize_database_url
from tracker.errors import ConfigError, NoDatabaseError, StoreError, UsageError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0

# PostgreSQL: every write transaction first takes this transaction-level advisory lock
# (pg_advisory_xact_lock, released at commit or rollback), so writers run one at a time as
# SQLite's BEGIN IMMEDIATE makes them: merging reads a neighbourhood of events and rewrites
# it, and two merges interleaved could each create the event the other just made. The key
# is b"tracker" as a number; advisory locks are per database, so databases sharing a
# server never wait for each other.
PG_WRITE_LOCK = int.from_bytes(b"tracker", "big")
PG_POOL_SIZE = 5
PG_MAX_OVERFLOW = 10
PG_CONNECT_TIMEOUT_S = 10


def _migrations_dir() -> Path:
    """The Alembic scripts: tracker/_migrations in an installed package (pyproject.toml maps
    the top-level migrations/ folder there), else migrations/ beside tracker/ in a checkout
    (editable installs, and developers running `alembic` with alembic.ini)."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "_migrations"
    if (installed / "env.py").is_file():
        return installed
    return package.parent / "migrations"


MIGRATIONS_DIR = _migrations_dir()


def create_store_engine(url: str, *, read_only: bool = False) -> Engine:
    """The engine for a database URL, set up for its backend: SQLite (_create_sqlite_engine)
    or PostgreSQL (_create_postgresql_engine). Raises ConfigError for a URL that is not one,
    an unsupported backend or a driver that is not installed.

    `read_only` opens an existing database without creating or changing anything: for
    SQLite, NoDatabaseError when there is no file, so that reading works on a read-only
    file or mount too; for PostgreSQL, every transaction is READ ONLY.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"{url!r} is not a database URL: {exc}") from exc
    if parsed.get_backend_name() != "sqlite":
        problem = driver_problem(parsed)
        if problem:
            raise ConfigError(f"database {parsed.render_as_string(hide_password=True)}: {problem}")
        return _create_postgresql_engine(normalize_database_url(url), read_only=read_only)
    return _create_sqlite_engine(url, parsed, read_only=read_only)


# The name from when SQLite was the only backend: the Store and migrations/env.py open any
# database through it.
create_sqlite_engine = create_store_engine


def _create_sqlite_engine(url: str, parsed: URL, *, read_only: bool) -> Engine:
    """An engine whose connections use WAL and whose write transactions BEGIN IMMEDIATE.

    Deferred transactions that later write can fail with "database is locked" without
    waiting for the busy timeout; taking the write lock up front makes writers queue.
    """
    path = parsed.database if parsed.database and parsed.database != ":memory:" else None
    if read_only and path is not None:
        engine = create_engine(
            "sqlite://", creator=_read_only_connector(Path(path)), poolclass=QueuePool
        )
    else:
        if path is not None:
            _prepare_new_database(Path(path))
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
        if not read_only:
            # Changing the journal mode writes; a reader takes the file as it is.
            cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(f"BEGIN {_begin_mode(conn)}")

    return engine


def _create_postgresql_engine(url: str, *, read_only: bool) -> Engine:
    """A pooled engine whose write transactions serialise on PG_WRITE_LOCK and whose reads
    are snapshots.

    Writers (the default, as on SQLite: the `sqlite_begin` execution option says IMMEDIATE)
    stay at READ COMMITTED and take the advisory lock first: each later statement then sees
    every write committed before the lock was granted. (At REPEATABLE READ the snapshot
    would date from the lock request, before the previous writer committed.) Readers
    (`sqlite_begin="DEFERRED"`) get one REPEATABLE READ snapshot for the whole
    transaction, as a WAL reader does, and never wait for writers. `read_only` makes every
    transaction READ ONLY, as SQLite's mode=ro does.
    """
    engine = create_engine(
        url,
        pool_size=PG_POOL_SIZE,
        max_overflow=PG_MAX_OVERFLOW,
        pool_timeout=BUSY_TIMEOUT_S,
        # A daemon outlives server restarts and idle-connection reapers.
        pool_pre_ping=True,
        pool_recycle=3600,
        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S, "application_name": "tracker"},
    )

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if _begin_mode(conn) == "DEFERRED":
            access = " READ ONLY" if read_only else ""
            conn.exec_driver_sql(f"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ{access}")
        elif read_only:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        elif not conn.get_execution_options().get(ROW_LOCKS, False):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")

    return engine


def backend(engine_or_url: Engine | str) -> str:
    """"sqlite" or "postgresql": the backend of an engine or a database URL."""
    if isinstance(engine_or_url, Engine):
        return engine_or_url.dialect.name
    return make_url(engine_or_url).get_backend_name()


# An execution option: a write transaction that locks only the rows it touches (SELECT
# ... FOR UPDATE) and so need not wait for PG_WRITE_LOCK (Store.write_rows). SQLite has
# one writer at a time whatever it says.
ROW_LOCKS = "tracker_row_locks"


def _begin_mode(conn: Connection) -> str:
    """How a transaction on `conn` begins: IMMEDIATE (a writer) unless the connection says
    DEFERRED (a reader)."""
    return str(conn.get_execution_options().get("sqlite_begin", "IMMEDIATE"))


def display_url(url: str) -> str:
    """How messages name a database: a SQLite file by its path, others without a password."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for :memory: and for other databases."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


@dataclass(frozen=True)
class FileIdentity:
    """The file a path named when it was opened, as (st_dev, st_ino): one stat to compare again.

    An open file keeps working after its path is unlinked or renamed over, so a process
    holding it open can only learn that "its" file is no longer the one at the path by
    asking the path.
    """

    path: Path
    device: int
    inode: int

    @classmethod
    def of_path(cls, path: Path) -> FileIdentity:
        """Raises OSError when the path names no file."""
        st = os.stat(path)
        return cls(path, st.st_dev, st.st_ino)

    @classmethod
    def of_fd(cls, path: Path, fd: int) -> FileIdentity:
        st = os.fstat(fd)
        return cls(path, st.st_dev, st.st_ino)

    def change(self) -> str | None:
        """None while the path still names the same file; else what became of it."""
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return "was deleted"
        except OSError as exc:
            # A file that cannot be vouched for is treated as lost: nothing is written blind.
            return f"can no longer be checked ({exc.strerror or exc})"
        if (st.st_dev, st.st_ino) != (self.device, self.inode):
            return "was replaced by another file"
        return None


class DatabaseFileLost(StoreError):
    """The database file was deleted or replaced under an engine that was guarding it."""


def guard_database_file(engine: Engine, identity: FileIdentity) -> None:
    """Make every write of `engine` fail once `identity.path` no longer names that file.

    Checked when a write transaction begins and again just before it commits: a deletion
    meanwhile rolls the transaction back instead of committing it into an unlinked file,
    lost when the last connection closes. And before a new pool connection opens the
    path: SQLite would create an empty database there, or open the stranger that took
    its place. Reads on the connections already open go on (they see the old file, and
    whoever guards the engine is about to stop). A stat each time: microseconds beside a
    SQLite transaction.
    """

    def check() -> None:
        change = identity.change()
        if change is not None:
            raise DatabaseFileLost(f"the database file {identity.path} {change}; nothing more is written to it")

    def before_connect(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
        check()  # returning None lets the dialect connect as usual

    def on_write(conn: Connection) -> None:
        if _begin_mode(conn) == "IMMEDIATE":
            check()

    event.listen(engine, "do_connect", before_connect)
    # Before create_sqlite_engine's own "begin" hook, so that no BEGIN is issued at all.
    event.listen(engine, "begin", on_write, insert=True)
    event.listen(engine, "commit", on_write)


def _prepare_new_database(path: Path) -> None:
    """Make the folder of a database that does not exist yet, and say so: a typo creates one."""
    if path.exists():
        return
    log.warning("creating a new database at %s", path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the database folder {path.parent}: {exc.strerror or exc}") from exc


def _read_only_connector(path: Path) -> Callable[[], sqlite3.Connection]:
    """A connect function for an existing database opened read-only.

    A WAL database needs its -shm file; when that cannot be created (a read-only folder or
    mount, and no writer running), the file is opened as immutable instead: nothing can be
    changing it then.
    """
    if not path.is_file():
        raise NoDatabaseError(str(path))
    uri = "file:" + quote(str(path.resolve())) + "?mode=ro"

    def connect(suffix: str) -> sqlite3.Connection:
        return sqlite3.connect(uri + suffix, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)

    suffix = ""
    try:
        probe = connect("")
        try:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            probe.close()
    except sqlite3.OperationalError as exc:
        log.debug("opening %s immutable: %s", path, exc)
        suffix = "&immutable=1"
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a SQLite database: {exc}") from exc
    return lambda: connect(suffix)


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Any:
    """An Alembic Config pointing at the migrations (MIGRATIONS_DIR)."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def _scripts() -> Any:
    """The migrations as Alembic's ScriptDirectory, read once per process: they do not
    change while it runs, and every command asks for the head."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str | None:
    return cast("str | None", _scripts().get_current_head())


def current_revision(engine: Engine, *, where: str | None = None) -> str | None:
    """The database's schema revision; None for an empty database. Raises StoreError when
    it cannot be read (a PostgreSQL server that is down, a database not created on it)."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        where = where or display_url(engine.url.render_as_string(hide_password=False))
        raise StoreError(f"cannot open the database {where}: {exc.__class__.__name__}: {exc}") from exc


def known_revisions() -> list[str]:
    """Every migration revision, oldest first."""
    return [r.revision for r in reversed(list(_scripts().walk_revisions()))]


def check_revision(revision: str) -> None:
    """Raise UsageError unless revision names a migration (or head, base, +N, -N)."""
    from alembic.util import CommandError

    if revision in ("head", "heads", "base") or revision[:1] in ("+", "-"):
        return
    try:
        found = _scripts().get_revisions(revision)
    except CommandError:
        found = ()
    if not found:
        known = ", ".join(known_revisions())
        raise UsageError(f"no migration revision {revision!r} (known: {known}, head, base)")


def upgrade(engine: Engine, revision: str = "head", *, where: str | None = None) -> None:
    """Run Alembic migrations up to revision, holding the write lock throughout."""
    from alembic import command
    from alembic.util import CommandError

    check_revision(revision)
    where = where or str(engine.url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), revision)
    except CommandError as exc:
        # The target was checked above, so the database's own revision is the unknown one.
        raise StoreError(
            f"cannot migrate the database {where}: {exc} (was it made by a newer version of tracker?)"
        ) from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate the database {where}: {exc.__class__.__name__}: {exc}") from exc


def _current(engine: Engine, where: str) -> str | None:
    return current_revision(engine, where=where)


def ensure_schema(engine: Engine, *, where: str | None = None) -> None:
    """Create or upgrade the database on first use; a no-op when it is at head."""
    where = where or str(engine.url)
    current = _current(engine, where)
    head = head_revision()
    if current != head:
        # A new database was announced when it was created; an upgrade is news.
        log.log(logging.INFO if current else logging.DEBUG, "migrating database %s from %s to %s", where, current or "empty", head)
        upgrade(engine, where=where)


def schema_state(engine: Engine, *, where: str) -> str:
    """For a reader: "ok" at head, "behind" when a migration is due; raises when there is no schema."""
    current = _current(engine, where)
    if current is None:
        raise NoDatabaseError(where)
    if current == head_revision():
        return "ok"
    if current not in known_revisions():
        raise StoreError(
            f"the database {where} is at schema revision {current}, which this version of tracker "
            "does not know (was it made by a newer version?)"
        )
    return "behind"


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose transactions are deferred: readers never wait for writers in WAL."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        yield conn
