"""Read queries behind the CLI: feed health and the database's id (the timeline queries live beside it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, literal_column, select

from tracker.clock import to_aware_utc
from tracker.config import FeedConfig
from tracker.store._store import Store
from tracker.store.models import DatabaseInfo, Entry, Feed, Page
from tracker.views import FeedHealth, FullTextHealth


def feed_health(store: Store, feeds: Sequence[FeedConfig]) -> list[FeedHealth]:
    """Health of these feeds, in the given order; one never polled yet has no status."""
    names = [f.name for f in feeds]
    with store.read() as s:
        counts = dict(s.execute(select(Entry.feed_id, func.count()).group_by(Entry.feed_id)).all())
        rows = {f.name: f for f in s.scalars(select(Feed).where(Feed.name.in_(names)))}
        pages: dict[int, dict[str, int]] = {}
        # A literal 0, not a bound parameter: PostgreSQL takes two parameters for two
        # expressions, and the selected one would not be the grouped one.
        empty_page = Page.chars == literal_column("0")
        for feed_id, status, empty, n in s.execute(
            select(Page.feed_id, Page.status, empty_page, func.count()).group_by(Page.feed_id, Page.status, empty_page)
        ):
            kind = {"ok": "empty" if empty else "read", "pending": "pending"}.get(status, "failed")
            pages.setdefault(feed_id, {})[kind] = pages.get(feed_id, {}).get(kind, 0) + n
        page_errors = dict(s.execute(
            select(Page.feed_id, Page.error)
            .where(Page.status == "failed")
            .order_by(Page.feed_id, Page.last_attempt.desc(), Page.entry_id.desc())
        ).all()[::-1])
    out = []
    for feed in feeds:
        row = rows.get(feed.name)
        if row is None or row.config_url != feed.url:
            # Added to feeds.yaml (or moved to a new URL) since the last poll: nothing known yet.
            out.append(
                FeedHealth(
                    name=feed.name,
                    url=feed.url,
                    entries=0,
                    last_poll=None,
                    last_status=None,
                    last_error=None,
                    consecutive_errors=0,
                    next_due=None,
                    warning=None,
                    backoff_reason=None,
                    full_text=FullTextHealth(feed.full_text),
                )
            )
            continue
        tally = pages.get(row.id, {})
        out.append(
            FeedHealth(
                name=row.name,
                url=row.url,
                entries=counts.get(row.id, 0),
                last_poll=to_aware_utc(row.last_poll) if row.last_poll else None,
                last_status=row.last_status,
                last_error=row.last_error,
                consecutive_errors=row.consecutive_errors,
                next_due=to_aware_utc(row.next_due) if row.next_due else None,
                warning=row.warning,
                backoff_reason=row.backoff_reason,
                full_text=FullTextHealth(
                    feed.full_text, read=tally.get("read", 0), empty=tally.get("empty", 0),
                    pending=tally.get("pending", 0), failed=tally.get("failed", 0), last_error=page_errors.get(row.id),
                ),
            )
        )
    return out


def database_id(store: Store) -> uuid.UUID | None:
    """The database's stable id (drawn by migration 0005); None only if its row was deleted."""
    with store.read() as s:
        value = s.scalar(select(DatabaseInfo.id).order_by(DatabaseInfo.id).limit(1))
    return uuid.UUID(value) if value is not None else None
