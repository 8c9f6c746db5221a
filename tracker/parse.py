"""Feed documents (bytes + headers) to plain entries, via feedparser."""

from __future__ import annotations

import calendar
import codecs
import functools
import hashlib
import html.entities
import io
import re
import time
import urllib.parse
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

import feedparser

from tracker._html import (
    _BLOCK,
    _DROPPED,
    _LINE,
    _MARKERS,
    _PARA,
    _TextExtractor,
    _text_of,
    cut_text,
    html_to_text,
    html_to_text_prefix,
    looks_like_html,
    plain_to_text,
)
from tracker.errors import ParseError

# An entry's text is cut to its first MAX_ENTRY_TEXT characters ("100 KB" in messages),
# the text events are extracted from and that is stored. Extraction reads about 30 KB of
# on-topic text a second, so one huge entry must not cost minutes (a 5 MB entry cost
# 225 s through `tracker poll`; cut to 100 KB 7 s, to 200 KB 13 s). Long reads are
# shorter than this; a dump of a whole book or site is not.
MAX_ENTRY_TEXT = 100_000
# At most this much of an entry's HTML is converted to text: markup-heavy HTML yields
# less text than the cap, never more work than this.
MAX_ENTRY_HTML = 3 * MAX_ENTRY_TEXT
# A title longer than this is a body in the wrong element; it is extracted from too.
MAX_TITLE = 1_000
# Element content longer than this (bytes) is cut in the document itself, before
# feedparser's sanitizer and link resolver, which take over a second a megabyte (and more
# than linear time: 17 s for one 15 MB entry). Half as much again as MAX_ENTRY_HTML: an
# element's bytes are more than its characters (escaped markup, non-Latin UTF-8), and the
# cut should rarely remove what html_to_text_prefix would read.
MAX_ELEMENT_BYTES = MAX_ENTRY_HTML * 3 // 2

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def _cache_base_resolution() -> None:
    """Give feedparser a cached make_safe_absolute_uri.

    At every element of a document with a URL, feedparser resolves the base URI against
    itself (FeedParserMixin.unknown_starttag): a urljoin per element, an eighth of its
    time. The function is pure (two strings in, one out, nothing else read but a constant
    list of schemes), so the cache changes no result; a document has few distinct bases.
    """
    from feedparser import mixin

    original = getattr(mixin, "make_safe_absolute_uri", None)
    if original is None or getattr(original, "tracker_cached", False):
        return
    cached = functools.lru_cache(maxsize=256)(original)

    def make_safe_absolute_uri(base: Any, rel: Any = None) -> Any:
        try:
            return cached(base, rel)
        except TypeError:  # unhashable: never from feedparser itself, but stay safe
            return original(base, rel)

    make_safe_absolute_uri.tracker_cached = True  # type: ignore[attr-defined]
    mixin.make_safe_absolute_uri = make_safe_absolute_uri


