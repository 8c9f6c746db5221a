"""Holidays with fixed or computable dates, and the pattern that finds their names."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from ._calendar import easter, nth_weekday

__all__ = ["HOLIDAY_PATTERN", "holiday_date"]

_APOS = "['\u2019]"


def _fixed(month: int, day: int) -> Callable[[int], date]:
    return lambda year: date(year, month, day)


def _nth(month: int, weekday: int, n: int) -> Callable[[int], date]:
    return lambda year: nth_weekday(year, month, weekday, n)


def _easter_offset(days: int) -> Callable[[int], date]:
    return lambda year: easter(year) + timedelta(days=days)


# (regex for the name, key); the regexes are matched case-sensitively on purpose:
# "easter" or "labor day" in lower case are rarely the holiday.
_HOLIDAYS: tuple[tuple[str, str, Callable[[int], date]], ...] = (
    (r"Christmas\s+Eve", "xmas_eve", _fixed(12, 24)),
    (r"Christmas(?:\s+Day)?(?!\s+Eve)", "xmas", _fixed(12, 25)),
    (r"Boxing\s+Day", "boxing", _fixed(12, 26)),
    (rf"New\s+Year{_APOS}?s\s+Eve", "nye", _fixed(12, 31)),
    (rf"New\s+Year{_APOS}?s(?:\s+Day)?(?!\s+Eve)", "ny", _fixed(1, 1)),
    (rf"April\s+Fool{_APOS}?s{_APOS}?(?:\s+Day)?", "fools", _fixed(4, 1)),
    (rf"(?:St\.?|Saint)\s+Valentine{_APOS}?s\s+Day|Valentine{_APOS}?s\s+Day", "valentine", _fixed(2, 14)),
    (rf"(?:St\.?|Saint)\s+Patrick{_APOS}?s\s+Day", "patrick", _fixed(3, 17)),
    (r"Hallowe[e']?n", "halloween", _fixed(10, 31)),
    (r"Independence\s+Day|(?:the\s+)?Fourth\s+of\s+July|July\s+Fourth", "july4", _fixed(7, 4)),
    (r"Juneteenth", "juneteenth", _fixed(6, 19)),
    (r"Veterans\s+Day|Armistice\s+Day", "veterans", _fixed(11, 11)),
    (r"May\s+Day", "mayday", _fixed(5, 1)),
    (r"Easter(?:\s+Sunday|\s+Day)?(?!\s+Monday)", "easter", _easter_offset(0)),
    (r"Easter\s+Monday", "easter_mon", _easter_offset(1)),
    (r"Good\s+Friday", "good_friday", _easter_offset(-2)),
    (r"Ash\s+Wednesday", "ash_wed", _easter_offset(-46)),
    (r"Thanksgiving(?:\s+Day)?", "thanksgiving", _nth(11, 3, 4)),
    (r"Black\s+Friday", "black_friday", lambda y: nth_weekday(y, 11, 3, 4) + timedelta(days=1)),
    (r"Cyber\s+Monday", "cyber_monday", lambda y: nth_weekday(y, 11, 3, 4) + timedelta(days=4)),
    (r"Labou?r\s+Day", "labor", _nth(9, 0, 1)),
    (r"Memorial\s+Day", "memorial", _nth(5, 0, -1)),
    (r"Martin\s+Luther\s+King(?:\s+Jr\.?)?\s+Day|MLK\s+Day", "mlk", _nth(1, 0, 3)),
    (rf"Presidents{_APOS}?\s+Day", "presidents", _nth(2, 0, 3)),
    (rf"Mother{_APOS}?s\s+Day", "mothers", _nth(5, 6, 2)),
    (rf"Father{_APOS}?s\s+Day", "fathers", _nth(6, 6, 3)),
    (r"Columbus\s+Day", "columbus", _nth(10, 0, 2)),
)

_BY_KEY: dict[str, Callable[[int], date]] = {key: fn for _, key, fn in _HOLIDAYS}

# Longer alternatives first so "Christmas Eve" beats "Christmas" and "Easter Monday" "Easter".
HOLIDAY_PATTERN = "|".join(
    f"(?P<h_{key}>{rx})" for rx, key, _ in sorted(_HOLIDAYS, key=lambda h: -len(h[0]))
)


def holiday_date(key: str, year: int) -> date:
    """The date of a holiday (by key) in a year."""
    return _BY_KEY[key](year)
