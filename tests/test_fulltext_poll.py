"""Full text end to end: summary-only feeds on loopback, their article pages read, stored beside
the feed's text, re-extracted and merged; failures cost only the page."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from feedserver import FeedServer, Reply
from test_poll import run
from tracker.app import make_tracker
from tracker.config import load_config
from tracker.store import Entry
from tracker.store.models import Page

HTML = "text/html; charset=utf-8"

SUMMARY = (
    "Crews closed the eastbound lanes of the Tidewater Bridge on Monday after inspectors "
    "reported cracks in its supports…"
)
# Paragraphs of the article; the page wraps them in a site's furniture.
ARTICLE = [
    "Crews closed the eastbound lanes of the Tidewater Bridge on Monday after inspectors "
    "reported cracks in its supports.",
    "The cracks were first noticed during a routine inspection of the bridge on April 28, "
    "according to the county's transportation department.",
    "Officials said the bridge would shut completely on June 2 for repairs expected to last "
    "through the summer.",
    "Commuters who cross the river each morning were told to expect delays of up to forty "
    "minutes, and the ferry service added two early sailings to absorb some of the traffic.",
    "The span opened to traffic decades ago and carries tens of thousands of vehicles a day, "
    "most of them heading to the port district on the far bank.",
    "Residents at a packed town hall asked why the damage had gone unnoticed for so long, and "
    "the county engineer promised a public report on the state of every bridge it maintains.",
]
CHANGED = ARTICLE[:2] + [
    "Officials said the bridge would now shut completely on July 14, later than first planned, "
    "because replacement steel had not yet arrived.",
] + ARTICLE[3:]


def page(paragraphs: list[str], *, published: str | None = "2025-05-06T08:00:00Z") -> bytes:
    """An article page as news sites serve it: navigation, cookie banner, related links,
    comments, a paywall stub and a footer around the story."""
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Tidewater Bridge lanes closed | Harbor Courier</title>{meta}</head><body>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies or manage preferences.</div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/local">Local</a></li>
<li><a href="/sports">Sports</a></li><li><a href="/opinion">Opinion</a></li></ul></nav></header>
<main><article><h1>Tidewater Bridge lanes closed after cracks found</h1>
<p class="byline">By Dana Whitfield</p>{body}</article>
<aside class="related"><h2>Related stories</h2><ul>
<li><a href="/a">Harbor ferry fares to rise in autumn</a></li>
<li><a href="/b">Port district plans new warehouse on May 20</a></li></ul></aside>
<div class="paywall">Subscribe for unlimited access to the Harbor Courier. Already a subscriber? Log in.</div>
<section class="comments"><h3>Comments</h3><div class="comment">I drove over that bridge on May 1 and felt it shake!</div></section>
</main><footer>Copyright Harbor Courier. All rights reserved. Contact us. Privacy policy.</footer>
</body></html>""".encode()


def rss(items: list[tuple[str, str, str | None, str]]) -> str:
    """(guid, link, pubDate or None, description) items."""
    parts = []
    for guid, link, published, description in items:
        date = f"<pubDate>{published}</pubDate>" if published else ""
        parts.append(
            f"<item><guid>{guid}</guid><title>Tidewater Bridge lanes closed</title><link>{link}</link>"
            f"{date}<description>{description}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbor Courier</title>'
        f"<link>https://courier.test/</link>{''.join(parts)}</channel></rss>"
    )


PUB = "Tue, 06 May 2025 09:30:00 +0000"


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Path]:
    def make(feed_url: str, *, full_text: str | None = None, private: bool = True, extra: str = "") -> Path:
        lines = [
            f"database: sqlite:///{tmp_path / 'tracker.db'}",
            f"allow_private_networks: {'true' if private else 'false'}",
            "pages: {delay: 0s}",
            "topics:",
            "  bridge:",
            "    keywords: [bridge]",
            "feeds:",
            "  - name: courier",
            f"    url: {feed_url}",
            "    timeout: 2s",
        ]
        if full_text:
            lines.append(f"    full_text: {full_text}")
        path = tmp_path / "feeds.yaml"
        path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
        return path

    return make


def timeline(config: Path) -> list[dict[str, object]]:
    code, out, err = run(config, "timeline", "--format", "json")
    assert code == 0, err
    events: list[dict[str, object]] = json.loads(out)
    return events


def by_start(config: Path) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for e in timeline(config):
        out.setdefault(str(e["start"]), []).append(e)
    return out


def mentions(config: Path, start: str) -> list[dict[str, object]]:
    found = by_start(config)[start]
    assert len(found) == 1, found
    code, out, err = run(config, "event", str(found[0]["id"]), "--format", "json")
    assert code == 0, err
    ms: list[dict[str, object]] = json.loads(out)["mentions"]
    return ms


def feed_health(config: Path) -> dict[str, object]:
    code, out, err = run(config, "feeds", "--format", "json")
    assert code == 0, err
    feeds: list[dict[str, object]] = json.loads(out)
    return feeds[0]


