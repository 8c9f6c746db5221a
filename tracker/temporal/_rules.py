"""The patterns that find temporal expressions, each with a handler that says what it means."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ._holidays import HOLIDAY_PATTERN
from ._lexicon import (
    DAY,
    MONTH,
    MONTHS,
    NUM,
    ORDINALS,
    TZ,
    UNIT,
    UNIT_CODES,
    WEEKDAY,
    WEEKDAYS,
    YEAR4,
    number_value,
)
from ._lexicon import WEEKDAY_ABBR as _WDA
from ._sem import Sem

__all__ = ["Candidate", "RULES", "Rule", "find_candidates"]

Candidate = tuple[int, int, Sem]
Handler = Callable[["re.Match[str]", str], Iterable[Candidate]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled pattern and the handler that turns its matches into candidates.

    Uncased rules are written in lower case and run over an ASCII-lower-cased copy of the
    text (same offsets), which is much faster than re.IGNORECASE; handlers check
    capitals against the original text.
    """

    name: str
    pattern: re.Pattern[str]
    handler: Handler
    cased: bool = False


_I = re.IGNORECASE
_WORD_BEFORE = re.compile(r"([A-Za-z']+)\W{0,3}$")
_WORD_AFTER = re.compile(r"^\W{0,3}([A-Za-z']+)")
# Small context checks of the handlers, compiled once.
_OF_NEXT = re.compile(r"\s+of\b")
_HYPHEN_WORD = re.compile(r"-[A-Za-z]")
_MAY_VERB = re.compile(r"\s+(?:be|have|not|also|well|never|take|say)\b")
_DASH_SPLIT = re.compile(r"[\s-]+")
_ADJ_QUARTER = re.compile(r"-quarter$", re.IGNORECASE)
_TODAY_NAME = re.compile(r"(?:USA|Psychology|China|Russia)\s+$")
_CLOCK_TAIL = re.compile(r"\s*(?:h\b|hrs\b|hours\b|local\b|o'clock)", re.IGNORECASE)
_IN_OF_AND = re.compile(r"\s+(?:of|and)\b")
_AT_BEFORE = re.compile(r"\bat\s+$", re.IGNORECASE)
_TERM_NOUN = re.compile(r"\s*[-\u2013]?\s*(?:care|debt|interest|loans?|rates?|bonds?|notes?|basis)\b", re.IGNORECASE)
_AS_BEFORE = re.compile(r"\bas\s+$", re.IGNORECASE)


def _prev_word(text: str, pos: int) -> str:
    """The word just before pos (lower case), or ""."""
    m = _WORD_BEFORE.search(text[max(0, pos - 24) : pos])
    return m.group(1).lower() if m else ""


def _next_word(text: str, pos: int) -> str:
    m = _WORD_AFTER.match(text[pos : pos + 24])
    return m.group(1) if m else ""


def _capitalized(word: str) -> bool:
    return word[:1].isupper()


def _g(m: re.Match[str], text: str, name: str) -> str | None:
    """A group as written in the original text (uncased rules match a lower-cased copy)."""
    s, e = m.span(name)
    return None if s < 0 else text[s:e]


def _month(m: re.Match[str], text: str) -> int | None:
    """The month number of the mon group, None when it is written in lower case."""
    word = _g(m, text, "mon")
    assert word is not None
    if not _capitalized(word):
        return None
    return MONTHS[word.rstrip(".").lower()]


def _year(text: str) -> int:
    """A year from "2024", "'24" or "24": two digits read as 19xx above 40, else 20xx."""
    digits = text.lstrip("'\u2019")
    y = int(digits)
    if len(digits) == 2:
        y += 1900 if y > 40 else 2000
    return y


def _one(m: re.Match[str], sem: Sem) -> list[Candidate]:
    return [(m.start(), m.end(), sem)]


def _valid_day(year: int | None, month: int, day: int) -> bool:
    if day < 1 or month < 1 or month > 12:
        return False
    lengths = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if day > lengths[month - 1]:
        return False
    if month == 2 and day == 29 and year is not None:
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return True


_YEAR_REL = {"last": -1, "next": 1, "this": 0, "previous": -1, "following": 1, "past": -1}

# Optional year after a month-day or month: ", 2024", " 2024", " of last year".
_YEAR_TAIL = (
    rf"(?:(?:\s*,\s*|\s+)(?:of\s+)?(?P<year>{YEAR4}|'\d\d(?!\d))"
    r"|\s+(?:of\s+)?(?P<yrel>last|next|this)\s+year)?"
)


def _year_fields(m: re.Match[str]) -> tuple[int | None, int | None]:
    y = m.group("year")
    rel = m.group("yrel")
    return (_year(y) if y else None), (_YEAR_REL[rel.lower()] if rel else None)


# --- numeric dates ----------------------------------------------------------------------


def _h_iso(m: re.Match[str], text: str) -> list[Candidate]:
    if m.start() > 0 and text[m.start() - 1] in "-/.0123456789":
        return []
    y, mo, d = int(m.group("y")), int(m.group("mo")), int(m.group("d"))
    if not _valid_day(y, mo, d):
        return []
    if m.group("h") is not None:
        hour, minute = int(m.group("h")), int(m.group("mi"))
        if hour > 24 or minute > 59:
            return []
        return _one(m, Sem("cal", "TIME", year=y, month=mo, day=d, hour=hour, minute=minute))
    return _one(m, Sem("cal", year=y, month=mo, day=d))


def _numeric_day(m: re.Match[str], text: str, y: int, mo: int, d: int) -> list[Candidate]:
    """A date in digits, unless it continues a longer run (a version, a phone number)."""
    if m.start() > 0 and text[m.start() - 1] in "/.-0123456789":
        return []
    if not _valid_day(y, mo, d):
        return []
    return _one(m, Sem("cal", year=y, month=mo, day=d))


def _h_slash(m: re.Match[str], text: str) -> list[Candidate]:
    a, b = int(m.group("a")), int(m.group("b"))
    mo, d = (a, b) if a <= 12 else (b, a)  # US order unless impossible
    return _numeric_day(m, text, _year(m.group("y")), mo, d)


def _h_ymd_slash(m: re.Match[str], text: str) -> list[Candidate]:
    return _numeric_day(m, text, int(m.group("y")), int(m.group("mo")), int(m.group("d")))


def _h_dmy_dot(m: re.Match[str], text: str) -> list[Candidate]:
    return _numeric_day(m, text, int(m.group("y")), int(m.group("mo")), int(m.group("d")))


# --- month and day in words -------------------------------------------------------------


def _weekday_prefix_ok(m: re.Match[str], text: str) -> bool:
    s = m.start("wdp")
    return s < 0 or _capitalized(text[s])


def _wdp(m: re.Match[str]) -> int | None:
    """The weekday written before a date ("Saturday, April 25"): it tells the year."""
    wd = m.group("wdp")
    return None if wd is None else WEEKDAYS[wd.rstrip(".").lower()]


