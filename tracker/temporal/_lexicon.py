"""Word lists and regex fragments shared by the rules: months, weekdays, numbers, units."""

from __future__ import annotations

import re

__all__ = [
    "DAY",
    "MONTH",
    "MONTHS",
    "NUM",
    "NUMBER_WORDS",
    "ORDINALS",
    "TZ",
    "UNIT",
    "UNIT_CODES",
    "WEEKDAY",
    "WEEKDAYS",
    "WEEKDAY_ABBR",
    "YEAR4",
    "number_value",
]

MONTHS: dict[str, int] = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6,
    "july": 7, "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip

WEEKDAYS: dict[str, int] = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6, "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3,
    "fri": 4, "sat": 5, "sun": 6,
}  # fmt: skip

NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "couple": 2, "dozen": 12,
}  # fmt: skip

ORDINALS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17,
    "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "final": 4,
    "1st": 1, "2nd": 2, "3rd": 3, "4th": 4,
}  # fmt: skip

# Full names first so "March" is not read as "Mar" + "ch"; the lookahead stops "Marching".
MONTH = (
    r"(?P<mon>January|February|March|April|May|June|July|August|September|October|November"
    r"|December|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept\.?|Sep\.?|Oct\.?|Nov\.?"
    r"|Dec\.?)(?![a-z])"
)
WEEKDAY = r"(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)(?![a-z])"
WEEKDAY_ABBR = r"(?:Mon|Tues?|Wed|Thu(?:rs?)?|Fri|Sat|Sun)\.?"
# Day of month: not followed by more digits, a clock colon, a decimal or a percent sign.
DAY = r"(?P<day>3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?(?![\d%]|[:.,/]\d)"
# 1000-2199; longer digit runs never match because of the surrounding \b and lookaheads.
YEAR4 = r"(?:1\d\d\d|20\d\d|21\d\d)(?![\d%]|[.,]\d)"

_UNITS_W = "one|two|three|four|five|six|seven|eight|nine"
_TEENS_W = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS_W = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
NUMWORD = rf"(?:(?:{_TENS_W})(?:[\s-](?:{_UNITS_W}))?|{_TEENS_W}|{_UNITS_W})(?:\s+hundred)?"
NUM = (
    r"(?P<num>(?<![\d.,])\d{1,4}(?:\.\d+)?(?:\s+1/2|\u00bd)?(?![\d,]\d)"
    rf"|{NUMWORD}|a\s+hundred|a\s+dozen|a\s+few|a\s+couple(?:\s+of)?|couple\s+of|several"
    r"|few|many|a\s+number\s+of|some|an?)"
)
UNIT = (
    r"(?P<unit>years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centuries"
    r"|century|quarters?|fortnights?|nights?|weekends?)"
)
UNIT_CODES: dict[str, tuple[str, int]] = {
    # unit -> (TIMEX3 designator, multiplier); decades and centuries count in years
    "year": ("Y", 1), "month": ("M", 1), "week": ("W", 1), "day": ("D", 1),
    "hour": ("TH", 1), "minute": ("TM", 1), "second": ("TS", 1), "decade": ("Y", 10),
    "century": ("Y", 100), "centurie": ("Y", 100), "quarter": ("Q", 1), "fortnight": ("W", 2),
    "night": ("D", 1), "weekend": ("WE", 1),
}  # fmt: skip
TZ = (
    r"(?:GMT|UTC|Z|EST|EDT|CST|CDT|MST|MDT|PST|PDT|ET|PT|CT|MT|CET|CEST|BST|IST|JST|AEST"
    r"|AEDT|HKT|SGT|MSK|WAT|EAT|SAST)(?![A-Za-z])"
)

_VAGUE = re.compile(r"^(?:a\s+few|few|several|many|some|a\s+number\s+of)$", re.I)
_WS = re.compile(r"[\s-]+")


def number_value(text: str) -> float | None:
    """The value of a NUM match: an int or float, or None for vague amounts (few, several)."""
    t = text.strip().lower()
    if _VAGUE.match(t):
        return None
    half = 0.0
    if t.endswith("1/2") or t.endswith("\u00bd"):
        half = 0.5
        t = t.replace("1/2", "").replace("\u00bd", "").strip()
    if t[:1].isdigit():
        return float(t) + half if ("." in t or half) else int(t)
    total = 0
    words = _WS.split(t)
    if len(words) > 1 and words[0] in ("a", "an"):
        words = words[1:]  # "a couple of", "a hundred"
    for word in words:
        if word in ("of", "and"):
            continue
        if word == "hundred":
            total = max(total, 1) * 100
            continue
        n = NUMBER_WORDS.get(word)
        if n is None:
            return None
        if word in ("a", "an") and total:
            continue
        total += n
    return total + half if half else total