_cache_base_resolution()
# Dates before this are misreadings (feeds did not exist) or placeholders.
_EARLIEST_YEAR = 1990
# Publishers in time zones ahead of UTC and slightly fast clocks are normal; a day is not.
_FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class ParsedEntry:
    """One feed entry reduced to plain values; `key` identifies it within its feed."""

    key: str
    guid: str | None
    link: str | None
    title: str
    title_html: str | None
    text: str
    html: str | None
    author: str | None
    published: datetime | None
    published_raw: str | None
    updated: datetime | None
    content_hash: str


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed document: channel metadata, its entries, and what went wrong but was survived."""

    title: str | None
    link: str | None
    entries: list[ParsedEntry]
    warning: str | None
    ttl: int | None
    # feedparser's own entry count, before duplicates were dropped (for robustness reports).
    raw_entry_count: int = 0
    # feedparser's name for the format, e.g. "rss20", "atom10"; "" when unrecognised.
    version: str = ""


def parse_feed(
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    url: str | None = None,
    now: datetime,
) -> ParsedFeed:
    """Parse a fetched feed document.

    `headers` are the HTTP response headers (any case); `url` is where the document came
    from and is the base for relative links unless a Content-Location header says
    otherwise. `now` bounds plausible entry dates. Raises ParseError when the document
    yields no feed (an HTML page, an empty body, unrecoverable XML) or cannot be made
    safe to parse.

    Identity: an entry's key is its guid when no other entry of the document has the
    same guid, else its link, else a hash of its title and content. When several entries
    share a guid, each is told apart by its link when their links are all present and
    different (key "guid#link"), otherwise by its position among the entries sharing the
    guid in document order (the first keeps the bare guid, then "guid#2", "guid#3", ...);
    entries sharing a link and no guid are numbered the same way. Exact duplicates
    (same key, title, text and link) count once. The content hash is never part of a key,
    so a changed entry keeps its key and updates the stored one; it only breaks a tie
    when a key made this way equals another entry's own key.
    """
    if not body or not body.strip():
        raise ParseError("empty document")
    now = now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)
    response_headers = {key.lower(): value for key, value in (headers or {}).items()}
    if url and "content-location" not in response_headers:
        response_headers["content-location"] = url

    warnings: list[str] = []
    body, encoding_problem = _to_utf8(body, response_headers)
    body, removed = _defuse_entities(body)
    if removed:
        warnings.append(
            f"removed {removed} entity declaration{'s' if removed != 1 else ''} from the DTD "
            "(entity expansion is disabled)"
        )
    body, elements_cut = _cut_long_content(body)
    parser_headers = dict(response_headers)
    if "content-type" in parser_headers:
        # The document is UTF-8 now: a charset from the server would make feedparser
        # decode it a second time, wrongly.
        parser_headers["content-type"] = _with_utf8_charset(parser_headers["content-type"])

    try:
        # Always a stream, never a string: feedparser treats strings as URLs or file names.
        result: Any = feedparser.parse(
            io.BytesIO(body),
            response_headers=parser_headers,
            # feedparser would run two passes of its slow SGML parser over every HTML
            # element (summary and content, titles, the feed's subtitle...) to sanitize it
            # and resolve its links: over a third of its time. Only the one element an
            # entry's text comes from is read, by _read_html, which sanitizes what it keeps
            # and resolves its links in the same pass that reduces it to text.
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except Exception as exc:  # feedparser is a large untrusted-input parser; contain it here
        raise ParseError(f"the feed parser failed: {type(exc).__name__}: {exc}") from exc

    raw_entries: list[Any] = list(result.get("entries") or [])
    version = str(result.get("version") or "")
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if problem is None or isinstance(problem, _ENCODING_PROBLEMS):
        # feedparser saw UTF-8; what the document really declared is known here.
        problem = encoding_problem
    bozo_message = _describe_bozo(problem)

    # A well-formed feed that is empty right now (a new blog, a cleared feed) is healthy;
    # only a document that is no feed, or broken beyond recovery, is an error.
    if not raw_entries and (not version or bozo_message):
        raise ParseError(_why_no_entries(body, response_headers, version, bozo_message))

    cut = 0
    parsed: list[ParsedEntry] = []
    for raw in raw_entries:
        entry, was_cut = _entry(raw, now)
        parsed.append(entry)
        cut += was_cut
    # An element cut in the document may still give less than MAX_ENTRY_TEXT of text
    # (markup-heavy, or non-Latin UTF-8); it was cut all the same.
    cut = max(cut, elements_cut)
    entries, duplicates = _identify(parsed)
    # Keys and content hashes were made of the links as the feed gave them: identity and
    # change detection stay what they were; a link that would run code is not kept.
    entries = [entry if _safe_link(entry.link) == entry.link else replace(entry, link=None) for entry in entries]

    if bozo_message:
        recovered = len(raw_entries)
        warnings.append(f"{bozo_message}, {recovered} {_plural(recovered, 'entry', 'entries')} recovered")
    if duplicates:
        warnings.append(f"{duplicates} duplicate {_plural(duplicates, 'entry', 'entries')} skipped")
    if cut:
        size = f"{MAX_ENTRY_TEXT // 1000} KB"
        warnings.append(
            f"{cut} {_plural(cut, 'entry', 'entries')} longer than {size}: "
            f"{_plural(cut, 'its text was', 'their text was')} cut to the first {size}"
        )

    feed: Any = result.get("feed") or {}
    title, _ = _title(feed)
    return ParsedFeed(
        title=_no_nul(title) or None,
        link=_no_nul(_clean(feed.get("link"))),
        entries=[_entry_without_nul(entry) for entry in entries],
        warning=_no_nul("; ".join(warnings)) or None,
        ttl=_ttl(feed.get("ttl")),
        raw_entry_count=len(raw_entries),
        version=version,
    )


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


# --- entries -----------------------------------------------------------------------


def _entry(raw: Any, now: datetime) -> tuple[ParsedEntry, bool]:
    """The entry (keyed by guid, link or hash; _identify settles shared keys) and
    whether its text was cut to MAX_ENTRY_TEXT."""
    title, title_html = _title(raw)
    text, html, was_cut = _content(raw)
    guid = _clean(raw.get("id"))
    link = _clean(raw.get("link"))
    if guid:
        key = guid
    elif link:
        key = link
    else:
        # Nothing stable to go by: the content itself is the identity (an edit makes a
        # new entry, unavoidably). The HTML in it is feedparser's sanitized copy, as it was
        # before tracker sanitized HTML itself, so these keys stay what they were.
        identity = _identity_html(raw) if html is not None else None
        key = "sha256:" + _sha256(title, identity if identity is not None else text)

    published_raw = _clean(raw.get("published"))
    # dict.get: FeedParserDict.get("updated") silently answers with the published date.
    updated_raw = _clean(dict.get(raw, "updated"))
    published = _plausible(raw.get("published_parsed"), published_raw, now) or _fallback_date(
        raw.get("published_parsed"), published_raw, now
    )
    updated = _plausible(dict.get(raw, "updated_parsed"), updated_raw, now) or _fallback_date(
        dict.get(raw, "updated_parsed"), updated_raw, now
    )
    if published is None:
        # RSS 1.0 dc:date and Atom feeds without <published> only give an update time;
        # it is still a far better publication estimate than the time we first saw it.
        published = updated
    if published_raw is None:
        published_raw = updated_raw

    author = _clean(raw.get("author"))
    entry = ParsedEntry(
        key=key,
        guid=guid,
        link=link,
        title=title,
        title_html=title_html,
        text=text,
        html=html,
        author=html_to_text(author) if author and looks_like_html(author) else author,
        published=published,
        published_raw=published_raw,
        updated=updated,
        content_hash=_sha256(title, text, link or ""),
    )
    return entry, was_cut


def _identify(entries: list[ParsedEntry]) -> tuple[list[ParsedEntry], int]:
    """The entries with keys unique in the document (the rule in parse_feed's docstring),
    in document order, and how many exact duplicates were dropped."""
    groups: dict[str, list[ParsedEntry]] = {}
    hashes: dict[str, set[str]] = {}
    unique: list[ParsedEntry] = []
    duplicates = 0
    for entry in entries:
        seen = hashes.setdefault(entry.key, set())
        if entry.content_hash in seen:
            # The same entry twice in one document is one entry.
            duplicates += 1
            continue
        seen.add(entry.content_hash)
        groups.setdefault(entry.key, []).append(entry)
        unique.append(entry)
    made: dict[int, str] = {}
    for key, group in groups.items():
        if len(group) == 1:
            continue
        links = {entry.link for entry in group}
        if group[0].guid is not None and None not in links and len(links) == len(group):
            # Publishers that reuse one guid usually still link each item to its page:
            # the link depends neither on the order of the items nor on their content.
            made.update((id(entry), f"{key}#{entry.link}") for entry in group)
        else:
            made.update((id(entry), f"{key}#{n}") for n, entry in enumerate(group[1:], start=2))
    if not made:
        return unique, duplicates
    taken = set(groups)
    kept: list[ParsedEntry] = []
    for entry in unique:
        made_key = made.get(id(entry))
        if made_key is None:
            kept.append(entry)
            continue
        if made_key in taken:
            # Another entry's own guid or link looks like this made-up key; the content
            # tells this one apart (a key that changes with the content, but this is rare).
            made_key = f"{made_key}#{entry.content_hash[:16]}"
        taken.add(made_key)
        kept.append(replace(entry, key=made_key))
    return kept, duplicates


def _title(node: Any) -> tuple[str, str | None]:
    value = node.get("title")
    if not value:
        return "", None
    detail = node.get("title_detail") or {}
    # feedparser already types RSS titles that contain markup as HTML; an Atom
    # type="text" title is literal, "<div>" and all.
    if detail.get("type") in _HTML_TYPES:
        read = _read_html(value, detail, MAX_TITLE)
        if read.empty:
            return "", None
        # The markup of a title that long is not a title's; nothing reads it but the text.
        html = read.html if len(read.html) <= 20 * MAX_TITLE else None
        return cut_text(" ".join(read.text.split()), MAX_TITLE), html
    return cut_text(" ".join(value[:MAX_ENTRY_HTML].split()), MAX_TITLE), None


def _content(raw: Any) -> tuple[str, str | None, bool]:
    """(plain text, sanitized HTML or None, whether it was cut): full content when
    present, else the summary; the text at most MAX_ENTRY_TEXT characters, the HTML what
    was read of it."""
    candidates: list[Any] = [c for c in (raw.get("content") or []) if c.get("value")]
    # Feeds often carry both a plain and an HTML rendering; the HTML keeps paragraphs.
    candidates.sort(key=lambda c: c.get("type") not in _HTML_TYPES)
    if raw.get("summary"):
        detail = raw.get("summary_detail") or {}
        summary = {"type": detail.get("type", "text/html"), "value": raw.get("summary"), "base": detail.get("base")}
        candidates.append(summary)
    for chosen in candidates:
        value: str = chosen["value"]
        if chosen.get("type") in _HTML_TYPES:
            read = _read_html(value, chosen, MAX_ENTRY_TEXT)
            if read.empty:
                # Nothing but script and the like: feedparser's sanitizer left nothing of
                # it, and the next rendering was read instead.
                continue
            cut = cut_text(read.text, MAX_ENTRY_TEXT)
            return cut, read.html, read.partial or len(cut) < len(read.text)
        text = plain_to_text(value[:MAX_ENTRY_HTML])
        cut = cut_text(text, MAX_ENTRY_TEXT)
        return cut, None, len(value) > MAX_ENTRY_HTML or len(cut) < len(text)
    return "", None, False


def _identity_html(raw: Any) -> str | None:
    """The HTML an entry with neither guid nor link was keyed by: feedparser's sanitized
    copy of the element its text comes from (links resolved), up to where the text was
    read. Only such entries pay for feedparser's two passes over their HTML."""

    def sanitized(value: str, detail: Any) -> str:
        base = detail.get("base")
        return _feedparser_sanitized(value, base if isinstance(base, str) else "", detail.get("type") or "text/html")

    candidates: list[tuple[str, Any]] = []
    for detail in raw.get("content") or []:
        value = detail.get("value")
        if value and detail.get("type") in _HTML_TYPES:
            value = sanitized(value, detail)
        if value:
            candidates.append((value, detail))
    candidates.sort(key=lambda c: c[1].get("type") not in _HTML_TYPES)
    if not candidates and raw.get("summary"):
        detail = raw.get("summary_detail") or {}
        value = raw.get("summary")
        if detail.get("type", "text/html") in _HTML_TYPES:
            value = sanitized(value, {"type": "text/html", **detail})
        if value:
            candidates = [(value, {"type": "text/html", **detail})]
    if not candidates or candidates[0][1].get("type") not in _HTML_TYPES:
        return None
    value = candidates[0][0]
    _, read = html_to_text_prefix(value, MAX_ENTRY_TEXT, MAX_ENTRY_HTML)
    if read < len(value):
        tag = value.rfind("<", 0, read)
        value = value[: tag if tag > 0 else read]
    return value


# --- entry HTML: text and a sanitized copy, in one pass ---------------------------------
#
# feedparser's sanitizer (an SGML parser) used to clean every HTML element before the
# stdlib HTML parser reduced the chosen one to text. _EntryHTML does both in one pass of
# the stdlib parser, and reads the markup as the two did together, so texts (and the
# content hashes made of them) stay what they were: elements outside feedparser's list are
# transparent (their text kept, no paragraph break), the content of script, style and
# applet is dropped (an end tag without a start counts down as feedparser's did), that of
# noscript, svg and math too. The sanitized copy keeps a narrower list of elements and
# attributes, no SVG or MathML, and only links with a safe scheme, made absolute.

# The elements feedparser's sanitizer kept (feedparser.sanitizer._HTMLSanitizer).
_SANITIZER_KEPT = frozenset(
    {
        "a", "abbr", "acronym", "address", "area", "article", "aside", "audio", "b", "big", "blockquote", "br",
        "button", "canvas", "caption", "center", "cite", "code", "col", "colgroup", "command", "datagrid",
        "datalist", "dd", "del", "details", "dfn", "dialog", "dir", "div", "dl", "dt", "em", "event-source",
        "fieldset", "figcaption", "figure", "font", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "i", "img", "input", "ins", "kbd", "keygen", "label", "legend", "li", "m", "map", "menu", "meter",
        "multicol", "nav", "nextid", "noscript", "ol", "optgroup", "option", "output", "p", "pre", "progress", "q",
        "s", "samp", "section", "select", "small", "sound", "source", "spacer", "span", "strike", "strong", "sub",
        "sup", "table", "tbody", "td", "textarea", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul", "var",
        "video",
    }
)
# Their content was dropped (the sanitizer's unacceptable_elements_with_end_tag).
_SANITIZER_DROPPED = frozenset({"applet", "script", "style"})
_SVG_ELEMENTS = frozenset(
    {
        "a", "animate", "animatecolor", "animatemotion", "animatetransform", "circle", "defs", "desc", "ellipse",
        "font-face", "font-face-name", "font-face-src", "foreignobject", "g", "glyph", "hkern", "line",
        "lineargradient", "marker", "metadata", "missing-glyph", "mpath", "path", "polygon", "polyline",
        "radialgradient", "rect", "set", "stop", "svg", "switch", "text", "title", "tspan", "use",
    }
)
_MATHML_ELEMENTS = frozenset(
    {
        "annotation", "annotation-xml", "maction", "maligngroup", "malignmark", "math", "menclose", "merror",
        "mfenced", "mfrac", "mglyph", "mi", "mlabeledtr", "mlongdiv", "mmultiscripts", "mn", "mo", "mover",
        "mpadded", "mphantom", "mprescripts", "mroot", "mrow", "ms", "mscarries", "mscarry", "msgroup", "msline",
        "mspace", "msqrt", "msrow", "mstack", "mstyle", "msub", "msubsup", "msup", "mtable", "mtd", "mtext", "mtr",
        "munder", "munderover", "none", "semantics",
    }
)
_SVG_NS = "http://www.w3.org/2000/svg"
_MATHML_NS = "http://www.w3.org/1998/Math/MathML"
# Elements whose end tag feedparser never wrote.
_VOID = frozenset(
    {
        "area", "base", "basefont", "br", "col", "command", "embed", "frame", "hr", "img", "input", "isindex",
        "keygen", "link", "meta", "param", "source", "track", "wbr",
    }
)

# What the stored copy keeps: text structure, tables, images and media; no forms, no
# scripting surface, no styles.
_STORED_ELEMENTS = frozenset(
    {
        "a", "abbr", "acronym", "address", "article", "aside", "audio", "b", "big", "blockquote", "br", "caption",
        "center", "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn", "dir", "div", "dl", "dt", "em",
        "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "i", "img",
        "ins", "kbd", "li", "nav", "ol", "p", "pre", "q", "s", "samp", "section", "small", "source", "span",
        "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u",
        "ul", "var", "video",
    }
)
_STORED_ATTRIBUTES = frozenset(
    {
        "abbr", "align", "alt", "axis", "border", "cellpadding", "cellspacing", "char", "charoff", "cite", "class",
        "clear", "color", "cols", "colspan", "compact", "controls", "coords", "datetime", "dir", "face", "headers",
        "height", "href", "hreflang", "hspace", "label", "lang", "loop", "nowrap", "poster", "rel", "rev", "rows",
        "rowspan", "rules", "scope", "shape", "size", "span", "src", "start", "summary", "title", "type", "valign",
        "value", "vspace", "width", "xml:lang",
    }
)
_URL_ATTRIBUTES = frozenset({"href", "src", "cite", "poster"})
# feedparser's list (feedparser.urls.ACCEPTABLE_URI_SCHEMES), without file:, which a
# remote feed has no business pointing a reader at.
_SAFE_SCHEMES = frozenset(
    {
        "ftp", "gopher", "h323", "hdl", "http", "https", "imap", "magnet", "mailto", "mms", "news", "nntp",
        "prospero", "rsync", "rtsp", "rtspu", "sftp", "shttp", "sip", "sips", "snews", "svn", "svn+ssh", "telnet",
        "wais", "aim", "callto", "cvs", "facetime", "feed", "git", "gtalk", "irc", "ircs", "irc6", "itms", "msnim",
        "skype", "ssh", "smb", "ymsg",
    }
)
# What a browser ignores in a URL: tab and line breaks anywhere, C0 controls and spaces at
# either end ("java\tscript:" is javascript:).
_URL_IGNORED = re.compile("[\t\n\r]")
_URL_EDGES = "".join(map(chr, range(0x21)))
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")

# The stdlib parser reads well-formed markup as feedparser's SGML parser did, with three
# differences that _as_feedparser_read removes: "<!x" that is no comment, DOCTYPE or
# marked section is text; a named reference is read when HTML 4 names it, even without
# its ";" ("&hellip" is "\u2026"), and otherwise loses its ";" ("&foo;" reads "&foo").
_LOOSE_DECLARATION = re.compile(r"<!((?!DOCTYPE|--|\[))", re.IGNORECASE)
_ENTITY_REFERENCE = re.compile(r"&([a-zA-Z][-.a-zA-Z0-9]*)(?:;|(?=[^a-zA-Z0-9]))")
_HTML4_ENTITIES = frozenset(html.entities.name2codepoint) | {"apos"}
# Where the two parsers part, and _read_html lets feedparser read the element as it did:
# a start tag that is not plainly well-formed (a "<" before its end, unbalanced quotes, a
# name the SGML parser reads shorter, "<name/..." shorthand; "a<b" in text counts too), an
# end tag with more than a name, "<>", a "<" or "&" right before markup or at the end (text
# from the sanitizer, where they could meet what followed a tag it removed), a processing
# instruction, a DOCTYPE or marked section, a comment that never ends (the sanitizer
# dropped all after it), and a reference
# inside script, style or applet (the sanitizer hid their text, not their references:
# "&lt;" in a script's code was "<" in the text).
_ODD_START_TAG = re.compile(
    r"""<(?![a-zA-Z][-_.:a-zA-Z0-9]*(?:\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"<]*"|'[^'<]*'|[^\s"'<>`=]+))?)*\s*/?>)[a-zA-Z]"""
)
_ODD_END_TAG = re.compile(r"</(?![a-zA-Z][-_.:a-zA-Z0-9]*\s*>)")
_ODD_MARKUP = re.compile(
    r"<(?:[<>?]|!(?:doctype|\[)|$)|&(?:#[xX]?[0-9a-fA-F]*|[a-zA-Z][-.a-zA-Z0-9]*)?<", re.IGNORECASE
)
_COMMENT_END = re.compile(r"--\s*>")
# In markup that passed the checks above, these are the tags themselves.
_HIDING_TAG = re.compile(r"<(/?)(?:script|style|applet)(?=[\s/>])([^>]*)>", re.IGNORECASE)
_REFERENCE_START = re.compile(r"&[#a-zA-Z]")
# "<name/>": feedparser closed it at once; "<name attr/>" only in XHTML content.
_SHORT_TAG = re.compile(r"<[^<>\s]+?\s*/>")


def _reference(match: re.Match[str]) -> str:
    name = match.group(1)
    return f"&{name};" if name in _HTML4_ENTITIES else f"&amp;{name}"


def _as_feedparser_read(fragment: str) -> str:
    if "<!" in fragment:
        fragment = _LOOSE_DECLARATION.sub(r"&lt;!\1", fragment)
    if "&" in fragment:
        fragment = _ENTITY_REFERENCE.sub(_reference, fragment)
    return fragment


def _reads_alike(fragment: str, xhtml: bool) -> bool:
    """Whether the stdlib parser reads `fragment` (after _as_feedparser_read) as
    feedparser's SGML parser did."""
    if _ODD_START_TAG.search(fragment) or _ODD_MARKUP.search(fragment):
        return False
    if "</" in fragment and _ODD_END_TAG.search(fragment):
        return False
    comment = fragment.rfind("<!--")
    if comment >= 0 and _COMMENT_END.search(fragment, comment + 4) is None:
        return False
    return "&" not in fragment or not _hidden_reference(fragment, xhtml, comments=comment >= 0)


def _hidden_reference(fragment: str, xhtml: bool, comments: bool) -> bool:
    """Whether a reference stands where the sanitizer hid text: between a script, style
    or applet start tag and its end tag (an end tag without a start hid all after it)."""
    depth = 0
    hidden_from = 0
    for tag in _HIDING_TAG.finditer(fragment):
        if comments:
            return True  # a tag in a comment is none: not worth telling apart
        was = depth
        closing, rest = tag.groups()
        if closing:
            depth -= 1
        elif not rest.endswith("/") or not (xhtml or not rest[:-1].strip()):
            # "<script/>" and, in XHTML, "<script src=x/>" end where they start.
            depth += 1
        if not was and depth:
            hidden_from = tag.end()
        elif was and not depth and _REFERENCE_START.search(fragment, hidden_from, tag.start()):
            return True
    return bool(depth) and _REFERENCE_START.search(fragment, hidden_from) is not None


# Schemes whose links run code or carry a document of their own: such an entry link is
# not stored (feedparser never checked entry links; the outputs show only http(s) as links,
# but JSON, CSV and the event text print the link).
_CODE_SCHEMES = frozenset({"javascript", "vbscript", "livescript", "data"})


def _safe_link(link: str | None) -> str | None:
    if link is None:
        return None
    scheme = _SCHEME.match(_URL_IGNORED.sub("", link).strip(_URL_EDGES))
    return None if scheme is not None and scheme.group(1).lower() in _CODE_SCHEMES else link


def _safe_url(value: str, base: str) -> str | None:
    """`value` made absolute against `base`, or None unless its scheme is a safe one."""
    url = _URL_IGNORED.sub("", value).strip(_URL_EDGES)
    scheme = _SCHEME.match(url)
    if scheme is None:
        if not base:
            # Relative with nothing to resolve against: it stays on whatever page shows it.
            return url
        try:
            url = urllib.parse.urljoin(base, url)
        except ValueError:
            return None
        scheme = _SCHEME.match(url)
        if scheme is None:
            return url if not _SCHEME.match(base) else None
    return url if scheme.group(1).lower() in _SAFE_SCHEMES else None


class _EntryHTML(_TextExtractor):
    """The text of an entry's HTML (as html_to_text read feedparser's sanitized copy) and
    a sanitized copy of it, with links made absolute against `base`."""

    def __init__(self, base: str, xhtml: bool) -> None:
        super().__init__()
        self.html: list[str] = []
        self.empty = True
        self._base = base
        self._xhtml = xhtml
        # feedparser's sanitizer state: inside script/style/applet (an unmatched end tag
        # makes it negative, and that too hides all text, as it did), SVG, MathML.
        self._hidden = 0
        self._svg = 0
        self._math = 0

    def set_cdata_mode(self, elem: str, *args: object, **kwargs: object) -> None:
        # feedparser's SGML parser read script and style content as markup, not raw text
        # (what it hid is hidden here too: see _hidden).
        pass

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs)
        if self._xhtml or _SHORT_TAG.fullmatch(self.get_starttag_text() or ""):
            self.handle_endtag(tag)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SANITIZER_KEPT or self._svg:
            if tag in _SANITIZER_DROPPED:
                self._hidden += 1
            if tag == "svg" or tag == "math":
                namespace = _SVG_NS if tag == "svg" else _MATHML_NS
                values = [value if value is not None else name for name, value in attrs if name == "xmlns"]
                # In text/html (not XHTML) the sanitizer took a missing or empty xmlns for the right one.
                if (not self._xhtml and (not values or not values[-1])) or namespace in values:
                    if tag == "svg":
                        self._svg += 1
                    else:
                        self._math += 1
            foreign = (self._math and tag in _MATHML_ELEMENTS) or (self._svg and tag in _SVG_ELEMENTS)
            if not foreign and tag not in _SANITIZER_KEPT:
                return
        self.empty = False
        if tag in _DROPPED:
            self._dropped_depth += 1
        elif tag == "br":
            self.parts.append(_LINE)
        elif tag in _BLOCK:
            self.parts.append(_PARA)
        if tag in _STORED_ELEMENTS and not (self._svg or self._math):
            self.html.append(f"<{tag}{self._attributes(attrs)}>")

    def _attributes(self, attrs: list[tuple[str, str | None]]) -> str:
        out = []
        seen = set()
        for name, value in attrs:
            if name not in _STORED_ATTRIBUTES or name in seen:
                continue
            seen.add(name)
            if value is None:
                out.append(f" {name}")
                continue
            if name in _URL_ATTRIBUTES:
                url = _safe_url(value, self._base)
                if url is None:
                    continue
                value = url
            out.append(f' {name}="{escape(value)}"')
        return "".join(out)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _SANITIZER_KEPT:
            if tag in _SANITIZER_DROPPED:
                self._hidden -= 1
            if self._math and tag in _MATHML_ELEMENTS:
                if tag == "math":
                    self._math -= 1
            elif self._svg and tag in _SVG_ELEMENTS:
                if tag == "svg":
                    self._svg -= 1
            else:
                return
        if tag in _VOID:
            return
        self.empty = False
        if tag in _DROPPED:
            self._dropped_depth = max(0, self._dropped_depth - 1)
        elif tag in _BLOCK:
            self.parts.append(_PARA)
        if tag in _STORED_ELEMENTS and not (self._svg or self._math):
            self.html.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self.empty and not data.isspace():
            self.empty = False
        if not self._dropped_depth:
            self.parts.append(_MARKERS.sub("", data))
        if not (self._svg or self._math):
            self.html.append(escape(data, quote=False))

    def handle_comment(self, data: str) -> None:
        # feedparser's sanitizer kept comments: one makes an element non-empty.
        self.empty = False