def _h_month_day(m: re.Match[str], text: str) -> list[Candidate]:
    month = _month(m, text)
    if month is None or not _weekday_prefix_ok(m, text):
        return []
    day = int(m.group("day"))
    year, year_rel = _year_fields(m)
    if not _valid_day(year, month, day):
        return []
    mon = _g(m, text, "mon") or ""
    # "May 5" and "March 3" are dates, but "may 5" is not; abbreviations need no check
    if mon in ("May", "March") and m.group("year") is None and _HYPHEN_WORD.match(text, m.end()):
        return []  # "May 5-based"
    return _one(m, Sem("cal", year=year, month=month, day=day, year_rel=year_rel, weekday=_wdp(m)))


def _h_day_range(m: re.Match[str], text: str) -> list[Candidate]:
    """"March 26-28, 2024": two dates, the first with the month and the second alone."""
    month = _month(m, text)
    if month is None:
        return []
    d1, d2 = int(m.group("day")), int(m.group("d2"))
    year, year_rel = _year_fields(m)
    if not (d1 < d2 and _valid_day(year, month, d1) and _valid_day(year, month, d2)):
        return []
    return [
        (m.start(), m.end("day"), Sem("cal", year=year, month=month, day=d1, year_rel=year_rel)),
        (m.start("d2"), m.end(), Sem("cal", year=year, month=month, day=d2, year_rel=year_rel)),
    ]


def _h_day_month(m: re.Match[str], text: str) -> list[Candidate]:
    month = _month(m, text)
    if month is None or not _weekday_prefix_ok(m, text):
        return []
    day = int(m.group("day"))
    year, year_rel = _year_fields(m)
    if not _valid_day(year, month, day):
        return []
    return _one(m, Sem("cal", year=year, month=month, day=day, year_rel=year_rel, weekday=_wdp(m)))


_MONTH_CUES = frozenset(
    "in since by until till through during from to of early late mid last next this every "
    "each on before after between and or until throughout around about circa".split()
)


def _h_month(m: re.Match[str], text: str) -> list[Candidate]:
    month = _month(m, text)
    if month is None:
        return []
    mon = _g(m, text, "mon") or ""
    year, year_rel = _year_fields(m)
    rel = m.group("rel")
    has_context = year is not None or year_rel is not None or rel is not None
    if mon.endswith(".") or (len(mon) <= 4 and mon != "May" and mon != "June" and mon != "July"):
        # a bare abbreviation ("Mar", "Dec") is too often something else
        if not has_context or year is None and rel is None and year_rel is None:
            return []
    if mon in ("May", "March") and not has_context:
        # the modal verb and the verb march: only with a temporal cue before them
        prev = _prev_word(text, m.start())
        if prev not in _MONTH_CUES and not (mon == "March" and prev in ("for", "set", "slated", "scheduled")):
            return []  # "set for March", but "support for May" is the politician
        if mon == "May" and _MAY_VERB.match(text, m.end()):
            return []
    direction = None
    if rel:
        r = rel.lower().split()
        direction = {"last": "last", "next": "next", "this": "this", "coming": "next", "past": "last"}[
            r[-1] if r[0] == "this" and len(r) > 1 else r[0]
        ]
    return _one(m, Sem("cal", year=year, month=month, year_rel=year_rel, direction=direction))


# --- years, decades, centuries ----------------------------------------------------------

_YEAR_CUES = frozenset(
    "in since by until till through during from to of early late mid before after between "
    "and or fiscal year circa c around about summer spring winter fall autumn end beginning "
    "start middle throughout".split()
)
_NOT_PLURAL = frozenset(
    "was has is its this his as plus versus thus across towards unless always less yes "
    "perhaps does goes says seems marks sees saw".split()
)
_UNIT_WORDS = frozenset(
    "km kg mg g lb lbs ft m cm mm mph kph mw gw kw kwh mb gb tb hp cc ml tons tonnes "
    "metres meters miles feet yards acres units shares people workers employees "
    # measures of devices and signals: "a 2000 Hz tone", "a 5000 mAh battery", "1200 dpi"
    "hz khz mhz ghz mah wh mwh gwh twh v kv w rpm dpi ppi fps psi bar kbps mbps gbps kb px mp "
    "percent per cent calories kcal".split()
)


# Labels after which a four-digit number is a name or a count, not a year.
_NOT_YEAR_AFTER = re.compile(
    r"\b(?:no|nos|number|flight|route|model|room|highway|windows|iphone|galaxy|boeing|airbus"
    r"|page|pages|p|pp|section|article|resolution|rule|form|bus|train|channel|level)\.?\s+$",
    re.IGNORECASE,
)
_YEAR_JOIN = re.compile(r"(?:\d{4}|\bmid|\bearly|\blate)-$", re.IGNORECASE)
_YEAR_RANGE_AFTER = re.compile(r"-(?:\d{4}|\d\d)\b")


# Words after which a capitalised year is still a date ("In 2015", "Summer 2015"), not part of a name.
_NAME_YEAR_OK = frozenset(
    """in since by until till through during from to of early late mid before after between and or fiscal
    year circa around about summer spring winter fall autumn end beginning start middle throughout fy
    christmas easter thanksgiving ramadan hanukkah diwali the a an this that these those its his her their
    our my your for at on with as per vs versus than over under into within without against""".split()
) | frozenset(MONTHS) | frozenset(WEEKDAYS)
_CAPITAL_WORD_BEFORE = re.compile(r"(?<![\w'\u2019])([A-Z][A-Za-z]*[a-z][A-Za-z]*|[A-Z]{2,})[ \t]$")
# "the class of 2012", "graduates of 2019": a cohort named by its year
_COHORT_BEFORE = re.compile(r"\b(?:class|classes|batch|cohort|graduates|alumni|vintage)\s+of\s+$", re.IGNORECASE)


def _year_in_name(m: re.Match[str], text: str) -> bool:
    """"Eurovision 2015", "Vision 2030", "Game of the Year 2010", "World Cup 2026 qualifiers":
    a year written after a capitalised word, with no preposition of time, is part of a name."""
    s = m.start("y")
    if m.group("the"):
        return text[m.start("the") : m.end("the")].split()[-1][:1] == "Y"  # "the Year 2010"
    if _COHORT_BEFORE.search(text, max(0, s - 20), s):
        return True
    before = _CAPITAL_WORD_BEFORE.search(text, max(0, s - 30), s)
    if before is None:
        return False
    word = before.group(1)
    return word.lower() not in _NAME_YEAR_OK and word.lower().rstrip(".") not in _NAME_YEAR_OK


def _h_year(m: re.Match[str], text: str) -> list[Candidate]:
    if _year_in_name(m, text):
        return []
    s = m.start("y")
    before = text[s - 1 : s] if s > 0 else ""
    if before in ("$", "#", "\u20ac", "\u00a3", "\u00a5", "-", "/", ".", ",", "+", ":"):
        # amounts, codes and decimals; but "2009-2010" and "mid-1996" are years
        if not (before == "-" and _YEAR_JOIN.search(text, max(0, s - 6), s)):
            return []
    if text[m.end() : m.end() + 1] in ("-", "/", ":") and not _YEAR_RANGE_AFTER.match(text, m.end()):
        return []
    if _NOT_YEAR_AFTER.search(text, max(0, s - 14), s):
        return []
    y = int(m.group("y"))
    prev = _prev_word(text, s)
    if y < 1900 and prev not in _YEAR_CUES and not m.group("the"):
        return []  # old years need a cue: "in 1848", not "1500 points"
    nxt = _next_word(text, m.end())
    if nxt and text[m.end() : m.end() + 1] == " ":
        low = nxt.lower()
        # "2000 shares", "1500 km": a count of something plural or measured
        if low in _UNIT_WORDS or (
            nxt.islower() and low.endswith("s") and len(low) > 3 and low not in _NOT_PLURAL
            and not low.endswith("ss")
        ):
            return []
        if prev in ("a", "an") and nxt.islower():
            return []  # "a 2000 increase"
    return _one(m, Sem("cal", year=y))


