"""Parsing real feed documents: formats, identity, dates, text, encodings, hostile XML."""

from __future__ import annotations

import time
import tracemalloc
from datetime import datetime, timezone

import pytest

from tracker._html import html_to_text, plain_to_text
from tracker.errors import ParseError
from tracker.parse import ParsedFeed, parse_feed

NOW = datetime(2024, 3, 25, 12, 0, tzinfo=timezone.utc)


def rss(items: str, channel: str = "", decl: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (
        f"{decl}\n<rss version=\"2.0\"><channel><title>Outlet</title>"
        f"<link>https://outlet.example/</link>{channel}{items}</channel></rss>"
    ).encode("utf-8")


def item(title: str = "T", *, guid: str | None = None, link: str | None = None, date: str | None = None, body: str = "") -> str:
    parts = [f"<title>{title}</title>"]
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    if body:
        parts.append(f"<description>{body}</description>")
    return "<item>" + "".join(parts) + "</item>"


def parse(body: bytes, headers: dict[str, str] | None = None, url: str | None = None) -> ParsedFeed:
    return parse_feed(body, headers, url=url, now=NOW)


# --- formats ---------------------------------------------------------------------


def test_rss_feed_and_entry_fields() -> None:
    doc = rss(
        item(
            "OpenAI meets Hollywood",
            guid="urn:1",
            link="https://outlet.example/sora",
            date="Sat, 23 Mar 2024 09:30:00 GMT",
            body="&lt;p&gt;First paragraph.&lt;/p&gt;&lt;p&gt;Second &amp;amp; last.&lt;/p&gt;",
        ).replace("</item>", "<author>jane@outlet.example (Jane)</author></item>"),
        channel="<ttl>60</ttl>",
    )
    feed = parse(doc, {"Content-Type": "application/rss+xml; charset=utf-8"})

    assert feed.title == "Outlet"
    assert feed.link == "https://outlet.example/"
    assert feed.ttl == 60
    assert feed.warning is None
    assert feed.version == "rss20"
    (entry,) = feed.entries
    assert entry.key == "urn:1"
    assert entry.guid == "urn:1"
    assert entry.link == "https://outlet.example/sora"
    assert entry.title == "OpenAI meets Hollywood"
    assert entry.title_html is None
    assert entry.text == "First paragraph.\n\nSecond & last."
    assert entry.html == "<p>First paragraph.</p><p>Second &amp; last.</p>"
    assert entry.author is not None and "Jane" in entry.author
    assert entry.published == datetime(2024, 3, 23, 9, 30, tzinfo=timezone.utc)
    assert entry.published_raw == "Sat, 23 Mar 2024 09:30:00 GMT"


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://news.example/blog/">
  <title type="html">Studio &lt;em&gt;News&lt;/em&gt;</title>
  <link href="/" rel="alternate"/>
  <id>urn:feed</id><updated>2024-03-24T10:00:00Z</updated>
  <entry>
    <id>tag:news.example,2024:1</id>
    <title type="html">Sora &amp;amp; the studios: &lt;b&gt;what&amp;#8217;s next&lt;/b&gt;</title>
    <link href="posts/sora" rel="alternate"/>
    <published>2024-03-22T08:00:00+02:00</published>
    <updated>2024-03-23T10:00:00Z</updated>
    <author><name>Ann Author</name></author>
    <summary>Short summary.</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Meetings <a href="../tags/sora">next week</a>.</p><p>More.</p></div></content>
  </entry>
  <entry>
    <id>tag:news.example,2024:2</id>
    <title>Only updated</title>
    <link href="https://news.example/2"/>
    <updated>2024-03-21T10:00:00Z</updated>
    <content type="text">Plain text
with a line break.

And a paragraph.</content>
  </entry>
</feed>"""


def test_atom_feed_with_relative_links_html_title_and_content() -> None:
    feed = parse(ATOM.encode(), {"Content-Type": "application/atom+xml"}, url="https://news.example/feed.atom")

    assert feed.title == "Studio News"
    assert feed.link == "https://news.example/"
    assert feed.version == "atom10"
    first, second = feed.entries
    assert first.key == "tag:news.example,2024:1"
    assert first.link == "https://news.example/blog/posts/sora"
    assert first.title == "Sora & the studios: what\u2019s next"
    assert first.title_html is not None and "<b>" in first.title_html
    # Content wins over summary; paragraphs stay apart.
    assert first.text == "Meetings next week.\n\nMore."
    assert first.html is not None and 'href="https://news.example/tags/sora"' in first.html
    assert first.author == "Ann Author"
    assert first.published == datetime(2024, 3, 22, 6, 0, tzinfo=timezone.utc)
    assert first.updated == datetime(2024, 3, 23, 10, 0, tzinfo=timezone.utc)

    # Without <published>, the update time is the best publication estimate.
    assert second.published == datetime(2024, 3, 21, 10, 0, tzinfo=timezone.utc)
    assert second.published_raw == "2024-03-21T10:00:00Z"
    assert second.html is None
    assert second.text == "Plain text\nwith a line break.\n\nAnd a paragraph."


def test_relative_links_resolve_against_content_location_over_url() -> None:
    doc = rss(item("A", link="/a/1", body="&lt;a href='b'&gt;x&lt;/a&gt;"))
    feed = parse(doc, {"content-location": "https://cdn.example/feeds/rss.xml"}, url="https://elsewhere.example/")
    (entry,) = feed.entries
    assert entry.link == "https://cdn.example/a/1"
    assert entry.html is not None and "https://cdn.example/feeds/b" in entry.html


def test_relative_links_resolve_against_url_when_no_header() -> None:
    (entry,) = parse(rss(item("A", link="a/1")), url="https://outlet.example/feed/").entries
    assert entry.link == "https://outlet.example/feed/a/1"


def test_rss1_dc_date() -> None:
    doc = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
 <channel rdf:about="https://r.example/"><title>R</title><link>https://r.example/</link></channel>
 <item rdf:about="https://r.example/1"><title>One</title><link>https://r.example/1</link>
  <dc:date>2024-03-20T12:00:00Z</dc:date></item>
</rdf:RDF>"""
    (entry,) = parse(doc).entries
    assert entry.key == "https://r.example/1"
    assert entry.published == datetime(2024, 3, 20, 12, 0, tzinfo=timezone.utc)


def test_html_title_with_entities() -> None:
    doc = rss(item("Tom &amp;amp; Jerry &amp;eacute; &lt;i&gt;caf&amp;#233;&lt;/i&gt;", guid="1"))
    (entry,) = parse(doc).entries
    assert entry.title == "Tom & Jerry \u00e9 caf\u00e9"
    assert entry.title_html is not None


def test_atom_text_title_is_literal() -> None:
    doc = ATOM.replace("<title>Only updated</title>", '<title type="text">Use the &lt;div&gt; tag</title>')
    assert parse(doc.encode()).entries[1].title == "Use the <div> tag"


def test_whitespace_in_titles_is_normalised() -> None:
    (entry,) = parse(rss(item("  Sora\n\t  arrives  ", guid="1"))).entries
    assert entry.title == "Sora arrives"


def test_sanitizer_removes_scripts_from_html() -> None:
    doc = rss(item("A", guid="1", body="&lt;p&gt;ok&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;"))
    (entry,) = parse(doc).entries
    assert entry.html is not None and "script" not in entry.html
    assert entry.text == "ok"


# --- dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "Sat, 23 Mar 1736 09:30:00 GMT",  # parsed fine by feedparser, but before feeds existed
        "Sat, 23 Mar -1 09:30:00 GMT",  # feedparser reads this as 1999
        "Fri, 01 Jan 2999 00:00:00 GMT",  # the future
        "2024-03-27T12:00:00Z",  # two days after NOW
        "not a date at all",
        "",
    ],
)
def test_implausible_dates_are_dropped_but_kept_raw(raw: str) -> None:
    (entry,) = parse(rss(item("A", guid="1", date=raw))).entries
    assert entry.published is None
    assert entry.published_raw == (raw or None)


