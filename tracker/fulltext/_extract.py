"""Pure CPU: an article page's bytes to its main text, title and date, via trafilatura."""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

import trafilatura
from trafilatura.settings import Document
from trafilatura.utils import decode_file

log = logging.getLogger(__name__)

# trafilatura and htmldate log at WARNING and ERROR for every page they cannot read
# ("empty HTML tree", "discarding data"): here that is an ordinary outcome, reported
# by extract_page's empty text. Left alone if the application set their level itself.
for _name in ("trafilatura", "htmldate"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.CRITICAL)

# htmldate keeps the time and the offset when the page gives them.
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_DATE_PARAMS: dict[str, Any] = {
    # The publication date, not the last update: relative dates in the text ("last
    # week") are read against it.
    "original_date": True,
    # Markup only (meta tags, JSON-LD, <time>, date elements): the extensive search
    # takes the first date-like string of the text, often a date the story is about.
    "extensive_search": False,
    "outputformat": _DATE_FORMAT,
}

# trafilatura's time grows with the square of the page's size in elements (20,000
# paragraphs take seconds, 100,000 most of a minute): a page is read up to this many
# tags. A news page has a few thousand, its article near the start.
MAX_TAGS = 25_000

# The HTML standard's prescan looks at the first 1024 bytes; some pages put the
# declaration after a long comment or script, so look a little further.
_PRESCAN = 4096
_META_CHARSET = re.compile(rb"<meta\b[^>]*?\bcharset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9_.:\-]+)", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# Labels that browsers decode as a superset (the WHATWG Encoding standard): pages
# declared ISO-8859-1 routinely use windows-1252's curly quotes and dashes.
_SUPERSETS = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "l1": "cp1252", "cp819": "cp1252", "ibm819": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
    "iso-8859-9": "cp1254", "latin5": "cp1254",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "ms_kanji": "cp932", "windows-31j": "cp932", "csshiftjis": "cp932",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "euc-kr": "cp949", "ks_c_5601-1987": "cp949",
    "big5": "big5hkscs", "tis-620": "cp874", "iso-8859-11": "cp874",
}


@dataclass(frozen=True)
class ExtractedPage:
    """What an article page yields: its main text, title and publication date."""

    # Main text from trafilatura, paragraphs separated by blank lines ("\n\n"); "" when
    # nothing was found.
    text: str
    title: str | None
    # Aware UTC, from the page metadata (trafilatura / htmldate); None when unknown.
    # A date without a time of day is midnight UTC.
    published: datetime | None


# PostgreSQL's text cannot hold NUL: a page's NULs (lxml drops raw ones, not always every
# other form) are stored as U+FFFD, as tracker.parse does with the feed's.
_NO_NUL = "\ufffd"

_NOTHING = ExtractedPage(text="", title=None, published=None)
_Markup = TypeVar("_Markup", str, bytes)


def extract_page(body: bytes, *, url: str, content_type: str | None) -> ExtractedPage:
    """Pure CPU: decode (a BOM first, as browsers do; then the charset of the
    content_type header; then the document's <meta> or XML declaration; else
    trafilatura's own detection) and run trafilatura on at most MAX_TAGS tags. Never
    raises on bad HTML: returns empty text.

    Trafilatura settings: favour precision (a sentence of navigation or a teaser of
    another story read as this article's yields false events, a missed sentence only
    costs recall); no comments (readers' words, not the outlet's reporting); no tables
    (table cells are not sentences the event extractor can read, and layout tables
    carry menus and sidebars).
    """
    if not body.strip():
        return _NOTHING
    try:
        html = _decode(body, content_type)
        return _extract(_cut(html) if html is not None else _cut(body), url)
    # The boundary with lxml, trafilatura, htmldate and charset detection: whatever a
    # hostile page makes them raise (ValueError, lxml errors, RecursionError...), the
    # caller keeps the feed's own text.
    except Exception as exc:  # noqa: BLE001
        log.debug("extraction failed for %s: %s: %s", url, type(exc).__name__, exc)
        return _NOTHING


def _extract(html: str | bytes, url: str) -> ExtractedPage:
    document = trafilatura.bare_extraction(
        html,
        url=url,
        favor_precision=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        with_metadata=True,
        date_extraction_params=dict(_DATE_PARAMS),
    )
    if not isinstance(document, Document):
        # No main text (None); the title and date may still be of use.
        metadata = trafilatura.extract_metadata(_as_text(html), default_url=url, date_config=dict(_DATE_PARAMS))
        return ExtractedPage(text="", title=_clean_title(metadata.title), published=_parse_date(metadata.date))
    return ExtractedPage(
        text=_paragraphs(str(document.text or "").replace("\x00", _NO_NUL)),
        title=_clean_title(document.title),
        published=_parse_date(document.date),
    )


def _cut(html: _Markup) -> _Markup:
    """`html` up to its MAX_TAGS-th tag (lxml reads a cut document as if it ended there)."""
    opener: Any = "<" if isinstance(html, str) else b"<"
    if html.count(opener) <= MAX_TAGS:
        return html
    at = -1
    for _ in range(MAX_TAGS):
        at = html.find(opener, at + 1)
    return html[:at]


def _as_text(html: str | bytes) -> str:
    if isinstance(html, str):
        return html
    return decode_file(html)


def _paragraphs(text: str) -> str:
    """Trafilatura's text (one block per line) with blank lines between blocks, as the
    feed texts have them (tracker._html)."""
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip())


def _clean_title(title: object) -> str | None:
    if not isinstance(title, str):
        return None
    return " ".join(title.replace("\x00", _NO_NUL).split()) or None


def _parse_date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    for pattern in (_DATE_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value.strip(), pattern)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    return None


def _decode(body: bytes, content_type: str | None) -> str | None:
    """The page as text, or None to leave the guess to trafilatura.

    A BOM is decisive (as in browsers: nothing else can be meant by it); then the HTTP
    header's charset, then the document's own declaration. Declared encodings decode
    with replacement characters, as browsers do, rather than being second-guessed.
    """
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace")
    for label, declared_in_document in ((_header_charset(content_type), False), (_document_charset(body), True)):
        codec = _codec(label, declared_in_document)
        if codec is None:
            continue
        try:
            return body.decode(codec, errors="replace")
        except LookupError:
            continue  # a codec that is not a text encoding ("zlib", "base64")
    return None


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    found = _HEADER_CHARSET.search(content_type)
    return found.group(1) if found is not None else None


def _document_charset(body: bytes) -> str | None:
    head = body[:_PRESCAN]
    found = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    return found.group(1).decode("ascii") if found else None


def _codec(label: str | None, declared_in_document: bool) -> str | None:
    """The Python codec for a charset label, or None for an unknown one."""
    if not label:
        return None
    name = label.strip().lower()
    # A document that declares UTF-16 in ASCII-readable bytes cannot be UTF-16 (the
    # HTML standard says: read it as UTF-8).
    if declared_in_document and name.replace("_", "-").startswith(("utf-16", "utf16")):
        return "utf-8"
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
