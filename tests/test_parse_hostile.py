"""Hostile and unusual documents: entity bombs in every encoding, legit feeds in many
encodings, pathological prologs and oversized entries. Real bytes through parse_feed."""

from __future__ import annotations

import codecs
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from tracker.errors import ParseError
from tracker.parse import MAX_ELEMENT_BYTES, MAX_ENTRY_TEXT, MAX_TITLE, ParsedFeed, parse_feed

NOW = datetime(2024, 3, 25, 12, 0, tzinfo=timezone.utc)
RSS_TYPE = "application/rss+xml"


def parse(body: bytes, headers: dict[str, str] | None = None) -> ParsedFeed:
    return parse_feed(body, headers, url="https://outlet.example/feed", now=NOW)


def timed(body: bytes, headers: dict[str, str] | None = None) -> tuple[ParsedFeed | ParseError, float]:
    """The outcome and the CPU seconds it took (not wall time: tests run beside others)."""
    started = time.process_time()
    try:
        return parse(body, headers), time.process_time() - started
    except ParseError as exc:
        return exc, time.process_time() - started


def traced_peak(body: bytes, headers: dict[str, str] | None = None) -> int:
    """tracemalloc's peak while parsing (tracing slows parsing about tenfold)."""
    tracemalloc.start()
    try:
        try:
            parse(body, headers)
        except ParseError:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- entity bombs in every encoding ----------------------------------------------------


def bomb(declared: str | None, refs: int = 20_000, entity: int = 50_000) -> str:
    """A quadratic blowup: one 50,000-character entity referenced `refs` times (20,000
    references expand to 1 GB of text; the document is about 110 KB)."""
    decl = f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else ""
    return (
        decl + '<!DOCTYPE rss [\n<!ENTITY a "' + "x" * entity + '">\n]>\n'
        '<rss version="2.0"><channel><title>Q &amp; A</title>'
        "<item><title>Quadratic &lt;b&gt; &#233;</title><guid isPermaLink=\"false\">1</guid><description>" + "&a;" * refs + "</description></item>"
        "</channel></rss>"
    )


def utf7(text: str) -> bytes:
    """UTF-7 with every "<" after the declaration in its base64 form ("+ADw-"), which no
    byte scan for "<!ENTITY" can see."""
    first, newline, rest = text.partition("\n")
    return first.encode("utf-7") + newline.encode() + rest.encode("utf-7").replace(b"<", b"+ADw-")


# name -> (declared encoding, bytes from text, HTTP headers)
BOMB_ENCODINGS: dict[str, tuple[str | None, Callable[[str], bytes], dict[str, str]]] = {
    "utf-8": ("utf-8", lambda t: t.encode("utf-8"), {"content-type": RSS_TYPE}),
    "utf-16le, no BOM": ("UTF-16LE", lambda t: t.encode("utf-16-le"), {"content-type": RSS_TYPE}),
    "utf-16le, no BOM, no declaration, HTTP charset": (
        None, lambda t: t.encode("utf-16-le"), {"content-type": RSS_TYPE + "; charset=utf-16le"},
    ),
    "utf-16be, no BOM": ("UTF-16BE", lambda t: t.encode("utf-16-be"), {"content-type": RSS_TYPE}),
    "utf-16, BOM LE": ("UTF-16", lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"), {}),
    "utf-16, BOM BE, no declaration": (None, lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), {}),
    "utf-32, BOM": ("UTF-32", lambda t: codecs.BOM_UTF32_LE + t.encode("utf-32-le"), {"content-type": RSS_TYPE}),
    "utf-32be, no BOM": ("UTF-32BE", lambda t: t.encode("utf-32-be"), {"content-type": RSS_TYPE}),
    "utf-7": ("UTF-7", utf7, {"content-type": RSS_TYPE}),
    "cp037": ("cp037", lambda t: t.encode("cp037"), {"content-type": RSS_TYPE}),
    "cp500": ("IBM500", lambda t: t.encode("cp500"), {"content-type": RSS_TYPE}),
    "cp037, no declaration, HTTP charset": (
        None, lambda t: t.encode("cp037"), {"content-type": "text/xml; charset=cp037"},
    ),
}


