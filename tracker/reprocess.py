"""Re-extract stored entries: after topics change, or for entries whose extraction failed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from tracker.app import Tracker
from tracker.store import load_entries
from tracker.store.merging import apply_mentions
from tracker.store.models import Entry, Feed


# Entries per write transaction: small enough that the daemon's polls are not held up long.
BATCH = 100


@dataclass(frozen=True)
class ReprocessResult:
    """How many entries were re-extracted and how many events that changed."""

    entries: int = 0
    events_changed: int = 0
    failed: int = 0


def reprocess(
    tracker: Tracker,
    feed_names: Sequence[str] = (),
    *,
    pending_only: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReprocessResult:
    """Extract and merge again the entries of the given feeds (all configured feeds by default).

    With pending_only, only entries still marked for extraction (an earlier failure).
    Each batch is one transaction, so an interruption loses nothing: run it again.
    `on_progress(done, total)` is called with the entries done so far, at the start and
    after each batch.
    """
    feeds = {f.name: f for f in tracker.feeds(feed_names)}
    with tracker.store.read() as s:
        stmt = select(Entry.id, Feed.name).join(Feed, Feed.id == Entry.feed_id).where(Feed.name.in_(list(feeds)))
        if pending_only:
            stmt = stmt.where(Entry.needs_extraction.is_(True))
        todo = [(entry_id, name) for entry_id, name in s.execute(stmt.order_by(Entry.id))]
    entries = changed = failed = 0
    if on_progress is not None:
        on_progress(0, len(todo))
    for i in range(0, len(todo), BATCH):
        batch = todo[i : i + BATCH]
        with tracker.store.write() as s:
            rows = load_entries(s, (entry_id for entry_id, _ in batch))
            updates = []
            for entry_id, name in batch:
                entry = rows.get(entry_id)
                if entry is None:  # deleted meanwhile
                    continue
                # The poll's own path: extraction (prefiltered), with failures logged and left out.
                done = tracker.entry_mentions(feeds[name], [entry])
                failed += 1 - len(done)
                updates.extend(done)
            if updates:
                changed += apply_mentions(s, updates, tracker.clock()).changed
            entries += len(updates)
        if on_progress is not None:
            on_progress(i + len(batch), len(todo))
    return ReprocessResult(entries=entries, events_changed=changed, failed=failed)
