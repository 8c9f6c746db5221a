"""Dates that are no happening: years inside names, programme names, figurative time, negated
and hypothetical dates, reference lists and tweet furniture, and counted offsets ("two days
later") that must count from the date before them. Every sentence here is made up."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from tracker.events import TopicMatcher, find_mentions, is_boilerplate, split_sentences
from tracker.temporal import TemporalMention, extract

APR = date(2024, 4, 15)  # a Monday
PUBLISHED = datetime(2024, 4, 15, 9, 0, tzinfo=timezone.utc)
EVERYTHING = TopicMatcher({})  # no topics: every dated sentence counts


def dated(text: str, published: date = APR) -> list[tuple[str, str]]:
    """(text, value) of the calendar dates the tagger finds (no *_REF, no durations)."""
    return [(m.text, m.value) for m in extract(text, published) if _calendar(m)]


def _calendar(m: TemporalMention) -> bool:
    return m.type in ("DATE", "TIME") and m.interval is not None


def events(text: str, title: str = "") -> list[tuple[str, str]]:
    return [(m.expression, m.value) for m in find_mentions(title=title, text=text, published=PUBLISHED, matcher=EVERYTHING)]


# --- a year inside a name or title -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Critics named it the Game of the Year 2019 before its sequel shipped.",
        "Tickets for Slamfest 2003 sold out within an hour.",
        "Songvision 2021 drew a record audience to the arena.",
        "The ministry presented Horizon 2040 as a plan to diversify the economy.",
        "Most of the class of 2016 found jobs within a year.",
        "The Rugby Cup 2027 qualifiers start with a match in Lisbon.",
        "She ran the Berlin 2018 campaign for the party.",
    ],
)
def test_a_year_inside_a_name_is_no_date(text: str) -> None:
    assert dated(text) == []


@pytest.mark.parametrize(
    "text, year",
    [
        ("The 2027 Rugby Cup will be held in Portugal.", "2027"),
        ("In 2019 the studio shipped its first game.", "2019"),
        ("Summer 2023 was the hottest on record.", None),  # a season, not a bare year
        ("Sales rose in fiscal 2022, the company said.", "2022"),
        ("The museum, opened in 1998, draws crowds.", "1998"),
    ],
)
def test_a_year_before_a_name_or_after_a_preposition_is_a_date(text: str, year: str | None) -> None:
    values = [v for _, v in dated(text)]
    assert values, text
    if year is not None:
        assert year in values


# --- programme names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The senator appeared on Channel Nine Tonight to defend the bill.",
        "She was a guest on The Tonight Show with a new band.",
        "He told the Today programme that prices would fall.",
        "Viewers of Morning Today complained about the interview.",
        "The mayor told NBC's Today show she would run again.",
    ],
)
def test_a_programme_name_is_no_date(text: str) -> None:
    assert dated(text) == []


def test_the_same_words_at_the_start_of_a_sentence_are_dates() -> None:
    assert dated("Today the council voted to close the bridge.") == [("Today", "2024-04-15")]
    assert dated('"Tonight we celebrate," the coach said.') == [("Tonight", "2024-04-15TNI")]
    assert dated("The vote is set for tomorrow.") == [("tomorrow", "2024-04-16")]


# --- figurative time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, ref",
    [
        ("The engines of yesterday burned twice as much fuel.", "PAST_REF"),
        ("Tomorrow's engineers will learn to code in primary school.", "FUTURE_REF"),
        ("Today's teenagers spend little time watching television.", "PRESENT_REF"),
        ("The kitchens of tomorrow will order their own groceries.", "FUTURE_REF"),
        ("In today's dollars the bridge would cost twice as much.", "PRESENT_REF"),
    ],
)
def test_figurative_time_is_a_reference_not_a_day(text: str, ref: str) -> None:
    assert dated(text) == []
    assert ref in [m.value for m in extract(text, APR)]


def test_a_real_day_in_the_same_shapes_stays_a_day() -> None:
    assert dated("Today's hearing lasted six hours.") == [("Today", "2024-04-15")]
    assert dated("Tomorrow's meeting with world leaders starts at noon.")[0] == ("Tomorrow", "2024-04-16")
    assert dated("As of yesterday, 40 ferries had been cancelled.") == [("yesterday", "2024-04-14")]
    assert dated("The strike, by the end of tomorrow, will have cost millions.") != []


# --- negated and hypothetical dates --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Nobody laughed, and it's not April Fool's Day.",
        "If it were Christmas, the square would be full.",
        "If the council approves the plan in June, work starts at once.",
        "Unless the strike ends by Friday, the ferries stay in port.",
    ],
)
def test_negated_or_hypothetical_dates_make_no_event(text: str) -> None:
    assert events(text) == []


def test_only_the_denied_date_of_a_pair_goes() -> None:
    assert events("The ferry sails on Tuesday, not on Monday.") == [("Tuesday", "2024-04-16")]


def test_not_until_the_main_clause_after_if_and_a_cancellation_are_events() -> None:
    assert [v for _, v in events("The bridge will not reopen until June.")] == ["2024-06"]
    found = events("If the council approves the plan, work starts on Monday, April 22.")
    assert [v for _, v in found] == ["2024-04-22"]
    # what did not happen on a day is news of that day: the cancellation
    assert events("The ferry did not sail on Tuesday because of the storm.") == [("Tuesday", "2024-04-09")]
    # a real happening inside an "if" clause's relative clause, or after "see if", stays
    found = events("If the company is found negligent in running the ferry that sank on April 2, it pays.")
    assert [v for _, v in found] == ["2024-04-02"]


# --- reference lists, links and tweet furniture ---------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Okafor N. (2018). Tidal patterns of the northern estuary.",
        "Lindqvist, M., & Adeyemi, T. (2020b). Ferry traffic and weather.",
        "https://example.org/news/2023/06/14/ferries-return",
        "— Priya Raman (@priyaraman) March 3, 2024",
        "What a crowd at the harbour this morning! pic.twitter.com/Xy12AbCd",
        "(1:05) Source: “Ferries Return to the Northern Route,” The Harbour Gazette, June 2023.",
        "“Ferries Return to the Northern Route,” The Harbour Gazette, June 2023.",
    ],
)
def test_citations_links_and_tweet_lines_are_boilerplate(line: str) -> None:
    assert is_boilerplate(line)
    assert events(line) == []


def test_a_reference_list_paragraph_is_boilerplate_whole() -> None:
    text = (
        "The ferries returned to the northern route in June 2023.\n\n"
        "Okafor N. (2018). Tidal patterns of the northern estuary. Harbour Studies 4.\n"
        "Lindqvist M. (2021). Ferry traffic in spring 2020."
    )
    assert [s.text for s in split_sentences(text) if not s.boilerplate] == [
        "The ferries returned to the northern route in June 2023."
    ]
    assert [v for _, v in events(text)] == ["2023-06"]


def test_news_that_mentions_a_study_or_a_handle_is_not_boilerplate() -> None:
    assert not is_boilerplate("A 2019 study by Okafor found that tides were rising.")
    assert not is_boilerplate("The ferry operator (@harbourferries on social media) resumed service in June.")


# --- offsets counted from the date before them ----------------------------------------------


def test_two_days_later_counts_from_the_date_in_the_previous_sentence() -> None:
    text = "The ferry ran aground on March 4. Engineers inspected the hull. Two days later, it was towed to port."
    assert ("Two days later", "2024-03-06") in dated(text)


def test_a_week_earlier_and_the_next_day_in_one_paragraph() -> None:
    text = "The council voted on Tuesday, April 9. A week earlier, residents had protested. The next day, the mayor resigned."
    found = dict(dated(text))
    assert found["A week earlier"] == "2024-W14"
    assert found["The next day"] == "2024-04-10"


def test_an_offset_after_a_month_keeps_the_month_precision() -> None:
    # not "two days after" an older day-precise date, nor after publication
    text = "The ferry ran aground on March 4, 2021. Repairs finished in November 2022. Two days later, it sailed again."
    assert ("Two days later", "2022-11") in dated(text)


def test_an_offset_with_nothing_to_count_from_is_not_dated_after_publication() -> None:
    text = "The mayor resigned. A month later, the council was dissolved."
    assert ("A month later", "2024-05") not in dated(text)
    assert events(text) == []


def test_a_weekday_right_after_a_date_is_that_dates_weekday() -> None:
    # 5 April 2024 was a Friday; without the date, "Friday" in a Monday article is 12 April
    assert ("Friday", "2024-04-05") in dated("The fair opened on 5 April 2024, Friday, with a parade.")