@pytest.mark.parametrize("name", list(BOMB_ENCODINGS))
def test_entity_bomb_is_defused_in_every_encoding(name: str) -> None:
    declared, encode, headers = BOMB_ENCODINGS[name]
    result, seconds = timed(encode(bomb(declared)), headers)
    assert seconds < 1, f"{name}: {seconds:.2f}s"
    # Refusing is allowed, but these are all decodable: they parse, unexpanded.
    assert isinstance(result, ParsedFeed), result
    (entry,) = result.entries
    assert entry.key == "1"
    assert "xxxx" not in entry.text and len(entry.text) < 100_000
    assert result.warning is not None and "removed 1 entity declaration" in result.warning
    # Predefined entities and character references still work, whatever the encoding.
    assert result.title == "Q & A"
    assert entry.title == "Quadratic <b> \u00e9"
    # Measured on a smaller bomb (2,000 references, 100 MB if expanded): tracing every
    # allocation slows parsing tenfold.
    peak = traced_peak(encode(bomb(declared, refs=2_000)), headers)
    assert peak < 50 * 2**20, f"{name}: {peak / 2**20:.0f} MB"


def test_billion_laughs_in_utf16_without_bom() -> None:
    decls = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    text = (
        '<!DOCTYPE rss [\n' + "\n".join(decls) + "\n]>\n"
        '<rss version="2.0"><channel><title>&lol9;</title>'
        "<item><title>Laughs &lol9;</title><guid>1</guid></item></channel></rss>"
    )
    feed, seconds = timed(text.encode("utf-16-le"), {"content-type": "application/xml; charset=utf-16le"})
    assert seconds < 1
    assert isinstance(feed, ParsedFeed)
    assert "lollol" not in feed.entries[0].title
    assert feed.warning is not None and "removed 10 entity declarations" in feed.warning


def test_entity_hidden_behind_a_comment_and_pi_in_utf16() -> None:
    text = (
        '<?xml version="1.0" encoding="utf-16"?>\n<?xml-stylesheet href="s.xsl"?>\n<!-- a ] comment <x -->\n'
        + bomb(None)
    )
    feed, seconds = timed(text.encode("utf-16"))
    assert seconds < 1 and isinstance(feed, ParsedFeed)
    assert "xxxx" not in feed.entries[0].text


def test_predefined_entities_and_character_references_survive_defusing() -> None:
    text = (
        '<?xml version="1.0" encoding="utf-16"?>\n<!DOCTYPE rss [\n<!ENTITY big "' + "y" * 1000 + '">\n'
        '<!ENTITY rsquo "&#8217;">\n]>\n<rss version="2.0"><channel><title>T</title>'
        "<item><title>It&rsquo;s &lt;5 &amp; &gt;3 &quot;ok&quot; &apos;fine&apos; &#65;&#x42;</title><guid>1</guid>"
        "<description>&lt;p&gt;caf&#233; &amp;amp; more&lt;/p&gt;&big;</description></item></channel></rss>"
    )
    feed = parse(text.encode("utf-16"))
    (entry,) = feed.entries
    assert entry.title == "It\u2019s <5 & >3 \"ok\" 'fine' AB"
    assert entry.text.startswith("caf\u00e9 & more")
    assert "yyyy" not in entry.text
    assert feed.warning is not None and "removed 1 entity declaration" in feed.warning


def test_references_to_removed_entities_stay_readable() -> None:
    # Only single character references are kept; the rest become the HTML character of
    # that name, else literal text, and the document stays well-formed (no warning).
    body = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY copy "\u00a9">\n<!ENTITY site "Example News">\n]>\n'
        '<rss version="2.0"><channel><title>T</title><item><title>&copy; 2024 &site;</title>'
        '<guid isPermaLink="false">1</guid></item></channel></rss>'
    ).encode()
    feed = parse(body, {"content-type": RSS_TYPE})
    assert feed.entries[0].title == "\u00a9 2024 &site;"
    assert feed.warning == "removed 2 entity declarations from the DTD (entity expansion is disabled)"


def test_utf16_that_does_not_decode_is_refused() -> None:
    # A UTF-16 byte order mark, then an odd number of bytes: no reliable reading exists.
    body = codecs.BOM_UTF16_LE + bomb("utf-16").encode("utf-16-le") + b"\x00"
    result, seconds = timed(body)
    assert isinstance(result, ParseError) and seconds < 1
    assert "\n" not in str(result) and "UTF-16" in str(result).upper()


def test_doctype_that_never_ends_is_refused_quickly() -> None:
    text = '<?xml version="1.0" encoding="utf-16"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + "x" * 50_000 + '">\n' + "&a;" * 20_000
    result, seconds = timed(text.encode("utf-16"))
    assert isinstance(result, ParseError) and seconds < 1
    assert "\n" not in str(result)


