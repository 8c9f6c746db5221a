"""Resolution: a matched expression's meaning + publication date + context -> TIMEX3 value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ._calendar import (
    MAX_YEAR,
    MIN_YEAR,
    Period,
    add_months,
    apply_mod,
    century_period,
    day_period,
    decade_period,
    half_period,
    month_period,
    quarter_period,
    season_period,
    week_period,
    weekend_period,
    year_period,
)
from ._holidays import holiday_date
from ._sem import Sem

__all__ = ["Context", "Resolved", "resolve"]


@dataclass(frozen=True, slots=True)
class Context:
    """What resolution needs besides the expression itself."""

    published: date | None
    published_at: datetime | None  # the publication time when one was given
    tense: str | None  # "past" | "future" | None, from the expression's sentence
    text_anchor: date | None  # the latest day-precise date mentioned earlier in the text
    text_anchor_coarse: date | None  # the latest date of any precision mentioned earlier
    text_period: Period | None = None  # the latest calendar period mentioned earlier
    tense_close: bool = True  # the tense cue sits right next to the expression
    text_last: Period | None = None  # the latest dated expression before, at its own precision


@dataclass(frozen=True, slots=True)
class Resolved:
    type: str
    value: str
    mod: str | None
    granularity: str | None
    interval: tuple[date, date] | None


_UNKNOWN = {
    "day": "XXXX-XX-XX", "week": "XXXX-WXX", "weekend": "XXXX-WXX-WE", "month": "XXXX-XX",
    "quarter": "XXXX-QX", "half": "XXXX-HX", "year": "XXXX", "decade": "XXX", "century": "XX",
    "hour": "XXXX-XX-XX", "minute": "XXXX-XX-XX", "second": "XXXX-XX-XX", "fortnight": "XXXX-WXX",
}  # fmt: skip
_GRAN = {"weekend": "week", "hour": "day", "minute": "day", "second": "day", "fortnight": "week"}

# Results for a quarter are reported up to about six weeks after it ends.
_REPORTING_LAG_DAYS = 45
_FAR_DAYS = 240
_NEAR_DAYS = 90


def _ok_year(y: int) -> bool:
    return MIN_YEAR + 1 <= y <= MAX_YEAR - 1


def _distance(p: Period, ref: date) -> int:
    if p.first <= ref <= p.last:
        return 0
    return min(abs((p.first - ref).days), abs((p.last - ref).days))


def _choose(
    cands: list[Period], ref: date, direction: str | None, tense: str | None, strong: bool = True
) -> Period | None:
    """Pick among the readings of a year-less expression (candidates in date order)."""
    if not cands:
        return None
    if direction == "last":
        past = [p for p in cands if p.last < ref]
        return past[-1] if past else None
    if direction == "next":
        future = [p for p in cands if p.first > ref]
        return future[0] if future else None
    if direction == "this":
        same = [p for p in cands if p.first.year == ref.year]
        if same:
            return same[0]
    nearest = min(cands, key=lambda p: _distance(p, ref))
    chosen: Period | None = None
    # the tense picks the latest past or the earliest coming reading; without one, the nearest
    if tense == "past":
        past = [p for p in cands if p.first <= ref]
        chosen = past[-1] if past else None
    elif tense == "future":
        future = [p for p in cands if p.last >= ref]
        chosen = future[0] if future else None
    if chosen is None:
        return nearest
    if not strong and _distance(chosen, ref) > _FAR_DAYS and _distance(nearest, ref) < _NEAR_DAYS:
        # a tense cue some words away ("declared a dividend, payable Dec. 15") is weak
        # evidence against a reading weeks away rather than most of a year
        return nearest
    return chosen


def _cal_period(sem: Sem, year: int) -> Period | None:
    """The period a "cal" expression names once its year is known."""
    if not _ok_year(year):
        return None
    if sem.month is not None:
        if sem.day is not None:
            try:
                return day_period(date(year, sem.month, sem.day))
            except ValueError:
                return None  # February 29 in a common year
        return month_period(year, sem.month)
    if sem.quarter is not None:
        return quarter_period(year, sem.quarter)
    if sem.half is not None:
        return half_period(year, sem.half)
    if sem.season is not None:
        return season_period(year, sem.season)
    return year_period(year)


def _cal_unknown(sem: Sem) -> tuple[str, str]:
    """XXXX-style value and granularity of a year-less expression with nothing to resolve on."""
    if sem.month is not None:
        if sem.day is not None:
            return f"XXXX-{sem.month:02d}-{sem.day:02d}", "day"
        return f"XXXX-{sem.month:02d}", "month"
    if sem.quarter is not None:
        return f"XXXX-Q{sem.quarter}", "quarter"
    if sem.half is not None:
        return f"XXXX-H{sem.half}", "half"
    if sem.season is not None:
        return f"XXXX-{sem.season}", "season"
    return "XXXX", "year"


def _resolve_cal(sem: Sem, ctx: Context) -> Period | tuple[str, str] | None:
    if sem.decade is not None:
        return decade_period(sem.decade) if sem.decade >= 1 else None
    if sem.century is not None:
        return century_period(sem.century) if sem.century >= 1 else None
    if sem.year is not None:
        return _cal_period(sem, sem.year)
    ref = ctx.published
    if ref is None:
        return _cal_unknown(sem)
    if sem.year_rel is not None:
        return _cal_period(sem, ref.year + sem.year_rel)
    cands = [p for y in (ref.year - 1, ref.year, ref.year + 1) if (p := _cal_period(sem, y)) is not None]
    if sem.weekday is not None and sem.day is not None:
        matching = [p for p in cands if p.first.weekday() == sem.weekday]
        if matching:
            return _choose(matching, ref, None, None)
    if sem.month is None and sem.quarter is None and sem.half is None and sem.season is None:
        return year_period(ref.year)
    if (sem.quarter is not None or sem.half is not None) and sem.direction is None:
        # reporting periods: results for a quarter that ended weeks ago are still to come,
        # so "will report third-quarter results" in October is the quarter just ended
        if ctx.tense == "future":
            due = [p for p in cands if p.last >= ref - timedelta(days=_REPORTING_LAG_DAYS)]
            return due[0] if due else None
        if ctx.tense == "past":
            begun = [p for p in cands if p.first <= ref]
            return begun[-1] if begun else None
    return _choose(cands, ref, sem.direction, ctx.tense, ctx.tense_close)


def _resolve_holiday(sem: Sem, ctx: Context) -> Period | tuple[str, str] | None:
    key = sem.holiday
    assert key is not None
    if sem.year is not None:
        return day_period(holiday_date(key, sem.year)) if _ok_year(sem.year) else None
    ref = ctx.published
    if ref is None:
        d = holiday_date(key, 2001)
        fixed = holiday_date(key, 2002)
        if (d.month, d.day) == (fixed.month, fixed.day):
            return f"XXXX-{d.month:02d}-{d.day:02d}", "day"
        return "XXXX-XX-XX", "day"
    cands = [day_period(holiday_date(key, y)) for y in (ref.year - 1, ref.year, ref.year + 1) if _ok_year(y)]
    return _choose(cands, ref, sem.direction, ctx.tense, ctx.tense_close)


def _resolve_weekday(sem: Sem, ctx: Context) -> Period | tuple[str, str] | None:
    wd = sem.weekday
    assert wd is not None
    ref = ctx.text_anchor if sem.anchor == "text" and ctx.text_anchor else ctx.published
    if ref is None:
        return f"XXXX-WXX-{wd + 1}", "day"
    cands = [day_period(ref + timedelta(days=k)) for k in range(-7, 8) if (ref.weekday() + k) % 7 == wd]
    direction = sem.direction
    tense = ctx.tense
    if direction == "this":
        direction = None
        tense = "past" if tense == "past" else "future"
    if direction is None and tense is None:
        return min(cands, key=lambda p: _distance(p, ref))
    if direction is None and tense is not None:
        # within a week either way, never further: "said Friday" is the last Friday
        if tense == "past":
            return [p for p in cands if p.first <= ref][-1]
        return [p for p in cands if p.first >= ref][0]
    return _choose(cands, ref, direction, tense)


def _unit_period(unit: str, ref: date, offset: int) -> Period | None:
    try:
        if unit == "day":
            return day_period(ref + timedelta(days=offset))
        if unit == "week":
            return week_period(ref + timedelta(days=7 * offset))
        if unit == "fortnight":
            return week_period(ref + timedelta(days=14 * offset))
        if unit == "weekend":
            return weekend_period(ref + timedelta(days=7 * offset))
        if unit == "month":
            y, m = add_months(ref.year, ref.month, offset)
            return month_period(y, m) if _ok_year(y) else None
        if unit == "quarter":
            index = ref.year * 4 + (ref.month - 1) // 3 + offset
            y = index // 4
            return quarter_period(y, index % 4 + 1) if _ok_year(y) else None
        if unit == "half":
            index = ref.year * 2 + (ref.month - 1) // 6 + offset
            y = index // 2
            return half_period(y, index % 2 + 1) if _ok_year(y) else None
        if unit == "year":
            y = ref.year + offset
            return year_period(y) if _ok_year(y) else None
        if unit == "decade":
            return decade_period(ref.year // 10 + offset)
        if unit == "century":
            return century_period(ref.year // 100 + offset)
    except (OverflowError, ValueError):
        return None
    return None


_COARSE = frozenset(("month", "quarter", "half", "season", "year"))


def _resolve_rel(sem: Sem, ctx: Context) -> Period | tuple[str, str] | None:
    res = _resolve_rel_period(sem, ctx)
    unit = sem.unit
    assert unit is not None and sem.offset is not None
    if sem.anchor == "text" and isinstance(res, Period) and ctx.published is not None:
        pub = ctx.published
        if (sem.offset > 0 and ctx.tense == "past" and res.first > pub) or (
            sem.offset < 0 and ctx.tense == "future" and res.last < pub
        ):
            # "a month later" told in the past tense cannot lie after publication: the date it
            # counts from is not in the text (or not the one before it); nothing to count from
            return _UNKNOWN[unit], _GRAN.get(unit, unit)
    return res


def _resolve_rel_period(sem: Sem, ctx: Context) -> Period | tuple[str, str] | None:
    unit = sem.unit
    assert unit is not None and sem.offset is not None
    fine = unit in ("day", "week", "weekend", "fortnight", "hour", "minute", "second")
    anchor = ctx.text_anchor if fine else ctx.text_anchor_coarse
    if sem.anchor == "text":
        last = ctx.text_last
        if fine and last is not None and last.granularity in _COARSE:
            # "In April ... a week later": counted from a month, the result is no finer than it
            return _at_precision(last, last.first + _unit_delta(unit, sem.offset))
    ref = anchor if sem.anchor == "text" and anchor is not None else ctx.published
    if ref is None:
        return _UNKNOWN[unit], _GRAN.get(unit, unit)
    offset = sem.offset
    if sem.past_shift and ctx.tense == "past":
        # "the weekend" said on a Saturday or Sunday is this one
        if not (unit == "weekend" and ref.weekday() >= 5):
            offset += sem.past_shift
    elif sem.past_shift and ctx.tense is None and unit == "quarter" and sem.anchor == "pub":
        # "a gain in the quarter" weeks after a quarter ended: the quarter being reported
        begun = quarter_period(ref.year, (ref.month - 1) // 3 + 1).first
        if (ref - begun).days <= _REPORTING_LAG_DAYS:
            offset += sem.past_shift
    if unit == "weekend" and sem.anchor == "pub" and not sem.past_shift:
        if offset == 0 and ctx.tense == "past" and ref.weekday() < 5:
            # "This weekend I went hunting" told on a weekday: the weekend just past, never
            # one still to come
            offset = -1
        elif offset == 1 and ref.weekday() < 3:
            # "next weekend" early in the week is the coming one
            offset = 0
    if unit in ("hour", "minute", "second"):
        return day_period(ref)
    if unit == "year" and sem.keep_precision and ctx.text_period is not None:
        prior = ctx.text_period
        # "a year earlier" keeps the precision of what it is compared with; "a year ago"
        # right after a quarter is the year-ago quarter of earnings reports
        if sem.anchor == "text" or prior.granularity == "quarter":
            shifted = _shift_years(prior, offset)
            if shifted is not None:
                return shifted
    return _unit_period(unit, ref, offset)


def _unit_delta(unit: str, offset: int) -> timedelta:
    days = {"day": 1, "week": 7, "weekend": 7, "fortnight": 14}.get(unit, 0)
    return timedelta(days=days * offset)


def _at_precision(prior: Period, day: date) -> Period | None:
    """The period of `prior`'s granularity that contains `day`."""
    g = prior.granularity
    if not _ok_year(day.year):
        return None
    if g == "month":
        return month_period(day.year, day.month)
    if g == "quarter":
        return quarter_period(day.year, (day.month - 1) // 3 + 1)
    if g == "half":
        return half_period(day.year, 1 if day.month <= 6 else 2)
    if g == "season" and prior.first <= day <= prior.last:
        return prior
    return year_period(day.year)


def _shift_years(p: Period, years: int) -> Period | None:
    """The same calendar period `years` years away, at the same precision."""
    y = p.first.year + years
    if not _ok_year(y):
        return None
    g = p.granularity
    if g in ("day", "time"):
        d = p.first
        return day_period(d.replace(year=y, day=28) if (d.month, d.day) == (2, 29) else d.replace(year=y))
    if g == "month":
        return month_period(y, p.first.month)
    if g == "quarter":
        return quarter_period(y, (p.first.month - 1) // 3 + 1)
    if g == "half":
        return half_period(y, 1 if p.first.month <= 6 else 2)
    if g == "year":
        return year_period(y)
    return None


_RESOLVERS: dict[str, Callable[[Sem, Context], Period | tuple[str, str] | None]] = {
    "cal": _resolve_cal,
    "holiday": _resolve_holiday,
    "weekday": _resolve_weekday,
    "rel": _resolve_rel,
}


def _clock_suffix(sem: Sem, ctx: Context) -> str | None:
    if sem.unit in ("hour", "minute", "second") and sem.offset is not None:
        if ctx.published_at is None or sem.anchor != "pub":
            return None
        step = {"hour": 3600, "minute": 60, "second": 1}[sem.unit]
        t = ctx.published_at + timedelta(seconds=step * sem.offset)
        return f"{t.date().isoformat()}T{t.hour:02d}:{t.minute:02d}"
    if sem.hour is not None:
        return f"T{sem.hour:02d}:{(sem.minute or 0):02d}"
    if sem.tod is not None:
        return f"T{sem.tod}"
    return None


def resolve(sem: Sem, ctx: Context) -> Resolved | None:
    """The TIMEX3 type, value, mod, granularity and interval of an expression, or None."""
    if sem.kind in ("ref", "duration", "set"):
        assert sem.value is not None
        return Resolved(sem.type, sem.value, sem.mod, None, None)
    res = _RESOLVERS[sem.kind](sem, ctx)
    if res is None:
        return None
    typ = sem.type
    if isinstance(res, tuple):
        value, gran = res
        interval = None
    else:
        value, gran = res.value, res.granularity
        first, last = apply_mod(res, sem.mod)
        if sem.partial is not None and sem.anchor == "pub" and ctx.published is not None:
            pub = ctx.published
            if res.first <= pub <= res.last:
                first, last = (res.first, pub) if sem.partial == "before" else (pub, res.last)
        interval = (first, last)
    clock = _clock_suffix(sem, ctx)
    if clock is not None and gran == "day":
        if clock.startswith("T"):
            value = value + clock
        else:
            value = clock
        gran = "time"
        typ = "TIME"
    elif typ == "TIME" and gran != "time":
        typ = "DATE"
    return Resolved(typ, value, sem.mod, gran, interval)
