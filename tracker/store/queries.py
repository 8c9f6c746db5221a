"""Read queries behind the CLI: feed health (the timeline queries live beside it)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from tracker.clock import to_aware_utc
from tracker.store._store import Store
from tracker.store.models import Entry, Feed
from tracker.views import FeedHealth


def feed_health(store: Store, names: Sequence[str]) -> list[FeedHealth]:
    """Health of the named feeds, in the given order (configured feeds come first)."""
    with store.read() as s:
        counts = dict(s.execute(select(Entry.feed_id, func.count()).group_by(Entry.feed_id)).all())
        rows = {f.name: f for f in s.scalars(select(Feed).where(Feed.name.in_(names)))}
    out = []
    for name in names:
        row = rows.get(name)
        if row is None:
            continue
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
            )
        )
    return out