# --- legit feeds in other encodings -------------------------------------------------------

TITLE = "Caf\u00e9 na\u00efve \u2014 \u201cquoted\u201d"
JAPANESE = "\u6620\u753b\u4f1a\u793e\u304c\u4f1a\u5408"
CYRILLIC = "\u0413\u043e\u043b\u043b\u0438\u0432\u0443\u0434"


def feed_text(declared: str | None, title: str = TITLE, body: str = "R&#233;sum&#xE9; &amp; more") -> str:
    decl = f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else ""
    return (
        decl + '<rss version="2.0"><channel><title>Outlet</title><link>https://outlet.example/</link>'
        f"<item><title>{title}</title><guid>g1</guid><link>https://outlet.example/1</link>"
        f"<pubDate>Sat, 23 Mar 2024 09:30:00 GMT</pubDate><description>&lt;p&gt;{body}&lt;/p&gt;&lt;p&gt;Two&lt;/p&gt;</description></item>"
        "<item><title>Second &#233; &#x263A;</title><guid>g2</guid><description>Plain text.</description></item>"
        "</channel></rss>"
    )


def summary(feed: ParsedFeed) -> list[tuple[object, ...]]:
    return [(e.key, e.title, e.text, e.link, e.published, e.content_hash) for e in feed.entries]


# name -> (document bytes, headers, title used); each compared with the UTF-8 document.
LEGIT: dict[str, tuple[bytes, dict[str, str], str]] = {
    "utf-8 with BOM": (codecs.BOM_UTF8 + feed_text("utf-8").encode(), {"content-type": RSS_TYPE}, TITLE),
    "utf-16 with BOM": (feed_text("utf-16").encode("utf-16"), {"content-type": RSS_TYPE}, TITLE),
    "utf-16 with BOM, big-endian": (codecs.BOM_UTF16_BE + feed_text("utf-16").encode("utf-16-be"), {}, TITLE),
    "utf-16 with BOM, no declaration": (feed_text(None).encode("utf-16"), {}, TITLE),
    "utf-16le": (feed_text("utf-16le").encode("utf-16-le"), {"content-type": RSS_TYPE}, TITLE),
    "utf-16be": (feed_text("utf-16be").encode("utf-16-be"), {"content-type": RSS_TYPE}, TITLE),
    "utf-16le from HTTP": (feed_text(None).encode("utf-16-le"), {"content-type": RSS_TYPE + "; charset=UTF-16LE"}, TITLE),
    "utf-32 with BOM": (feed_text("utf-32").encode("utf-32"), {"content-type": RSS_TYPE}, TITLE),
    "cp1252": (feed_text("windows-1252").encode("cp1252"), {"content-type": RSS_TYPE}, TITLE),
    "iso-8859-1": (feed_text("iso-8859-1", "Caf\u00e9 na\u00efve").encode("latin-1"), {}, "Caf\u00e9 na\u00efve"),
    "iso-8859-1 from HTTP": (
        feed_text(None, "Caf\u00e9 na\u00efve").encode("latin-1"),
        {"content-type": "text/xml; charset=ISO-8859-1"},
        "Caf\u00e9 na\u00efve",
    ),
    "shift_jis": (feed_text("Shift_JIS", JAPANESE).encode("shift_jis"), {"content-type": RSS_TYPE}, JAPANESE),
    "shift_jis from HTTP": (
        feed_text(None, JAPANESE).encode("shift_jis"), {"content-type": RSS_TYPE + "; charset=Shift_JIS"}, JAPANESE,
    ),
    "koi8-r": (feed_text("koi8-r", CYRILLIC).encode("koi8-r"), {"content-type": RSS_TYPE}, CYRILLIC),
    "cp500 (EBCDIC)": (feed_text("cp500", "Caf\u00e9").encode("cp500"), {"content-type": RSS_TYPE}, "Caf\u00e9"),
    "utf-7": (feed_text("utf-7").encode("utf-7"), {"content-type": RSS_TYPE}, TITLE),
}


