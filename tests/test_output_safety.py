"""No script, event handler or unsafe URL from a feed reaches any output or the stored HTML.

feedparser is run without its sanitizer and link resolver (tracker/parse.py reads each
entry's HTML once, for its text and a sanitized copy), so these tests poll hostile feeds
through the real pipeline (HTTP on loopback, `tracker poll`, a SQLite file) and read every
output: timeline html/atom/ics/json/csv/table, event text and json, digest preview text
and HTML, and the entries' stored HTML. Every hostile piece carries a marker (XSSMARK)
only where it would run (script code, handler, URL): a marker anywhere means the piece
got through.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from xml.sax.saxutils import escape

import icalendar
import pytest
from click.testing import CliRunner
from feedserver import FeedServer

from tracker.cli import cli
from tracker.parse import parse_feed

MARK = "XSSMARK"
# Schemes that run code or carry a document of their own.
UNSAFE_SCHEME = re.compile(r"(?:java|vb)script\s*:|data\s*:\s*(?:text|image/svg|application)", re.IGNORECASE)
# Elements no output may carry (the outputs' own markup uses none of them).
UNSAFE_ELEMENTS = {"script", "iframe", "frame", "object", "embed", "applet", "svg", "math", "form", "button",
                   "input", "base", "link", "textarea", "select", "noscript", "template", "frameset"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc", "poster", "background",
                  "cite", "codebase", "dynsrc", "lowsrc", "longdesc", "usemap", "srcset", "ping"}

# Each paragraph is a sentence on the topic with a date, so that a hostile piece leaking into
# the text would sit in a quote that every output shows.
HOSTILE_HTML = [
    # script and style, as written and in upper case; their text must not become prose
    "<p>The dock strike <script>alert('XSSMARK-script')</script>will begin on 2 April 2024, organisers said.</p>",
    '<p>The rail strike <SCRIPT type="text/javascript">document.write("XSSMARK-upper")</SCRIPT>will begin on 3 April 2024.</p>',
    "<p>The port strike <style>p { background: url(\"javascript:alert('XSSMARK-style')\") }</style>will begin on 4 April 2024.</p>",
    # event handlers on ordinary elements
    (
        "<p onmouseover=\"alert('XSSMARK-onmouseover')\">The bus strike <img src=\"pic.png\" "
        "onerror=\"alert('XSSMARK-onerror')\" alt=\"\">will begin on 5 April 2024.</p>"
    ),
    (
        "<p>The tram strike <b onclick=\"alert('XSSMARK-onclick')\" OnFocus=\"alert('XSSMARK-mixedcase')\">"
        "will begin</b> on 6 April 2024.</p>"
    ),
    # unsafe URLs: plain, entity-encoded, mixed case, split by whitespace, padded
    "<p>The taxi strike <a href=\"javascript:alert('XSSMARK-js')\">(statement)</a> will begin on 7 April 2024.</p>",
    (
        "<p>The ferry strike <a href=\"&#106;avascript:alert('XSSMARK-entity')\">(a)</a> "
        "<a href=\"&#x6A;&#x61;vascript&#x3A;alert('XSSMARK-hexentity')\">(b)</a> "
        # "&colon;" is no HTML 4 name: read as text, as feedparser did, so no scheme at all
        "<a href=\"javascript&colon;alert(1)\">(c)</a> will begin on 8 April 2024.</p>"
    ),
    (
        "<p>The airport strike <a href=\"JaVaScRiPt:alert('XSSMARK-case')\">(a)</a> "
        "<a href=\"java&#x09;script:alert('XSSMARK-tab')\">(b)</a> <a href=\"java\nscript:alert('XSSMARK-newline')\">(c)</a> "
        "<a href=\"  javascript:alert('XSSMARK-padded')\">(d)</a> will begin on 9 April 2024.</p>"
    ),
    (
        "<p>The bakery strike <a href=\"vbscript:msgbox('XSSMARK-vb')\">(a)</a> "
        "<a href=\"data:text/html;base64,WFNTTUFSSy1kYXRh#XSSMARK-data\">(b)</a> "
        "<img src=\"data:image/svg+xml,XSSMARK-svgdata\"> will begin on 10 April 2024.</p>"
    ),
    # embedded documents and plugins
    (
        "<p>The nurses' strike <iframe src=\"javascript:alert('XSSMARK-iframe')\"></iframe>"
        "<iframe srcdoc=\"&lt;script&gt;alert('XSSMARK-srcdoc')&lt;/script&gt;\"></iframe>will begin on 11 April 2024.</p>"
    ),
    (
        "<p>The miners' strike <object data=\"data:text/html,XSSMARK-object\"><param name=\"src\" value=\"XSSMARK-param\">"
        "</object><embed src=\"javascript:alert('XSSMARK-embed')\">will begin on 12 April 2024.</p>"
    ),
    "<p>The teachers' strike <applet code=\"XSSMARK-applet\">XSSMARK-applet-text</applet>will begin on 13 April 2024.</p>",
    # styles with expressions, SVG and MathML with scripts
    (
        "<p style=\"width: expression(alert('XSSMARK-expression'))\">The pilots' strike "
        "<span style=\"background-image: url(javascript:alert('XSSMARK-bgurl'))\">will begin</span> on 14 April 2024.</p>"
    ),
    (
        "<p>The cleaners' strike <svg onload=\"alert('XSSMARK-svgload')\"><script>alert('XSSMARK-svgscript')</script>"
        "<a xlink:href=\"javascript:alert('XSSMARK-xlink')\"><text x=\"0\" y=\"15\">XSSMARK-svgtext</text></a></svg>"
        "will begin on 15 April 2024.</p>"
    ),
    (
        "<p>The guards' strike <math><maction actiontype=\"statusline\" xlink:href=\"javascript:alert('XSSMARK-math')\">"
        "XSSMARK-mathtext</maction></math>will begin on 16 April 2024.</p>"
    ),
    # forms, refresh, base, stylesheet links
    (
        "<p>The porters' strike will begin on 17 April 2024.<form action=\"javascript:alert('XSSMARK-form')\"><button "
        "formaction=\"javascript:alert('XSSMARK-button')\">Go</button></form></p>"
    ),
    (
        "<p>The drivers' strike <meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('XSSMARK-meta')\">"
        "<base href=\"javascript:alert('XSSMARK-base')//\"><link rel=\"stylesheet\" href=\"javascript:alert('XSSMARK-link')\">"
        "will begin on 18 April 2024.</p>"
    ),
    # markup the two HTML readers might disagree on: unquoted handlers, a stray "<", noscript
    "<p>The chefs' strike <img src=x onerror=alert('XSSMARK-unquoted')>will begin on 19 April 2024 < soon.</p>",
    (
        "<p>The clerks' strike <noscript><img src=\"x\" onerror=\"alert('XSSMARK-noscript')\"></noscript>"
        "will begin on 20 April 2024.</p>"
    ),
    # a script whose code holds references (the sanitizer let those through as text)
    "<p>The grooms' strike <script>if (a &lt; b) { alert('XSSMARK-refscript') }</script>will begin on 21 April 2024.</p>",
    # relative links: stored absolute, against the feed's URL
    (
        "<p>The actors' strike <a href=\"/relative/page\">(details)</a> <img src=\"img/photo.png\"> "
        "will begin on 22 April 2024.</p>"
    ),
]

# Text about markup, escaped twice: it is prose, shown as text and never as markup.
QUOTED_MARKUP = "<p>The writers' strike will begin on 23 April 2024; its site said &lt;script&gt; is banned.</p>"


def rss_feed() -> str:
    items = []
    for i, fragment in enumerate([*HOSTILE_HTML, QUOTED_MARKUP]):
        items.append(
            f"<item><guid>h{i}</guid><title>Strike news {i}</title><link>/story/h{i}</link>"
            f"<pubDate>Sat, 23 Mar 2024 09:{i:02d}:00 +0000</pubDate>"
            f"<description>{escape(fragment)}</description></item>"
        )
    # Hostile entry links (a guid is the link when there is none) and a title with markup.
    items.append(
        "<item><guid>link1</guid><title>Strike &lt;b onclick=\"alert('XSSMARK-titleclick')\"&gt;vote&lt;/b&gt; "
        "&lt;i style=\"x:expression(alert('XSSMARK-titlestyle'))\"&gt;called&lt;/i&gt;</title>"
        "<link>javascript:alert('XSSMARK-entrylink')</link><pubDate>Sat, 23 Mar 2024 10:00:00 +0000</pubDate>"
        "<description>The vote on the strike is set for 24 April 2024.</description></item>"
        "<item><guid> JaVa&#x09;Script:alert('XSSMARK-guidlink')</guid><title>Strike ballot</title>"
        "<pubDate>Sat, 23 Mar 2024 10:01:00 +0000</pubDate>"
        "<description>The ballot on the strike closes on 27 April 2024.</description></item>"
        # feedparser types a title with a script element as plain text: it is text, and
        # shown as text (escaped) wherever markup is written.
        "<item><guid>text1</guid><title>Strike memo: &lt;script&gt;alert(1)&lt;/script&gt; is not HTML</title>"
        "<link>data:text/html,XSSMARK-datalink</link><pubDate>Sat, 23 Mar 2024 10:02:00 +0000</pubDate>"
        "<description>The memo on the strike is due on 28 April 2024.</description></item>"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Wire</title>'
        "<link>https://wire.test/</link>" + "".join(items) + "</channel></rss>"
    )


def atom_feed() -> str:
    """HTML content, XHTML content with handlers and SVG, and an HTML title."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atomic</title><id>urn:atomic</id>
