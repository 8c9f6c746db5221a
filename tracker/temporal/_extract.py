"""The tagging pipeline: candidates -> non-overlapping spans -> modifiers -> resolution."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from ._calendar import Period
from ._resolve import Context, resolve
from ._rules import Candidate, find_candidates
from ._sem import Sem
from ._tense import Clause, TenseReader
from ._types import TemporalMention

__all__ = ["clauses", "extract"]


# --- choosing among overlapping candidates ----------------------------------------------


def _select(cands: list[Candidate]) -> list[Candidate]:
    """Longest candidates first, then leftmost; a candidate overlapping a kept one is dropped."""
    order = sorted(range(len(cands)), key=lambda i: (-(cands[i][1] - cands[i][0]), cands[i][0], i))
    starts: list[int] = []
    kept: list[Candidate] = []
    for i in order:
        s, e, _ = cands[i]
        if e <= s:
            continue
        k = bisect_right(starts, s)
        if k > 0 and kept[k - 1][1] > s:
            continue
        if k < len(kept) and kept[k][0] < e:
            continue
        starts.insert(k, s)
        kept.insert(k, cands[i])
    return kept


# --- modifiers written before an expression ---------------------------------------------

_PREFIX = re.compile(
    r"\b(?:(?P<END>(?:the\s+)?(?:very\s+)?(?:end|close)\s+of\s+)"
    r"|(?P<START>(?:the\s+)?(?:very\s+)?(?:beginning|start)\s+of\s+)"
    r"|(?P<MID>(?:the\s+)?middle\s+of\s+)"
    r"|(?P<early>(?:the\s+)?(?:very\s+)?early(?:\s+|\s*-\s*))"
    r"|(?P<late>(?:the\s+)?late(?:\s+|\s*-\s*))"
    r"|(?P<mid>(?:the\s+)?mid(?:\s*-\s*|\s+))"
    r"|(?P<earlier>earlier\s+)|(?P<later>later\s+)"
    r"|(?P<APPROX>(?:around|about|approximately|roughly|some|circa|nearly|almost)\s+)"
    r"|(?P<MORE_THAN>(?:more\s+than|over)\s+)|(?P<LESS_THAN>(?:less|fewer)\s+than\s+)"
    r"|(?P<EQUAL_OR_MORE>at\s+least\s+)"
    r"|(?P<EQUAL_OR_LESS>(?:at\s+most|no\s+more\s+than|up\s+to)\s+))$",
    re.IGNORECASE,
)
_PREFIX_WINDOW = 32
# "over a week ago", "over two years": "over" bounds a count
_COUNTED = re.compile(r"(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d+)\s", re.IGNORECASE)
_DATE_MODS = frozenset(("END", "START", "MID", "early", "late", "mid", "APPROX"))
_REL_ONLY = frozenset(("earlier", "later"))
_NAME_TO_MOD = {"early": "START", "late": "END", "mid": "MID", "earlier": "START", "later": "END"}


def _with_prefix(text: str, s: int, e: int, sem: Sem, floor: int) -> tuple[int, Sem]:
    """Extend a span left over a modifier ("mid-", "the end of", "about") and set its mod."""
    if sem.kind in ("ref", "set") or sem.mod is not None:
        return s, sem
    lo = max(floor, s - _PREFIX_WINDOW)
    m = _PREFIX.search(text, lo, s)
    if m is None:
        return s, sem
    name = m.lastgroup
    assert name is not None
    if name == "MORE_THAN" and m.group().lower().startswith("over") and (sem.kind != "rel" or not _COUNTED.match(text, s)):
        return s, sem  # "over the weekend", "over last year": no bound
    core_the = text.startswith("the ", s) or text.startswith("The ", s)
    if sem.kind == "duration":
        if name in _DATE_MODS - {"APPROX"} or name in _REL_ONLY or core_the:
            return s, sem
        return m.start(), replace(sem, mod=name)
    if name in _REL_ONLY:
        if sem.kind not in ("rel", "weekday") or sem.anchor != "pub":
            return s, sem
        partial = None
        if sem.kind == "rel" and sem.offset == 0 and sem.unit not in ("day",):
            partial = "before" if name == "earlier" else "after"
        return m.start(), replace(sem, mod=_NAME_TO_MOD[name], partial=partial)
    if name not in _DATE_MODS:
        if sem.kind == "rel" and sem.unit in ("day", "week", "month", "year") and not core_the:
            return m.start(), replace(sem, mod=name)  # "nearly two weeks ago"
        return s, sem
    if name == "APPROX" and core_the:
        return s, sem
    return m.start(), replace(sem, mod=_NAME_TO_MOD.get(name, name))


# "or so", "or later", "and beyond" written after an expression
_SUFFIX = re.compile(
    r"\s+(?:(?P<APPROX>or\s+so)|(?P<ON_OR_AFTER>or\s+(?:later|after)|and\s+beyond)"
    r"|(?P<ON_OR_BEFORE>or\s+(?:earlier|before)))\b",
    re.IGNORECASE,
)


def _with_suffix(text: str, e: int, sem: Sem, ceiling: int) -> tuple[int, Sem]:
    """Extend a span right over "or so" (APPROX) or "or later" (ON_OR_AFTER) and set its mod."""
    if sem.kind in ("ref", "set") or sem.mod is not None:
        return e, sem
    m = _SUFFIX.match(text, e, min(len(text), e + 16))
    if m is None or m.end() > ceiling:
        return e, sem
    name = m.lastgroup
    if name != "APPROX" and sem.kind == "duration":
        return e, sem
    return m.end(), replace(sem, mod=name)


# --- clock times next to days ------------------------------------------------------------

_TIME_THEN_DAY = re.compile(r"(?:\s*,\s*|\s+on\s+|\s+)")
_DAY_THEN_TIME = re.compile(r"(?:\s*,\s*|,?\s+at\s+|\s+)")


def _is_clock(sem: Sem) -> bool:
    return sem.kind == "rel" and sem.unit == "day" and sem.offset == 0 and sem.hour is not None


def _takes_clock(sem: Sem) -> bool:
    if sem.hour is not None or sem.tod is not None:
        return False
    if sem.kind == "cal":
        return sem.day is not None
    if sem.kind in ("weekday", "holiday"):
        return True
    return sem.kind == "rel" and sem.unit == "day"


def _merge_clock(text: str, cands: list[Candidate]) -> list[Candidate]:
    """Join "5 p.m. EST, Nov. 6" and "Friday at 3 p.m." into one TIME expression."""
    out: list[Candidate] = []
    i = 0
    while i < len(cands):
        s, e, sem = cands[i]
        if i + 1 < len(cands):
            s2, e2, sem2 = cands[i + 1]
            gap = text[e:s2]
            if _is_clock(sem) and _takes_clock(sem2) and _TIME_THEN_DAY.fullmatch(gap):
                out.append((s, e2, replace(sem2, type="TIME", hour=sem.hour, minute=sem.minute)))
                i += 2
                continue
            if _takes_clock(sem) and _is_clock(sem2) and _DAY_THEN_TIME.fullmatch(gap):
                out.append((s, e2, replace(sem, type="TIME", hour=sem2.hour, minute=sem2.minute)))
                i += 2
                continue
        out.append(cands[i])
        i += 1
    return out


# --- sentences ------------------------------------------------------------------------

# The lookbehind lets only the first mark of a run start a match, so "....." stays linear.
_BOUNDARY = re.compile(r"(?<![.!?])[.!?]++[\"')\]\u201d\u2019]*\s+(?=[\"'(\[\u201c\u2018]?[A-Z0-9])|\n\s*\n")
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Gen|Gov|Sen|Rep|St|Jr|Sr|Inc|Corp|Co|Ltd|No|vs|Jan|Feb|Mar|Apr|Jun|Jul|Aug"
    r"|Sep|Sept|Oct|Nov|Dec|Mon|Tue|Tues|Wed|Thu|Thurs|Fri|Sat|Sun|U\.S|U\.K|a\.m|p\.m|[A-Z])\.)$"
)


def _sentence_bounds(text: str) -> list[int]:
    """Start offsets of sentences (0 included), skipping common abbreviations."""
    starts = [0]
    for m in _BOUNDARY.finditer(text):
        if m.group().startswith(".") and _ABBREV.search(text, max(0, m.start() - 6), m.start() + 1):
            continue
        starts.append(m.end())
    return starts


# --- tense and anchors across expressions -----------------------------------------------

# Two expressions joined like this share one construction: "until Thursday or Friday".
_COORDINATED = re.compile(r",?\s+(?:or|and|and/or|to|through|until|-|\u2013)\s+|\s*[-\u2013]\s*", re.IGNORECASE)
# A date after these words sets the time of what follows ("In April, ... A week later").
_NARRATIVE_BEFORE = re.compile(
    r"\b(?:in|on|during|by|until|since|from|through|between|before|after|of|at)\s+(?:the\s+)?$", re.IGNORECASE
)
_OR_AND = re.compile(r"\b(?:or|and)\b", re.IGNORECASE)
# A weekday written right after a date is that date's weekday: "5 May 2017 (Friday)".
_APPOSED = re.compile(r"\s*[,(]?\s*")


# --- the entry point ----------------------------------------------------------------------


def _pub(published: date | datetime | None) -> tuple[date | None, datetime | None]:
    if published is None:
        return None, None
    if isinstance(published, datetime):
        return published.date(), published
    return published, None


# extract() and then clauses() read the same article (events.find_mentions): its sentence
# bounds and tokens are made once. One slot, matched by identity; neither is ever changed
# after it is made, so a reader from another thread's article is never used, only missed.
_last_reader: tuple[str, list[int], TenseReader] | None = None


def _reader(text: str) -> tuple[list[int], TenseReader]:
    global _last_reader
    last = _last_reader
    if last is not None and last[0] is text:
        return last[1], last[2]
    bounds = _sentence_bounds(text)
    reader = TenseReader(text, bounds)
    _last_reader = (text, bounds, reader)
    return bounds, reader


def extract(text: str, published: date | datetime | None = None) -> list[TemporalMention]:
    """The temporal expressions of a text, sorted by start and non-overlapping.

    Relative expressions resolve against `published` (a datetime also dates "three hours
    ago"); without it they get XXXX-style values and no interval, while absolute ones
    still resolve.  Choices worth knowing:

    - A bare month, weekday, holiday, or year-less date takes the tense of the verb group
      that governs it (see _tense: "was quietly scheduled for Friday", "had been set for
      March", "plans to release it in January"; past: the latest one not after publication;
      future: the first one not before it), else the nearest reading.  Weak evidence (a
      plan in the past, a moved deadline, a verb across a comma) does not push a date most
      of a year away when a reading within three months exists.  Quarters "will report
      third-quarter results" stay on a quarter that ended up to 45 days before publication.
    - "two days later", "the next day", "a year earlier" count from the latest date
      mentioned earlier in the text (at day precision for days and weeks; after a month
      or a year, the result keeps that precision), else from publication, unless that
      contradicts the tense (a past-tense "later" after publication): then XXXX, no date.
      "a year earlier/ago" keeps the precision of a quarter or month it compares with
      ("the third quarter ... a year earlier" -> the year-ago quarter).
    - Intervals are the named calendar period, narrowed by START/MID/END to its first,
      middle or last third (months: days 1-10, 11-20, 21-end; years: Jan-Apr, May-Aug,
      Sep-Dec; decades: years 0-3, 4-6, 7-9), and for "earlier/later this week/month/
      year" to the part before/after publication.  Other mods (APPROX, ON_OR_AFTER, ...)
      leave the period as named.  Weeks are ISO weeks (Monday-Sunday), weekends
      Saturday-Sunday, seasons meteorological (2023-WI is December 2023-February 2024),
      fiscal years the calendar year of the same number.
    """
    pub, pub_at = _pub(published)
    chosen = _merge_clock(text, _select(find_candidates(text)))
    bounds, reader = _reader(text)
    mentions: list[TemporalMention] = []
    anchor_day: date | None = None
    anchor_any: date | None = None
    period: Period | None = None
    last: Period | None = None
    prev: tuple[int, str | None, bool, str | None] | None = None  # end, tense, close, granularity
    floor = 0
    for index, (s, e, sem) in enumerate(chosen):
        s, sem = _with_prefix(text, s, e, sem, floor)
        ceiling = chosen[index + 1][0] if index + 1 < len(chosen) else len(text)
        e, sem = _with_suffix(text, e, sem, ceiling)
        k = bisect_right(bounds, s) - 1
        s0 = bounds[k]
        s1 = bounds[k + 1] if k + 1 < len(bounds) else len(text)
        gap = text[prev[0] : s] if prev is not None and prev[0] >= s0 else None
        if gap is not None and prev is not None and _COORDINATED.fullmatch(gap):
            # "until Thursday or Friday": one construction; the end of a span may lie further on
            tense, close = prev[1], prev[2] and _OR_AND.search(gap) is not None
        else:
            tense, close = reader.tense(s0, s, e)
        if (
            sem.kind == "weekday" and sem.direction is None and gap is not None and prev is not None
            and prev[3] == "day" and _APPOSED.fullmatch(gap)
        ):
            # "on 5 May 2017, Friday": the weekday of the date just named
            sem = replace(sem, anchor="text")
            tense = None
        ctx = Context(pub, pub_at, tense, anchor_day, anchor_any, period, close, last)
        try:
            res = resolve(sem, ctx)
        except (OverflowError, ValueError):
            res = None  # arithmetic past the ends of the calendar (year 1 or 9999)
        floor = e
        if res is None:
            continue
        mentions.append(
            TemporalMention(s, e, text[s:e], res.type, res.value, res.mod, res.granularity, res.interval)
        )
        prev = (e, tense, close, res.granularity)
        if res.interval is not None and res.type in ("DATE", "TIME"):
            if res.granularity in ("day", "time") or _NARRATIVE_BEFORE.search(text, max(s0, s - 12), s) or s == s0:
                # "In April 2005 ..." sets the scene for "two months later"; "the 1989 Exxon
                # Valdez disaster" only names something
                last = Period(res.value, res.granularity or "day", res.interval[0], res.interval[1])
            if res.granularity in ("day", "time"):
                anchor_day = res.interval[0]
            anchor_any = res.interval[0]
            if res.granularity is not None and res.mod is None and sem.partial is None and not sem.keep_precision:
                # "a year earlier" twice in a row compares with the same period, not a chain
                period = Period(res.value, res.granularity, res.interval[0], res.interval[1])
    return mentions


def clauses(text: str, spans: Sequence[tuple[int, int]]) -> list[Clause]:
    """For each (start, end) span of `text` (a temporal expression), the verb that governs it
    and what its clause says: reported ("said on Monday"), negated, conditional (see Clause)."""
    bounds, reader = _reader(text)
    out: list[Clause] = []
    for start, end in spans:
        s0 = bounds[bisect_right(bounds, start) - 1]
        out.append(reader.clause(s0, start, end))
    return out
