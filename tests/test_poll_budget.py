"""A poll reads at most `articles_per_poll` new articles a feed, newest first; the rest are
stored at once and read by the next polls, and the result is the same timeline as one poll
without a budget. The budget is given through make_tracker, as the clock is."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from test_crash_safety import feed_document, write_config
from tracker.app import make_tracker
from tracker.config import load_config

ENTRIES = 20
BUDGET = 8


def setup(folder: Path) -> Path:
    folder.mkdir()
    feed = folder / "outlet.xml"
    feed.write_text(feed_document(0, ENTRIES), encoding="utf-8")
    return write_config(folder, {"outlet": str(feed)})


def pending(database: Path) -> set[str]:
    with sqlite3.connect(database) as db:
        return {guid.rsplit("/", 1)[-1] for (guid,) in db.execute("SELECT guid FROM entries WHERE needs_extraction")}


def events(database: Path) -> list[tuple[object, ...]]:
    """Each event's dates, summary and sources (no ids: they are the same by construction)."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT e.start, e.end, e.summary, group_concat(en.guid) FROM events e "
            "JOIN mentions m ON m.event_pk = e.pk JOIN entries en ON en.id = m.entry_id "
            "GROUP BY e.pk"
        ).fetchall()
    # A guid that is no URL is resolved against the feed file, whose folder differs: keep its last part.
    return sorted(
        (start, end, summary, tuple(sorted({g.rsplit("/", 1)[-1] for g in guids.split(",")})))
        for start, end, summary, guids in rows
    )


def test_budget_reads_the_newest_first_and_the_rest_in_later_polls(tmp_path: Path) -> None:
    config = load_config(setup(tmp_path / "budget"))
    database = tmp_path / "budget" / "tracker.db"
    with make_tracker(config, processes=0, articles_per_poll=BUDGET) as tracker:
        [first] = tracker.poll()
        assert first.status == "ok" and first.new == ENTRIES
        assert first.warning is not None
        assert f"{ENTRIES - BUDGET} articles stored and left for the next polls" in first.warning
        # Everything is stored at once; the newest BUDGET (latest pubDate: the last items) are read.
        assert pending(database) == {f"f0-{n}" for n in range(ENTRIES - BUDGET)}

        [second] = tracker.poll()  # the file is unchanged: only the catch-up reads
        assert second.status == "not-modified"
        assert len(pending(database)) == ENTRIES - 2 * BUDGET

        tracker.poll()
        assert pending(database) == set()

    config = load_config(setup(tmp_path / "whole"))
    with make_tracker(config, processes=0) as tracker:
        [whole] = tracker.poll()
        assert whole.warning is None
    assert pending(tmp_path / "whole" / "tracker.db") == set()
    assert events(database) == events(tmp_path / "whole" / "tracker.db")
    assert events(database)  # the articles do make events
