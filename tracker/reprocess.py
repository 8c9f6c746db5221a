"""Re-extract stored entries: after topics change, or for entries whose extraction failed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from tracker.merge_step import WORKERS_FOR_BACKLOG, process_stored
from tracker.parts import Parts
from tracker.store.merging import MergeStats, remerge_all
from tracker.store.models import Entry, Feed


@dataclass(frozen=True)
class ReprocessResult:
    """How many entries were re-extracted and how many events that changed."""

    entries: int = 0
    events_changed: int = 0
    failed: int = 0


def reprocess(
    tracker: Parts,
    feed_names: Sequence[str] = (),
    *,
    pending_only: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReprocessResult:
    """Extract and merge again the entries of the given feeds (all configured feeds by default).

    With pending_only, only entries still marked for extraction (an earlier failure).
    The poll's own path (merge_step.process_stored): extraction outside the write lock, in
    worker processes for many entries, and merges in small transactions, so an
    interruption loses nothing (run it again) and an entry whose extraction or merge
    fails stays marked while the others are merged. `on_progress(done, total)` is called
    with the entries done so far, at the start and after each merge.
    """
    feeds = {f.name: f for f in tracker.feeds(feed_names)}
    with tracker.store.read() as s:
        stmt = select(Entry.id, Feed.name).join(Feed, Feed.id == Entry.feed_id).where(Feed.name.in_(list(feeds)))
        if pending_only:
            stmt = stmt.where(Entry.needs_extraction.is_(True))
        todo = [(entry_id, feeds[name]) for entry_id, name in s.execute(stmt.order_by(Entry.id))]
    # Entries still pending may be what killed an earlier run: never in this process then.
    use_workers = pending_only or len(todo) >= WORKERS_FOR_BACKLOG
    outcome = process_stored(tracker, todo, use_workers=use_workers, on_progress=on_progress)
    return ReprocessResult(entries=outcome.merged, events_changed=outcome.events, failed=outcome.failed)


def remerge(tracker: Parts) -> tuple[int, MergeStats]:
    """Merge every stored mention again from scratch, in one write transaction; nothing is
    extracted again. The first merge after an upgrade that changes the merging rules does
    this by itself; this forces it. Returns the number of mentions and what changed."""
    with tracker.store.write() as s:
        return remerge_all(s, tracker.clock())
