"""Database URLs: which backends tracker supports, their drivers, and whether those are installed."""

from __future__ import annotations

from sqlalchemy.engine import URL
from sqlalchemy.exc import NoSuchModuleError

SUPPORTED = ("sqlite", "postgresql")
# pip extra that installs each backend's driver; sqlite's comes with Python.
EXTRA = {"postgresql": "postgresql"}
DISTRIBUTION = "news-timeline-tracker"


def normalize_database_url(url: str) -> str:
    """`postgresql://` (and Heroku's `postgres://`) mean psycopg 3, not SQLAlchemy's default psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def driver_problem(url: URL) -> str | None:
    """Why `url` cannot be opened here (unsupported backend, driver not installed); None when it can."""
    url = url.set(drivername=normalize_database_url(url.drivername + "://").removesuffix("://"))
    backend = url.get_backend_name()
    if backend not in SUPPORTED:
        return f"{url.drivername!r} databases are not supported (use sqlite:///PATH or postgresql://...)"
    try:
        dialect = url.get_dialect()
        dialect.import_dbapi()
    except (NoSuchModuleError, ImportError) as exc:
        extra = EXTRA.get(backend)
        fix = f" (pip install '{DISTRIBUTION}[{extra}]')" if extra else ""
        return f"the {url.get_driver_name()} driver for {backend} is not installed{fix}: {exc}"
    return None