@pytest.mark.parametrize("name", list(LEGIT))
def test_legit_feed_parses_as_its_utf8_version(name: str) -> None:
    body, headers, title = LEGIT[name]
    feed = parse(body, headers)
    reference = parse(feed_text("utf-8", title).encode(), {"content-type": RSS_TYPE})
    assert summary(feed) == summary(reference)
    assert feed.entries[0].title == title
    assert feed.entries[0].text == "R\u00e9sum\u00e9 & more\n\nTwo"
    assert feed.entries[1].title == "Second \u00e9 \u263a"
    assert feed.title == "Outlet"


def test_wrong_http_charset_still_warns() -> None:
    # Claims ASCII (text/xml without charset), is UTF-8: read as UTF-8, with a warning as before.
    feed = parse(feed_text("utf-8").encode(), {"content-type": "text/xml"})
    assert feed.entries[0].title == TITLE
    assert feed.warning is not None and "declared as us-ascii, but parsed as utf-8" in feed.warning


# --- pathological prologs -------------------------------------------------------------------


def test_many_blank_lines_before_the_first_element() -> None:
    # feedparser's DOCTYPE patterns took 90 s on 40,000 of these.
    body = b'<?xml version="1.0"?>' + b"\n" * 200_000 + feed_text(None).encode()
    feed, seconds = timed(body)
    assert seconds < 1 and isinstance(feed, ParsedFeed)
    assert feed.entries[0].title == TITLE


def test_long_first_line_with_many_encoding_attributes() -> None:
    # feedparser's declaration pattern is quadratic on a long first line with quotes.
    body = b'<?xml version="1.0" encoding="' + b'encoding="x" ' * 20_000 + b"\n" + feed_text(None).encode()
    _, seconds = timed(body, {"content-type": RSS_TYPE})
    assert seconds < 1


# --- oversized entries ------------------------------------------------------------------------


def big_entry_feed(paragraphs: int, *, cdata: bool = True) -> bytes:
    html = "".join(f"<p>Paragraph {n} says the studios met on Tuesday about the plans.</p>\n" for n in range(paragraphs))
    content = f"<![CDATA[{html}]]>" if cdata else html.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>Long</title><link>https://long.example/</link>"
        f'<item><title>Huge</title><guid isPermaLink="false">huge</guid><description>{content}</description></item>'
        '<item><title>After</title><guid isPermaLink="false">after</guid><description>Small one.</description></item>'
        "</channel></rss>"
    ).encode()


@pytest.mark.parametrize("cdata", [True, False], ids=["cdata", "escaped"])
def test_huge_entry_is_cut_to_the_cap(cdata: bool) -> None:
    body = big_entry_feed(75_000 if cdata else 45_000, cdata=cdata)  # about 5 MB, 3.5 MB
    assert len(body) > 2 * MAX_ELEMENT_BYTES
    feed, seconds = timed(body, {"content-type": RSS_TYPE})
    assert isinstance(feed, ParsedFeed)
    assert seconds < 3, f"{seconds:.2f}s"
    huge, after = feed.entries
    assert MAX_ENTRY_TEXT // 2 < len(huge.text) <= MAX_ENTRY_TEXT
    # Cut at a paragraph break, never inside one.
    assert huge.text.startswith("Paragraph 0 says") and huge.text.endswith("about the plans.")
    assert huge.html is not None and len(huge.html) < 2 * MAX_ELEMENT_BYTES
    assert (after.key, after.text) == ("after", "Small one.")
    size = f"{MAX_ENTRY_TEXT // 1000} KB"
    assert feed.warning == f"1 entry longer than {size}: its text was cut to the first {size}"
    if cdata:
        # The cut is the same on every poll, so the entry stays unchanged.
        assert parse(body, {"content-type": RSS_TYPE}).entries[0].content_hash == huge.content_hash


def test_entry_under_the_cap_is_whole() -> None:
    feed = parse(big_entry_feed(1_000), {"content-type": RSS_TYPE})
    assert feed.warning is None
    assert feed.entries[0].text.count("Paragraph") == 1_000


def test_huge_plain_text_and_title_are_cut() -> None:
    words = "word " * 600_000
    body = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id>'
        f'<entry><id>urn:1</id><title type="text">{"t " * 5_000}</title><content type="text">{words}</content></entry></feed>'
    ).encode()
    feed = parse(body)
    (entry,) = feed.entries
    assert len(entry.text) <= MAX_ENTRY_TEXT and entry.text.startswith("word word")
    assert len(entry.title) <= MAX_TITLE
    assert feed.warning is not None and f"1 entry longer than {MAX_ENTRY_TEXT // 1000} KB" in feed.warning