@dataclass(frozen=True)
class _Read:
    text: str
    html: str
    # Less than the whole fragment was read (the text limit or MAX_ENTRY_HTML).
    partial: bool
    # Nothing feedparser's sanitizer would have kept (only script and the like, or blanks).
    empty: bool


# How much HTML _read_html feeds the parser between looks at the text so far.
_CHUNK = 64 * 1024


def _read_html(fragment: str, detail: Any, limit: int) -> _Read:
    """Text and sanitized copy of the beginning of an HTML element's value (`detail` is
    feedparser's detail of it: type and base URL).

    Reads at most MAX_ENTRY_HTML characters, and stops early once the text is longer than
    `limit` characters (see html_to_text_prefix), so a huge fragment costs what its first
    `limit` characters cost. The text is not cut.
    """
    base = detail.get("base")
    base = base if isinstance(base, str) else ""
    kind = detail.get("type") or "text/html"
    if len(fragment) <= MAX_ENTRY_HTML:
        source = _as_feedparser_read(fragment)
        xhtml = kind == "application/xhtml+xml"
        if _reads_alike(source, xhtml):
            parser = _EntryHTML(base, xhtml)
            read = _feed_prefix(parser, source, limit)
            # Whether feedparser's copy would have been empty hangs on details this pass
            # does not see (a "&nbsp;" was not blank there); an element that looks empty
            # is rare and small, so feedparser decides.
            if not parser.empty:
                return _Read(_text_of(parser), "".join(parser.html), read < len(source), False)
    # Odd markup, or longer than is read: feedparser's own passes, as before tracker
    # sanitized HTML itself (what was read of a long element was counted in their output),
    # then the text and a copy of what they kept. Rare, and costs what it always did.
    kept = _feedparser_sanitized(fragment, base, kind)
    text, read = html_to_text_prefix(kept, limit, MAX_ENTRY_HTML)
    copy = _EntryHTML(base, False)
    # The copy ends where the text did, before the tag that may have been cut.
    tag = kept.rfind("<", 0, read) if read < len(kept) else -1
    _feed_prefix(copy, kept[: tag if tag > 0 else read], len(kept))
    return _Read(text, "".join(copy.html), read < len(kept), not kept)