def _h_year_range(m: re.Match[str], text: str) -> list[Candidate]:
    if m.start() > 0 and text[m.start() - 1] in "$#-/.,0123456789":
        return []
    y1 = int(m.group("y1"))
    y2s = m.group("y2")
    y2 = int(y2s) if len(y2s) == 4 else (y1 // 100) * 100 + int(y2s)
    if len(y2s) == 2 and y2 < y1:
        y2 += 100
    if not (0 < y2 - y1 <= 30):
        return []
    return [
        (m.start("y1"), m.end("y1"), Sem("cal", year=y1)),
        (m.start("y2"), m.end("y2"), Sem("cal", year=y2)),
    ]


_DECADE_WORDS = {
    "twenties": 2, "thirties": 3, "forties": 4, "fifties": 5, "sixties": 6, "seventies": 7,
    "eighties": 8, "nineties": 9,
}  # fmt: skip


def _h_decade(m: re.Match[str], text: str) -> list[Candidate]:
    the = m.group("the")
    if m.group("d4"):
        dec = int(m.group("d4"))
    elif m.group("d2"):
        dec = 190 + int(m.group("d2"))
    elif m.group("d2b"):
        if not the:
            return []
        dec = 190 + int(m.group("d2b"))
    else:
        if not the:
            return []
        dec = 190 + _DECADE_WORDS[m.group("dw").lower()]
    return _one(m, Sem("cal", decade=dec))


_CENTURY_ORD = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "twenty-first": 21, "twenty first": 21,
}  # fmt: skip


def _h_century(m: re.Match[str], text: str) -> list[Candidate]:
    n = int(m.group("n")) if m.group("n") else _CENTURY_ORD.get(m.group("w").lower().replace("-", " ").replace("  ", " "), 0)
    if not 1 <= n <= 30:
        return []
    return _one(m, Sem("cal", century=n - 1))


_SPOKEN_TENS = {"ten": 10, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
                "seventy": 70, "eighty": 80, "ninety": 90}  # fmt: skip


def _h_spoken_year(m: re.Match[str], text: str) -> list[Candidate]:
    words = _DASH_SPLIT.split(m.group("rest").lower())
    total = 0
    for w in words:
        if w in ("oh", "and"):
            continue
        v = _SPOKEN_TENS.get(w)
        if v is None:
            n = number_value(w)
            if n is None or not isinstance(n, int):
                return []
            v = n
        total += v
    if total >= 100:
        return []
    century = {"nineteen": 1900, "eighteen": 1800, "twenty": 2000}[m.group("c").lower()]
    return _one(m, Sem("cal", year=century + total))


def _h_two_thousand(m: re.Match[str], text: str) -> list[Candidate]:
    rest = m.group("rest")
    add = number_value(rest) if rest else 0
    if add is None or not isinstance(add, int) or add >= 100:
        return []
    return _one(m, Sem("cal", year=2000 + add))


# --- quarters, halves, seasons, fiscal years --------------------------------------------


def _h_quarter(m: re.Match[str], text: str) -> list[Candidate]:
    q = ORDINALS[m.group("ord").lower()]
    if not 1 <= q <= 4:
        return []
    year = None
    year_rel = None
    for g in ("y1", "y2", "y3"):
        if m.group(g):
            year = _year(m.group(g))
    for g in ("yrel1", "yrel2"):
        if m.group(g):
            year_rel = _YEAR_REL[m.group(g).lower()]
    start = m.start()
    pre = m.group("pre")
    adjectival = _ADJ_QUARTER.search(m.group("body")) is not None and not (
        m.group("y2") or m.group("yrel2") or m.group("y3")
    )
    if pre and (pre.lower() != "the" or adjectival):
        start = m.start("body")  # "its third quarter", "the third-quarter loss"
    return [(start, m.end(), Sem("cal", quarter=q, year=year, year_rel=year_rel))]


def _h_qform(m: re.Match[str], text: str) -> list[Candidate]:
    q = int(m.group("q") or m.group("q2") or m.group("q3"))
    ys = m.group("y") or m.group("y2") or m.group("y3")
    if m.group("q2") and not ys:
        return []
    return _one(m, Sem("cal", quarter=q, year=_year(ys) if ys else None))


def _h_half(m: re.Match[str], text: str) -> list[Candidate]:
    word = m.group("ord").lower()
    half = 1 if word in ("first", "1st", "front") else 2
    ys = m.group("y") or m.group("y_")
    year = _year(ys) if ys else None
    year_rel = _YEAR_REL[m.group("yrel").lower()] if m.group("yrel") else None
    if year is None and year_rel is None:
        if m.group("ofyear") is None and _OF_NEXT.match(text, m.end()):
            return []  # "the first half of the game"
        if not m.group("the"):
            return []
    return _one(m, Sem("cal", half=half, year=year, year_rel=year_rel))


def _h_hform(m: re.Match[str], text: str) -> list[Candidate]:
    return _one(m, Sem("cal", half=int(m.group("h") or m.group("h2")), year=_year(m.group("y") or m.group("y2"))))


_SEASONS = {"spring": "SP", "summer": "SU", "autumn": "FA", "fall": "FA", "winter": "WI"}
_SEASON_CUES = frozenset(
    "in during by until till through since from to before after this last next early late "
    "mid over throughout each every of".split()
)


def _h_season(m: re.Match[str], text: str) -> list[Candidate]:
    word = _g(m, text, "s") or ""
    season = _SEASONS[word.lower()]
    year = _year(m.group("y")) if m.group("y") else None
    year_rel = _YEAR_REL[m.group("yrel").lower()] if m.group("yrel") else None
    rel = (m.group("rel") or "").lower().split()
    if year is None and year_rel is None:
        if _OF_NEXT.match(text, m.end()):
            return []  # "the fall of Rome", "spring of hope"
        prev = _prev_word(text, m.start())
        if rel == ["the"] and season == "FA" and word.islower():
            if prev not in _FALL_PREPS:
                return []  # "the fall in prices"
        elif not rel and prev not in ("early", "late", "mid"):
            # a bare season needs a temporal preposition before it and no noun after it
            # ("in spring", not "spring water"); a bare lower-case "fall" is the verb
            if prev not in _SEASON_CUES or season == "FA" and word.islower():
                return []
            nxt = _next_word(text, m.end())
            if nxt.lower() in ("and", "or") or (nxt.islower() and nxt.lower() not in _AFTER_OK):
                return []
    direction = None
    if rel and rel != ["the"]:
        key = rel[-1] if rel[0] == "this" and len(rel) > 1 else rel[0]
        direction = {"this": "this", "last": "last", "past": "last", "next": "next", "coming": "next"}.get(key)
    return _one(m, Sem("cal", season=season, year=year, year_rel=year_rel, direction=direction))


