"""Re-extract stored entries: after topics change, or for entries whose extraction failed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from tracker.app import Tracker
from tracker.clock import to_aware_utc
from tracker.store.merging import apply_mentions
from tracker.store.models import Entry, Feed

log = logging.getLogger(__name__)

# Entries per write transaction: small enough that the daemon's polls are not held up long.
BATCH = 100


@dataclass(frozen=True)
class ReprocessResult:
    """How many entries were re-extracted and how many events that changed."""

    entries: int = 0
    events_changed: int = 0
    failed: int = 0


def reprocess(tracker: Tracker, feed_names: Sequence[str] = (), *, pending_only: bool = False) -> ReprocessResult:
    """Extract and merge again the entries of the given feeds (all configured feeds by default).

    With pending_only, only entries still marked for extraction (an earlier failure).
    Each batch is one transaction, so an interruption loses nothing: run it again.
    """
    feeds = {f.name: f for f in tracker.feeds(feed_names)}
    with tracker.store.read() as s:
        stmt = select(Entry.id, Feed.name).join(Feed, Feed.id == Entry.feed_id).where(Feed.name.in_(list(feeds)))
        if pending_only:
            stmt = stmt.where(Entry.needs_extraction.is_(True))
        todo = [(entry_id, name) for entry_id, name in s.execute(stmt.order_by(Entry.id))]
    entries = changed = failed = 0
    for i in range(0, len(todo), BATCH):
        batch = todo[i : i + BATCH]
        with tracker.store.write() as s:
            rows = {e.id: e for e in s.scalars(select(Entry).where(Entry.id.in_([b[0] for b in batch])))}
            updates = []
            for entry_id, name in batch:
                entry = rows.get(entry_id)
                if entry is None:  # deleted meanwhile
                    continue
                try:
                    mentions = tracker.mentions_of(feeds[name], entry.title, entry.text, to_aware_utc(entry.published))
                except Exception:
                    log.exception("%s: event extraction failed for %s", name, entry.link or entry.key)
                    failed += 1
                    continue
                updates.append((entry, mentions))
            if updates:
                changed += apply_mentions(s, updates, tracker.clock()).changed
            entries += len(updates)
    return ReprocessResult(entries=entries, events_changed=changed, failed=failed)
