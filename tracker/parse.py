"""Feed documents (bytes + headers) to plain entries, via feedparser."""

from __future__ import annotations

import calendar
import codecs
import hashlib
import io
import re
import time
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import feedparser

from tracker._html import html_to_text, looks_like_html, plain_to_text
from tracker.errors import ParseError

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
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
    yields no feed (an HTML page, an empty body, unrecoverable XML).
    """
    if not body or not body.strip():
        raise ParseError("empty document")
    now = now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)
    response_headers = {key.lower(): value for key, value in (headers or {}).items()}
    if url and "content-location" not in response_headers:
        response_headers["content-location"] = url

    warnings: list[str] = []
    body, response_headers, removed = _defuse_entities(body, response_headers)
    if removed:
        warnings.append(
            f"removed {removed} entity declaration{'s' if removed != 1 else ''} from the DTD "
            "(entity expansion is disabled)"
        )

    try:
        # Always a stream, never a string: feedparser treats strings as URLs or file names.
        result: Any = feedparser.parse(
            io.BytesIO(body),
            response_headers=response_headers,
            # Relative links in content should point at the publisher, not at us.
            resolve_relative_uris=True,
            # The HTML is shown to people later (html render); feedparser's sanitizer
            # removes script, event handlers and the like.
            sanitize_html=True,
        )
    except Exception as exc:  # feedparser is a large untrusted-input parser; contain it here
        raise ParseError(f"the feed parser failed: {type(exc).__name__}: {exc}") from exc

    raw_entries: list[Any] = list(result.get("entries") or [])
    version = str(result.get("version") or "")
    bozo_message = _describe_bozo(result.get("bozo_exception")) if result.get("bozo") else None

    # A well-formed feed that is empty right now (a new blog, a cleared feed) is healthy;
    # only a document that is no feed, or broken beyond recovery, is an error.
    if not raw_entries and (not version or bozo_message):
        raise ParseError(_why_no_entries(body, response_headers, version, bozo_message))

    entries: list[ParsedEntry] = []
    seen: dict[str, str] = {}
    hashes: set[str] = set()
    duplicates = 0
    for raw in raw_entries:
        entry = _entry(raw, now)
        if entry.key in seen:
            if entry.content_hash in hashes:
                # The same entry twice in one document is one entry.
                duplicates += 1
                continue
            # Two different entries sharing a guid (a publisher's bug): keeping only the
            # first would lose the other, so the later one is told apart by its content.
            entry = replace(entry, key=f"{entry.key}#{entry.content_hash[:16]}")
            if entry.key in seen:
                duplicates += 1
                continue
        seen[entry.key] = entry.content_hash
        hashes.add(entry.content_hash)
        entries.append(entry)

    if bozo_message:
        recovered = len(raw_entries)
        warnings.append(f"{bozo_message}, {recovered} {_plural(recovered, 'entry', 'entries')} recovered")
    if duplicates:
        warnings.append(f"{duplicates} duplicate {_plural(duplicates, 'entry', 'entries')} skipped")

    feed: Any = result.get("feed") or {}
    title, _ = _title(feed)
    return ParsedFeed(
        title=title or None,
        link=_clean(feed.get("link")),
        entries=entries,
        warning="; ".join(warnings) or None,
        ttl=_ttl(feed.get("ttl")),
        raw_entry_count=len(raw_entries),
        version=version,
    )


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


# --- entries -----------------------------------------------------------------------


def _entry(raw: Any, now: datetime) -> ParsedEntry:
    title, title_html = _title(raw)
    text, html = _content(raw)
    guid = _clean(raw.get("id"))
    link = _clean(raw.get("link"))
    if guid:
        key = guid
    elif link:
        key = link
    else:
        # Nothing stable to go by: the content itself is the identity (an edit makes a
        # new entry, unavoidably).
        key = "sha256:" + _sha256(title, html if html is not None else text)

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
    return ParsedEntry(
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


def _title(node: Any) -> tuple[str, str | None]:
    value = node.get("title")
    if not value:
        return "", None
    detail = node.get("title_detail") or {}
    # feedparser already types RSS titles that contain markup as HTML; an Atom
    # type="text" title is literal, "<div>" and all.
    if detail.get("type") in _HTML_TYPES:
        return " ".join(html_to_text(value).split()), value
    return " ".join(value.split()), None


def _content(raw: Any) -> tuple[str, str | None]:
    """(plain text, original HTML or None): full content when present, else the summary."""
    candidates: list[Any] = [c for c in (raw.get("content") or []) if c.get("value")]
    # Feeds often carry both a plain and an HTML rendering; the HTML keeps paragraphs.
    candidates.sort(key=lambda c: c.get("type") not in _HTML_TYPES)
    if not candidates and raw.get("summary"):
        detail = raw.get("summary_detail") or {}
        candidates = [{"type": detail.get("type", "text/html"), "value": raw.get("summary")}]
    if not candidates:
        return "", None
    chosen = candidates[0]
    value: str = chosen["value"]
    if chosen.get("type") in _HTML_TYPES:
        return html_to_text(value), value
    return plain_to_text(value), None


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


# --- entity-expansion defence ------------------------------------------------------

# An entity whose value is one character reference cannot amplify anything; feeds use
# these for &nbsp; and friends, so they are kept.
_HARMLESS_ENTITY = re.compile(rb"""<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(["'])(&\#(?:\d{1,7}|x[0-9A-Fa-f]{1,6});)\2\s*>""")
_ANY_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"""<!ENTITY(?:[^>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE)
# feedparser's notion of where the prolog ends.
_FIRST_ELEMENT = re.compile(rb"<\w")
_UTF16_32 = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)


def _defuse_entities(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str], int]:
    """Remove entity declarations from the internal DTD subset.

    feedparser's fallback parser expands declared entities without any limit, so a few
    kilobytes of declarations can cost minutes and gigabytes. References to removed
    entities stay in the text unexpanded. Returns (body, headers, declarations removed).
    """
    for bom, codec in _UTF16_32:
        if body.startswith(bom):
            # The scan below works on ASCII-compatible bytes; wide encodings are rare
            # enough that transcoding the whole document (only when needed) is fine.
            text = body.decode(codec, "replace")
            if "<!ENTITY" not in text.upper():
                return body, headers, 0
            text = text.lstrip("\ufeff")
            text = re.sub(r"""^(<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""", r"\1\2utf-8\2", text)
            body = text.encode("utf-8")
            headers = dict(headers)
            if "content-type" in headers:
                headers["content-type"] = re.sub(
                    r";\s*charset\s*=\s*[^;]*", "; charset=utf-8", headers["content-type"], flags=re.I
                )
            break
    if not _ANY_ENTITY.search(body):
        return body, headers, 0
    removed = 0
    span = _find_doctype(body)
    if span is not None and span[1] >= 0:
        start, subset_start, subset_end, end = span
        subset = body[subset_start:subset_end]
        declared = len(_ANY_ENTITY.findall(subset))
        if declared:
            kept = [m.group(0) for m in _HARMLESS_ENTITY.finditer(subset)]
            # Each kept declaration on its own line: feedparser's own DOCTYPE handling
            # looks for them at line starts.
            new_subset = b"[\n" + b"\n".join(kept) + b"\n]" if kept else b""
            # Between the subset's "]" and the closing ">" valid XML has only whitespace.
            doctype = body[start : subset_start - 1].rstrip() + b" " + new_subset + b">"
            body = body[:start] + doctype + body[end:]
            removed = declared - len(kept)
    # Catch-all for declarations outside a well-formed prolog (junk before the DOCTYPE,
    # a second DOCTYPE): feedparser collects entities from everything before the first
    # element, so nothing that could be expanded may remain there.
    first_element = _FIRST_ELEMENT.search(body)
    head_end = first_element.start() if first_element else len(body)
    head = body[:head_end]
    leftovers = [m for m in _ENTITY_DECL.finditer(head) if not _HARMLESS_ENTITY.fullmatch(m.group(0))]
    if leftovers:
        body = _ENTITY_DECL.sub(lambda m: m.group(0) if _HARMLESS_ENTITY.fullmatch(m.group(0)) else b"", head) + body[head_end:]
        removed += len(leftovers)
    return body, headers, removed


def _find_doctype(data: bytes) -> tuple[int, int, int, int] | None:
    """Locate the DOCTYPE in the prolog: (start, subset start, subset end, end).

    The subset positions exclude the brackets and are -1 when there is no internal
    subset. A DOCTYPE that never ends makes the whole rest of the document its subset,
    so nothing declared in it survives.
    """
    i = 3 if data.startswith(codecs.BOM_UTF8) else 0
    n = len(data)
    while True:
        while i < n and data[i] in b" \t\r\n":
            i += 1
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
    i += 9
    quote = 0
    while i < n:
        c = data[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in b"\"'":
            quote = c
        elif c == ord(">"):
            return start, -1, -1, i + 1
        elif c == ord("["):
            subset_start = i + 1
            subset_end = _subset_end(data, subset_start)
            if subset_end >= n:
                return start, subset_start, n, n
            close = data.find(b">", subset_end + 1)
            end = n if close < 0 else close + 1
            return start, subset_start, subset_end, end
        i += 1
    return start, -1, -1, n


def _subset_end(data: bytes, i: int) -> int:
    """Index of the "]" closing an internal subset that starts at i (len(data) if none)."""
    n = len(data)
    while i < n:
        c = data[i]
        if c in b"\"'":
            j = data.find(bytes([c]), i + 1)
            i = n if j < 0 else j + 1
        elif data.startswith(b"<!--", i):
            j = data.find(b"-->", i + 4)
            i = n if j < 0 else j + 3
        elif data.startswith(b"<?", i):
            j = data.find(b"?>", i + 2)
            i = n if j < 0 else j + 2
        elif c == ord("]"):
            return i
        else:
            i += 1
    return n
