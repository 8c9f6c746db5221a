"""Entry HTML read in one pass: the same text as feedparser's sanitizer gave, a safe copy.

tracker.parse asks feedparser for the raw HTML and reads it once (tracker.parse._read_html):
its text must be what html_to_text made of feedparser's sanitized and link-resolved copy
before (content hashes are made of it: a different text re-extracts every stored article),
and markup the two parsers read differently goes to feedparser as before. The safety of the
stored copy and of every output is in tests/test_output_safety.py.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker import parse
from tracker._html import html_to_text_prefix
from tracker.parse import MAX_ENTRY_HTML, MAX_ENTRY_TEXT, parse_feed

BASE = "https://news.example/feeds/rss.xml"
NOW = datetime(2024, 3, 25, tzinfo=timezone.utc)


def before(fragment: str, kind: str = "text/html") -> tuple[str, bool]:
    """(text, empty) the way tracker read an element when feedparser sanitized it."""
    kept = parse._feedparser_sanitized(fragment, BASE, kind)
    text, _ = html_to_text_prefix(kept, MAX_ENTRY_TEXT, MAX_ENTRY_HTML)
    return text, not kept


def now(fragment: str, kind: str = "text/html") -> tuple[str, bool]:
    read = parse._read_html(fragment, {"type": kind, "base": BASE}, MAX_ENTRY_TEXT)
    return read.text, read.empty


# Markup from real feeds and the places where an SGML parser and an HTML5-ish one part.
FRAGMENTS = [
    "<p>First paragraph.</p><p>Second &amp; last.</p>",
    '<div class="entry"><p>A <a href="/x">link</a>, <b>bold</b><br/>and a break.</p></div>',
    "<p>Word<o:p></o:p> junk from Word</p><!--[if gte mso 9]><xml><w:Doc/></xml><![endif]-->after",
    "<p>Unknown <main>and <summary>elements</summary></main> are transparent</p>",
    "<title>kept as text</title><head>also</head><template>this too</template>",
    "<noscript>dropped</noscript>kept<svg><title>icon</title><path d='M0'/></svg> after svg",
    '<svg xmlns="other"><text>kept: not SVG</text></svg>',
    "<math><mi>x</mi></math> after math",
    "before<script>hidden <p>still hidden</p></script>after",
    "stray end</script>hides all that follows",
    "<style>p { color: red }</style>visible<applet>hidden</applet>too",
    '<script src="x.js"/>a self-closed script hides the rest in HTML',
    "<p/>short tags<br/>close<script/>at once",
    "&hellip &copy 2024 &foo; &amp; &#8217; &#150; &apos; &check; &notin;",
    "a < b and c <3 d; AT&T; x &&y",
    "<!foo> declaration-like text <!DOCTYPE html> and a <?pi ?>",
    "<![CDATA[marked section]]> <![if !supportLists]>x<![endif]>",
    'unclosed <a href="x',
    "unclosed <!-- comment to the end",
    "<p title='a>b'>quoted angle</p><p title=\"a<b\">and another</p>",
    "<b<i>nested start</i>",
    "&<b>amp;</b> and &#<i>39;</i>",
    "<p>\u2028line separator\u2029 and nbsp\u00a0here</p>",
    "   ",
    "<script>only script</script>",
    "&nbsp;",
    "<!-- just a comment -->",
]


# Markup both parsers read alike: read in one pass, feedparser not involved.
CLEAN = [f for f in FRAGMENTS[:16] if "<![" not in f and "<!DOCTYPE" not in f and "self-closed" not in f]


@pytest.mark.parametrize("fragment", FRAGMENTS)
def test_text_is_what_feedparser_sanitized_html_gave(fragment: str) -> None:
    assert now(fragment) == before(fragment)


@pytest.mark.parametrize("fragment", FRAGMENTS[:12])
def test_xhtml_content_too(fragment: str) -> None:
    assert now(fragment, "application/xhtml+xml") == before(fragment, "application/xhtml+xml")


TOKENS = [
    "<p>", "</p>", "<div>", "</div>", "<br>", "<br/>", "<p/>", "<b>", "</b>", "<script>", "</script>", "<style>",
    "</style>", "<applet>", "</applet>", "<noscript>", "</noscript>", "<svg>", "</svg>", '<svg xmlns="x">', "<math>",
    "</math>", "<title>", "</title>", "<main>", "</main>", "<li>", "<ul>", "</ul>", '<a href="x">', "</a>",
    '<img src="y">', "<o:p>", "<!-- c -->", "<!--", "-->", "<!x>", "<![CDATA[x]]>", "<?p?>", "&amp;", "&nbsp;",
    "&foo;", "&copy", "&hellip;", "&#8217;", "&#150;", "&", "<", ">", "<>", "</>", "a<b", '<p class="a>b">',
    '<script src="x"/>', "<td>", "<hr>", "</br>", "word", "Two words.", " ", "\n", "\u00a0", "\u2028", "é",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14), st.sampled_from(["text/html", "application/xhtml+xml"]))
def test_any_mix_of_markup_reads_as_before(tokens: list[str], kind: str) -> None:
    fragment = "".join(tokens)
    assert now(fragment, kind) == before(fragment, kind)


def test_clean_markup_never_costs_feedparser_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = parse._feedparser_sanitized

    def counted(value: str, base: str, kind: str) -> str:
        calls.append(value)
        return original(value, base, kind)

    monkeypatch.setattr(parse, "_feedparser_sanitized", counted)
    for fragment in CLEAN:
        now(fragment)
    assert calls == []
    now("a<b odd markup")
    assert calls == ["a<b odd markup"]


def rss(description: str, guid: str | None = "g1", link: str | None = None) -> bytes:
    from xml.sax.saxutils import escape

    parts = [f"<guid>{guid}</guid>" if guid else "", f"<link>{link}</link>" if link else ""]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>Title</title>{''.join(parts)}<description>{escape(description)}</description></item>"
        "</channel></rss>"
    ).encode()


def entry(doc: bytes) -> Any:
    (only,) = parse_feed(doc, {"content-type": "application/rss+xml"}, url=BASE, now=NOW).entries
    return only


def test_stored_html_is_a_sanitized_copy_with_absolute_links() -> None:
    got = entry(rss('<p class="c" style="color:red">Hi <a href="../a" onclick="x()" target="_blank">there</a>'
                    '<img src="i.png" onerror="x()"><script>bad()</script></p>'))
    assert got.html == '<p class="c">Hi <a href="https://news.example/a">there</a><img src="https://news.example/feeds/i.png"></p>'
    assert got.text == "Hi there"


def test_entries_without_guid_or_link_keep_their_keys() -> None:
    # The key of such an entry hashes feedparser's sanitized HTML, as it always did.
    fragment = '<p>Same <a href="rel">entry</a><script>x</script></p>'
    got = entry(rss(fragment, guid=None))
    kept = parse._feedparser_sanitized(fragment, BASE, "text/html")
    assert got.key == "sha256:" + parse._sha256("Title", kept)


def test_a_link_that_would_run_code_is_not_kept_but_still_identifies() -> None:
    got = entry(rss("<p>x</p>", guid=None, link="JavaScript:alert(1)"))
    assert got.link is None
    assert got.key == "JavaScript:alert(1)"
    assert entry(rss("<p>x</p>", guid=None, link="https://ok.example/a")).link == "https://ok.example/a"


def test_base_resolution_cache_changes_nothing() -> None:
    from feedparser import mixin
    from feedparser.urls import make_safe_absolute_uri

    cached = mixin.make_safe_absolute_uri
    assert getattr(cached, "tracker_cached", False)
    for base, rel in [(BASE, BASE), (BASE, "../x"), (BASE, "javascript:x"), ("", "a"), (BASE, None), ("javascript:x", "y")]:
        assert cached(base, rel) == make_safe_absolute_uri(base, rel)