_FALL_PREPS = frozenset("in during by until till since through over for before after throughout".split())
_AFTER_OK = frozenset(
    "and or to the a when as with after before because but while that which than in on at "
    "for by from of is was will would".split()
)


def _h_fiscal(m: re.Match[str], text: str) -> list[Candidate]:
    return _one(m, Sem("cal", year=_year(m.group("y"))))


# --- holidays ---------------------------------------------------------------------------


def _h_holiday(m: re.Match[str], text: str) -> list[Candidate]:
    key = next(k[2:] for k, v in m.groupdict().items() if k.startswith("h_") and v)
    year = _year(m.group("y")) if m.group("y") else None
    rel = m.group("rel")
    direction = {"last": "last", "next": "next", "this": "this"}.get(rel.lower()) if rel else None
    return _one(m, Sem("holiday", holiday=key, year=year, direction=direction))


# --- weekdays, deictic days, times of day -----------------------------------------------

_TOD = {"morning": "MO", "afternoon": "AF", "evening": "EV", "night": "NI", "tonight": "NI"}
_WD_REL = {
    "last": "last", "next": "next", "this": "this", "coming": "next", "this coming": "next",
    "this past": "last", "past": "last", "previous": "last", "the previous": "last",
    "the following": "next", "following": "next", "the next": "next",
}  # fmt: skip


def _h_weekday(m: re.Match[str], text: str) -> list[Candidate]:
    wd = _g(m, text, "wd") or ""
    if not _capitalized(wd):
        return []
    rel = m.group("rel")
    direction = _WD_REL[" ".join(rel.lower().split())] if rel else None
    anchor = "text" if rel and rel.lower().startswith("the ") else "pub"
    tod = _TOD[m.group("tod").lower()] if m.group("tod") else None
    return _one(
        m,
        Sem(
            "weekday",
            "TIME" if tod else "DATE",
            weekday=WEEKDAYS[wd.lower()],
            direction=direction,
            anchor=anchor,
            tod=tod,
        ),
    )


_DEICTIC = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}


# Programme names: "The Tonight Show", "NBC's Today show", "Fox News Tonight", "World Today".
_SHOW_AFTER = re.compile(r"['\u2019]?\s*(?:[Ss]how|[Pp]rogram(?:me)?|[Ee]dition|[Ss]egment|[Hh]ost|[Aa]nchor)\b")
_NAME_BEFORE = re.compile(r"[A-Za-z0-9&'\u2019][ \t]+$")
# Figurative "today's youth", "tomorrow's leaders", "the cars of tomorrow": an era, not a day.
_GENERIC_NOUNS = frozenset(
    """youth young youngsters kids children students teens teenagers generation generations parents families
    workers workforce employees consumers customers shoppers voters citizens people society societies world
    leaders managers executives engineers scientists doctors nurses players athletes musicians artists
    designers architects entrepreneurs investors pensioners retirees seniors adults women men girls boys
    audiences readers viewers fans users standards dollars terms money economy climate environment culture
    media technology technologies tech cars vehicles computers machines devices phones smartphones gadgets
    internet web jobs era age times life lives politics politicians music films movies cinema games
    businesses companies firms schools classrooms universities cities homes houses military armies warfare
    wars threats challenges problems landscape reality realities norms values fashion trends millennials
    generals soldiers heroes stars champions church government governments""".split()
)
_POSSESSIVE_AFTER = re.compile(r"['\u2019]s?((?:\s+[A-Za-z][\w-]*){1,3})")
_PHRASE_END = frozenset("of on in at with for to from by about and or but the a an that which who is are was were".split())
_OF_BEFORE = re.compile(r"\b([A-Za-z]+)\s+of\s+$")
# "as of today", "the end of tomorrow", "the morning of yesterday": real days after all
_OF_DAY_NOUNS = frozenset(
    """as end start beginning close middle morning afternoon evening night events results news edition
    issue rest remainder course hours session""".split()
)
_FIGURATIVE = {"today": "PRESENT_REF", "tomorrow": "FUTURE_REF", "yesterday": "PAST_REF", "tonight": "PRESENT_REF"}


def _deictic_is_name(m: re.Match[str], text: str) -> bool:
    """A capitalised Today/Tonight/Tomorrow inside a sentence, or before "show": a programme."""
    word = text[m.start("w") : m.end("w")]
    if _SHOW_AFTER.match(text, m.end("w")) and word[:1].isupper():
        return True
    if not word[:1].isupper() or word.isupper():
        return False
    return _NAME_BEFORE.search(text, max(0, m.start() - 4), m.start()) is not None


def _deictic_is_figurative(m: re.Match[str], text: str) -> bool:
    if m.group("tod"):
        return False
    after = _POSSESSIVE_AFTER.match(text, m.end(), m.end() + 48)
    if after is not None:
        # the noun phrase after the possessive, up to its first function word:
        # "today's young people" (figurative), "today's meeting with world leaders" (a day)
        for w in after.group(1).lower().split():
            if w in _GENERIC_NOUNS:
                return True
            if w in _PHRASE_END:
                break
        return False
    before = _OF_BEFORE.search(text, max(0, m.start() - 24), m.start())
    return before is not None and before.group(1).lower() not in _OF_DAY_NOUNS


def _h_deictic(m: re.Match[str], text: str) -> list[Candidate]:
    word = m.group("w").lower()
    if word == "today" and m.start() > 0 and _TODAY_NAME.search(text, max(0, m.start() - 12), m.start()):
        return []  # newspaper and channel names
    if _deictic_is_name(m, text):
        return []
    if _deictic_is_figurative(m, text):
        return [(m.start(), m.end("w"), Sem("ref", value=_FIGURATIVE[word]))]
    tod = _TOD[m.group("tod").lower()] if m.group("tod") else ("NI" if word == "tonight" else None)
    return _one(m, Sem("rel", "TIME" if tod else "DATE", unit="day", offset=_DEICTIC[word], tod=tod))


def _h_this_tod(m: re.Match[str], text: str) -> list[Candidate]:
    word = m.group("rel").lower()
    tod = _TOD[m.group("tod").lower()]
    offset = -1 if word in ("last", "yesterday") else 0
    return _one(m, Sem("rel", "TIME", unit="day", offset=offset, tod=tod))


_TOD_MOD = {"early": "START", "late": "END", "mid": "MID"}


def _h_tod_mod(m: re.Match[str], text: str) -> list[Candidate]:
    """"mid-afternoon", "late evening yesterday": a part of a day with a modifier."""
    tod = _TOD[m.group("tod")]
    mod = _TOD_MOD[m.group("mod")]
    day = m.group("day")
    if day is None or day in _DEICTIC:
        offset = _DEICTIC[day] if day else 0
        return _one(m, Sem("rel", "TIME", unit="day", offset=offset, tod=tod, mod=mod))
    if not _capitalized(_g(m, text, "day") or ""):
        return []
    return _one(m, Sem("weekday", "TIME", weekday=WEEKDAYS[day], tod=tod, mod=mod))


