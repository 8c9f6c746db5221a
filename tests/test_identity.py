"""Entry identity across polls: feeds that reuse guids or links never grow the store by
re-storing the same items. A loopback HTTP server, a real SQLite file, real polls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from feedserver import FeedServer
from tracker.app import Tracker, make_tracker
from tracker.config import load_config
from tracker.parse import parse_feed
from tracker.poll import PollResult
from tracker.store import Entry

NOW = datetime(2024, 3, 25, 12, 0, tzinfo=timezone.utc)


def item(title: str, body: str, *, guid: str | None = None, link: str | None = None) -> str:
    parts = [f"<title>{title}</title>", f"<description>{body}</description>"]
    if guid is not None:
        # Not a permalink: feedparser would otherwise take the guid for the link too.
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if link is not None:
        parts.append(f"<link>{link}</link>")
    return "<item>" + "".join(parts) + "</item>"


def rss(items: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://news.test/</link>{''.join(items)}</channel></rss>"
    )


@pytest.fixture
def poller(tmp_path: Path, feed_server: FeedServer) -> Iterator[tuple[FeedServer, Tracker]]:
    """The server and a Tracker polling its /f.xml into a fresh SQLite file."""
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path / 'tracker.db'}\n"
        f"feeds:\n  - name: news\n    url: {feed_server.url('/f.xml')}\n    timeout: 5s\n",
        encoding="utf-8",
    )
    tracker = make_tracker(load_config(config))
    try:
        yield feed_server, tracker
    finally:
        tracker.close()


def poll(server: FeedServer, tracker: Tracker, items: list[str]) -> PollResult:
    server.feed("/f.xml", rss(items))
    (result,) = tracker.poll()
    assert result.status == "ok", result.line()
    return result


def stored(tracker: Tracker) -> dict[str, str]:
    """key -> text of the stored entries."""
    with tracker.store.read() as s:
        return {key: text for key, text in s.execute(select(Entry.key, Entry.text))}


def counts(result: PollResult) -> tuple[int, int, int]:
    return result.new, result.updated, result.unchanged


# --- over several polls ---------------------------------------------------------------


def test_shared_guid_with_changing_content_keeps_its_entries(poller: tuple[FeedServer, Tracker]) -> None:
    server, tracker = poller
    for version in range(3):
        items = [item(f"Item {n}", f"Body {n}, version {version}.", guid="same") for n in range(200)]
        result = poll(server, tracker, items)
        assert counts(result) == ((200, 0, 0) if version == 0 else (0, 200, 0))
        entries = stored(tracker)
        assert len(entries) == 200
    # Each position kept its entry and now holds its latest content.
    assert entries["same"] == "Body 0, version 2."
    assert entries["same#200"] == "Body 199, version 2."


def test_shared_guid_with_distinct_links_keeps_its_entries_in_any_order(poller: tuple[FeedServer, Tracker]) -> None:
    server, tracker = poller
    for version in range(3):
        items = [
            item(f"Item {n}", f"Body {n}, version {version}.", guid="same", link=f"https://news.test/{n}")
            for n in range(200)
        ]
        # The order changes too: the link, not the position, tells the items apart.
        result = poll(server, tracker, items if version != 1 else items[::-1])
        assert counts(result) == ((200, 0, 0) if version == 0 else (0, 200, 0))
        assert len(stored(tracker)) == 200
    assert stored(tracker)["same#https://news.test/7"] == "Body 7, version 2."


def test_shared_link_without_guid_keeps_its_entries(poller: tuple[FeedServer, Tracker]) -> None:
    server, tracker = poller
    for version in range(3):
        items = [item(f"Item {n}", f"Body {n}, version {version}.", link="https://news.test/") for n in range(50)]
        poll(server, tracker, items)
        assert len(stored(tracker)) == 50


def test_normal_feed_is_unaffected(poller: tuple[FeedServer, Tracker]) -> None:
    server, tracker = poller
    items = [item(f"Item {n}", f"Body {n}.", guid=f"g{n}", link=f"https://news.test/{n}") for n in range(200)]
    assert counts(poll(server, tracker, items)) == (200, 0, 0)
    assert sorted(stored(tracker)) == sorted(f"g{n}" for n in range(200))
    assert counts(poll(server, tracker, items)) == (0, 0, 200)
    items[5] = item("Item 5", "Body 5, corrected.", guid="g5", link="https://news.test/5")
    assert counts(poll(server, tracker, items)) == (0, 1, 199)
    entries = stored(tracker)
    assert len(entries) == 200 and entries["g5"] == "Body 5, corrected."


def test_new_item_at_the_top_adds_only_itself(poller: tuple[FeedServer, Tracker]) -> None:
    server, tracker = poller
    window = [item(f"Item {n}", f"Body {n}.", guid=f"g{n}") for n in range(200)]
    poll(server, tracker, window)
    for n in range(200, 203):
        # A rolling window: the newest item on top, the oldest dropped.
        window = [item(f"Item {n}", f"Body {n}.", guid=f"g{n}"), *window[:-1]]
        assert counts(poll(server, tracker, window)) == (1, 0, 199)
    assert len(stored(tracker)) == 203


def test_new_item_at_the_top_of_a_shared_guid_feed_adds_one_row(poller: tuple[FeedServer, Tracker]) -> None:
    # Without links only the position tells such items apart: a new item on top shifts
    # every position (updates), but the store still grows by exactly one entry.
    server, tracker = poller
    window = [item(f"Item {n}", f"Body {n}.", guid="same") for n in range(100)]
    poll(server, tracker, window)
    window = [item("Item 100", "Body 100.", guid="same"), *window]
    assert counts(poll(server, tracker, window)) == (1, 100, 0)
    assert len(stored(tracker)) == 101


# --- the rule, within one document --------------------------------------------------------


def keys(items: list[str]) -> list[str]:
    return [e.key for e in parse_feed(rss(items).encode(), now=NOW).entries]


def test_unique_guid_is_the_key() -> None:
    assert keys([item("A", "a", guid="g1", link="https://news.test/a"), item("B", "b", guid="g2")]) == ["g1", "g2"]


def test_shared_guid_is_told_apart_by_link_else_position() -> None:
    with_links = [item(str(n), str(n), guid="g", link=f"https://news.test/{n}") for n in range(3)]
    assert keys(with_links) == [f"g#https://news.test/{n}" for n in range(3)]
    # One link missing, or two the same: the links cannot tell them apart.
    some_links = [item("0", "0", guid="g", link="https://news.test/x"), item("1", "1", guid="g")]
    assert keys(some_links) == ["g", "g#2"]
    same_links = [item(str(n), str(n), guid="g", link="https://news.test/x") for n in range(3)]
    assert keys(same_links) == ["g", "g#2", "g#3"]


def test_exact_duplicates_count_once_before_positions() -> None:
    doc = [item("A", "a", guid="g"), item("A", "a", guid="g"), item("B", "b", guid="g")]
    feed = parse_feed(rss(doc).encode(), now=NOW)
    assert [e.key for e in feed.entries] == ["g", "g#2"]
    assert feed.warning == "1 duplicate entry skipped"


def test_made_up_key_never_takes_another_entrys_own_key() -> None:
    doc = [item("A", "a", guid="g"), item("B", "b", guid="g#2"), item("C", "c", guid="g")]
    got = keys(doc)
    assert got[:2] == ["g", "g#2"]
    assert got[2].startswith("g#2#") and len(set(got)) == 3


def test_keys_do_not_depend_on_content() -> None:
    before = keys([item("A", "old", guid="g"), item("B", "old", guid="g")])
    after = keys([item("A", "new", guid="g"), item("B", "new", guid="g")])
    assert before == after == ["g", "g#2"]
