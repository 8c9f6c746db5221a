"""Database URLs: which backends tracker supports, their drivers, and whether those are installed."""

from __future__ import annotations

from sqlalchemy.engine import URL
from sqlalchemy.exc import NoSuchModuleError

SUPPORTED = ("sqlite", "postgresql")
# pip extra that installs each backend's driver; sqlite's comes with Python.
EXTRA = {"postgresql": "postgresql"}
DISTRIBUTION = "news-timeline-tracker"


# Schemes that name a backend but no driver, and the driver tracker means by them:
# psycopg 3, not SQLAlchemy's default psycopg2 (`postgres` is Heroku's spelling).
_IMPLIED_DRIVER = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


def normalize_database_url(url: str) -> str:
    """The URL with the driver tracker uses for its scheme (see _IMPLIED_DRIVER)."""
    scheme, sep, rest = url.partition("://")
    return _IMPLIED_DRIVER.get(scheme, scheme) + sep + rest if sep else url


def driver_problem(url: URL) -> str | None:
    """Why `url` cannot be opened here (unsupported backend, driver not installed); None when it can."""
    url = url.set(drivername=_IMPLIED_DRIVER.get(url.drivername, url.drivername))
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