<updated>2024-03-23T10:00:00Z</updated>
<entry><id>urn:a1</id><updated>2024-03-23T10:00:00Z</updated><link href="/a1"/>
<title type="html">{escape("Strike <img src=x onerror=alert('XSSMARK-atomtitle')>talks <script>alert('XSSMARK-atomtitle2')</script>end")}</title>
<content type="html">{escape(HOSTILE_HTML[0].replace('dock', 'atom dock').replace('2 April', '25 April'))}</content></entry>
<entry><id>urn:a2</id><updated>2024-03-23T10:00:00Z</updated><link href="/a2"/><title>Strike in XHTML</title>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p onclick="alert('XSSMARK-xhtmlclick')">The
glass strike <a href="javascript:alert('XSSMARK-xhtmljs')">(a)</a><script>alert('XSSMARK-xhtmlscript')</script>
will begin on 26 April 2024.</p><svg xmlns="http://www.w3.org/2000/svg" onload="alert('XSSMARK-xhtmlsvg')"><script>alert('XSSMARK-xhtmlsvgscript')</script></svg></div></content></entry>
</feed>"""


def config_text(tmp: Path, feeds: dict[str, str]) -> str:
    lines = [
        f"database: sqlite:///{tmp / 'tracker.db'}",
        "defaults: {full_text: never}",
        "topics:",
        "  strikes:",
        "    keywords: [strike*, vote]",
        "feeds:",
        *[f"  - name: {name}\n    url: '{url}'\n    timeout: 5s" for name, url in feeds.items()],
        "digest:",
        "  to: [desk@example.com]",
        "  from: Tracker <tracker@example.com>",
        "  smtp:",
        "    host: 127.0.0.1",
        "    port: 9",
        "    security: none",
    ]
    return "\n".join(lines) + "\n"


def invoke(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


@pytest.fixture(scope="module")
def polled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The hostile feeds polled once by `tracker poll`: (config, the feed server's base URL)."""
    tmp = tmp_path_factory.mktemp("safety")
    with FeedServer() as server:
        feeds = {
            "wire": server.feed("/news/wire.xml", rss_feed().encode("utf-8")),
            "atomic": server.feed("/news/atomic.xml", atom_feed().encode("utf-8"), content_type="application/atom+xml"),
        }
        config = tmp / "feeds.yaml"
        config.write_text(config_text(tmp, feeds), encoding="utf-8")
        out = invoke(config, "poll")
        base = server.url("/")
    assert "wire: ok" in out and "atomic: ok" in out, out
    yield config, base


