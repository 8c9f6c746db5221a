"""One bad article never costs the others: an extraction that raises (MemoryError included),
a worker process that dies on an article, a merge the store refuses. The article stays
pending (needs_extraction) with a warning on its feed's poll line; every other article of
the poll is merged; later polls retry it.

No mocks: the bad articles are real feed items, and the tracker's own extraction function is
swapped for one that misbehaves on them, through the Tracker's `extract` parameter (the same
dependency injection as its clock).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from test_crash_safety import feed_document, write_config
from tracker.app import extract_mentions, make_tracker
from tracker.merge_step import MERGE_RETRY_SLACK
from tracker.config import FeedConfig, load_config
from tracker.events import EventMention, TopicMatcher
from tracker.poll import PollResult, poll_feed
from tracker.reprocess import reprocess


def misbehaving_extract(
    matcher: TopicMatcher, feed: FeedConfig, title: str, text: str, published: datetime
) -> list[EventMention]:
    """extract_mentions, except on the articles the tests mark in their titles.

    Module-level, as worker processes import it by name.
    """
    if "POISON" in title:
        raise ValueError("POISON: the tagger cannot read this article")
    if "HOGGING" in title:
        raise MemoryError("HOGGING")  # the tagger ran out of memory on this one article
    if "CRASH" in title and multiprocessing.parent_process() is not None:
        # The worker dies mid-article, as when the OOM killer picks it or C code crashes.
        # (In the tracker's own process the article is harmless: none must go there.)
        os._exit(1)
    mentions = extract_mentions(matcher, feed, title, text, published)
    if "BADMERGE" in title:
        # The same mention twice: the merge refuses the article (one row per entry and fingerprint).
        return mentions + mentions[:1]
    return mentions


# feed number -> (item number, title mark); the other feeds are clean.
BAD = {0: (2, "POISON"), 1: (3, "CRASH"), 2: (1, "BADMERGE"), 3: (4, "HOGGING")}
ENTRIES = 6


def make_feeds(folder: Path, count: int = 10) -> Path:
    """`count` local feeds (enough for worker processes), the first four with one bad article each."""
    feeds = {}
    for i in range(count):
        titles = {BAD[i][0]: f"{BAD[i][1]} article of outlet {i}"} if i in BAD else {}
        path = folder / f"outlet{i}.xml"
        path.write_text(feed_document(i, ENTRIES, titles=titles), encoding="utf-8")
        feeds[f"outlet{i}"] = str(path)
    return write_config(folder, feeds)


def entry_state(database: Path) -> tuple[set[str], set[str]]:
    """(items still pending, items merged with at least one mention), as "f<feed>-<item>"
    (the store keeps a guid that is no URL resolved against the feed's address)."""
    with sqlite3.connect(database) as db:
        pending = {k.rsplit("/", 1)[-1] for (k,) in db.execute("SELECT guid FROM entries WHERE needs_extraction")}
        mentioned = {
            k.rsplit("/", 1)[-1] for (k,) in db.execute(
                "SELECT DISTINCT e.guid FROM entries e JOIN mentions m ON m.entry_id = e.id "
                "WHERE NOT e.needs_extraction AND m.event_pk IS NOT NULL"
            )
        }
    return pending, mentioned


BAD_KEYS = {f"f{feed}-{item}" for feed, (item, _) in BAD.items()}
GOOD_KEYS = {f"f{feed}-{n}" for feed in range(10) for n in range(ENTRIES)} - BAD_KEYS


def check_warnings(results: list[PollResult]) -> None:
    """Each bad feed's line says what happened to its bad article; the others say nothing."""
    warnings = {r.feed: r.warning for r in results}
    expected = {
        "outlet0": "1 article not extracted: ValueError: POISON",
        "outlet1": "1 article not extracted: its worker process died",
        "outlet2": "events not merged for 1 article: ValueError: two mentions of one article share the fingerprint",
        "outlet3": "1 article not extracted: MemoryError: HOGGING",
    }
    for feed, start in expected.items():
        assert (warnings.pop(feed) or "").startswith(start), (feed, start)
    assert all(w is None for w in warnings.values()), warnings


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="worker processes need two or more cores")
def test_bad_articles_in_worker_processes_cost_only_themselves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    config = make_feeds(tmp_path)
    database = tmp_path / "tracker.db"
    reported: list[PollResult] = []
    with make_tracker(load_config(config), processes=2, extract=misbehaving_extract) as tracker:
        # The CLI's way: each result reported as soon as its feed's entries are merged.
        results = tracker.poll(on_result=reported.append)
        assert sorted(reported, key=lambda r: r.feed) == sorted(results, key=lambda r: r.feed)
        assert [(r.status, r.new) for r in results] == [("ok", ENTRIES)] * 10, [r.line() for r in results]
        check_warnings(results)
        assert all(r.events_changed > 0 for r in results)  # the bad feeds' other articles too
        pending, mentioned = entry_state(database)
        assert pending == BAD_KEYS
        assert mentioned == GOOD_KEYS

        # The next poll tries the bad articles again first, and tells again.
        again = tracker.poll()
        assert all(r.status == "not-modified" for r in again)
        check_warnings(again)
        assert "not modified; warning: 1 article not extracted" in again[0].line()
        assert entry_state(database) == (pending, mentioned)

        result = reprocess(tracker, pending_only=True)
        assert (result.entries, result.failed) == (0, len(BAD_KEYS))