def _h_clock(m: re.Match[str], text: str) -> list[Candidate]:
    hour = int(m.group("h"))
    minute = int(m.group("mi") or 0)
    ampm = m.group("ampm")
    if ampm is not None:
        if not 1 <= hour <= 12:
            return []
        pm = ampm.lower().startswith("p")
        hour = hour % 12 + (12 if pm else 0)
    else:
        prev = _prev_word(text, m.start())
        tail = text[m.end() : m.end() + 14].lower()
        if m.group("tz") is None and prev not in _CLOCK_CUES and not _CLOCK_TAIL.match(tail):
            return []
        if hour > 24 or minute > 59:
            return []
    if m.start() > 0 and text[m.start() - 1] in "$.:/-0123456789":
        return []
    return _one(m, Sem("rel", "TIME", unit="day", offset=0, hour=hour, minute=minute))


_CLOCK_CUES = frozenset("at by until till from before after since around about between and to".split())


def _h_noon(m: re.Match[str], text: str) -> list[Candidate]:
    word = m.group("w").lower()
    hour = 24 if word == "midnight" else 12
    return _one(m, Sem("rel", "TIME", unit="day", offset=0, hour=hour, minute=0))


# --- relative periods -------------------------------------------------------------------

_REL_OFFSET = {
    "this": 0, "current": 0, "the current": 0, "last": -1, "past": -1, "previous": -1,
    "the previous": -1, "next": 1, "coming": 1, "the coming": 1, "this past": -1,
    "this coming": 1, "the latest": -1, "latest": -1, "the past": -1, "the last": -1,
    "the next": 1, "the following": 1, "following": 1, "the preceding": -1, "the prior": -1,
    "prior": -1, "the same": 0, "that": 0, "the": 0,
}  # fmt: skip
_DURATION_PREPS = frozenset("over during within for in throughout through into".split())


def _unit_key(word: str) -> str:
    w = word.lower()
    if w.startswith("fiscal") or w.startswith("full"):
        w = w.split()[-1]
    return "century" if w.startswith("centur") else w.rstrip("s") if w != "weekends" else "weekend"


def _h_rel_period(m: re.Match[str], text: str) -> list[Candidate]:
    rel = " ".join(m.group("rel").lower().split())
    unit = _unit_key(m.group("unit"))
    anchor = "pub"
    if rel in ("the past", "the last", "the coming", "the next", "the following") and unit in (
        "year", "month", "week", "decade", "century", "quarter", "day",
    ):
        prev = _prev_word(text, m.start())
        forward = rel in ("the coming", "the next", "the following")
        if not forward or prev in _DURATION_PREPS:
            if unit == "day" and not forward:
                return []
            code, mult = UNIT_CODES[unit]
            return _one(m, Sem("duration", "DURATION", value=_duration_value(1, code, mult)))
        if rel == "the coming":
            return _one(m, Sem("rel", unit=unit, offset=1))
        anchor = "text"
    if rel in ("the following", "following", "the preceding", "the prior", "prior", "the same", "that"):
        anchor = "text"
    if rel == "the" and m.group("unit").split()[0] in ("fiscal", "full") and unit == "year":
        return _one(m, Sem("rel", unit="year", offset=0))
    if rel == "the":
        if unit not in ("week", "weekend", "quarter", "day"):
            return []
        if unit == "day":
            return []
        return _one(m, Sem("rel", unit=unit, offset=0, past_shift=-1 if unit in ("quarter", "weekend") else 0))
    offset = _REL_OFFSET[rel]
    if rel in ("the latest", "latest") and unit != "quarter":
        return []
    if unit == "day" and rel not in ("the next", "the following", "the previous", "the preceding", "the prior", "the same", "following", "previous", "prior", "that"):
        return []
    if rel in ("next", "last", "previous", "past", "this", "coming") and unit == "day":
        return []
    if unit in ("day",) or anchor == "text":
        anchor = "text"
    return _one(m, Sem("rel", unit=unit, offset=offset, anchor=anchor))


def _h_edge_of(m: re.Match[str], text: str) -> list[Candidate]:
    word = m.group("edge").lower()
    mod = {"end": "END", "close": "END", "beginning": "START", "start": "START", "middle": "MID"}[word]
    unit = _unit_key(m.group("unit"))
    return _one(m, Sem("rel", unit=unit, offset=0, mod=mod))


def _h_earlier_in(m: re.Match[str], text: str) -> list[Candidate]:
    word = m.group("w").lower()
    unit = _unit_key(m.group("unit"))
    earlier = word == "earlier"
    return _one(
        m,
        Sem("rel", unit=unit, offset=0, mod="START" if earlier else "END", partial="before" if earlier else "after"),
    )


def _h_year_ago(m: re.Match[str], text: str) -> list[Candidate]:
    what = m.group("what")
    if m.group("ord"):
        q = ORDINALS[m.group("ord").lower()]
        return _one(m, Sem("cal", quarter=q, year_rel=-1))
    start = m.start() if what else m.start("ya")
    sem = Sem("rel", unit="year", offset=-1, anchor="text", keep_precision=True)
    return [(start, m.end(), sem)]


def _h_year_end(m: re.Match[str], text: str) -> list[Candidate]:
    return _one(m, Sem("rel", unit="year", offset=0, mod="END"))


# --- durations, ago/later, sets ---------------------------------------------------------