def _feed_prefix(parser: _EntryHTML, source: str, limit: int) -> int:
    """Feed `source` to `parser` until its text is longer than `limit`; how much was fed.
    Only a complete source is flushed: the parser would pass on the half tag where a cut
    one ends as text."""
    end = len(source)
    read = counted = raw_length = 0
    # The collapsed text is shorter than the raw parts (indentation, blank lines), so it
    # is assembled to be measured only when the raw length doubles: linear overall.
    next_check = limit
    while read < end:
        chunk = source[read : min(read + _CHUNK, end)]
        parser.feed(chunk)
        read += len(chunk)
        if read >= end:
            parser.close()
            break
        raw_length += sum(len(part) for part in parser.parts[counted:])
        counted = len(parser.parts)
        if raw_length > next_check:
            if len(_text_of(parser)) > limit:
                break
            next_check = raw_length * 2
    return read


def _feedparser_sanitized(value: str, base: str, kind: str) -> str:
    """What feedparser made of an HTML element with sanitize_html and resolve_relative_uris."""
    from feedparser.html import _cp1252
    from feedparser.sanitizer import _sanitize_html
    from feedparser.urls import resolve_relative_uris

    value = resolve_relative_uris(value, base, "utf-8", kind)
    return str(_sanitize_html(value, "utf-8", kind)).translate(_cp1252)