def test_a_lone_feed_poll_isolates_bad_articles_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon's way: one feed at a time, no worker processes."""
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    config = make_feeds(tmp_path, count=4)
    database = tmp_path / "tracker.db"
    with make_tracker(load_config(config), processes=0, extract=misbehaving_extract) as tracker:
        results = [poll_feed(tracker, feed) for feed in tracker.feeds()]
        assert [(r.status, r.new) for r in results] == [("ok", ENTRIES)] * 4, [r.line() for r in results]
        warnings = [r.warning or "" for r in results]
        assert warnings[0].startswith("1 article not extracted: ValueError: POISON")
        # In the tracker's own process the CRASH article is harmless.
        assert results[1].warning is None
        assert warnings[2].startswith("events not merged for 1 article: ")
        assert warnings[3].startswith("1 article not extracted: MemoryError")
        pending, mentioned = entry_state(database)
        assert pending == BAD_KEYS - {"f1-3"}
        assert mentioned == {f"f{feed}-{n}" for feed in range(4) for n in range(ENTRIES)} - pending
        # The feed's next poll tries its bad article again first, and tells again.
        again = poll_feed(tracker, tracker.feeds()[0])
        assert again.status == "not-modified"
        assert (again.warning or "").startswith("1 article not extracted: ValueError: POISON")
        assert entry_state(database) == (pending, mentioned)


def test_failed_merges_of_a_whole_batch_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every article failing: the halving gives up after a bounded number of transactions,
    and every article stays pending."""
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    config = make_feeds(tmp_path, count=4)
    with caplog.at_level(logging.INFO, logger="tracker.merge_step"):
        with make_tracker(load_config(config), processes=0, extract=always_badmerge) as tracker:
            results = tracker.poll()
    assert all(r.status == "ok" and (r.warning or "").startswith("events not merged for ") for r in results)
    halvings = sum("merging them in halves" in r.getMessage() for r in caplog.records)
    # 24 articles: halving all the way down would take 23; the budget stops it sooner.
    assert 0 < halvings <= MERGE_RETRY_SLACK + 2 * (4 * ENTRIES).bit_length() < 4 * ENTRIES - 1
    pending, _ = entry_state(tmp_path / "tracker.db")
    assert len(pending) == 4 * ENTRIES


def always_badmerge(
    matcher: TopicMatcher, feed: FeedConfig, title: str, text: str, published: datetime
) -> list[EventMention]:
    mentions = extract_mentions(matcher, feed, title, text, published)
    return mentions + mentions[:1]
