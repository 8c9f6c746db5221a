"""The tagging pipeline: candidates -> non-overlapping spans -> modifiers -> resolution."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import replace
from datetime import date, datetime

from ._calendar import Period
from ._resolve import Context, resolve
from ._rules import Candidate, find_candidates
from ._sem import Sem
from ._types import TemporalMention

__all__ = ["extract"]


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
    r"|(?P<MORE_THAN>more\s+than\s+)|(?P<LESS_THAN>(?:less|fewer)\s+than\s+)"
    r"|(?P<EQUAL_OR_MORE>at\s+least\s+)"
    r"|(?P<EQUAL_OR_LESS>(?:at\s+most|no\s+more\s+than|up\s+to)\s+))$",
    re.IGNORECASE,
)
_PREFIX_WINDOW = 32
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


# --- sentences and tense ------------------------------------------------------------------

# The lookbehind lets only the first mark of a run start a match, so "....." stays linear.
_BOUNDARY = re.compile(r"(?<![.!?])[.!?]++[\"')\]\u201d\u2019]*\s+(?=[\"'(\[\u201c\u2018]?[A-Z0-9])|\n\s*\n")
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Gen|Gov|Sen|Rep|St|Jr|Sr|Inc|Corp|Co|Ltd|No|vs|Jan|Feb|Mar|Apr|Jun|Jul|Aug"
    r"|Sep|Sept|Oct|Nov|Dec|Mon|Tue|Tues|Wed|Thu|Thurs|Fri|Sat|Sun|U\.S|U\.K|a\.m|p\.m|[A-Z])\.)$"
)
_FUTURE = re.compile(
    r"\b(?:will|won['\u2019]t|shall|going\s+to|set\s+to|plans?\s+to|planning\s+to|scheduled"
    r"|slated|expected\s+to|expects?\s+to|to\s+be\s+held|upcoming|intends?\s+to|aims?\s+to"
    r"|hopes?\s+to|next|would|is\s+to|are\s+to|due\s+to\s+(?:be|start|begin|open|close|meet"
    r"|vote|arrive|launch|release|end)|until|by|payable|expires?)\b|['\u2019]ll\b",
    re.IGNORECASE,
)
_PAST = re.compile(
    r"\b(?:said|was|were|had|did|ago|last|earlier|previously|told|went|came|took|made|met|held"
    r"|began|gave|saw|left|rose|fell|won|lost|sold|bought|paid|sent|spent|got|found|thought"
    r"|knew|became|brought|ran|wrote|spoke|chose|drew|grew|fled|struck|led|stood|felt|kept"
    r"|heard|meant|broke|shook|threw|forgot|sought|taught|caught|fought|hit|quit|announced)\b"
    r"|\b(?!(?:scheduled|expected|planned|proposed|slated|need|indeed|speed|feed|seed|breed"
    r"|bleed|proceed|succeed|exceed|bed|red|shed|hundred|united|based|related|limited"
    r"|concerned|interested|advanced|detailed|supposed|listed|required|needed|embed)\b)"
    r"[a-z]{2,}ed\b",
    re.IGNORECASE,
)
# Reporting verbs date the report, not what is reported: they count only right next to
# the expression ("said Friday", "Friday said", "said on Friday").
_REPORTING = frozenset(("said", "told", "announced"))
_REPORTING_REACH = 4
# Past forms that are never participles after "will be", "is", "to be".
_FINITE_PAST = frozenset(("said", "was", "were", "had", "did", "ago", "last", "earlier", "previously"))
_PAST_AUX_BEFORE = re.compile(
    r"\b(?:had\s+been|was|were|had)\s+(?:(?:due|set|scheduled|slated|expected|planned)\s+to\s+)?$",
    re.IGNORECASE,
)
_PASSIVE_BEFORE = re.compile(r"\b(?:is|are|be|being|will\s+be|to\s+be|been)\s+$", re.IGNORECASE)
# "until" and "by" carry no tense of their own: after a past verb ("lasted until November",
# "had finished by May") they point back like the verb does.
_PREPOSITIONS = frozenset(("until", "by"))
_PREP_REACH = 28


# Cues further away than this, or in another sentence, say nothing about an expression.
_TENSE_WINDOW = 160
_CLOSE_CUE = 24


def _sentence_bounds(text: str) -> list[int]:
    """Start offsets of sentences (0 included), skipping common abbreviations."""
    starts = [0]
    for m in _BOUNDARY.finditer(text):
        if m.group().startswith(".") and _ABBREV.search(text, max(0, m.start() - 6), m.start() + 1):
            continue
        starts.append(m.end())
    return starts


Cues = tuple[list[int], list[int], list[str]]


def _find_cues(text: str) -> Cues:
    """Every tense cue of the text (starts, ends, labels), in order, found in one pass."""
    found: list[tuple[int, int, str]] = []
    for rx, label in ((_PAST, "past"), (_FUTURE, "future")):
        for m in rx.finditer(text):
            if label == "past" and m.group().lower() not in _FINITE_PAST and _PASSIVE_BEFORE.search(
                text, max(0, m.start() - 12), m.start()
            ):
                continue  # "will be held", "is expected": not the past
            if label == "future" and _PAST_AUX_BEFORE.search(text, max(0, m.start() - 36), m.start()):
                label_here = "past"  # "had been scheduled to", "was due to": plans of the past
            elif label == "future" and m.group().lower() in _PREPOSITIONS and _past_verb_before(text, m.start()):
                label_here = "past"
            else:
                label_here = label
            reporting = m.group().lower() in _REPORTING
            found.append((m.start(), m.end(), "report" if reporting else label_here))
    found.sort()
    return [c[0] for c in found], [c[1] for c in found], [c[2] for c in found]


def _past_verb_before(text: str, at: int) -> bool:
    """Whether a past verb ends at most two words before `at` ("lasted until", "ran on until")."""
    window = text[max(0, at - _PREP_REACH) : at]
    last = None
    for last in _PAST.finditer(window):
        pass
    if last is None or last.group().lower() in _REPORTING:
        return False
    return len(window[last.end() :].split()) <= 2


def _tense(cues: Cues, s0: int, s1: int, start: int, end: int) -> tuple[str | None, bool]:
    """The tense the cue nearest to [start, end) in its sentence implies, and whether that
    cue is close (a few words away)."""
    starts, ends, labels = cues
    best: tuple[int, int, str] | None = None  # (distance, past before future on ties, label)
    i = bisect_left(starts, end)
    for _ in range(4):
        if i >= len(starts) or starts[i] >= s1 or starts[i] - end > _TENSE_WINDOW:
            break
        if labels[i] != "report" or starts[i] - end <= _REPORTING_REACH:
            best = (starts[i] - end, labels[i] == "future", labels[i])
            break
        i += 1
    j = bisect_left(starts, start) - 1
    # cues overlapping the expression itself ("last" in "last week") are skipped
    for _ in range(6):
        if j < 0 or starts[j] < s0:
            break
        dist = start - ends[j]
        if dist > _TENSE_WINDOW:
            break
        if dist >= 0 and (labels[j] != "report" or dist <= _REPORTING_REACH):
            cand = (dist, labels[j] == "future", labels[j])
            if best is None or cand < best:
                best = cand
            break
        j -= 1
    if best is None:
        return None, False
    label = "past" if best[2] == "report" else best[2]
    return label, best[0] <= _CLOSE_CUE


# --- the entry point ----------------------------------------------------------------------


def _pub(published: date | datetime | None) -> tuple[date | None, datetime | None]:
    if published is None:
        return None, None
    if isinstance(published, datetime):
        return published.date(), published
    return published, None


def extract(text: str, published: date | datetime | None = None) -> list[TemporalMention]:
    """The temporal expressions of a text, sorted by start and non-overlapping.

    Relative expressions resolve against `published` (a datetime also dates "three hours
    ago"); without it they get XXXX-style values and no interval, while absolute ones
    still resolve.  Choices worth knowing:

    - A bare month, weekday, holiday, or year-less date takes the direction of the tense
      cue nearest to it in its sentence (past: the latest one not after publication;
      future: the first one not before it), else the nearest reading.  A distant cue does
      not push a date most of a year away when a reading within three months exists.
      Quarters "will report third-quarter results" stay on a quarter that ended up to 45
      days before publication.
    - "two days later", "the next day", "a year earlier" count from the latest date
      mentioned earlier in the text (at day precision for days and weeks), else from
      publication; "a year earlier/ago" keeps the precision of a quarter or month it
      compares with ("the third quarter ... a year earlier" -> the year-ago quarter).
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
    bounds = _sentence_bounds(text)
    cues = _find_cues(text)
    mentions: list[TemporalMention] = []
    anchor_day: date | None = None
    anchor_any: date | None = None
    period: Period | None = None
    floor = 0
    for index, (s, e, sem) in enumerate(chosen):
        s, sem = _with_prefix(text, s, e, sem, floor)
        ceiling = chosen[index + 1][0] if index + 1 < len(chosen) else len(text)
        e, sem = _with_suffix(text, e, sem, ceiling)
        k = bisect_right(bounds, s) - 1
        s0 = bounds[k]
        s1 = bounds[k + 1] if k + 1 < len(bounds) else len(text)
        tense, close = _tense(cues, s0, s1, s, e)
        ctx = Context(pub, pub_at, tense, anchor_day, anchor_any, period, close)
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
        if res.interval is not None and res.type in ("DATE", "TIME"):
            if res.granularity in ("day", "time"):
                anchor_day = res.interval[0]
            anchor_any = res.interval[0]
            if res.granularity is not None and res.mod is None and sem.partial is None and not sem.keep_precision:
                # "a year earlier" twice in a row compares with the same period, not a chain
                period = Period(res.value, res.granularity, res.interval[0], res.interval[1])
    return mentions