# PostgreSQL's text cannot hold NUL, and feeds in the wild have it (a raw byte feedparser's
# loose parser keeps, or "&#0;"): every text stored is given U+FFFD in its place, keys and
# guids included, so the same entry keeps the same key on every poll and every backend.
# Content hashes are made before, of the texts as read: they only need to be stable.
_NUL = "\x00"
_NO_NUL = "\ufffd"


def _no_nul(value: str | None) -> str | None:
    return value.replace(_NUL, _NO_NUL) if value is not None and _NUL in value else value


def _entry_without_nul(entry: ParsedEntry) -> ParsedEntry:
    """The entry with every NUL in its texts replaced by U+FFFD (the same object when it has none)."""
    changed: dict[str, Any] = {
        name: _no_nul(value)
        for name in ("key", "guid", "link", "title", "title_html", "text", "html", "author", "published_raw")
        if isinstance(value := getattr(entry, name), str) and _NUL in value
    }
    return replace(entry, **changed) if changed else entry


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _sha256(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _plausible(parsed: object, raw: str | None, now: datetime) -> datetime | None:
    if not isinstance(parsed, time.struct_time) or raw is None:
        return None
    # feedparser reads some nonsense as a real date ("Sat, 23 Mar -1" becomes 1999):
    # trust a year only when the raw string spells it, in full or as two digits.
    year = parsed.tm_year
    if str(year) not in raw and not re.search(rf"(?<![\d-]){year % 100:02d}(?!\d)", raw):
        return None
    if year < _EARLIEST_YEAR:
        return None
    try:
        value = datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None
    if value > now + _FUTURE_SLACK:
        return None
    return value


# Settings for reading a date string feedparser could not: absolute dates only, UTC when
# the string names no zone, day-first never guessed from a US-style date.
_DATEPARSER_SETTINGS = {
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TIMEZONE": "UTC",
    "TO_TIMEZONE": "UTC",
    "PREFER_DAY_OF_MONTH": "first",
    "REQUIRE_PARTS": ["day", "month", "year"],
}
# How many of dateparser's most common languages are tried before all of them.
_COMMON_LANGUAGES = 20


def _fallback_date(parsed: object, raw: str | None, now: datetime) -> datetime | None:
    """A date feedparser could not read ("23/03/2024 09:30", "March 23rd 2024, 9:30 AM")."""
    if parsed is not None or not raw or len(raw) > 80:
        return None
    import dateparser  # slow to import; most feeds never need it

    from dateparser.data.languages_info import language_order

    try:
        # dateparser tries its locales in language_order and takes the first that reads
        # the string, so trying the most common ones first gives the same answer; loading
        # all ~200 locales costs over a second, and most strings never need them.
        value: datetime | None = dateparser.parse(
            raw, languages=language_order[:_COMMON_LANGUAGES], settings=_DATEPARSER_SETTINGS
        ) or dateparser.parse(raw, languages=None, settings=_DATEPARSER_SETTINGS)
    except Exception:  # dateparser raises assorted errors on odd input; a date is optional
        return None
    if value is None or str(value.year) not in raw:
        return None
    value = value.astimezone(timezone.utc)
    if value.year < _EARLIEST_YEAR or value > now + _FUTURE_SLACK:
        return None
    return value


def _ttl(value: object) -> int | None:
    if not isinstance(value, str) or not value.strip().isdigit():
        return None
    minutes = int(value.strip())
    return minutes if minutes > 0 else None


# --- diagnostics -------------------------------------------------------------------


def _describe_bozo(exc: object) -> str | None:
    if exc is None:
        return None
    if isinstance(exc, xml.sax.SAXParseException):
        return f"malformed XML ({exc.getMessage()} at line {exc.getLineNumber()})"
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        return f"character encoding problem ({exc})"
    if isinstance(exc, feedparser.CharacterEncodingUnknown):
        return f"unknown character encoding ({exc})"
    if isinstance(exc, feedparser.NonXMLContentType):
        return f"served with a non-XML content type ({exc})"
    return f"malformed feed ({type(exc).__name__}: {exc})"


def _why_no_entries(body: bytes, headers: Mapping[str, str], version: str, bozo: str | None) -> str:
    head = body[:2048].lower()
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if not version and (b"<html" in head or b"<!doctype html" in head or content_type == "text/html"):
        return "not a feed: the document is an HTML page"
    if not version:
        return "not a feed: no RSS, Atom or RDF entries found" + (f" ({bozo})" if bozo else "")
    if bozo:
        return f"{bozo}, no entries recovered"
    return f"the feed ({version}) has no entries"


# --- decoding ------------------------------------------------------------------------

# Where feedparser looks for the encoding, in its order (XML 1.0 appendix F): a byte order
# mark, else the bytes of "<?" in an encoding that is not ASCII-compatible.
_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32be"),
    (codecs.BOM_UTF32_LE, "utf-32le"),
    (codecs.BOM_UTF16_BE, "utf-16be"),
    (codecs.BOM_UTF16_LE, "utf-16le"),
    (codecs.BOM_UTF8, "utf-8"),
)
_FIRST_BYTES = (
    (b"\x4c\x6f\xa7\x94", "cp037"),  # "<?xm" in EBCDIC
    (b"\x00\x3c\x00\x3f", "utf-16be"),
    (b"\x3c\x00\x3f\x00", "utf-16le"),
    (b"\x00\x00\x00\x3c", "utf-32be"),
    (b"\x3c\x00\x00\x00", "utf-32le"),
)
# Declared names meaning "UTF-16/32, byte order from the BOM".
_WIDE_NAMES = frozenset(
    {"u16", "utf-16", "utf16", "utf_16", "u32", "utf-32", "utf32", "utf_32", "iso-10646-ucs-2",
     "iso-10646-ucs-4", "csucs4", "csunicode", "ucs-2", "ucs-4"}
)
# The declaration is read from the document's first line, bounded: feedparser's own
# pattern for it takes quadratic time on a long first line.
_DECLARED_ENCODING = re.compile(r"""^<\?[^\n]*encoding=["']([^"'\n]*)["'][^\n]*\?>""")
_DECLARATION_HEAD = 1024
_XML_DECLARATION = re.compile(r"^<\?xml[^>]*?>")
_UTF8_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>"
_APPLICATION_XML = ("application/xml", "application/xml-dtd", "application/xml-external-parsed-entity")
_TEXT_XML = ("text/xml", "text/xml-external-parsed-entity")
# Python codecs that are no character set: decoding a document with them is nonsense,
# and punycode takes quadratic time.
_NOT_CHARSETS = frozenset({"punycode", "idna", "unicode-escape", "raw-unicode-escape", "undefined"})
_ENCODING_PROBLEMS = (
    feedparser.CharacterEncodingOverride,
    feedparser.CharacterEncodingUnknown,
    feedparser.NonXMLContentType,
)