class _Markup(HTMLParser):
    """Every element and attribute of an HTML document or fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def assert_no_marker(text: str, where: str) -> None:
    assert MARK not in text, f"{where}: {text[max(0, text.find(MARK) - 200): text.find(MARK) + 100]!r}"
    found = UNSAFE_SCHEME.search(text) or UNSAFE_SCHEME.search(html.unescape(text))
    assert found is None, f"{where}: unsafe URL {found.group(0)!r}"


def assert_safe_markup(document: str, where: str, *, base: str | None = None) -> list[str]:
    """No unsafe element, no handler, no style with code, every link absolute http(s)
    (or an anchor in the page); returns the links."""
    assert_no_marker(document, where)
    parser = _Markup()
    parser.feed(document)
    parser.close()
    links = []
    for tag, attrs in parser.tags:
        assert tag not in UNSAFE_ELEMENTS, f"{where}: <{tag}>"
        if tag == "meta":
            assert all(name != "http-equiv" or (value or "").lower() != "refresh" for name, value in attrs), where
        for name, value in attrs:
            assert not name.startswith("on"), f"{where}: <{tag} {name}={value!r}>"
            if name == "style":
                assert "expression" not in (value or "").lower() and "url(" not in (value or "").lower(), where
            if name in URL_ATTRIBUTES and tag != "meta":
                assert value is not None and (value.startswith(("http://", "https://", "#"))), f"{where}: {name}={value!r}"
                links.append(value)
    for style in parser.styles:
        assert "expression" not in style.lower() and "javascript" not in style.lower(), where
    if base is not None:
        assert all(link.startswith(("https://", "#", base)) for link in links), (where, links)
    return links


# --- the outputs ---------------------------------------------------------------------------


def test_the_articles_were_read_and_their_events_found(polled: tuple[Path, str]) -> None:
    config, _ = polled
    events = json.loads(invoke(config, "timeline", "--format", "json"))
    quotes = " ".join(str(m["quote"]) for e in events for m in e["mentions"])
    # The prose around every hostile piece is there: the outputs below had it all to show.
    for trade in ("dock", "rail", "port", "bus", "tram", "taxi", "ferry", "airport", "bakery", "nurses'", "miners'",
                  "teachers'", "pilots'", "cleaners'", "guards'", "porters'", "drivers'", "chefs'", "clerks'", "grooms'",
                  "actors'", "writers'", "glass"):
        assert f"{trade} strike" in quotes, (trade, quotes)
    assert "its site said <script> is banned" in quotes


@pytest.mark.parametrize("fmt", ["json", "csv", "table", "ics", "atom", "html"])
def test_timeline_formats(polled: tuple[Path, str], fmt: str) -> None:
    config, base = polled
    out = invoke(config, "timeline", "--format", fmt)
    assert_no_marker(out, fmt)
    if fmt == "json":
        for event in json.loads(out):
            for mention in event["mentions"]:
                assert_no_marker(json.dumps(mention), "json mention")
    if fmt == "ics":
        calendar = icalendar.Calendar.from_ical(out)
        for event in calendar.walk("VEVENT"):
            url = event.get("URL")
            assert url is None or str(url).startswith("http"), url
    if fmt == "atom":
        root = ET.fromstring(out)
        for element in root.iter():
            if element.get("type") == "html" and element.text:
                # What a feed reader renders: the escaped HTML, unescaped once.
                assert_safe_markup(element.text, "atom html content", base=base)
            href = element.get("href")
            assert href is None or href.startswith(("http://", "https://", "urn:", "tag:")), href
    if fmt == "html":
        assert_safe_markup(out, "html page", base=base)
        # Prose that quotes markup is shown as text, never as markup.
        assert "&lt;script&gt; is banned" in out


def test_event_text_and_json(polled: tuple[Path, str]) -> None:
    config, _ = polled
    for event in json.loads(invoke(config, "timeline", "--format", "json")):
        assert_no_marker(invoke(config, "event", str(event["id"])), "event text")
        assert_no_marker(invoke(config, "event", str(event["id"]), "--format", "json"), "event json")


def test_digest_preview_text_and_html(polled: tuple[Path, str]) -> None:
    config, base = polled
    text = invoke(config, "digest", "preview")
    assert "strike" in text
    assert_no_marker(text, "digest text")
    page = invoke(config, "digest", "preview", "--html")
    assert page.startswith("<!DOCTYPE html>")
    assert_safe_markup(page, "digest html", base=base)


def test_hostile_entry_links_are_dropped_and_markup_in_text_stays_text(polled: tuple[Path, str]) -> None:
    config, _ = polled
    events = json.loads(invoke(config, "timeline", "--format", "json"))
    mentions = {str(m["title"]): m for e in events for m in e["mentions"]}
    # The articles are there, titles as text, without their links.
    assert mentions["Strike vote called"]["url"] is None
    assert mentions["Strike ballot"]["url"] is None
    memo = "Strike memo: <script>alert(1)</script> is not HTML"
    assert mentions[memo]["url"] is None
    page = invoke(config, "timeline", "--format", "html")
    assert "Strike memo: &lt;script&gt;alert(1)&lt;/script&gt; is not HTML" in page


# --- what is stored ------------------------------------------------------------------------


def stored(config: Path) -> list[tuple[str, str, str | None, str | None]]:
    with sqlite3.connect(config.parent / "tracker.db") as db:
        rows: list[tuple[str, str, str | None, str | None]] = db.execute(
            "SELECT title, text, html, title_html FROM entries"
        ).fetchall()
    return rows


def test_stored_html_is_sanitized_and_its_links_absolute(polled: tuple[Path, str]) -> None:
    config, base = polled
    rows = stored(config)
    assert len(rows) == len(HOSTILE_HTML) + 6
    links: list[str] = []
    for title, text, body, title_html in rows:
        assert_no_marker(title + "\n" + text, "stored text")
        for fragment in (body, title_html):
            if fragment is not None:
                links += assert_safe_markup(fragment, "stored html", base=base)
    # Relative links point at the publisher, resolved against the feed's URL.
    assert f"{base}relative/page" in links and f"{base}news/img/photo.png" in links
    # The harmless markup is kept.
    assert any(body and "<p>" in body and "<b>" in body for _, _, body, _ in rows)


def test_stored_html_has_no_handlers_even_as_text() -> None:
    """The sanitized copy (not only its rendering) is free of handlers and unsafe URLs, on
    both ways tracker reads HTML: markup the stdlib parser reads as feedparser's SGML parser
    did, and odd markup left to feedparser."""
    now = datetime(2024, 3, 25, tzinfo=timezone.utc)
    for fragment in HOSTILE_HTML:
        doc = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><item><guid>g</guid>'
            f"<description>{escape(fragment)}</description></item></channel></rss>"
        ).encode()
        (entry,) = parse_feed(doc, {"content-type": "application/rss+xml"}, url="https://pub.example/feed/", now=now).entries
        assert entry.html is not None
        assert_safe_markup(entry.html, fragment, base="https://pub.example/")
        assert_no_marker(entry.text, fragment)
        assert "strike" in entry.text
