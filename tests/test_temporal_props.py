"""Property and robustness tests of the temporal tagger: never raises, never hangs, linear."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.temporal import TemporalMention, extract

TYPES = {"DATE", "TIME", "DURATION", "SET"}
GRANULARITIES = {"day", "week", "month", "quarter", "season", "half", "year", "decade", "century", "time"}
# The TIMEX3 values the tagger may produce.
VALUE = re.compile(
    r"(?:PRESENT_REF|PAST_REF|FUTURE_REF"
    r"|P(?:\d+(?:\.\d+)?|X)(?:Y|M|W|D|Q|E|C|WE)(?:\d+[MDH])?(?:T\d+H)?"
    r"|PT(?:\d+|X)[HMS](?:\d+[MS])?"
    r"|(?:\d{4}|XXXX)(?:-(?:\d\d|XX)(?:-(?:\d\d|XX))?|-W(?:\d\d|XX)(?:-(?:WE|\d))?|-Q[1-4X]|-H[12X]"
    r"|-(?:SP|SU|FA|WI))?(?:T(?:\d\d:\d\d|MO|AF|EV|NI))?"
    r"|\d{3}|\d\d|XXX|XX|\d{4}-\d\d-\d\dT\d\d:\d\d)"
)

# Words that steer the tagger into its different rules, mixed with noise.
VOCAB = [
    "March", "May", "may", "Friday", "Sat", "last", "next", "this", "week", "year", "years",
    "the", "past", "two", "a", "few", "ago", "later", "earlier", "mid-", "early", "late", "end",
    "of", "quarter", "third", "first", "half", "1990s", "'80s", "2024", "1999", "22", "3:10",
    "p.m.", "GMT", "Q1", "H2", "fiscal", "Christmas", "Easter", "today", "now", "every", "daily",
    "$27", "50%", "6502", "3-2", "2.0.1", "-", ",", ".", "/", ":", "'", "\n", "  ", "12/31/1999",
    "2009-2010", "summer", "fall", "century", "20th", "noon", "tonight", "morning", "Q", "FY",
]
# Generous: only a real hang (catastrophic backtracking) exceeds it, not a busy CI machine.
HANG = timedelta(seconds=10)
SAT = date(2024, 3, 23)


def check(text: str, ms: list[TemporalMention]) -> None:
    prev_end = 0
    for m in ms:
        assert 0 <= m.start < m.end <= len(text)
        assert text[m.start : m.end] == m.text
        assert m.start >= prev_end, "mentions overlap or are out of order"
        prev_end = m.end
        assert m.type in TYPES
        assert VALUE.fullmatch(m.value), m.value
        assert m.granularity is None or m.granularity in GRANULARITIES
        if m.interval is not None:
            assert m.interval[0] <= m.interval[1]
            assert m.type in ("DATE", "TIME")
        m.to_dict()


@settings(max_examples=80, deadline=HANG)
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    check(text, extract(text, SAT))


@settings(max_examples=80, deadline=HANG)
@given(st.lists(st.sampled_from(VOCAB), max_size=60), st.sampled_from([" ", "", "-", ", "]))
def test_vocabulary_soup(words: list[str], sep: str) -> None:
    text = sep.join(words)
    check(text, extract(text, SAT))
    check(text, extract(text, None))


@settings(max_examples=30, deadline=HANG)
@given(st.text(alphabet="0123456789.,:/-' $%", min_size=0, max_size=3000))
def test_digits_and_punctuation(text: str) -> None:
    check(text, extract(text, SAT))


@settings(max_examples=30, deadline=HANG)
@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_any_publication_date(pub: date) -> None:
    text = "Last week, next year, Friday, in December, the third quarter, two days later, 2024, mid-May."
    check(text, extract(text, pub))


def test_ends_of_the_calendar() -> None:
    text = (
        "Last week, next year, Friday, in December, the third quarter, two days later, 2024, "
        "mid-May, Christmas, this weekend, the 1990s, the next day, a year earlier, at 3 p.m."
    )
    for pub in (date.min, date.max, date(1, 1, 3), date(9999, 12, 28)):
        check(text, extract(text, pub))


def test_pathological_inputs_are_fast() -> None:
    cases = [
        "1" * 15_000,
        "1-" * 7_000,
        "1/" * 7_000,
        "12:" * 5_000,
        "." * 15_000,
        "the " * 4_000,
        "a few " * 2_000,
        "March " * 2_000,
        "mid-" * 4_000,
        "'" * 15_000,
        "2024-" * 3_000,
        "the end of " * 1_000,
        "last " * 3_000 + "week",
        "\n" * 15_000,
    ]
    for text in cases:
        t0 = time.perf_counter()
        check(text, extract(text, SAT))
        # A hang guard, not a speed target (bench/temporal_speed.py measures speed):
        # catastrophic backtracking on 15 KB takes minutes, not seconds.
        assert time.perf_counter() - t0 < HANG.total_seconds(), text[:20]


def test_repeated_text_gives_repeated_mentions() -> None:
    """Ten times the text, ten times the mentions (speed per KB is measured by bench/temporal_speed.py)."""
    unit = (
        "On March 5, 2024 the board met. Two days later it resigned; shares fell 3% last week "
        "and will rise next year, analysts said on Friday at 3 p.m. in the past two years. "
    )
    assert len(extract(unit * 400, SAT)) == 10 * len(extract(unit * 40, SAT))


def test_deterministic_and_thread_safe() -> None:
    texts = [f"On March {d}, 2024 they met; {d} days later, last week, Friday." for d in range(1, 29)]
    expected = [extract(t, SAT + timedelta(days=i)) for i, t in enumerate(texts)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            got = list(pool.map(lambda it: extract(it[1], SAT + timedelta(days=it[0])), enumerate(texts)))
            assert got == expected