def test_missing_date() -> None:
    (entry,) = parse(rss(item("A", guid="1"))).entries
    assert entry.published is None
    assert entry.published_raw is None
    assert entry.updated is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Sat, 23 Mar 24 09:30:00 GMT", datetime(2024, 3, 23, 9, 30, tzinfo=timezone.utc)),
        ("Sat, 23 Mar 2024 09:30:00 +0100", datetime(2024, 3, 23, 8, 30, tzinfo=timezone.utc)),
        ("2024-03-23", datetime(2024, 3, 23, tzinfo=timezone.utc)),
        ("20240323", datetime(2024, 3, 23, tzinfo=timezone.utc)),
        # A publisher a few hours ahead of our clock is normal.
        ("Mon, 25 Mar 2024 20:00:00 GMT", datetime(2024, 3, 25, 20, 0, tzinfo=timezone.utc)),
        # Forms feedparser cannot read, read by dateparser.
        ("23/03/2024 09:30", datetime(2024, 3, 23, 9, 30, tzinfo=timezone.utc)),
        ("March 23rd 2024, 9:30 AM", datetime(2024, 3, 23, 9, 30, tzinfo=timezone.utc)),
        ("Samstag, 23. März 2024 10:00", datetime(2024, 3, 23, 10, 0, tzinfo=timezone.utc)),
        ("Sáb, 23 Mar 2024 09:30:00 -0300", datetime(2024, 3, 23, 12, 30, tzinfo=timezone.utc)),
        # A language outside the common ones tried first: all of dateparser's locales.
        ("lauantai 23. maaliskuuta 2024 10:00", datetime(2024, 3, 23, 10, 0, tzinfo=timezone.utc)),
    ],
)
def test_plausible_dates(raw: str, expected: datetime) -> None:
    (entry,) = parse(rss(item("A", guid="1", date=raw))).entries
    assert entry.published == expected
    assert entry.published is not None and entry.published.tzinfo is not None


