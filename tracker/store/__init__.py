"""Persistence: SQLAlchemy models, SQLite setup, migrations and queries."""

from tracker.store._store import (
    EntryCounts,
    FeedState,
    Store,
    StoredEntry,
    in_chunks,
    load_entries,
    upsert_entries,
)
from tracker.store.db import create_sqlite_engine, current_revision, ensure_schema, head_revision, upgrade
from tracker.store.models import Base, Entry, Feed

__all__ = [
    "Base",
    "Entry",
    "EntryCounts",
    "Feed",
    "FeedState",
    "Store",
    "StoredEntry",
    "create_sqlite_engine",
    "current_revision",
    "ensure_schema",
    "head_revision",
    "in_chunks",
    "load_entries",
    "upgrade",
    "upsert_entries",
]
