"""News-aware sentence splitting with offsets, bylines, datelines and boilerplate flags."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Sentence", "split_sentences", "is_boilerplate"]


@dataclass(frozen=True)
class Sentence:
    """A span of the article text; `boilerplate` marks bylines, bios, share buttons and the like."""

    start: int
    end: int
    text: str
    boilerplate: bool = False
    paragraph: int = 0


# Titles precede a name, so a period after them never ends a sentence.
_TITLES = frozenset(
    "mr mrs ms dr prof sen sens rep reps gov gen col lt sgt capt cmdr adm maj st mt ft rev hon pres"
    " supt messrs mme mlle no nos vol vols fig figs pp ch art sec approx dept est vs v cf".split()
)
# These may end a sentence ("... Apple Inc. The company ...") or not ("Warner Bros. Discovery",
# "Mar. 25"): they end one only when a typical sentence opener follows.
_AMBIGUOUS = frozenset(
    "inc corp co cos ltd llc plc bros jr sr etc al jan feb mar apr jun jul aug sep sept oct nov dec"
    " mon tue tues wed thu thur thurs fri sat sun a.m p.m am pm".split()
)
# Capitalised words that usually start a sentence rather than continue a name after "Inc." or "U.S.".
_OPENERS = frozenset(
    """the a an it its he she they we i you this that these those there here his her their our my
    in on at but and or so yet however meanwhile still also after before when while as for if
    according last next earlier later now then since despite although though because with without
    during by from to what who why how some many most several one two three both all each no not
    such other another more mr mrs ms dr""".split()
)

_BOUNDARY = re.compile(r"""[.!?]+(?:["'”’)\]]+)?(?=\s+["'“‘(\[]?[A-Z0-9])""")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_NEXT_WORD = re.compile(r"""\s+["'“‘(\[]?([A-Za-z0-9][\w'’-]*)""")
_SPEECH_AFTER = re.compile(
    r"""\s+(?:[A-Z][\w.'’-]*\s+){0,3}(?:said|says|asked|asks|added|adds|told|wrote|writes|replied|exclaimed)\b"""
)
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")

# "LOS ANGELES (Reuters) -", "NEW YORK, March 23 (AP) —", "WASHINGTON —", "LONDON:".
_PLACE = r"(?:[A-Z][A-Z.'’-]+(?:[ ,/]+[A-Z][A-Z.'’-]+){0,3}|\(\w[\w .&-]{0,30}\))"
_DATELINE_DATE = r"(?:,\s*[A-Z][A-Za-z]{2,3}[a-z]*\.?\s+\d{1,2}(?:,\s*\d{4})?)"
_AGENCY = r"(?:\s*\([A-Za-z][\w .&/-]{0,30}\))"
_DATELINE = re.compile(
    # A colon only with a date or an agency: "UPDATE:" or "SAG-AFTRA:" open sentences, not datelines.
    rf"""^(?:{_PLACE}{_DATELINE_DATE}?{_AGENCY}?\s*(?:--|[-–—])
        |{_PLACE}(?:{_DATELINE_DATE}{_AGENCY}?|{_AGENCY})\s*:)\s+(?=\S)""",
    re.VERBOSE,
)
_STAMP_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_STAMP = re.compile(
    rf"""^(?:[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+){{0,3}}\s*\|\s*)?
        (?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?,?\s+)?
        (?:{_STAMP_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}\s+{_STAMP_MONTH},?\s+\d{{4}})
        \s*[;,|·]?\s*(?:at\s+)?\d{{1,2}}[:.]\d{{2}}(?::\d{{2}})?\s*(?:[AaPp]\.?[Mm]\.?)?(?:\s+[A-Z]{{2,4}}\b)?
        \s*(?:[-–—|:;]\s*)?(?=\S|$)""",
    re.VERBOSE,
)
# "By Jane Doe", "By Jane Doe and John Roe, Reuters", "By JANE DOE".
_BYLINE = re.compile(
    r"""^By\s+(?:[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|de|van|von|da|del|le|la))*)
        (?:\s*(?:,|and|&)\s*[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*)*)*""",
    re.VERBOSE,
)

_BOILERPLATE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^(?:related|see also|read more|read also|more from|more on|recommended|editors?[’']?s?[’']? (?:recommendations|picks)|"
        r"related (?:articles|stories|coverage|content|reading)|you may also like|you might also like|"
        r"most popular|continue reading|click here|what to read next)\b",
        r"^(?:watch|listen|trending|video|podcast)\s*:",
        r"^(?:share|tweet|email|e-mail|print|pin it|copy link|comments?|save|facebook|twitter|linkedin|whatsapp|reddit|x)"
        r"(?:\s+(?:on|via|to)\s+\w+)?(?:\s*[|/·•,]\s*\w+(?:\s+\w+)?)*[\s.!]*$",
        r"^share (?:this|the) (?:article|story|post)\b",
        r"^sources?\s*:",
        r"^(?:image|photo|picture|video|featured image|header image|lead image|top image|illustration|graphic)s?"
        r"(?:\s+(?:credits?|courtesy|by|source))?\s*[:|]",
        r"^\(?(?:image|photo|picture|illustration)s?\s+(?:credits?|courtesy|by)\b",
        r"^credits?\s*:",
        r"^the post .+ appeared first on .+",
        r"^(?:subscribe|sign up|join our|join us|follow us|get our|download our|don[’']t miss)\b",
        r"^(?:©|\(c\)\s|copyright\b)",
        r"\ball rights reserved\b",
        r"^(?:advertisement|sponsored content|story continues below|article continues below|continue reading below)\b",
        r"^(?:published|updated|posted|last updated|first published|modified)\b[^.!?]{0,60}$",
        r"^(?:published|updated|posted|last updated|first published)\s*(?:on|at|:)",
        r"^(?:published|updated|posted|last updated|first published|editor[’']?s note)\b[^.!?]{0,60}?:",
        r"^(?:additional )?(?:reporting|editing|writing|research) by\b",
        r"^(?:tags|filed under|topics|categories)\s*:",
        r"^this (?:[\w-]+\s+){0,3}(?:article|story|post|clip|video|page|programme|program|report|interview|feature|"
        r"gallery|episode|transcript|segment|recording|podcast|photo|picture|image) (?:was|is|has been|first|originally)\b",
        # A tweet's client line: "47 minutes ago via Twitter for Mac", "Reply Retweet Favorite"
        r"\b(?:ago|[ap]\.?m\.?|\d{4})\s+via\s+(?:twitter|tweetdeck|tweetbot|echofon|hootsuite|twitterrific|ubertwitter"
        r"|instagram|facebook|web|mobile\s+web)\b",
        r"\breply\s*retweet\s*(?:favou?rite|like)\b",
        # A journal reference: "Food Science, 12(3), 1850–1855. doi:10.1000/xyz"
        r"\bdoi:\s*10\.\d",
        r"\b\d{1,4}\s*\(\d{1,3}\)\s*,\s*\d+\s*[-–]\s*\d+",
        r"^we (?:may )?(?:earn|receive) (?:a )?(?:commission|affiliate)",
        r"^(?:you can )?(?:contact|reach|email) .*@",
        # A line that is only a timestamp ("March 28, 2024 at 9:41 a.m. ET") is page furniture.
        r"^[\W\d]*(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?|\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?),?\s+\d{4}"
        r"(?:\s*(?:at|,|·|\|)?\s*\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s+[a-z]{2,4})?)?[\W]*$",
        r"^\W*(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})(?:[ t]\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s*[a-z]{2,4}|z)?)?\W*$",
        # An embedded tweet: its attribution line ("— Jane Doe (@jdoe) March 3, 2024"), its
        # picture and short links. The date is when it was posted, not news.
        r"\(@\w{1,15}\)\s*(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}"
        r"|\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+\d{4})\W*$",
        r"\bpic\.twitter\.com/\w|\bhttps?://t\.co/\w",
        # A bare link, or a line of sources ("(0:46) Source: “Title,” Outlet, August 2017. http://...")
        r"^\W*(?:https?://|www\.)\S+\W*$",
        r"^(?:(?:https?://|www\.)\S+\s+)?(?:\(\d{1,2}:\d\d\)\s*)?(?:sources?|via|references?|citations?|bibliography"
        r"|further reading|works cited)\s*:",
        # Reader comments: "At 1:07 pm on 10 Jun 2010, jdoe wrote:", "March 8, 2011 at 6:12 pm | Reply"
        r"^at\s+\d{1,2}[:.]\d\d\s*(?:[ap]\.?m\.?)?\s+on\s+[^,]{5,30},\s+[^,]{1,40}\s+wrote\s*:",
        r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},\s+\d{4}\s+at\s+\d{1,2}:\d\d\s*"
        r"(?:[ap]\.?m\.?)?\s*\|",
    )
]
_MONTHS_DAYS = (
    r"(?!(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun|"
    r"Next|Last|This|Then|Now|Early|Late|Mid|The|That|Year|Week|Month)[a-z]*\b)"
)
# Case-sensitive: these name people with capitals, and "By March the studios ..." is no byline.
_BOILERPLATE_NAMED = [
    re.compile(p)
    for p in (
        r"^(?:By|BY)\s+" + _MONTHS_DAYS + r"[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|and|&|de|van|von)){0,5}\s*(?:[,|]\s*[\w .&]+)?$",
        # Author bios: "Jane Doe is a senior reporter at ...", "Jane covers AI for ...".
        r"^[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}\s+(?:is|was|has been|serves as)\s+(?:a|an|the|our)\s+"
        r"(?:[\w-]+\s+){0,5}(?:reporter|writer|editor|correspondent|journalist|columnist|contributor|author|"
        r"analyst|producer|critic|blogger|freelancer)s?\b",
        r"^[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}\s+(?:covers|writes about|reports on)\s",
        # "Jane Doe, Staff Writer" / "Jane Doe | Senior Reporter"
        r"^[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,3}\s*[,|]\s*(?:[A-Za-z-]+\s+){0,3}"
        r"(?:[Ww]riter|[Rr]eporter|[Ee]ditor|[Cc]orrespondent|[Cc]ontributor|[Cc]olumnist)s?\s*$",
        # A reference list entry: "Smith J. (2019). Title.", "Doe, A., & Roe, B. (2021a)."
        r"^[A-Z][\w'’-]+,?\s+(?:[A-Z]\.?\s*){1,3}(?:,?\s*(?:&|and)\s+[A-Z][\w'’-]+,?\s+(?:[A-Z]\.?\s*){1,3})*"
        r"(?:,?\s+et\s+al\.?)?\s*\((?:19|20)\d\d[a-z]?\)",
        # A cited title with its outlet and date: "“Title,” The Daily Ledger, March 2019."
        r"^[“\"][^”\"]{3,200}[”\"],?\s+(?:[A-Z][\w.&'’-]*\s*){1,6},\s+(?:[A-Z][a-z]{2,8}\.?\s+)?(?:\d{1,2},?\s+)?"
        r"(?:19|20)\d\d\.?\s*(?:(?:https?://|www\.)\S+)?\s*$",
    )
]
# Once one of these starts a paragraph, the rest of the paragraph is links or bio, not news.
_PARAGRAPH_TRAILERS = re.compile(
    r"^(?:related|see also|read more|more from|recommended|editors?[’']?s?[’']? (?:recommendations|picks)|"
    r"you may also like|you might also like|most popular|trending)\b",
    re.IGNORECASE,
)


# A page's time stamp, however laid out ("LONDON | Thu Jun 3, 2010 4:42 pm EDT", "Page last
# updated at 14:32 GMT, Thursday, 3 June 2010"): a clock time, no lower-case word but names
# of months, days and zones and the words stamps are made of, and at most a place name
# besides. A sentence about a happening at a time of day has its verb ("The well blew out
# at 9:45 pm"); a listing its venue ("Thursday, 7 a.m. St. Benedict Monastery, Bristow");
# an all-capitals bulletin its many words.
_CLOCK = re.compile(r"\b\d{1,2}[:.]\d{2}\b(?![.:]\d)|\b\d{1,2}\s*[ap]\.?m\b", re.IGNORECASE)
_STAMP_WORDS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun "
    "gmt utc bst cet cest edt est pdt pst cdt cst mdt mst "
    "last updated update published posted modified first page story article time".split()
)
_MONTH_OR_DAY = re.compile(
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)[a-z]*", re.IGNORECASE
)
_LOWER_WORD = re.compile(r"\b[a-z][a-z'’-]{2,}")
_ANY_WORD = re.compile(r"\b[A-Za-z][A-Za-z'’-]{2,}")
_STAMP_OTHER_WORDS = 3


def _is_time_stamp(text: str) -> bool:
    if not _CLOCK.search(text):
        return False

    def stamp_word(word: str) -> bool:
        return word.lower() in _STAMP_WORDS or _MONTH_OR_DAY.fullmatch(word) is not None

    if not all(stamp_word(w) for w in _LOWER_WORD.findall(text)):
        return False
    return sum(not stamp_word(w) for w in _ANY_WORD.findall(text)) <= _STAMP_OTHER_WORDS


# A run of short items between separators ("— Wikinews — Wikidata — ...") is a list of links.
_LIST_SEPARATOR = re.compile(r"\s[—–|·•]\s")
_LIST_ITEMS = 5
_LIST_ITEM_WORDS = 6


def _is_link_list(text: str) -> bool:
    items = _LIST_SEPARATOR.split(text)
    if len(items) <= _LIST_ITEMS:
        return False
    return sum(len(item.split()) for item in items) / len(items) <= _LIST_ITEM_WORDS


def is_boilerplate(text: str) -> bool:
    """True for bylines, bios, share buttons, credits, sign-up prompts, copyright lines, time
    stamps and lists of links."""
    text = text.strip().lstrip("•*-–—|#> ").strip()
    if not text:
        return True
    return (
        any(p.search(text) for p in _BOILERPLATE)
        or any(p.search(text) for p in _BOILERPLATE_NAMED)
        or _is_time_stamp(text)
        or _is_link_list(text)
    )


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of an article with offsets into `text`; blank lines always end a sentence."""
    sentences: list[Sentence] = []
    for number, (p_start, p_end) in enumerate(_paragraphs(text)):
        spans = [s for line in _lines(text, p_start, p_end) for s in _split_block(text, *line)]
        trailer = False
        for start, end, flagged in spans:
            chunk = text[start:end]
            # Only a heading (first in its paragraph, or on a line of its own) takes the rest
            # of the paragraph: in text flattened to one paragraph, "Related: ..." must not
            # swallow the article.
            heading = start == spans[0][0] or text[max(0, start - 40) : start].rstrip(" \t").endswith("\n")
            if not trailer and heading and _starts_trailer(chunk, first=start == spans[0][0]):
                trailer = True
            sentences.append(
                Sentence(start, end, chunk, flagged or trailer or is_boilerplate(chunk), number)
            )
    return sentences


def _starts_trailer(chunk: str, *, first: bool) -> bool:
    chunk = chunk.strip().lstrip("•*-–—|#> ")
    if _PARAGRAPH_TRAILERS.match(chunk):
        return True
    # A bio ("Jane Doe is a senior reporter ...") or a reference list ("Smith J. (2019). ...")
    # opening a paragraph takes the paragraph with it.
    return first and any(p.match(chunk) for p in _BOILERPLATE_NAMED[1:])


def _paragraphs(text: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = 0
    for m in _PARAGRAPH.finditer(text):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, len(text)))
    return [(s, e) for s, e in (_strip(text, s, e) for s, e in out) if e > s]


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Single newlines inside a paragraph: a break, unless the text is merely wrapped."""
    out: list[tuple[int, int]] = []
    line_start = start
    for m in re.finditer(r"\n", text[start:end]):
        cut = start + m.start()
        prev = text[line_start:cut].rstrip()
        nxt = text[cut + 1 : end].lstrip()
        wrapped = nxt[:1].islower() or (len(prev) >= 60 and prev[-1:] not in ".!?:\"”'’)")
        if not wrapped:
            out.append((line_start, cut))
            line_start = cut + 1
    out.append((line_start, end))
    return [(s, e) for s, e in (_strip(text, s, e) for s, e in out) if e > s]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_block(text: str, start: int, end: int) -> list[tuple[int, int, bool]]:
    """Sentences of one line or paragraph: (start, end, flagged as boilerplate)."""
    out: list[tuple[int, int, bool]] = []
    block = text[start:end]
    offset = 0
    byline_end = _byline_end(block)
    if byline_end:
        out.append((start, start + byline_end, True))
        offset = byline_end
        while offset < len(block) and block[offset] in " \t|,-–—:·•/":
            offset += 1
    stamp = _STAMP.match(block[offset:])
    if stamp:
        # "Thu May 27, 2010 12:32 pm EDT (Reuters) - ...", "KANSAS CITY | Thu May 27, 2010 3:43 pm
        # EDT": the page's time stamp before the text, like a dateline
        head = block[offset : offset + stamp.end()].rstrip(" -–—:;|,")
        out.append((start + offset, start + offset + len(head), True))
        offset += stamp.end()
    dateline = _DATELINE.match(block[offset:])
    if dateline:
        # The dateline often carries the publication date; it is never the event itself.
        head = block[offset : offset + dateline.end()].rstrip(" -–—:")
        out.append((start + offset, start + offset + len(head), True))
        offset += dateline.end()
    sent_start = offset
    for m in _BOUNDARY.finditer(block, offset):
        cut = m.end()
        if cut <= sent_start or not _is_boundary(block, m.start(), cut):
            continue
        s, e = _strip(text, start + sent_start, start + cut)
        if e > s:
            out.append((s, e, False))
        sent_start = cut
    s, e = _strip(text, start + sent_start, end)
    if e > s:
        out.append((s, e, False))
    return out


def _byline_end(block: str) -> int:
    """Where a leading byline ends, or 0: it stands alone or before a dateline or a separator."""
    m = _BYLINE.match(block)
    if not m:
        return 0
    ends = [w.end() for w in re.finditer(r"\S+", block[: m.end()])][1:] or [m.end()]
    # "By Jane Doe LOS ANGELES (Reuters) - ...": the shortest name that leaves a dateline.
    for end in ends:
        rest = block[end:].lstrip()
        if rest[:1].isupper() and _DATELINE.match(rest):
            return end
    for end in reversed(ends):
        rest = block[end:]
        if not rest.strip() or re.match(r"\s*(?:[|•·,:—–-]|\n)", rest) or _DATELINE.match(rest.lstrip()):
            return end
    return 0


def _is_boundary(block: str, punct: int, cut: int) -> bool:
    mark = block[punct]
    # Bounded windows: the decision is local, and slicing whole blocks would be quadratic.
    after = block[cut : cut + 120]
    nxt = _NEXT_WORD.match(after)
    next_word = nxt.group(1) if nxt else ""
    closes_quote = any(c in "\"”'’" for c in block[punct:cut])
    if mark in "?!" and closes_quote and _SPEECH_AFTER.match(after):
        # '"Is this the end?" Altman asked.' is one sentence.
        return False
    if mark != ".":
        return True
    if block[punct : punct + 3] == "..." and not next_word[:1].isupper():
        return False
    if closes_quote:
        return True
    before = _WORD_BEFORE.search(block[max(0, punct - 40) : punct])
    if not before:
        return True
    word = before.group(1)
    low = word.lower().rstrip(".")
    if len(word) == 1 and word.isupper():
        # An initial ("George W. Bush", "J. K. Rowling"), not a sentence ending.
        return False
    if low in _TITLES:
        return False
    dotted = "." in word  # U.S., a.m., Ph.D.
    if dotted or low in _AMBIGUOUS:
        return next_word.lower() in _OPENERS
    return True