def test_naive_now_is_taken_as_utc() -> None:
    feed = parse_feed(rss(item("A", guid="1", date="Sat, 23 Mar 2024 09:30:00 GMT")), now=NOW.replace(tzinfo=None))
    assert feed.entries[0].published is not None


# --- identity ----------------------------------------------------------------------


def test_identity_is_guid_then_link_then_hash() -> None:
    doc = rss(
        item("With guid", guid="g-1", link="https://outlet.example/1")
        + item("With link", link="https://outlet.example/2")
        + item("Bare one", body="text one")
        + item("Bare two", body="text one")
    )
    keys = [e.key for e in parse(doc).entries]
    assert keys[0] == "g-1"
    assert keys[1] == "https://outlet.example/2"
    assert keys[2].startswith("sha256:") and keys[3].startswith("sha256:")
    assert keys[2] != keys[3]
    assert len(keys) == 4


def test_hash_key_is_stable_across_parses() -> None:
    doc = rss(item("Bare", body="text"))
    assert parse(doc).entries[0].key == parse(doc).entries[0].key


def test_identical_duplicates_collapse_and_shared_guids_are_told_apart() -> None:
    doc = rss(
        item("First", guid="same") + item("First", guid="same") + item("Second", guid="same") + item("Other", guid="other")
    )
    feed = parse(doc)
    assert [e.title for e in feed.entries] == ["First", "Second", "Other"]
    assert [e.key for e in feed.entries][::2] == ["same", "other"]
    assert feed.entries[1].key.startswith("same#")
    assert feed.raw_entry_count == 4
    assert feed.warning == "1 duplicate entry skipped"
    # Stable across polls: the same document gives the same keys.
    assert [e.key for e in parse(doc).entries] == [e.key for e in feed.entries]


def test_content_edit_changes_hash_not_key() -> None:
    before = parse(rss(item("Title", guid="g", body="Meetings next week."))).entries[0]
    after = parse(rss(item("Title", guid="g", body="Meetings next month."))).entries[0]
    same = parse(rss(item("Title", guid="g", body="Meetings next week."))).entries[0]
    assert before.key == after.key == "g"
    assert before.content_hash != after.content_hash
    assert before.content_hash == same.content_hash


def test_title_edit_changes_hash() -> None:
    a = parse(rss(item("Old", guid="g"))).entries[0]
    b = parse(rss(item("New", guid="g"))).entries[0]
    assert a.content_hash != b.content_hash


# --- malformed and non-feeds -------------------------------------------------------


def test_malformed_xml_that_recovers_gives_a_warning() -> None:
    doc = rss(item("One", guid="1") + "<item><title>Two</titel><guid>2</guid></item>" + item("Three", guid="3"))
    feed = parse(doc)
    assert feed.entries
    assert feed.warning is not None
    assert feed.warning.startswith("malformed XML (mismatched tag at line 2)")
    assert "entries recovered" in feed.warning


def test_html_page_is_a_parse_error() -> None:
    page = b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>"
    with pytest.raises(ParseError, match="HTML page"):
        parse(page, {"content-type": "text/html; charset=utf-8"})


@pytest.mark.parametrize("body", [b"", b"   \n\t "])
def test_empty_body_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="empty document"):
        parse(body)


def test_garbage_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse(b"\x00\x01binary junk \xff\xfe")


def test_valid_feed_without_entries_is_healthy_and_empty() -> None:
    feed = parse(rss(""))
    assert feed.entries == [] and feed.warning is None and feed.version.startswith("rss")


def test_broken_feed_without_entries_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no entries recovered"):
        parse(rss("").replace(b"</channel>", b"</chanel>"))


# --- encodings ---------------------------------------------------------------------

CYRILLIC_TITLE = "Голливуд встретится с OpenAI"


def test_windows_1251_declared_in_xml() -> None:
    doc = rss(item(CYRILLIC_TITLE, guid="1"), decl='<?xml version="1.0" encoding="windows-1251"?>')
    body = doc.decode("utf-8").encode("windows-1251")
    feed = parse(body)
    assert feed.entries[0].title == CYRILLIC_TITLE
    assert feed.warning is None