def serve_story(server: FeedServer, *, page_reply: Reply | None = None, published: str | None = PUB) -> str:
    server.routes["/robots.txt"] = Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain")
    server.routes["/news/bridge"] = page_reply or Reply(body=page(ARTICLE), content_type=HTML, etag='"p1"')
    link = server.base_url + "/news/bridge"
    return server.feed("/feed.xml", rss([("b1", link, published, SUMMARY)]))


def test_a_summary_feed_gets_the_events_of_its_article_page(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    config = make_config(serve_story(feed_server))
    code, out, err = run(config, "poll")
    assert code == 0, err
    assert "courier: full text: 1 page read" in out
    starts = by_start(config)
    # Only the page dates the inspection and the closure; the feed's summary dates Monday.
    assert {"2025-04-28", "2025-06-02", "2025-05-05"} <= set(starts)
    assert all(m["from"] == "page" for m in mentions(config, "2025-04-28"))
    assert [m["from"] for m in mentions(config, "2025-05-05")] == ["feed"]
    # Nothing from the furniture around the article: the related link's and the comment's dates.
    assert "2025-05-20" not in starts and "2025-05-01" not in starts
    health = feed_health(config)["full_text"]
    assert health == {
        "mode": "auto", "pages_read": 1, "pages_without_text": 0, "pages_waiting": 0, "pages_failed": 0,
        "last_error": None,
    }
    code, out, _ = run(config, "event", str(by_start(config)["2025-04-28"][0]["id"]))
    assert "[from the page]" in out


def test_the_page_text_is_stored_beside_the_feed_text(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    config = make_config(serve_story(feed_server))
    run(config, "poll")
    tracker = make_tracker(load_config(config))
    try:
        with tracker.store.read() as s:
            entry = s.scalars(select(Entry)).one()
            assert entry.text.startswith("Crews closed") and entry.text.endswith("…")
            assert entry.page_text is not None
            for paragraph in ARTICLE:
                assert paragraph in entry.page_text
            for furniture in ("cookies", "Related stories", "Subscribe", "Comments", "Copyright", "felt it shake"):
                assert furniture not in entry.page_text
    finally:
        tracker.close()


def test_a_failed_page_keeps_the_entry_and_its_feed_text(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    config = make_config(serve_story(feed_server, page_reply=Reply(status=404, body=b"gone", content_type=HTML)))
    code, out, err = run(config, "poll")
    assert code == 0, err  # a page is not the feed: the poll succeeded
    assert "courier: ok, 1 new" in out
    assert "courier: full text: 1 failed (last: " in out and "404" in out
    # The summary's own event is there.
    assert "2025-05-05" in by_start(config)
    health = feed_health(config)
    assert health["last_status"] == "ok"
    full_text = health["full_text"]
    assert isinstance(full_text, dict)
    assert full_text["pages_failed"] == 1 and "404" in str(full_text["last_error"])
    code, out, _ = run(config, "feeds")
    assert "full text: auto: pages 1 failed (last error:" in out


def test_a_404_after_a_200_keeps_the_text_read_before(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    config = make_config(serve_story(feed_server))
    now = [datetime(2025, 5, 6, 10, tzinfo=timezone.utc)]
    tracker = make_tracker(load_config(config), clock=lambda: now[0], processes=0)
    try:
        tracker.poll()
        before = {e["start"] for e in timeline(config)}
        assert "2025-04-28" in before
        feed_server.routes["/news/bridge"] = Reply(status=404, body=b"gone", content_type=HTML)
        now[0] += timedelta(hours=7)  # past the page's refresh time
        outcomes = []
        tracker.poll(on_pages=outcomes.append)
        assert outcomes[0].failed == {"courier": 1}
        assert {e["start"] for e in timeline(config)} == before
    finally:
        tracker.close()


def test_a_changed_page_is_re_extracted_and_re_merged(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    config = make_config(serve_story(feed_server))
    now = [datetime(2025, 5, 6, 10, tzinfo=timezone.utc)]
    tracker = make_tracker(load_config(config), clock=lambda: now[0], processes=0)
    try:
        tracker.poll()
        assert "2025-06-02" in by_start(config)
        # Within the refresh time nothing is asked again.
        asked = len([r for r in feed_server.requests if r.path == "/news/bridge"])
        now[0] += timedelta(hours=1)
        tracker.poll()
        assert len([r for r in feed_server.requests if r.path == "/news/bridge"]) == asked
        # Later, a conditional request: unchanged costs a 304 and changes nothing.
        now[0] += timedelta(hours=6)
        tracker.poll()
        last = [r for r in feed_server.requests if r.path == "/news/bridge"][-1]
        assert last.headers.get("if-none-match") == '"p1"'
        feed_server.routes["/news/bridge"] = Reply(body=page(CHANGED), content_type=HTML, etag='"p2"')
        now[0] += timedelta(hours=7)
        tracker.poll()
        starts = by_start(config)
        assert "2025-07-14" in starts and "2025-06-02" not in starts
        assert "2025-04-28" in starts
    finally:
        tracker.close()


def test_the_page_dates_an_entry_the_feed_left_undated(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    config = make_config(serve_story(feed_server, published=None))
    tracker = make_tracker(load_config(config), clock=lambda: datetime(2025, 5, 9, tzinfo=timezone.utc), processes=0)
    try:
        tracker.poll()
        with tracker.store.read() as s:
            entry = s.scalars(select(Entry)).one()
            assert entry.published == datetime(2025, 5, 6, 8, 0)
            assert entry.published_fallback is False
    finally:
        tracker.close()
    # "on Monday" is resolved against the page's date, not the day it was first seen.
    assert "2025-05-05" in by_start(config)


def test_never_reads_no_page_and_always_reads_complete_entries(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    url = serve_story(feed_server)
    config = make_config(url, full_text="never")
    code, out, _ = run(config, "poll")
    assert code == 0 and "full text" not in out
    assert not [r for r in feed_server.requests if r.path == "/news/bridge"]
    assert "2025-04-28" not in by_start(config)

    # A complete-looking entry (long, no ellipsis) is read only with always.
    long_text = " ".join(ARTICLE[:1] + ["More words follow here to make the entry long enough."] * 20)
    feed_server.feed("/feed.xml", rss([("b1", feed_server.base_url + "/news/bridge", PUB, long_text)]))
    config = make_config(url, full_text="always")
    code, out, _ = run(config, "poll")
    assert code == 0 and "courier: full text: 1 page read" in out
    assert "2025-04-28" in by_start(config)


def test_a_link_into_a_private_network_is_refused_by_default(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    # The feed itself is the user's choice (on loopback here); its links are not.
    config = make_config(serve_story(feed_server), private=False)
    code, out, err = run(config, "poll")
    assert code == 0, err
    assert "courier: ok, 1 new" in out
    assert not [r for r in feed_server.requests if r.path in ("/news/bridge", "/robots.txt")]
    full_text = feed_health(config)["full_text"]
    assert isinstance(full_text, dict) and full_text["pages_failed"] == 1
    assert "private" in str(full_text["last_error"]).lower() or "loopback" in str(full_text["last_error"]).lower()
    assert "2025-05-05" in by_start(config)


def test_robots_txt_that_disallows_is_respected(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    url = serve_story(feed_server)
    feed_server.routes["/robots.txt"] = Reply(body=b"User-agent: *\nDisallow: /news/\n", content_type="text/plain")
    config = make_config(url)
    code, out, err = run(config, "poll")
    assert code == 0, err
    assert "robots.txt" in out
    assert not [r for r in feed_server.requests if r.path == "/news/bridge"]
    assert "2025-04-28" not in by_start(config)


def test_a_page_that_is_not_html_is_refused(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    config = make_config(serve_story(feed_server, page_reply=Reply(body=b"%PDF-1.7 ...", content_type="application/pdf")))
    code, out, _ = run(config, "poll")
    assert code == 0
    assert "application/pdf" in out
    assert "2025-05-05" in by_start(config)


def test_failed_pages_are_retried_with_backoff_then_given_up(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    config = make_config(serve_story(feed_server, page_reply=Reply(status=503, body=b"busy", content_type=HTML)))
    now = [datetime(2025, 5, 6, 10, tzinfo=timezone.utc)]
    tracker = make_tracker(load_config(config), clock=lambda: now[0], processes=0)

    def tries() -> int:
        return len([r for r in feed_server.requests if r.path == "/news/bridge"])

    try:
        tracker.poll()
        assert tries() == 1
        tracker.poll()  # not due yet
        assert tries() == 1
        for hours in (1, 2, 4, 8, 16):
            now[0] += timedelta(hours=hours)
            tracker.poll()
        assert tries() == 4  # MAX_PAGE_ATTEMPTS
        with tracker.store.read() as s:
            row = s.scalars(select(Page)).one()
            assert row.status == "failed" and row.next_attempt is None and "503" in (row.error or "")
    finally:
        tracker.close()


def test_pages_are_read_in_bounded_rounds_and_the_rest_wait(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    from tracker.pages import read_pages
    from tracker.poll import poll_feed

    feed_server.routes["/robots.txt"] = Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain")
    items = []
    for i in range(5):
        feed_server.routes[f"/news/{i}"] = Reply(body=page(ARTICLE), content_type=HTML)
        items.append((f"b{i}", f"{feed_server.base_url}/news/{i}", PUB, SUMMARY))
    config = make_config(feed_server.feed("/feed.xml", rss(items)))
    tracker = make_tracker(load_config(config), processes=0)
    try:
        result = poll_feed(tracker, tracker.config.feeds[0])  # stores and queues; reads no page
        assert result.new == 5
        assert feed_health(config)["full_text"]["pages_waiting"] == 5  # type: ignore[index]
        outcome = read_pages(tracker, tracker.config.feeds, limit=2, rounds=2)
        assert outcome.read == {"courier": 4}
        assert feed_health(config)["full_text"]["pages_waiting"] == 1  # type: ignore[index]
        outcome = read_pages(tracker, tracker.config.feeds, limit=2, rounds=2)
        assert outcome.read == {"courier": 1}
        assert len([r for r in feed_server.requests if r.path.startswith("/news/")]) == 5
    finally:
        tracker.close()