def _to_utf8(body: bytes, headers: Mapping[str, str]) -> tuple[bytes, Exception | None]:
    """The document as UTF-8 bytes that start with a UTF-8 XML declaration, and the
    encoding problem feedparser would have reported (an Exception of its own) or None.

    Everything after this works on the decoded text, so nothing hides from the entity
    defence in an encoding it cannot read (UTF-16/32 with or without BOM, UTF-7, EBCDIC)
    and expat reads exactly what was checked. The choice of encoding is feedparser's
    (its encodings.convert_to_utf8, here bounded in time): the byte order mark or the
    first bytes, the XML declaration and the HTTP charset, weighed as RFC 3023 says, then
    UTF-8, windows-1252 and ISO-8859-2; so feeds decode as they did when feedparser
    decoded them itself. One change: a byte order mark, or "<?" in UTF-16/32, wins over a
    charset that contradicts it. A document that is not what its first bytes say
    (UTF-16/32) or that nothing decodes is refused.
    """
    bom_encoding = ""
    # Set when the first bytes leave no doubt: a byte order mark, or "<?" in UTF-16/32
    # (in an ASCII-compatible encoding those bytes are no XML). feedparser tried the
    # HTTP charset first even then, reading such documents as NUL-ridden garbage.
    certain = ""
    for bom, name in _BOMS:
        # FF FE 00 00 is the UTF-32LE mark, tested first; FE FF / FF FE then 00 00 is
        # no UTF-16 mark for feedparser either.
        if body.startswith(bom) and (len(bom) != 2 or body[2:4] != b"\x00\x00"):
            bom_encoding = certain = name
            body = body[len(bom) :]
            break
    else:
        for marker, name in _FIRST_BYTES:
            if body.startswith(marker):
                bom_encoding = name
                # EBCDIC has many code pages: the declaration says which.
                certain = "" if name == "cp037" else name
                break

    xml_encoding = ""
    try:
        head = body[: _DECLARATION_HEAD * 4].decode(bom_encoding or "latin-1", "ignore")
    except LookupError:
        head = ""
    declared = _DECLARED_ENCODING.match(head[:_DECLARATION_HEAD])
    if declared:
        xml_encoding = declared.group(1).lower()
        if bom_encoding and xml_encoding in _WIDE_NAMES:
            xml_encoding = bom_encoding

    content_type = headers.get("content-type") or ""
    mime_type, http_encoding = _parse_content_type(content_type)
    acceptable = False
    if mime_type in _APPLICATION_XML or (mime_type.startswith("application/") and mime_type.endswith("+xml")):
        acceptable = True
        rfc3023_encoding = http_encoding or xml_encoding or "utf-8"
    elif mime_type in _TEXT_XML or (mime_type.startswith("text/") and mime_type.endswith("+xml")):
        acceptable = True
        rfc3023_encoding = http_encoding or "us-ascii"
    elif mime_type.startswith("text/"):
        rfc3023_encoding = http_encoding or "us-ascii"
    elif headers and "content-type" not in headers:
        rfc3023_encoding = xml_encoding or "iso-8859-1"
    else:
        rfc3023_encoding = xml_encoding or "utf-8"
    # gb18030 is a superset of gb2312, which mislabels it often.
    if rfc3023_encoding.lower() == "gb2312":
        rfc3023_encoding = "gb18030"
    if xml_encoding == "gb2312":
        xml_encoding = "gb18030"

    problem: Exception | None = None
    if headers and not acceptable:
        problem = feedparser.NonXMLContentType(
            f"{content_type} is not an XML media type" if "content-type" in headers else "no Content-type specified"
        )
    text: str | None = None
    tried: list[str] = []
    for proposed in (certain, rfc3023_encoding, xml_encoding, bom_encoding, "utf-8", "windows-1252", "iso-8859-2"):
        if not proposed or proposed in tried:
            continue
        tried.append(proposed)
        try:
            if codecs.lookup(proposed).name in _NOT_CHARSETS:
                continue
            text = body.decode(proposed)
        except UnicodeDecodeError as exc:
            if proposed == certain and certain.startswith(("utf-16", "utf-32")):
                # Read as an 8-bit encoding it would be NUL-ridden garbage; nothing else
                # is a reliable reading.
                raise ParseError(f"not valid {certain.upper()}, as its first bytes say: {exc.reason}") from exc
            continue
        except (LookupError, UnicodeError):
            continue
        if proposed not in (rfc3023_encoding, certain):
            problem = feedparser.CharacterEncodingOverride(
                f"document declared as {rfc3023_encoding}, but parsed as {proposed}"
            )
        break
    if text is None:
        raise ParseError(f"unknown character encoding: neither {', '.join(tried)} decodes the document")

    declaration = _XML_DECLARATION.match(text)
    rest = text[declaration.end() :] if declaration else text
    # A line of its own: feedparser looks for the encoding in the first line again, with
    # a pattern that takes quadratic time on a long line.
    text = _UTF8_DECLARATION + ("" if declaration and rest.startswith(("\n", "\r\n")) else "\n") + rest
    try:
        return text.encode("utf-8"), problem
    except UnicodeEncodeError:
        # Lone surrogates (UTF-7 can encode them) have no UTF-8 form.
        return _SURROGATE.sub("\ufffd", text).encode("utf-8"), problem


