"""OPML subscription lists: read the feeds out of one (listparser), write one (OPML 2.0)."""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from collections.abc import Iterable
from dataclasses import dataclass

from tracker.errors import TrackerError

MAX_BYTES = 10 * 1024 * 1024

_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_DECLARATION_TEXT = re.compile(r"^\s*<\?xml[^>]*\?>")
_ENTITY = re.compile(r"<!ENTITY", re.IGNORECASE)
# Characters XML 1.0 cannot carry at all, not even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class Outline:
    """One feed of an OPML file: its title (or text), xmlUrl and category path."""

    title: str
    url: str
    category: str


def read_opml(data: bytes, source: str) -> list[Outline]:
    """Every outline with an xmlUrl, nested categories included, in document order.

    Raises TrackerError naming `source` when the document is too big, cannot be decoded,
    declares XML entities (refused: OPML needs none, and they are how entity bombs
    work) or is not OPML.
    """
    import listparser

    if len(data) > MAX_BYTES:
        raise TrackerError(f"{source}: larger than {MAX_BYTES // (1024 * 1024)} MiB; not a subscription list")
    text = _decode(data, source)
    if _ENTITY.search(text):
        raise TrackerError(f"{source}: refusing a document that declares XML entities (<!ENTITY>)")
    # listparser is given bytes, never a str that could be taken for a URL to download, and
    # UTF-8 throughout: the original declaration no longer describes the re-encoded text.
    body = _DECLARATION_TEXT.sub("", text, count=1)
    document = ('<?xml version="1.0" encoding="utf-8"?>' + body).encode("utf-8")
    # Well-formedness checked by expat (entities are refused above, so this is safe):
    # listparser on lxml recovers from broken markup and would import half a list silently.
    try:
        xml.parsers.expat.ParserCreate().Parse(document, True)
    except xml.parsers.expat.ExpatError as exc:
        raise TrackerError(f"{source}: not a well-formed OPML document") from exc
    try:
        parsed = listparser.parse(document)
    except Exception as exc:  # noqa: BLE001 - listparser trips over some malformed markup (IndexError, ...)
        raise TrackerError(f"{source}: not a well-formed OPML document") from exc
    if not str(parsed.get("version", "")).startswith("opml"):
        problem = parsed.get("bozo_exception")
        raise TrackerError(f"{source}: not an OPML document" + (f" ({problem})" if problem else ""))
    outlines = []
    for feed in parsed["feeds"]:
        categories = feed.get("categories") or []
        category = " / ".join(part for part in categories[0] if part) if categories else ""
        outlines.append(Outline(title=str(feed.get("title") or ""), url=str(feed["url"]), category=category))
    return outlines


def _decode(data: bytes, source: str) -> str:
    """The document as text: a BOM, else the XML declaration's encoding, else UTF-8."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        declared = _DECLARATION.match(data)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return data.decode(encoding)
    except LookupError:
        raise TrackerError(f"{source}: unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        raise TrackerError(f"{source}: not valid {encoding} (byte {exc.start})") from None


@dataclass(frozen=True)
class ExportedFeed:
    """What OPML says about one feed: its title and URL."""

    title: str
    url: str


def write_opml(feeds: Iterable[ExportedFeed], title: str = "tracker feeds") -> bytes:
    """An OPML 2.0 document (UTF-8, escaped by ElementTree) with one rss outline per feed."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _clean(title)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        name = _clean(feed.title)
        ET.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=_clean(feed.url))
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return document + b"\n"


def _clean(value: str) -> str:
    return _NOT_XML.sub("", value)
