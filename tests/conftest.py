"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from feedserver import FeedServer
from installed import Dists, build_dists, pipx_install
from pgserver import PgServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A loopback HTTP server (tests/feedserver.py) whose routes each test configures."""
    with FeedServer() as server:
        yield server


@pytest.fixture(scope="session")
def built_dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """The sdist and the wheel built from it (tests/installed.py), once per session."""
    return build_dists(tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def installed_tracker(built_dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `tracker` command of the wheel installed with pipx into a new virtualenv outside
    the checkout, once per session. Run it with installed.run_tracker(exe, ..., cwd=tmp_path)."""
    return pipx_install(built_dists.wheel, tmp_path_factory.mktemp("installed"))


# -- the databases: SQLite, and PostgreSQL on a real server ------------------------------

# The tests that take `database_url` (or `module_database_url`) run once per backend; their
# ids end in [sqlite] or [postgresql] (`pytest -k postgresql` runs only the second).
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    """One PostgreSQL server (tests/pgserver.py) for the whole session, started by the first
    test that needs it and stopped, its folder deleted, at the end. A server that cannot
    start fails those tests: they are never skipped."""
    server = PgServer()
    try:
        yield server
    finally:
        server.stop()


class Databases:
    """New empty databases on one backend: SQLite files in a folder, or databases on the
    session's PostgreSQL server (created from template0 in milliseconds, dropped with
    whatever connections a test left open at the end of the fixture's scope)."""

    def __init__(self, request: pytest.FixtureRequest, folder: Path) -> None:
        self.backend = str(request.param)
        self.folder = folder
        self._server: PgServer | None = (
            request.getfixturevalue("postgres_server") if self.backend == "postgresql" else None
        )
        self._made: list[str] = []

    def __call__(self, sqlite_file: Path | None = None) -> str:
        """The URL of a new database; `sqlite_file`: where a SQLite one goes (default:
        tracker.db, then tracker-2.db, ... in the folder)."""
        if self._server is None:
            n = len(self._made) + 1
            path = sqlite_file or self.folder / ("tracker.db" if n == 1 else f"tracker-{n}.db")
            self._made.append(str(path))
            return f"sqlite:///{path}"
        name = self._server.create_database()
        self._made.append(name)
        return self._server.url(name)

    def drop(self) -> None:
        if self._server is not None:
            for name in self._made:
                self._server.drop_database(name)


@pytest.fixture(params=BACKENDS)
def make_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """New databases for one test, on each backend in turn: make_database_url() is a URL."""
    databases = Databases(request, tmp_path)
    yield databases
    databases.drop()


@pytest.fixture
def database_url(make_database_url: Databases) -> str:
    """A new, empty database for one test, on each backend in turn: a SQLite file
    (tmp_path/tracker.db, not yet created), or a new database on the session's PostgreSQL
    server."""
    return make_database_url()


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """database_url shared by the tests of a module (for module-scoped fixtures)."""
    databases = Databases(request, tmp_path_factory.mktemp("db"))
    yield databases()
    databases.drop()
