"""find_mentions: topical, dated, non-boilerplate sentences, with context and stable identity."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.config import Topic
from tracker.events import EventMention, TopicMatcher, find_mentions, is_calendar_mention
from tracker.temporal import TemporalMention

TOPICS = {
    "sora": Topic("sora", "OpenAI Sora", ("Sora", "text-to-video")),
    "hollywood-meetings": Topic("hollywood-meetings", None, ("Hollywood", "studio*", "meeting*")),
    "strikes": Topic("strikes", None, ("strike*", "SAG-AFTRA", "Writers Guild")),
}
MATCHER = TopicMatcher(TOPICS)
PUBLISHED = datetime(2024, 3, 25, 14, 0, tzinfo=timezone.utc)

FEB = (date(2024, 2, 1), date(2024, 2, 29))
W13 = (date(2024, 3, 25), date(2024, 3, 31))
Y2023 = (date(2023, 1, 1), date(2023, 12, 31))
MAR22 = (date(2024, 3, 22), date(2024, 3, 22))


# The tagger's own result type: hand-built mentions stand in for the tagger's output.
FakeTemporal = TemporalMention


Spec = tuple[str, str, str | None, tuple[date, date] | None]


def tagger(*specs: Spec, type_: str = "DATE", mod: dict[str, str] | None = None) -> Callable[..., list[FakeTemporal]]:
    """An extractor that tags every occurrence of each phrase, as the real tagger would."""

    def extract(text: str, published: object) -> list[FakeTemporal]:
        out = []
        for phrase, value, granularity, interval in specs:
            for m in re.finditer(re.escape(phrase), text):
                kind = type_ if interval is not None or value.endswith("_REF") else "DURATION"
                out.append(FakeTemporal(m.start(), m.end(), phrase, kind, value, (mod or {}).get(phrase), granularity, interval))
        return sorted(out, key=lambda t: t.start)

    return extract


def mentions(text: str, *specs: Spec, title: str = "", **kwargs: object) -> list[EventMention]:
    return find_mentions(title=title, text=text, published=PUBLISHED, matcher=kwargs.pop("matcher", MATCHER),  # type: ignore[arg-type]
                         extractor=tagger(*specs), **kwargs)  # type: ignore[arg-type]


def test_a_topical_dated_sentence_is_a_mention() -> None:
    text = "OpenAI is meeting Hollywood studios in Los Angeles this week. The weather was nice."
    [m] = mentions(text, ("this week", "2024-W13", "week", W13))
    assert m.topics == {"hollywood-meetings"}
    assert (m.value, m.granularity, m.start, m.end) == ("2024-W13", "week", *W13)
    assert text[m.expr_start : m.expr_end] == "this week" == m.expression
    assert m.quote == "OpenAI is meeting Hollywood studios in Los Angeles this week."
    assert m.summary == "OpenAI is meeting Hollywood studios in Los Angeles"
    assert {"meet", "studio", "openai"} <= m.terms and "week" not in m.terms
    assert not m.context_topics


def test_title_gives_context_to_a_sentence_that_refers_back() -> None:
    text = "It was unveiled in mid-February."
    [m] = mentions(text, ("mid-February", "2024-02", "month", FEB), title="OpenAI unveils Sora")
    assert m.topics == {"sora"} and m.context_topics
    assert mentions(text, ("mid-February", "2024-02", "month", FEB), title="Markets rally") == []


def test_previous_sentence_gives_context_before_the_title() -> None:
    text = "The Writers Guild walked out. It ended in September."
    sept = (date(2023, 9, 1), date(2023, 9, 30))
    [m] = mentions(text, ("September", "2023-09", "month", sept), title="OpenAI unveils Sora")
    assert m.topics == {"strikes"}


def test_context_does_not_reach_sentences_about_something_else() -> None:
    text = "The SAG-AFTRA strike cost billions. Shares of Netflix rose 2% on Friday."
    assert mentions(text, ("Friday", "2024-03-22", "day", MAR22), title="Strikes: a year on") == []


def test_feed_topics_restrict() -> None:
    text = "Sora met Hollywood studios this week."
    spec = ("this week", "2024-W13", "week", W13)
    assert mentions(text, spec)[0].topics == {"sora", "hollywood-meetings"}
    assert mentions(text, spec, feed_topics=["sora"])[0].topics == {"sora"}
    assert mentions(text, spec, feed_topics=["strikes"]) == []


def test_without_topics_every_dated_sentence_counts() -> None:
    text = "Shares of Netflix rose 2% on Friday. Nothing else happened."
    [m] = mentions(text, ("Friday", "2024-03-22", "day", MAR22), matcher=TopicMatcher({}))
    assert m.topics == frozenset()


def test_refs_durations_sets_and_eras_are_not_calendar_mentions() -> None:
    text = "Sora clips for months. Sora now. Sora every week. Sora in the 2020s."
    found = mentions(
        text,
        ("for months", "P1M", None, None),
        ("now", "PRESENT_REF", None, None),
        ("the 2020s", "202", "decade", (date(2020, 1, 1), date(2029, 12, 31))),
    )
    assert found == []
    may = (date(2024, 5, 1), date(2024, 5, 31))
    assert is_calendar_mention(FakeTemporal(0, 3, "May", "DATE", "2024-05", None, "month", may))
    assert not is_calendar_mention(FakeTemporal(0, 3, "may", "DATE", "2024-05", None, "month", may))
    assert not is_calendar_mention(FakeTemporal(0, 5, "March", "DATE", "XXXX-03", None, "month", (date(2024, 3, 1), date(2024, 3, 31))))
    assert not is_calendar_mention(FakeTemporal(0, 4, "every week", "SET", "P1W", None, None, None))


def test_boilerplate_bylines_and_datelines_are_skipped() -> None:
    text = (
        "By Jane Doe | March 25, 2024\n\n"
        "LOS ANGELES, March 25 (Reuters) - Sora impressed the studios.\n\n"
        "Related: Sora is coming this summer\n\n"
        "Jane Doe is a senior reporter at Reuters. She has covered Hollywood since 2015.\n\n"
        "© 2024 Reuters"
    )
    summer = (date(2024, 6, 20), date(2024, 9, 22))
    found = mentions(
        text,
        ("March 25, 2024", "2024-03-25", "day", (date(2024, 3, 25),) * 2),
        ("March 25", "2024-03-25", "day", (date(2024, 3, 25),) * 2),
        ("this summer", "2024-SU", "season", summer),
        ("2015", "2015", "year", (date(2015, 1, 1), date(2015, 12, 31))),
        ("2024", "2024", "year", (date(2024, 1, 1), date(2024, 12, 31))),
        title="Sora in Hollywood",
    )
    assert found == []


def test_statement_dates_date_the_report_not_the_news() -> None:
    text = "OpenAI will meet Hollywood studios next week, Bloomberg reported on Friday."
    found = mentions(text, ("next week", "2024-W13", "week", W13), ("Friday", "2024-03-22", "day", MAR22))
    assert [m.value for m in found] == ["2024-W13"]
    text = "SAG-AFTRA's negotiator said in an interview on Friday that talks went well."
    assert mentions(text, ("Friday", "2024-03-22", "day", MAR22)) == []
    text = "OpenAI on Friday said it would meet Hollywood studios next week."
    found = mentions(text, ("next week", "2024-W13", "week", W13), ("Friday", "2024-03-22", "day", MAR22))
    assert [m.value for m in found] == ["2024-W13"]
    # An announcement is news, not a statement about news.
    text = "OpenAI on Friday unveiled Sora."
    assert [m.value for m in mentions(text, ("Friday", "2024-03-22", "day", MAR22))] == ["2024-03-22"]


def test_two_dates_in_a_sentence() -> None:
    # Disjoint dates are two happenings ...
    text = "OpenAI will meet studios next week, after earlier meetings in February."
    found = mentions(text, ("next week", "2024-W13", "week", W13), ("February", "2024-02", "month", FEB))
    assert [m.value for m in found] == ["2024-W13", "2024-02"]
    assert found[0].fingerprint != found[1].fingerprint
    # ... nested ones name one happening, at its most precise.
    text = "The studios met on Monday, March 25, in Los Angeles."
    day = (date(2024, 3, 25), date(2024, 3, 25))
    found = mentions(text, ("Monday", "2024-03-25", "day", day), ("March 25", "2024-03-25", "day", day),
                     ("March", "2024-03", "month", (date(2024, 3, 1), date(2024, 3, 31))))
    assert [m.expression for m in found] == ["Monday"]


def test_reprocessing_is_idempotent_and_edits_change_only_what_changed() -> None:
    spec = [("this week", "2024-W13", "week", W13), ("last year", "2023", "year", Y2023)]
    text = "OpenAI is meeting studios this week. The SAG-AFTRA strike ended last year."
    first = mentions(text, *spec)
    assert mentions(text, *spec) == first
    edited = "Breaking news.\n\nThe SAG-AFTRA strike ended last year."
    after = mentions(edited, *spec)
    assert [m.fingerprint for m in after] == [first[1].fingerprint]  # offsets moved, identity did not


def test_a_repeated_sentence_is_one_mention() -> None:
    text = "The Writers Guild strike ended last year.\n\n“The Writers Guild strike ended last year.”"
    assert len(mentions(text, ("last year", "2023", "year", Y2023))) == 1


WORDS = ["Sora", "studios", "It", "the", "strike", "OpenAI", "said", "on", "Monday", ".", ",", "\n", "\n\n", "By", "Jane",
         "Related:", "“", "”", "U.S.", "Mr.", "last", "week", "?", "—", "meetings", "(Reuters)", "LOS", "ANGELES", "-"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=80), st.lists(st.tuples(st.integers(0, 400), st.integers(1, 12)), max_size=6))
def test_find_mentions_never_breaks(words: list[str], spans: list[tuple[int, int]]) -> None:
    text = " ".join(words)

    def extract(body: str, _: object) -> list[FakeTemporal]:
        out = []
        for start, length in spans:
            if start + length <= len(body):
                out.append(FakeTemporal(start, start + length, body[start : start + length], "DATE", "2024-W13", None, "week", W13))
        return out

    for matcher in (MATCHER, TopicMatcher({})):
        found = find_mentions(title="Sora", text=text, published=PUBLISHED, matcher=matcher, extractor=extract)
        for m in found:
            assert text[m.expr_start : m.expr_end] == m.expression
            assert len(m.quote) <= 302 and len(m.summary) <= 121
            assert m.start <= m.end
        assert find_mentions(title="Sora", text=text, published=PUBLISHED, matcher=matcher, extractor=extract) == found


# --- spans: "from May to September 2023" is one mention of the span -------------------------

MAY = (date(2023, 5, 1), date(2023, 5, 31))
SEP = (date(2023, 9, 1), date(2023, 9, 30))
JUL = (date(2023, 7, 1), date(2023, 7, 31))
NOV = (date(2023, 11, 1), date(2023, 11, 30))


def test_a_range_is_one_mention_spanning_both_ends() -> None:
    text = "The strike shut down production. The writers stayed out from May to September 2023."
    [m] = mentions(text, ("May", "2023-05", "month", MAY), ("September 2023", "2023-09", "month", SEP))
    assert (m.value, m.granularity, m.start, m.end) == ("2023-05/2023-09", "range", date(2023, 5, 1), date(2023, 9, 30))
    assert m.expression == "May to September 2023"
    assert m.summary == "The writers stayed out from May to September 2023"


def test_two_overlapping_ranges_in_one_sentence_are_two_mentions() -> None:
    text = "The strikes shut down production. The writers stayed out from May to September 2023; the actors from July to November 2023."
    found = mentions(text, ("May", "2023-05", "month", MAY), ("September 2023", "2023-09", "month", SEP),
                     ("July", "2023-07", "month", JUL), ("November 2023", "2023-11", "month", NOV))  # fmt: skip
    assert [(m.value, m.start, m.end) for m in found] == [
        ("2023-05/2023-09", date(2023, 5, 1), date(2023, 9, 30)),
        ("2023-07/2023-11", date(2023, 7, 1), date(2023, 11, 30)),
    ]


def test_a_range_start_without_a_year_takes_the_year_of_its_end() -> None:
    # The tagger alone reads a bare "May" in 2025 as May 2024; the span says 2023.
    text = "The writers' strike ran from May to September 2023."
    published = datetime(2025, 3, 1, tzinfo=timezone.utc)
    [m] = find_mentions(title="", text=text, published=published, matcher=MATCHER)
    assert (m.value, m.start, m.end) == ("2023-05/2023-09", date(2023, 5, 1), date(2023, 9, 30))


def test_dates_joined_without_from_stay_apart() -> None:
    text = "The strike began in May and ended in September 2023, the union said in a statement to members."
    found = mentions(text, ("May", "2023-05", "month", MAY), ("September 2023", "2023-09", "month", SEP))
    assert [m.value for m in found] == ["2023-05", "2023-09"]


def test_a_range_and_a_date_inside_it_are_two_happenings() -> None:
    text = ("That matters after the Writers Guild of America strike, which began on May 2, 2023, and the "
            "SAG-AFTRA strike, which ran from July 14 to November 9, 2023.")  # fmt: skip
    found = find_mentions(title="", text=text, published=PUBLISHED, matcher=MATCHER)
    assert [(m.value, m.granularity) for m in found] == [("2023-05-02", "day"), ("2023-07-14/2023-11-09", "range")]
    assert found[0].summary == "The Writers Guild of America strike began on May 2, 2023"
    assert found[1].summary == "The SAG-AFTRA strike ran from July 14 to November 9, 2023"


def test_lasted_until_a_bare_month_points_back() -> None:
    text = "The Writers Guild of America walked out in May and settled in September; SAG-AFTRA's strike lasted until November."
    published = datetime(2024, 3, 23, 9, 30, tzinfo=timezone.utc)
    found = find_mentions(title="", text=text, published=published, matcher=MATCHER)
    assert [m.value for m in found] == ["2023-05", "2023-09", "2023-11"]
    assert found[-1].summary == "SAG-AFTRA's strike lasted until November"


def test_a_day_before_dates_the_clause_that_follows() -> None:
    text = ("Union leaders reminded studios of their contract terms on Sunday, a day before OpenAI begins "
            "a series of meetings with studios in Los Angeles.")  # fmt: skip
    published = datetime(2024, 3, 24, 18, 15, tzinfo=timezone.utc)
    found = find_mentions(title="", text=text, published=published, matcher=MATCHER)
    assert [(m.expression, m.value) for m in found] == [("Sunday", "2024-03-24"), ("a day before", "2024-03-25")]
    assert found[0].summary == "Union leaders reminded studios of their contract terms"
    assert found[1].summary == "OpenAI begins a series of meetings with studios in Los Angeles"


def test_two_days_after_counts_back_from_its_anchor() -> None:
    text = "The studios signed the deal on Friday, March 22, 2024, two days after the Writers Guild ended its strike."
    found = find_mentions(title="", text=text, published=PUBLISHED, matcher=MATCHER)
    assert [m.value for m in found] == ["2024-03-22", "2024-03-20"]


def test_with_two_dates_a_topic_word_next_to_each_decides_its_topics() -> None:
    text = ("OpenAI's executives spent the week pitching Sora to Hollywood studios, an industry still bruised "
            "by the strikes of last year.")  # fmt: skip
    found = mentions(text, ("the week", "2024-W13", "week", W13), ("last year", "2023", "year", Y2023))
    assert [(m.expression, sorted(m.topics)) for m in found] == [
        ("the week", ["hollywood-meetings", "sora"]),
        ("last year", ["strikes"]),
    ]


def test_a_span_across_new_year_and_hours_of_one_day() -> None:
    published = datetime(2024, 3, 26, tzinfo=timezone.utc)
    [m] = find_mentions(title="", text="The strike ran from December to February 2024.", published=published, matcher=MATCHER)
    assert (m.value, m.start, m.end) == ("2023-12/2024-02", date(2023, 12, 1), date(2024, 2, 29))
    hours = find_mentions(title="", text="The strike ran from 9 a.m. to 5 p.m. on March 3, 2024.", published=published,
                          matcher=MATCHER)  # fmt: skip
    assert "range" not in [m.granularity for m in hours]


# --- the date of a statement is not the date of what it reports ----------------------------

ALL = TopicMatcher({})


def dated_events(text: str) -> list[tuple[str, str]]:
    published = datetime(2024, 4, 17, 9, 0, tzinfo=timezone.utc)  # a Wednesday
    return [(m.expression, m.value) for m in find_mentions(title="", text=text, published=published, matcher=ALL)]


def test_statement_dates_wherever_the_reporting_verb_stands() -> None:
    for text in (
        "The union said on Monday that the strike had ended.",
        "On Monday, the union said it would end the strike.",
        "According to a report Saturday, the studio cut its budget.",
        "The producer told reporters on Tuesday that filming had stopped.",
        "In an interview published Tuesday, the director said the film was finished.",
        "The studio announced in a statement Monday that it would pause production.",
        "The studio announced Monday it would pause production.",
        "Monday's report from the union showed that most members had voted.",
    ):
        assert dated_events(text) == [], text


def test_a_statement_that_is_itself_the_happening_keeps_its_date() -> None:
    assert dated_events("The studio announced on Monday a new head of animation.") == [("Monday", "2024-04-15")]
    assert dated_events("The studio apologized in a statement on Monday.") == [("Monday", "2024-04-15")]
    assert dated_events("Monday's statement from the union gave no reason.") == [("Monday", "2024-04-15")]
    # reporting results is itself the news
    assert dated_events("The studio reported a record loss on Monday.") == [("Monday", "2024-04-15")]
    # the happening keeps its own date when the report has another
    found = dated_events("Filming stopped on Friday, the producer told reporters on Tuesday.")
    assert found == [("Friday", "2024-04-12")]


def test_negated_and_conditional_dates_are_no_happenings() -> None:
    assert dated_events("The vote is on Tuesday, not on Monday.") == [("Tuesday", "2024-04-16")]
    assert dated_events("If the studios agree on Friday, filming resumes.") == []
    assert dated_events("The strike will not end until June.") == [("June", "2024-06")]
