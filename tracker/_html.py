"""HTML fragments to plain text with paragraph breaks, via the stdlib html.parser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that start a new paragraph: sentence splitting downstream relies on
# blocks staying apart, so "<p>One</p><p>Two</p>" must not become "OneTwo".
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "caption", "dd", "details",
        "div", "dl", "dt", "figcaption", "figure", "footer", "form", "h1", "h2",
        "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
        "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "ul",
    }
)
# Their content is code or metadata, never prose.
_DROPPED = frozenset({"script", "style", "noscript", "template", "head", "title", "svg", "math"})

# Private-use markers survive whitespace collapsing; feeds never contain them in practice,
# and any that do are removed before the markers are inserted.
_LINE = "\ue000"
_PARA = "\ue001"
_MARKERS = re.compile("[\ue000\ue001]")
_SPACE = re.compile(r"\s+")
_DOUBLE_BREAK = re.compile(f"{_LINE}(?:\\s*{_LINE})+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropped_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self._dropped_depth += 1
        elif tag == "br":
            self.parts.append(_LINE)
        elif tag in _BLOCK:
            self.parts.append(_PARA)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <script/> must not open a dropped region that never closes.
        if tag == "br":
            self.parts.append(_LINE)
        elif tag in _BLOCK:
            self.parts.append(_PARA)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self._dropped_depth = max(0, self._dropped_depth - 1)
        elif tag in _BLOCK:
            self.parts.append(_PARA)

    def handle_data(self, data: str) -> None:
        if not self._dropped_depth:
            self.parts.append(_MARKERS.sub("", data))


def _assemble(raw: str) -> str:
    paragraphs: list[str] = []
    for block in raw.split(_PARA):
        lines = [_SPACE.sub(" ", line).strip() for line in block.split(_LINE)]
        lines = [line for line in lines if line]
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: entities decoded, whitespace collapsed,
    block elements as paragraphs separated by a blank line, <br> as a line break,
    script/style dropped."""
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    return _text_of(parser)


# How much HTML html_to_text_prefix feeds the parser between looks at the text so far.
_CHUNK = 64 * 1024


def html_to_text_prefix(fragment: str, limit: int, max_html: int) -> tuple[str, int]:
    """(text, HTML characters read): html_to_text of the beginning of `fragment`.

    Reads at most `max_html` characters, and stops early once the text is longer than
    `limit` characters, so a huge fragment costs what its first `limit` characters cost.
    The text is not cut: it may run past `limit`, and its last paragraph may be partial
    (cut_text trims it). Reads all of a fragment that yields no more than `limit`.
    """
    parser = _TextExtractor()
    end = min(len(fragment), max_html)
    read = counted = raw_length = 0
    # The collapsed text is shorter than the raw parts (indentation, blank lines), so it
    # is assembled to be measured only when the raw length doubles: linear overall.
    next_check = limit
    while read < end:
        chunk = fragment[read : min(read + _CHUNK, end)]
        parser.feed(chunk)
        read += len(chunk)
        raw_length += sum(len(part) for part in parser.parts[counted:])
        counted = len(parser.parts)
        if raw_length > next_check and read < end:
            if len(_text_of(parser)) > limit:
                break
            next_check = raw_length * 2
    if read == len(fragment):
        # Only a complete fragment is flushed: the parser would pass on the half tag
        # where a cut fragment ends as text.
        parser.close()
    return _text_of(parser), read


def _text_of(parser: _TextExtractor) -> str:
    # Two <br>s in a row are how many CMSs write a paragraph break.
    raw = _DOUBLE_BREAK.sub(_PARA, "".join(parser.parts))
    return _assemble(raw)


def cut_text(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters: at a paragraph, line or word break in
    its second half when there is one (a sentence cut mid-way could read as another
    statement), else exactly at `limit`."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    if text[limit] == "\n":
        return head.rstrip()
    for separator in ("\n\n", "\n", " "):
        at = head.rfind(separator)
        if at >= limit // 2:
            return head[:at].rstrip()
    return head


def plain_to_text(text: str) -> str:
    """Normalise plain text: whitespace collapsed within lines, blank-line-separated
    paragraphs kept."""
    cleaned = _MARKERS.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    cleaned = re.sub(r"\n[ \t\f\v\xa0]*\n\s*", _PARA, cleaned)
    return _assemble(cleaned.replace("\n", _LINE))


def looks_like_html(text: str) -> bool:
    """Whether a string contains markup or entity references worth stripping."""
    return bool(re.search(r"</?[A-Za-z][^<>]*>|&(#\d+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);", text))