def test_koi8_r_declared_in_http_header() -> None:
    doc = rss(item(CYRILLIC_TITLE, guid="1"), decl='<?xml version="1.0"?>').decode("utf-8").encode("koi8-r")
    feed = parse(doc, {"Content-Type": "application/xml; charset=koi8-r"})
    assert feed.entries[0].title == CYRILLIC_TITLE


def test_wrong_declared_encoding_degrades_to_a_warning() -> None:
    # Claims UTF-8, is windows-1251: not valid UTF-8 at all.
    body = rss(item(CYRILLIC_TITLE, guid="1")).decode("utf-8").encode("windows-1251")
    feed = parse(body, {"Content-Type": "application/rss+xml; charset=utf-8"})
    assert len(feed.entries) == 1
    assert feed.warning is not None


def test_utf16_feed() -> None:
    doc = rss(item(CYRILLIC_TITLE, guid="1"), decl='<?xml version="1.0" encoding="utf-16"?>')
    feed = parse(doc.decode("utf-8").encode("utf-16"))
    assert feed.entries[0].title == CYRILLIC_TITLE


# --- hostile XML -------------------------------------------------------------------


def _billion_laughs() -> bytes:
    decls = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(decls) + "\n]>\n"
        '<rss version="2.0"><channel><title>&lol9;</title>'
        "<item><title>Laughs &lol9;</title><guid>1</guid><description>&lol9;&lol9;</description></item>"
        "</channel></rss>"
    ).encode()


def _quadratic_blowup() -> bytes:
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + "x" * 50_000 + '">\n]>\n'
        '<rss version="2.0"><channel><title>Q</title>'
        "<item><title>Quadratic</title><guid>1</guid><description>" + "&a;" * 20_000 + "</description></item>"
        "</channel></rss>"
    ).encode()


@pytest.mark.parametrize("document", [_billion_laughs, _quadratic_blowup], ids=["billion-laughs", "quadratic"])
def test_entity_bombs_are_defused(document: object) -> None:
    body = document()  # type: ignore[operator]
    started = time.monotonic()
    feed = parse(body)
    assert time.monotonic() - started < 5
    # Measured on a second run: tracing every allocation slows parsing tenfold.
    tracemalloc.start()
    try:
        parse(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20
    (entry,) = feed.entries
    assert entry.key == "1"
    assert feed.warning is not None and "entity declaration" in feed.warning
    # Nothing was expanded.
    assert "lollol" not in entry.text and "x" * 1000 not in entry.text


def test_entity_bomb_in_utf16_is_defused() -> None:
    body = _quadratic_blowup().decode().encode("utf-16")
    started = time.monotonic()
    feed = parse(body)
    assert time.monotonic() - started < 5
    assert feed.warning is not None and "entity declaration" in feed.warning
    assert "x" * 1000 not in feed.entries[0].text


def test_entity_declarations_after_junk_are_removed_too() -> None:
    body = b"junk\n" + _quadratic_blowup()
    started = time.monotonic()
    feed = parse(body)
    assert time.monotonic() - started < 5
    assert all("x" * 1000 not in e.text for e in feed.entries)


def test_external_entities_are_never_read(tmp_path: object) -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        b'<rss version="2.0"><channel><title>X</title><item><title>&xxe;</title><guid>1</guid></item></channel></rss>'
    )
    feed = parse(body)
    assert "root:" not in feed.entries[0].title


def test_character_reference_entities_are_kept() -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY rsquo "&#8217;">\n]>\n'
        b'<rss version="2.0"><channel><title>X</title><item><title>It&rsquo;s here</title><guid>1</guid></item></channel></rss>'
    )
    feed = parse(body)
    assert feed.entries[0].title == "It\u2019s here"
    assert feed.warning is None


# --- HTML to text ------------------------------------------------------------------


def test_html_to_text_blocks_breaks_and_dropped_elements() -> None:
    html = (
        "<div><h2>Head&nbsp;line</h2><p>One &amp; <b>two</b>.</p>"
        "<script>var x = '<p>no</p>';</script><style>p { color: red }</style>"
        "<ul><li>first</li><li>second</li></ul>line<br>break<br/><br/>new para</div>"
    )
    assert html_to_text(html) == "Head line\n\nOne & two.\n\nfirst\n\nsecond\n\nline\nbreak\n\nnew para"


def test_html_to_text_unclosed_and_odd_markup() -> None:
    assert html_to_text("<p>open <i>never closed") == "open never closed"
    assert html_to_text("a < b &amp;&amp; c > d") == "a < b && c > d"
    assert html_to_text("") == ""


def test_plain_to_text_keeps_paragraphs() -> None:
    assert plain_to_text("  one   two \r\n three\n\n\n four ") == "one two\nthree\n\nfour"
