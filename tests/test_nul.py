"""NUL characters from feeds and article pages: PostgreSQL's text refuses "\\x00", so every
text stored has U+FFFD in its place (tracker/parse.py, tracker/fulltext). A real poll of a
loopback feed into a real database, on each backend; keys stay the same from poll to poll."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from feedserver import FeedServer, Reply
from test_poll import run
from tracker.app import make_tracker
from tracker.config import load_config
from tracker.store import Entry, Feed

NUL = "\x00"

# Raw NUL bytes (XML forbids them: feedparser's loose parser keeps them) and the
# character reference &#0; in every element that is stored.
FEED = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
    "<title>Night\x00Desk</title><link>https://news.test/</link>"
    "<item><guid>guid-\x00-one</guid><title>Bridge\x00 closed on March 3, 2024</title>"
    "<link>https://news.test/one\x00two</link><author>desk\x00@news.test (Night\x00Desk)</author>"
    "<pubDate>Sat, 23 Mar 2024 09:30:00 +0000</pubDate>"
    "<description>The bridge\x00 closed on March 3, 2024.</description>"
    "<content:encoded>&lt;p&gt;The bridge&amp;#0; closed\x00 on March 3, 2024, officials said.&lt;/p&gt;</content:encoded>"
    "</item>"
    "<item><title>No guid &#0; here</title><description>Only text&#0; and a NUL\x00.</description></item>"
    "</channel></rss>"
)


def config_for(tmp_path: Path, database_url: str, feed_url: str, full_text: str = "never") -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        f"database: {database_url}\nallow_private_networks: true\npages: {{delay: 0s}}\n"
        f"topics:\n  bridge: [bridge]\n"
        f"feeds:\n  - name: desk\n    url: {feed_url}\n    timeout: 2s\n    full_text: {full_text}\n",
        encoding="utf-8",
    )
    return path


def stored(config: Path) -> tuple[list[Entry], Feed]:
    tracker = make_tracker(load_config(config))
    try:
        with tracker.store.read() as s:
            entries = list(s.scalars(select(Entry).order_by(Entry.id)))
            feed = s.scalars(select(Feed)).one()
    finally:
        tracker.close()
    return entries, feed


def texts(entry: Entry) -> list[str | None]:
    return [
        entry.key, entry.guid, entry.link, entry.title, entry.title_html, entry.text, entry.html,
        entry.author, entry.published_raw, entry.page_text,
    ]


def test_nul_in_every_element_polls_and_keys_stay(feed_server: FeedServer, tmp_path: Path, database_url: str) -> None:
    config = config_for(tmp_path, database_url, feed_server.feed("/f.xml", FEED))
    code, out, err = run(config, "poll")
    assert code == 0, err
    assert "desk: ok, 2 new" in out, out
    entries, feed = stored(config)
    assert len(entries) == 2
    for entry in entries:
        assert not any(NUL in t for t in texts(entry) if t), texts(entry)
    assert feed.title is not None and NUL not in feed.title and "\ufffd" in feed.title
    first = entries[0]
    assert first.guid is not None and first.guid == first.key and first.guid.endswith("guid-\ufffd-one")
    assert first.link == "https://news.test/one\ufffdtwo"
    assert "\ufffd" in first.title and "\ufffd" in first.text
    keys = [e.key for e in entries]

    code, out, err = run(config, "poll")
    assert code == 0, err
    assert "0 new, 0 updated, 2 unchanged" in out, out
    assert [e.key for e in stored(config)[0]] == keys

    code, out, err = run(config, "timeline", "--format", "json", "--search", "bridge")
    assert code == 0, err
    assert "March 3, 2024" in out or "2024-03-03" in out


def page(text: str) -> bytes:
    paragraphs = "".join(
        f"<p>{text} Paragraph {i} says the bridge on the river closed on March 3, 2024, for repairs "
        "that engineers expect to last well into the summer months.</p>"
        for i in range(6)
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Bridge&#0; closed\x00</title></head>"
        f"<body><main><article><h1>Bridge closed</h1>{paragraphs}</article></main></body></html>"
    ).encode()


def test_a_page_with_nul_in_its_text_is_stored(feed_server: FeedServer, tmp_path: Path, database_url: str) -> None:
    feed_server.routes["/robots.txt"] = Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain")
    feed_server.routes["/story"] = Reply(body=page("Raw\x00NUL and &#0; reference."), content_type="text/html; charset=utf-8")
    link = feed_server.url("/story")
    url = feed_server.feed(
        "/f.xml",
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Desk</title>'
        f"<item><guid>p1</guid><title>Bridge</title><link>{link}</link>"
        "<pubDate>Sat, 23 Mar 2024 09:30:00 +0000</pubDate><description>The bridge closed…</description></item>"
        "</channel></rss>",
    )
    config = config_for(tmp_path, database_url, url, full_text="always")
    code, out, err = run(config, "poll")
    assert code == 0, err
    entries, _ = stored(config)
    assert len(entries) == 1
    assert entries[0].page_text and "Paragraph 5" in entries[0].page_text, (out, err)
    assert NUL not in entries[0].page_text