_SURROGATE = re.compile("[\ud800-\udfff]")


def _parse_content_type(value: str) -> tuple[str, str]:
    """(media type, charset) as feedparser reads a Content-Type header."""
    chunks = value.split(";")
    charset = ""
    for chunk in chunks[1:]:
        name, _, param = chunk.partition("=")
        if name.strip().lower() == "charset":
            charset = param.strip().strip("\"'")
    return chunks[0].strip(), charset


def _with_utf8_charset(content_type: str) -> str:
    kept = [chunk for chunk in content_type.split(";")[1:] if chunk.partition("=")[0].strip().lower() != "charset"]
    return ";".join([content_type.split(";")[0], *kept, " charset=utf-8"])


# --- entity-expansion defence ------------------------------------------------------

# An entity whose value is one character reference cannot amplify anything; feeds use
# these for &nbsp; and friends, so they are kept.
_HARMLESS_ENTITY = re.compile(rb"""<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(["'])(&\#(?:\d{1,7}|x[0-9A-Fa-f]{1,6});)\2\s*>""")
_ANY_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
# A declaration as feedparser's fallback parser delimits it: up to the first ">".
_LOOSE_ENTITY_DECL = re.compile(rb"<!ENTITY[^>]*>?", re.IGNORECASE)
# The name a declaration gives a general (not a parameter, "%") entity.
_GENERAL_ENTITY_NAME = re.compile(rb"<!ENTITY\s+([^\s%\"'>]+)", re.IGNORECASE)
_REFERENCE = re.compile(rb"&([^\s&;<>\"'#]+);")
# XML's own entities: expat knows them whatever the DTD says.
_PREDEFINED = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
# feedparser's notion of where the prolog ends.
_FIRST_ELEMENT = re.compile(rb"<\w")
_SPACES = re.compile(rb"[ \t\r\n]*")
# A run of whitespace with two or more line breaks; see _defuse_entities.
_BLANK_LINES = re.compile(rb"\n[ \t\r\f\v]*\n\s*")
_MANY_LINES = 1000
_DOCTYPE_NAME = re.compile(rb"""<!DOCTYPE(?:[^"'\[>]++|"[^"]*+"|'[^']*+')*+""")
_SUBSET_STOP = re.compile(rb"""["'\]]|<!--|<\?""")


def _defuse_entities(body: bytes) -> tuple[bytes, int]:
    """Remove entity declarations from the DTD of a UTF-8 document (from _to_utf8).

    feedparser keeps declared entities whose value holds no "&", and expat (or its
    fallback parser) expands them without limit, so a few kilobytes of declarations can
    cost minutes and gigabytes. References to removed entities become their HTML
    character or literal text ("&name;" escaped), so the document stays well-formed and
    expat, not the far slower fallback parser, reads it. Returns (body, declarations
    removed); raises ParseError when a declaration would survive anyway.
    """
    if not _ANY_ENTITY.search(body):
        return _bound_prolog(body), 0
    removed: list[bytes] = []
    kept: list[bytes] = []
    span = _find_doctype(body)
    if span is not None and span[1] >= 0:
        start, subset_start, subset_end, end = span
        subset = body[subset_start:subset_end]
        if _ANY_ENTITY.search(subset):
            kept = [m.group(0) for m in _HARMLESS_ENTITY.finditer(subset)]
            removed = [m.group(0) for m in _LOOSE_ENTITY_DECL.finditer(subset) if not _HARMLESS_ENTITY.fullmatch(m.group(0))]
            # Each kept declaration on its own line: feedparser's own DOCTYPE handling
            # looks for them at line starts.
            new_subset = b"[\n" + b"\n".join(kept) + b"\n]" if kept else b""
            # Between the subset's "]" and the closing ">" valid XML has only whitespace.
            doctype = body[start : subset_start - 1].rstrip() + b" " + new_subset + b">"
            body = body[:start] + doctype + body[end:]
    # Catch-all for declarations outside a well-formed prolog (junk before the DOCTYPE,
    # a second DOCTYPE), which expat never reads but feedparser's fallback parser does:
    # it collects entities from everything before the first element, each up to the
    # first ">", so that is what goes here.
    head_end = _head_end(body)

    def drop(match: re.Match[bytes]) -> bytes:
        if _HARMLESS_ENTITY.fullmatch(match.group(0)):
            kept.append(match.group(0))
            return match.group(0)
        removed.append(match.group(0))
        return b""

    body = _LOOSE_ENTITY_DECL.sub(drop, body[:head_end]) + body[head_end:]
    _check_defused(body)
    # A name declared twice keeps its first declaration, which may be a kept one.
    names = {m.group(1) for m in map(_GENERAL_ENTITY_NAME.match, removed) if m}
    names -= {m.group(1) for m in map(_GENERAL_ENTITY_NAME.match, kept) if m} | _PREDEFINED
    if names:
        body = _REFERENCE.sub(lambda m: _unexpanded(m, names), body)
    return _bound_prolog(body), len(removed)


