"""Calendar arithmetic: TIMEX3 values and inclusive day intervals of calendar periods."""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "Period",
    "add_months",
    "apply_mod",
    "century_period",
    "day_period",
    "decade_period",
    "easter",
    "half_period",
    "month_period",
    "nth_weekday",
    "quarter_period",
    "season_period",
    "week_period",
    "weekend_period",
    "year_period",
]

MIN_YEAR = 1
MAX_YEAR = 9998


@dataclass(frozen=True, slots=True)
class Period:
    """A named calendar period: its TIMEX3 value, granularity and first/last day."""

    value: str
    granularity: str
    first: date
    last: date


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    """(year, month) moved by delta months."""
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def day_period(d: date) -> Period:
    return Period(d.isoformat(), "day", d, d)


def week_period(d: date) -> Period:
    iso = d.isocalendar()
    monday = d - timedelta(days=d.weekday())
    return Period(f"{iso.year:04d}-W{iso.week:02d}", "week", monday, monday + timedelta(days=6))


def weekend_period(d: date) -> Period:
    """The weekend (Saturday-Sunday) of d's ISO week."""
    week = week_period(d)
    return Period(week.value + "-WE", "week", week.first + timedelta(days=5), week.last)


def month_period(year: int, month: int) -> Period:
    last = monthrange(year, month)[1]
    return Period(f"{year:04d}-{month:02d}", "month", date(year, month, 1), date(year, month, last))


def quarter_period(year: int, quarter: int) -> Period:
    first_month = 3 * (quarter - 1) + 1
    last_month = first_month + 2
    return Period(
        f"{year:04d}-Q{quarter}",
        "quarter",
        date(year, first_month, 1),
        date(year, last_month, monthrange(year, last_month)[1]),
    )


def half_period(year: int, half: int) -> Period:
    if half == 1:
        return Period(f"{year:04d}-H1", "half", date(year, 1, 1), date(year, 6, 30))
    return Period(f"{year:04d}-H2", "half", date(year, 7, 1), date(year, 12, 31))


# Meteorological (northern-hemisphere) seasons; a winter belongs to the year it starts in,
# so 2023-WI is December 2023 to February 2024.
_SEASON_START = {"SP": 3, "SU": 6, "FA": 9, "WI": 12}


def season_period(year: int, season: str) -> Period:
    start_month = _SEASON_START[season]
    end_year, end_month = add_months(year, start_month, 2)
    return Period(
        f"{year:04d}-{season}",
        "season",
        date(year, start_month, 1),
        date(end_year, end_month, monthrange(end_year, end_month)[1]),
    )


def year_period(year: int) -> Period:
    return Period(f"{year:04d}", "year", date(year, 1, 1), date(year, 12, 31))


def decade_period(decade: int) -> Period:
    """decade is the year divided by ten: 199 for the 1990s."""
    first = max(decade * 10, MIN_YEAR)
    return Period(f"{decade:03d}", "decade", date(first, 1, 1), date(decade * 10 + 9, 12, 31))


def century_period(century: int) -> Period:
    """century is the year divided by 100: 19 for the 1900s (the 20th century)."""
    first = max(century * 100, MIN_YEAR)
    return Period(f"{century:02d}", "century", date(first, 1, 1), date(century * 100 + 99, 12, 31))


def _thirds(first: date, last: date) -> tuple[tuple[date, date], tuple[date, date], tuple[date, date]]:
    """Split [first, last] into three nearly equal runs of whole days."""
    n = (last - first).days + 1
    a = max(1, round(n / 3))
    b = max(a + 1, round(2 * n / 3)) if n >= 3 else a
    one = (first, first + timedelta(days=a - 1))
    two = (first + timedelta(days=min(a, n - 1)), first + timedelta(days=min(b, n) - 1))
    three = (first + timedelta(days=min(b, n - 1)), last)
    return one, two, three


def apply_mod(period: Period, mod: str | None) -> tuple[date, date]:
    """The interval a START/MID/END modifier leaves of a period.

    Months split into days 1-10, 11-20 and 21-end, years into January-April, May-August
    and September-December, decades into years 0-3, 4-6 and 7-9, centuries into
    0-32, 33-65, 66-99; anything else into thirds of its days.  Other modifiers (APPROX,
    BEFORE, ...) leave the period as it is: they qualify the expression, not the period.
    """
    first, last = period.first, period.last
    if mod not in ("START", "MID", "END") or first == last:
        return first, last
    g = period.granularity
    if g == "month":
        parts = (
            (first, first.replace(day=10)),
            (first.replace(day=11), first.replace(day=20)),
            (first.replace(day=21), last),
        )
    elif g == "year":
        y = first.year
        parts = (
            (date(y, 1, 1), date(y, 4, 30)),
            (date(y, 5, 1), date(y, 8, 31)),
            (date(y, 9, 1), date(y, 12, 31)),
        )
    elif g in ("decade", "century"):
        span = 10 if g == "decade" else 100
        base = last.year - span + 1
        cut1, cut2 = (4, 7) if g == "decade" else (33, 66)
        parts = (
            (first, date(base + cut1 - 1, 12, 31)),
            (date(base + cut1, 1, 1), date(base + cut2 - 1, 12, 31)),
            (date(base + cut2, 1, 1), last),
        )
    else:
        parts = _thirds(first, last)
    return parts[{"START": 0, "MID": 1, "END": 2}[mod]]


def easter(year: int) -> date:
    """Western Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based; -1 = last) given weekday (Monday=0) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year, month, monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)