def _fmt_num(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else f"{n:g}"


def _duration_value(n: float | None, code: str, mult: int) -> str:
    """TIMEX3 duration: P2Y, PT5H, P18M for 1.5 years, PXY for an unknown amount."""
    time = code.startswith("T")
    letter = code[-1]
    if code == "WE":
        letter = "WE"
    if n is None:
        return ("PT" if time else "P") + "X" + ({10: "E", 100: "C"}.get(mult, letter))
    n = n * mult
    if not float(n).is_integer():
        smaller = {"Y": ("M", 12), "W": ("D", 7), "D": ("H", 24), "H": ("M", 60), "M": ("S", 60) if time else ("D", 30)}
        if letter in smaller:
            sl, factor = smaller[letter]
            whole = int(n)
            rest = round((n - whole) * factor)
            if letter == "D":
                return f"P{whole}DT{rest}H" if whole else f"PT{rest}H"
            if time or letter == "H":
                return f"PT{whole}{letter}{rest}{sl}" if whole else f"PT{rest}{sl}"
            if letter == "Y":
                return f"P{whole}Y{rest}M" if whole else f"P{rest}M"
            return f"P{whole}{letter}{rest}{sl}"
    return ("PT" if time else "P") + _fmt_num(n) + letter


_SET_PREV = re.compile(
    r"(?:\d|%|\$|\bonce|\btwice|\btimes|\bdollars|\bcents|\bpercent|\bpounds|\beuros|\bmiles"
    r"|\bhours|\bmillion|\bbillion|\bthousand|\bhundred|\bshares)\s*$",
    re.I,
)


def _h_duration(m: re.Match[str], text: str) -> list[Candidate]:
    num_text = m.group("num")
    num_low = " ".join(num_text.lower().split())
    unit_word = m.group("unit").lower()
    unit = _unit_key(unit_word)
    plural = unit_word.endswith("s") and unit_word != "centuries" or unit_word == "centuries"
    n = number_value(num_text)
    if num_low == "some" and not m.group("dir"):
        return []
    if m.group("half") and n is not None:
        n = n + 0.5
    if unit == "night":
        return []
    if unit == "weekend" and m.group("dir") is None:
        return []
    single = num_low in ("a", "an", "one")
    if single and unit == "second":
        return []  # "a second time", "one second-quarter ..."
    if n is not None and not single and n == 1 and plural:
        return []
    if unit == "quarter" and (
        "-" in m.group("sep") or _OF_NEXT.match(text, m.end())
    ):
        return []  # "three-quarters of", "a quarter of": fractions
    if isinstance(n, int) and n >= 1000 and not plural:
        return []  # "the 1988 quarter"
    if num_low[:1].isdigit():
        s = m.start("num")
        if s > 0 and text[s - 1] in "$#\u20ac\u00a3-/":
            return []
    code, mult = UNIT_CODES[unit]
    rel = (m.group("rel") or "").lower()
    direction = (m.group("dir") or "").lower()
    direction = " ".join(direction.split())
    if direction:
        offset = None if n is None else int(n) if float(n).is_integer() else None
        if direction in ("ago", "before now"):
            sign, anchor = -1, "pub"
        elif direction in ("from now", "hence"):
            sign, anchor = 1, "pub"
        elif direction in ("earlier", "before"):
            sign, anchor = -1, "text"
        else:
            sign, anchor = 1, "text"
        if unit in ("hour", "minute", "second") and anchor == "text":
            # "fifteen minutes later": TimeML tags the stretch, and the day is no news
            code, mult = UNIT_CODES[unit]
            value = _duration_value(n, code, mult)
            return [(m.start(), m.end("unit"), Sem("duration", "DURATION", value=value))]
        if offset is None or unit in ("hour", "minute", "second"):
            ref = "PAST_REF" if sign < 0 else "FUTURE_REF"
            if unit in ("hour", "minute", "second") and offset is not None:
                return _one(m, Sem("rel", "TIME", unit=unit, offset=sign * offset, anchor=anchor))
            return _one(m, Sem("ref", value=ref))
        if unit in ("decade", "century"):
            return _one(m, Sem("rel", unit="year", offset=sign * offset * mult, anchor=anchor))
        if unit == "fortnight":
            return _one(m, Sem("rel", unit="week", offset=sign * offset * 2, anchor=anchor))
        return _one(m, Sem("rel", unit=unit, offset=sign * offset, anchor=anchor, keep_precision=unit == "year"))
    if unit == "weekend":
        return []
    if unit == "year" and (m.group(0).lower().endswith("-old") or text.startswith(" old", m.end())):
        return []  # ages: "52 years old", "a 136-year-old firm"
    start = m.start()
    if single and num_low in ("a", "an") and not rel and not m.group("the") and not plural:
        if _SET_PREV.search(text[max(0, start - 12) : start]):
            return _one(m, Sem("set", "SET", value=_duration_value(1, code, mult)))
    if m.group("the") and not rel and n is not None and single:
        return []  # "the one day" etc.
    value = _duration_value(n, code, mult)
    if "-" in m.group("sep") and not rel:
        start = m.start("num")  # "the eight-year war": the article belongs to the noun
    return [(start, m.end(), Sem("duration", "DURATION", value=value))]


def _h_bare_units(m: re.Match[str], text: str) -> list[Candidate]:
    prev = _prev_word(text, m.start())
    if prev not in ("for", "in", "over", "within", "took", "take", "takes", "lasted", "spent", "spend"):
        return []
    if prev == "in" and _IN_OF_AND.match(text, m.end()):
        return []
    unit = _unit_key(m.group("unit"))
    code, mult = UNIT_CODES[unit]
    return _one(m, Sem("duration", "DURATION", value=_duration_value(None, code, mult)))


_SET_WORDS = {
    "daily": "P1D", "weekly": "P1W", "monthly": "P1M", "annually": "P1Y", "yearly": "P1Y",
    "quarterly": "P3M", "hourly": "PT1H", "nightly": "P1D", "biweekly": "P2W",
    "semiannually": "P6M", "semi-annually": "P6M", "bimonthly": "P2M", "fortnightly": "P2W",
}  # fmt: skip


def _h_set_word(m: re.Match[str], text: str) -> list[Candidate]:
    word = m.group("w").lower()
    nxt = _next_word(text, m.end())
    if nxt and nxt.islower() and nxt.lower() not in _AFTER_OK and text[m.end() : m.end() + 1] == " ":
        return []  # "a daily newspaper", "quarterly dividend": adjectives, not sets
    return _one(m, Sem("set", "SET", value=_SET_WORDS[word]))


def _h_every(m: re.Match[str], text: str) -> list[Candidate]:
    other = m.group("other")
    n = 2 if other else 1
    if m.group("wd"):
        if not _capitalized(_g(m, text, "wd") or ""):
            return []
        return _one(m, Sem("set", "SET", value=f"XXXX-WXX-{WEEKDAYS[m.group('wd').lower()] + 1}"))
    if m.group("mon"):
        mo = _month(m, text)
        if mo is None:
            return []
        return _one(m, Sem("set", "SET", value=f"XXXX-{mo:02d}"))
    word = m.group("u").lower()
    if word in _TOD:
        return _one(m, Sem("set", "SET", value=f"XXXX-XX-XXT{_TOD[word]}"))
    if word in _SEASONS:
        return _one(m, Sem("set", "SET", value=f"XXXX-{_SEASONS[word]}"))
    code, mult = UNIT_CODES[_unit_key(word)]
    if code == "WE":
        return _one(m, Sem("set", "SET", value="XXXX-WXX-WE"))
    return _one(m, Sem("set", "SET", value=_duration_value(n, code, mult)))


def _h_times_per(m: re.Match[str], text: str) -> list[Candidate]:
    unit = _unit_key(m.group("u"))
    code, mult = UNIT_CODES[unit]
    return _one(m, Sem("set", "SET", value=_duration_value(1, code, mult)))


def _h_weekday_plural(m: re.Match[str], text: str) -> list[Candidate]:
    wd = _g(m, text, "wd") or ""
    if not _capitalized(wd):
        return []
    prev = _prev_word(text, m.start())
    if prev not in ("on", "every", "most", "some", "all", "weekday"):
        return []
    return [(m.start(), m.end("wd") + 1, Sem("set", "SET", value=f"XXXX-WXX-{WEEKDAYS[wd.lower()] + 1}"))]


# --- reference words --------------------------------------------------------------------

_REFS = {
    "now": "PRESENT_REF", "right now": "PRESENT_REF", "just now": "PRESENT_REF",
    "currently": "PRESENT_REF", "presently": "PRESENT_REF", "nowadays": "PRESENT_REF",
    "these days": "PRESENT_REF", "present": "PRESENT_REF", "the present": "PRESENT_REF",
    "recently": "PAST_REF", "lately": "PAST_REF", "previously": "PAST_REF",
    "formerly": "PAST_REF", "the past": "PAST_REF", "more recently": "PAST_REF",
    "most recently": "PAST_REF", "until recently": "PAST_REF", "in recent times": "PAST_REF",
    "soon": "FUTURE_REF", "the future": "FUTURE_REF", "the near future": "FUTURE_REF",
    "the near term": "FUTURE_REF", "the short term": "FUTURE_REF",
    "the long term": "FUTURE_REF", "the foreseeable future": "FUTURE_REF",
    "the distant future": "FUTURE_REF", "the distant past": "PAST_REF",
    "the recent past": "PAST_REF", "as soon as possible": "FUTURE_REF",
    "the coming days": "FUTURE_REF", "the coming weeks": "FUTURE_REF",
    "the coming months": "FUTURE_REF", "the coming years": "FUTURE_REF",
    "coming days": "FUTURE_REF", "coming weeks": "FUTURE_REF", "coming months": "FUTURE_REF",
    "coming years": "FUTURE_REF", "recent days": "PAST_REF",
    "recent years": "PAST_REF", "recent decades": "PAST_REF",
    "soon after": "FUTURE_REF",
}  # fmt: skip


def _h_ref(m: re.Match[str], text: str) -> list[Candidate]:
    word = " ".join(m.group("w").lower().split())
    if word == "present":
        if not _AT_BEFORE.search(text, max(0, m.start() - 4), m.start()):
            return []
    if word == "now":
        if m.start() > 0 and text[m.start() - 1] in "-'\u2019" or text.startswith("-", m.end()):
            return []  # "now-defunct", "know-how"-like compounds
    if word in ("the long term", "the short term") and _TERM_NOUN.match(text, m.end()):
        return []
    if word == "soon after":
        return []
    if word.endswith(" ahead"):
        return _one(m, Sem("duration", "DURATION", value={"d": "PXD", "w": "PXW", "m": "PXM", "y": "PXY"}[word[4]]))
    if word in ("recent weeks", "recent months", "recent quarters"):
        # TimeML reads these as a stretch of unknown length up to now
        return _one(m, Sem("duration", "DURATION", value={"w": "PXW", "m": "PXM", "q": "PXQ"}[word[7]]))
    if word == "soon" and _AS_BEFORE.search(text, max(0, m.start() - 4), m.start()):
        return []  # "as soon as" is a conjunction
    return _one(m, Sem("ref", value=_REFS[word]))


# --- the rule table ---------------------------------------------------------------------


_ESCAPED_OR_CHAR = re.compile(r"\(\?P<\w+>|\\.|.", re.DOTALL)


def _c(pattern: str) -> re.Pattern[str]:
    """Compile an uncased rule: literals lower-cased, escapes (\\S, \\W, ...) kept."""
    return re.compile(
        "".join(t if t.startswith(("\\", "(?P<")) else t.lower() for t in _ESCAPED_OR_CHAR.findall(pattern))
    )


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


_WD_PREFIX = rf"(?:(?P<wdp>(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|{_WDA}))(?![a-z]),?\s+)?"
_REL_WORDS = (
    r"this\s+coming|this\s+past|the\s+current|the\s+previous|the\s+latest|the\s+past|the\s+last"
    r"|the\s+next|the\s+following|the\s+coming|the\s+preceding|the\s+prior|the\s+same|this|last"
    r"|next|past|previous|coming|current|latest|following|prior|that|the"
)
_ORD_Q = r"first|second|third|fourth|1st|2nd|3rd|4th|final"

RULES: tuple[Rule, ...] = (
    Rule("iso", _c(r"\b(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)(?:[T ](?P<h>[0-2]\d):(?P<mi>[0-5]\d)(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-][0-2]\d:?[0-5]\d)?)?(?![\d-])"), _h_iso),
    Rule("slash", _c(r"\b(?P<a>\d\d?)/(?P<b>\d\d?)/(?P<y>\d{4}|\d\d)(?![\d/])"), _h_slash),
    Rule("ymd_slash", _c(r"\b(?P<y>(?:19|20)\d\d)/(?P<mo>\d\d?)/(?P<d>\d\d?)(?![\d/])"), _h_ymd_slash),
    Rule("dmy_dot", _c(r"\b(?P<d>\d\d?)\.(?P<mo>\d\d?)\.(?P<y>(?:19|20)\d\d)(?!\d|\.\d)"), _h_dmy_dot),
    Rule("day_range", _c(rf"\b{MONTH}\s+(?P<day>3[01]|[12]\d|0?[1-9])\s*[-\u2013]\s*(?P<d2>3[01]|[12]\d|0?[1-9])(?![\d%]|[:.,/]\d){_YEAR_TAIL}"), _h_day_range),
    Rule("month_day", _c(rf"\b{_WD_PREFIX}{MONTH}\s+(?:the\s+)?{DAY}{_YEAR_TAIL}"), _h_month_day),
    Rule("day_month", _c(rf"\b{_WD_PREFIX}(?:the\s+)?{DAY}(?:\s+of)?\s+{MONTH}{_YEAR_TAIL}"), _h_day_month),
    Rule("month", _c(rf"\b(?:(?P<rel>this\s+coming|this\s+past|this|last|next|coming|past)\s+)?{MONTH}{_YEAR_TAIL}"), _h_month),
    Rule("year", _c(rf"\b(?P<the>the\s+year\s+)?(?P<y>{YEAR4})\b"), _h_year),
    Rule("year_range", _c(rf"\b(?P<y1>{YEAR4})\s*[-\u2013/]\s*(?P<y2>{YEAR4}|\d\d)\b(?![-/\d])"), _h_year_range),
    Rule("decade", _c(r"(?=[tfsen'\u2019\d])(?P<the>\bthe\s+)?(?:\b(?P<d4>1\d\d|20\d)0['\u2019]?s|(?P<ap>['\u2019])(?P<d2>\d)0s|\b(?P<d2b>\d)0['\u2019]?s|\b(?P<dw>twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties))(?![\w'])"), _h_decade),
    Rule("century", _c(r"\b(?:the\s+)?(?:(?P<n>\d\d?)(?:st|nd|rd|th)|(?P<w>twenty[\s-]first|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth))[\s-]+century\b"), _h_century),
    Rule("spoken_year", _c(r"\b(?P<c>nineteen|eighteen)[\s-]+(?P<rest>(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|oh[\s-](?:one|two|three|four|five|six|seven|eight|nine))\b"), _h_spoken_year),
    Rule("two_thousand", _c(r"\b(?:the\s+year\s+)?two\s+thousand(?:\s+(?:and\s+)?(?P<rest>one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?))?\b(?!\s+(?:\w+\s+)?(?:dollars|people|years|shares|of)\b)"), _h_two_thousand),
    Rule("quarter", _c(rf"\b(?:(?P<pre>the|its|their|a|an)\s+)?(?P<body>(?:(?P<y1>{YEAR4})\s+|(?P<yrel1>last|next|this)\s+year['\u2019]s\s+)?(?:(?:fiscal|calendar)[\s-]+)?(?P<ord>{_ORD_Q})(?:[\s-]+(?:fiscal|calendar))?[\s-]+quarter(?!s)(?:\s+(?:of\s+)?(?:(?:fiscal|calendar)\s+)?(?P<y2>{YEAR4})|\s+(?:of\s+)?(?P<yrel2>last|next|this)\s+year|,\s*(?P<y3>{YEAR4}))?)\b"), _h_quarter),
    Rule("qform", re.compile(rf"\b(?:Q(?P<q>[1-4])(?:\s*|-|\s+of\s+)(?P<y>{YEAR4}|['\u2019]\d\d)?|(?P<q2>[1-4])Q\s*(?P<y2>{YEAR4}|\d\d)|(?P<y3>{YEAR4})\s*-?\s*Q(?P<q3>[1-4]))\b"), _h_qform, cased=True),
    Rule("half", _c(rf"\b(?P<the>the\s+)?(?P<ord>first|second|1st|2nd|latter|last|back|front)[\s-]+half(?P<ofyear>\s+of\s+(?:(?P<y>{YEAR4})|(?P<yrel>last|next|this)\s+year|the\s+year)|\s+(?P<y_>{YEAR4}))?\b"), _h_half),
    Rule("hform", re.compile(rf"\b(?:H(?P<h>[12])\s*(?P<y>{YEAR4}|['\u2019]\d\d)|(?P<y2>{YEAR4})\s*-?\s*H(?P<h2>[12]))\b"), _h_hform, cased=True),
    Rule("season", _c(rf"\b(?:(?P<rel>this\s+past|this\s+coming|this|last|next|coming|past|the)\s+)?(?P<s>spring|summer|autumn|fall|winter)(?![\w-])(?:\s+(?:of\s+)?(?P<y>{YEAR4})|\s+(?:of\s+)?(?P<yrel>last|next|this)\s+year)?"), _h_season),
    Rule("fiscal", _c(rf"\b(?:fiscal(?:\s+year)?|FY)\s*(?P<y>{YEAR4}|['\u2019]?\d\d)\b"), _h_fiscal),
    Rule("holiday", re.compile(rf"\b(?=[A-Zlnt])(?:(?P<rel>[Ll]ast|[Nn]ext|[Tt]his)\s+)?(?:{HOLIDAY_PATTERN})(?:,?\s+(?P<y>{YEAR4}))?(?![\w])"), _h_holiday, cased=True),
    Rule("weekday", _c(rf"\b(?:(?P<rel>this\s+coming|this\s+past|the\s+previous|the\s+following|the\s+next|last|next|this|coming|previous|past)\s+)?{WEEKDAY}(?!s\b)(?:\s+(?P<tod>morning|afternoon|evening|night))?"), _h_weekday),
    Rule("weekday_plural", _c(r"\b(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)s\b"), _h_weekday_plural),
    Rule("deictic", _c(r"\b(?P<w>today|tonight|yesterday|tomorrow)\b(?:\s+(?P<tod>morning|afternoon|evening|night))?"), _h_deictic),
    Rule("this_tod", _c(r"\b(?P<rel>this|last|yesterday|tomorrow)\s+(?P<tod>morning|afternoon|evening|night)\b"), _h_this_tod),
    Rule("clock", re.compile(rf"\b(?P<h>[012]?\d)(?:[:.](?P<mi>[0-5]\d))?(?:\s*(?P<ampm>[aApP]\.\s?[mM]\.?|[aApP][mM]\b)|(?<=\d\d)(?=\s*{TZ})|(?<=:\d\d)(?!\d))(?:\s*(?P<tz>{TZ}))?"), _h_clock, cased=True),
    Rule("tod_mod", _c(r"\b(?P<mod>early|late|mid)[\s-]?(?P<tod>morning|afternoon|evening)\b(?:\s+(?P<day>yesterday|today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b)?"), _h_tod_mod),
    Rule("noon", _c(r"\b(?P<w>noon|midnight|midday)\b"), _h_noon),
    Rule("rel_period", _c(rf"\b(?P<rel>{_REL_WORDS})\s+(?P<unit>fiscal\s+year|full\s+year|fiscal\s+quarter|weekend|week|month|year|quarter|decade|century|day)\b(?!-)"), _h_rel_period),
    Rule("edge_of", _c(r"\b(?:the\s+)?(?:very\s+)?(?P<edge>end|close|beginning|start|middle)\s+of\s+the\s+(?P<unit>year|month|week|quarter|decade|century|day)\b(?!['\u2019]s)"), _h_edge_of),
    Rule("earlier_in", _c(r"\b(?P<w>earlier|later)\s+in\s+the\s+(?P<unit>year|month|week|day|quarter|decade)\b"), _h_earlier_in),
    Rule("year_ago", _c(r"\b(?:the\s+(?:(?:comparable|corresponding|same)\s+)?)?(?P<ya>year-(?:earlier|ago))(?:\s+(?P<what>(?:(?P<ord>first|second|third|fourth)[\s-]+)?quarter|period))?\b"), _h_year_ago),
    Rule("year_end", _c(r"\b(?:year[\s-]end|year['\u2019]s\s+end)\b"), _h_year_end),
    Rule("duration", _c(rf"\b(?P<the>the\s+)?(?:(?P<rel>past|last|next|first|previous|coming|following|final|latest|initial|remaining|preceding|prior|ensuing|additional|further)\s+)?{NUM}(?P<sep>[\s-]+|-)(?:more\s+|additional\s+|full\s+|straight\s+|consecutive\s+|trading\s+|business\s+|working\s+|calendar\s+)?{UNIT}(?![\w])(?P<half>\s+and\s+a\s+half)?(?:-old)?(?:\s+(?P<dir>ago|earlier|later|from\s+now|hence|before\s+now))?"), _h_duration),
    Rule("bare_units", _c(r"\b(?P<unit>years|months|weeks|days|decades|hours|minutes)\b"), _h_bare_units),
    Rule("set_word", _c(r"\b(?P<w>daily|weekly|monthly|annually|yearly|quarterly|hourly|nightly|biweekly|semi-?annually|bimonthly|fortnightly)\b"), _h_set_word),
    Rule("every", _c(rf"\b(?:every|each)\s+(?P<other>other\s+)?(?:{WEEKDAY}|{MONTH}|(?P<u>day|week|month|year|quarter|hour|minute|decade|morning|afternoon|evening|night|weekend|spring|summer|autumn|fall|winter)\b)"), _h_every),
    Rule("times_per", _c(r"\b(?:once|twice|(?:one|two|three|four|five|six|seven|eight|nine|ten|\d{1,3})\s+times)\s+(?:a|an|per|each|every)\s+(?P<u>day|week|month|year|quarter|hour|decade)\b"), _h_times_per),
    Rule("ref", _c(r"\b(?P<w>right\s+now|just\s+now|now|currently|presently|nowadays|these\s+days|present|the\s+present|more\s+recently|most\s+recently|recently|lately|as\s+soon\s+as\s+possible|soon|the\s+(?:near\s+|distant\s+|foreseeable\s+)?future|the\s+(?:distant\s+|recent\s+)?past|the\s+(?:near|short|long)\s+term|(?:the\s+)?coming\s+(?:days|weeks|months|years)|recent\s+(?:days|weeks|months|quarters|years|decades)|the\s+(?:days|weeks|months|years)\s+ahead)\b"), _h_ref),
)


def find_candidates(text: str, rules: Sequence[Rule] = RULES) -> list[Candidate]:
    """Every match of every rule that its handler accepts (overlaps included)."""
    out: list[Candidate] = []
    low = text.translate(_ASCII_LOWER)
    for rule in rules:
        for m in rule.pattern.finditer(text if rule.cased else low):
            out.extend(rule.handler(m, text))
    return out