def _unexpanded(reference: re.Match[bytes], removed: set[bytes]) -> bytes:
    """A reference to a removed entity as its HTML character when it names one ("&copy;"
    declared as "©"; the only reading feedparser's fallback parser knew), else as text."""
    name = reference.group(1)
    if name not in removed:
        return reference.group(0)
    codepoint = html.entities.name2codepoint.get(name.decode("ascii", "replace"))
    return b"&#%d;" % codepoint if codepoint else b"&amp;" + reference.group(0)[1:]


def _head_end(body: bytes) -> int:
    first_element = _FIRST_ELEMENT.search(body)
    return first_element.start() if first_element else len(body)


def _bound_prolog(body: bytes) -> bytes:
    """Blank lines before the first element squeezed to one line break when there are
    many: feedparser's DOCTYPE patterns start with "^\\s*" and take cubic time on them
    (40,000 line breaks cost 90 s). Normal documents are left alone, their line numbers
    too."""
    head_end = _head_end(body)
    if body.count(b"\n", 0, head_end) <= _MANY_LINES:
        return body
    return _BLANK_LINES.sub(b"\n", body[:head_end]) + body[head_end:]


def _check_defused(body: bytes) -> None:
    """Refuse a document whose DTD still declares an entity that could amplify (a case
    the removal above does not foresee): it must never reach expat."""
    span = _find_doctype(body)
    regions = [body[: _head_end(body)]]
    if span is not None and span[1] >= 0:
        regions.append(body[span[1] : span[2]])
    for region in regions:
        for match in _LOOSE_ENTITY_DECL.finditer(region):
            if not _HARMLESS_ENTITY.fullmatch(match.group(0)):
                raise ParseError("the document's DTD declares entities that cannot be removed safely")


def _find_doctype(data: bytes) -> tuple[int, int, int, int] | None:
    """Locate the DOCTYPE in the prolog, as expat reads it: (start, subset start, subset
    end, end).

    The subset positions exclude the brackets and are -1 when there is no internal
    subset. A DOCTYPE that never ends makes the whole rest of the document its subset,
    so nothing declared in it survives.
    """
    i = 3 if data.startswith(codecs.BOM_UTF8) else 0
    n = len(data)
    while True:
        space = _SPACES.match(data, i)
        i = space.end() if space else i
        if data.startswith(b"<?", i):
            j = data.find(b"?>", i + 2)
            if j < 0:
                return None
            i = j + 2
        elif data.startswith(b"<!--", i):
            j = data.find(b"-->", i + 4)
            if j < 0:
                return None
            i = j + 3
        elif data[i : i + 9].upper() == b"<!DOCTYPE":
            break
        else:
            return None
    start = i
    name = _DOCTYPE_NAME.match(data, i)
    i = name.end() if name else n
    if data.startswith(b">", i):
        return start, -1, -1, i + 1
    if not data.startswith(b"[", i):
        # An unclosed quote or the end of the document.
        return start, -1, -1, n
    subset_start = i + 1
    subset_end = _subset_end(data, subset_start)
    if subset_end >= n:
        return start, subset_start, n, n
    close = data.find(b">", subset_end + 1)
    end = n if close < 0 else close + 1
    return start, subset_start, subset_end, end


def _subset_end(data: bytes, i: int) -> int:
    """Index of the "]" closing an internal subset that starts at i (len(data) if none)."""
    n = len(data)
    while i < n:
        stop = _SUBSET_STOP.search(data, i)
        if stop is None:
            return n
        token = stop.group(0)
        if token == b"]":
            return stop.start()
        closing = b"-->" if token == b"<!--" else b"?>" if token == b"<?" else token
        j = data.find(closing, stop.end())
        i = n if j < 0 else j + len(closing)
    return n


# --- oversized content ---------------------------------------------------------------

_SECTION = re.compile(rb"<!--|<!\[CDATA\[")
_LONG_TEXT = re.compile(rb"<[^<]{%d,}" % MAX_ELEMENT_BYTES)
# A start or end tag: attribute values may hold ">" but never "<".
_TAG = re.compile(rb"""<[^<>"']*+(?:(?:"[^<"]*+"|'[^<']*+')[^<>"']*+)*+>""")
# Markup a cut must never remove the end of.
_SECTION_ENDS = (b"]]>", b"-->", b"?>")


def _cut_long_content(body: bytes) -> tuple[bytes, int]:
    """The document with every CDATA section and text run longer than MAX_ELEMENT_BYTES
    cut to that length, and how many were cut.

    Only the first MAX_ENTRY_TEXT characters of an entry's text are used, but feedparser
    sanitizes and resolves links in all of it first: 17 s for one 15 MB entry. Cutting
    inside the document keeps it well-formed: a cut never crosses markup, a character or
    an entity reference. Content made of many elements (Atom XHTML) is left whole; its
    cost is that of any document of its size.
    """
    if len(body) <= MAX_ELEMENT_BYTES:
        return body, 0
    cuts: list[tuple[int, int]] = []
    position = 0
    while (section := _SECTION.search(body, position)) is not None:
        closing = b"-->" if section.group(0) == b"<!--" else b"]]>"
        end = body.find(closing, section.end())
        if end < 0:
            break
        if closing == b"]]>" and end - section.end() > MAX_ELEMENT_BYTES:
            cuts.append((_cut_point(body, section.end() + MAX_ELEMENT_BYTES, section.end()), end))
        position = end + len(closing)
    for run in _LONG_TEXT.finditer(body):
        tag = _TAG.match(body, run.start(), run.end())
        if tag is None or tag.group(0).startswith((b"<!", b"<?")):
            continue
        if run.end() - tag.end() > MAX_ELEMENT_BYTES:
            start = _cut_point(body, tag.end() + MAX_ELEMENT_BYTES, tag.end())
            if not any(body.find(marker, start, run.end()) >= 0 for marker in _SECTION_ENDS):
                cuts.append((start, run.end()))
    if not cuts:
        return body, 0
    pieces: list[bytes] = []
    kept_from = 0
    for start, end in sorted(cuts):
        if start < kept_from:
            continue  # inside a cut already made (a tag inside a CDATA section)
        pieces.append(body[kept_from:start])
        kept_from = end
    pieces.append(body[kept_from:])
    return b"".join(pieces), len(pieces) - 1


def _cut_point(body: bytes, at: int, floor: int) -> int:
    """`at`, moved back off a UTF-8 continuation byte and out of a "&...;" reference."""
    while at > floor and body[at] & 0xC0 == 0x80:
        at -= 1
    amp = body.rfind(b"&", max(floor, at - 32), at)
    if amp >= 0 and body.find(b";", amp, at) < 0:
        at = amp
    return at
