"""Merging by the happening, not the wording: paraphrases, inflections and typos of one
happening merge; different happenings of one period and topic stay apart, above all in a
year, which holds many of them."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timezone

from tracker.config import Topic
from tracker.events import KeyedMention, MergedEvent, TopicMatcher, find_mentions, merge, same_event, similarity
from tracker.temporal import TemporalMention

TOPICS = {
    "labour": Topic("labour", None, ("strike*", "walkout*", "union*")),
    "launches": Topic("launches", None, ("headset*", "console*", "launch*")),
    "film-ai": Topic("film-ai", None, ("studio*", "video model*", "Kinetic")),
}
MATCHER = TopicMatcher(TOPICS)
UTC = timezone.utc

Tagged = tuple[str, str | None, str, tuple[date, date]]
Y2022: Tagged = ("2022", None, "year", (date(2022, 1, 1), date(2022, 12, 31)))
MARCH: Tagged = ("2023-03", None, "month", (date(2023, 3, 1), date(2023, 3, 31)))
APR4: Tagged = ("2023-04-04", None, "day", (date(2023, 4, 4), date(2023, 4, 4)))
PUBLISHED = datetime(2023, 4, 6, 9, 0, tzinfo=UTC)


def mention(source: str, text: str, dates: dict[str, Tagged], *, hours: int = 0) -> list[KeyedMention]:
    """The mentions of a one-paragraph article whose date phrases are tagged as given."""

    def extract(body: str, _: object) -> list[TemporalMention]:
        return [
            TemporalMention(m.start(), m.end(), phrase, "DATE", value, mod, granularity, interval)
            for phrase, (value, mod, granularity, interval) in dates.items()
            for m in re.finditer(re.escape(phrase), body)
        ]

    published = PUBLISHED.replace(hour=9 + hours)
    found = find_mentions(title="", text=text, published=published, matcher=MATCHER, extractor=extract)
    return [KeyedMention(m, source, published, published) for m in found]


def event_of(events: list[MergedEvent], source: str) -> MergedEvent:
    return next(e for e in events if any(k.source == source for k in e.mention_keys))


def together(events: list[MergedEvent], *sources: str) -> bool:
    return len({event_of(events, s).id for s in sources}) == 1


# A story about last year's dockworkers' and crane operators' walkout, told many ways,
# beside other dated sentences of the same topic that use the same words.
PARAPHRASE_A = mention("harbour-news:1", "Shippers are still counting the cost of last year's dockworkers' and crane "
                       "operators' strike, which left containers stranded for weeks.", {"last year": Y2022})
PARAPHRASE_B = mention("port-daily:7", "Last year, crane operators and dockworkers went on strike over automation, "
                       "pay and pensions, closing the harbour's busiest terminals to freight.", {"Last year": Y2022},
                       hours=1)
# The topic keyword must be spelled right for the sentence to be on the topic at all.
TYPO = mention("wire:3", "Last year, crane operators and dokworkers went on strike, their first walkout in decades.",
               {"Last year": Y2022}, hours=2)
NEIGHBOURS = (
    mention("port-daily:8", "Dockworkers and crane operators voted on Tuesday to accept the union's new contract.",
            {"Tuesday": APR4}, hours=3)
    + mention("harbour-news:2", "The union warned in March that crane operators and dockworkers would strike again.",
              {"in March": MARCH}, hours=4)
    + mention("wire:4", "Dockworkers and crane operators held a one-day strike on Tuesday at two terminals.",
              {"Tuesday": APR4}, hours=5)
    + mention("port-daily:9", "Crane operators and dockworkers picketed the ferry terminal in March.",
              {"in March": MARCH}, hours=6)
)


def test_paraphrases_of_one_happening_merge_though_they_share_few_words() -> None:
    events = merge(PARAPHRASE_A + PARAPHRASE_B + NEIGHBOURS)
    assert together(events, "harbour-news:1", "port-daily:7")
    # The neighbours are other happenings (the vote, a threat, a one-day strike).
    assert len(event_of(events, "harbour-news:1").mention_keys) == 2


def test_a_typo_variant_merges_too() -> None:
    events = merge(PARAPHRASE_A + PARAPHRASE_B + TYPO + NEIGHBOURS)
    assert together(events, "harbour-news:1", "port-daily:7", "wire:3")
    assert len(event_of(events, "wire:3").mention_keys) == 3


def test_a_typo_reads_as_the_word_of_the_other_mention() -> None:
    right = mention("a:1", "Union dockworkers walked out at the container port on Tuesday.", {"Tuesday": APR4})
    typo = mention("b:1", "Union dokworkers walked out at the container port on Tuesday.", {"Tuesday": APR4}, hours=1)
    other = mention("c:1", "Union longshoremen walked out at the container port on Tuesday.", {"Tuesday": APR4},
                    hours=2)
    assert similarity(right[0].mention, typo[0].mention) > similarity(right[0].mention, other[0].mention)


def test_the_merge_of_paraphrases_does_not_depend_on_order() -> None:
    pool = PARAPHRASE_A + PARAPHRASE_B + TYPO + NEIGHBOURS
    expected = merge(pool)
    for seed in range(8):
        shuffled = list(pool)
        random.Random(seed).shuffle(shuffled)
        assert merge(shuffled) == expected


def test_inflections_and_irregular_verbs_are_one_word() -> None:
    # Beyond the union's pilots (its keyword) the two share only "struck"/"striking".
    struck = mention("a:1", "Union pilots struck at the regional airport on Tuesday over rosters.", {"Tuesday": APR4})
    striking = mention("b:1", "Hundreds of flights were grounded on Tuesday by striking union pilots.",
                       {"Tuesday": APR4}, hours=1)
    assert len(merge(struck + striking)) == 1
    met = mention("c:1", "Airline managers met the pilots' union on Tuesday.", {"Tuesday": APR4})
    meeting = mention("d:1", "The union's meeting with airline managers on Tuesday ended without a deal.",
                      {"Tuesday": APR4}, hours=1)
    assert len(merge(met + meeting)) == 1


def test_an_unveiling_and_meetings_in_one_month_stay_apart() -> None:
    # One company, one month, even "showing"/"showed" and "clips" in common: two happenings.
    unveiled = mention("a:1", "Kinetic unveiled its video model in March, showing a clip of a city at night.",
                       {"in March": MARCH})
    meetings = mention("b:1", "Kinetic met film studios in March and showed executives a reel of clips.",
                       {"in March": MARCH}, hours=1)
    assert same_event(unveiled[0], meetings[0]) is None
    assert len(merge(unveiled + meetings)) == 2


# --- a year holds many happenings --------------------------------------------------------

WALKOUT_2022 = (
    mention("a:1", "Crane operators went on strike last year over automation at the terminals.", {"last year": Y2022})
    + mention("b:1", "Shippers still remember the costly strike of last year.", {"last year": Y2022}, hours=1)
    + mention("c:1", "Terminals were idle for weeks during the dockworkers' strike last year.", {"last year": Y2022},
              hours=2)
)


def test_a_year_event_keeps_its_own_mentions() -> None:
    events = merge(WALKOUT_2022)
    assert len(events) == 1 and len(events[0].mention_keys) == 3


def test_a_year_event_does_not_absorb_another_happening_of_that_year() -> None:
    # Both carry the topic's keyword beside the year, but the year dates something else.
    revenue = mention("d:1", "Terminal revenue fell in 2022 as strikes and storms disrupted shipping.",
                      {"2022": Y2022}, hours=3)
    election = mention("e:1", "The union elected a new leader in 2022, months before the strike.", {"2022": Y2022},
                       hours=4)
    events = merge(WALKOUT_2022 + revenue + election)
    strike = event_of(events, "a:1")
    assert {k.source for k in strike.mention_keys} == {"a:1", "b:1", "c:1"}
    assert not together(events, "d:1", "e:1")


def test_a_strike_and_a_product_launch_of_one_year_stay_apart() -> None:
    began = mention("a:1", "The assembly workers' strike began in 2022 over pay and automation.", {"2022": Y2022})
    launch = mention("b:1", "The company launched its new headset in 2022, weeks after the strike had begun.",
                     {"2022": Y2022}, hours=1)
    assert len(merge(began + launch)) == 2


def test_a_shared_name_and_keyword_do_not_make_one_happening_in_a_year() -> None:
    a = mention("a:1", "Harbourline expanded its union contract in 2022 to cover crane operators.", {"2022": Y2022})
    b = mention("b:1", "Harbourline opened a new terminal in 2022, its union said.", {"2022": Y2022}, hours=1)
    assert len(merge(a + b)) == 2


# --- issue 12: what each date dates, who acts, and words that only say "it started" --------

EVERYTHING = TopicMatcher({})


def tagged(source: str, text: str, published: datetime) -> list[KeyedMention]:
    """The mentions of a one-paragraph article, dated by the tagger, with no topics."""
    found = find_mentions(title="", text=text, published=published, matcher=EVERYTHING)
    return [KeyedMention(m, source, published, published) for m in found]


WED = datetime(2022, 9, 14, 9, 0, tzinfo=UTC)  # a Wednesday


def test_the_same_act_by_two_named_people_on_one_day_is_two_happenings() -> None:
    a = tagged("filings:1", "Orbix (NYSE:ORBX) COO Dana Whitlock sold 41,200 shares of the company's stock in a "
               "trade that settled on Monday, September 12th.", WED)
    b = tagged("filings:2", "Orbix (NYSE:ORBX) Director Teodor Vrabie sold 88,310 shares of the firm's stock in a "
               "trade that settled on Monday, September 12th.", WED)
    assert len(a) == len(b) == 1
    assert same_event(a[0], b[0]) is None
    assert not together(merge(a + b), "filings:1", "filings:2")


def test_the_same_act_by_one_person_named_two_ways_is_one_happening() -> None:
    a = tagged("filings:1", "Orbix (NYSE:ORBX) COO Dana Whitlock sold 41,200 shares of the company's stock in a "
               "trade that settled on Monday, September 12th.", WED)
    b = tagged("filings:3", "Chief operating officer Dana Whitlock sold 41,200 shares of Orbix stock in a trade "
               "that settled on Monday, September 12th.", WED)
    assert same_event(a[0], b[0]) is not None
    assert together(merge(a + b), "filings:1", "filings:3")


def test_starting_beside_two_dates_is_no_evidence_of_one_happening() -> None:
    a = tagged("dev-blog:1", "Starting in March 2023, we will retire several legacy report formats in the billing "
               "API.", datetime(2023, 1, 20, 9, 0, tzinfo=UTC))
    b = tagged("dev-blog:2", "Starting at the end of March 2023, SDK builds will ship every other month, "
               "continuing through July.", datetime(2023, 2, 8, 9, 0, tzinfo=UTC))
    assert a and b
    assert same_event(a[0], b[0]) is None
    c = tagged("dev-blog:3", "Starting in March 2023, the billing API will no longer accept the legacy report "
               "formats.", datetime(2023, 1, 25, 9, 0, tzinfo=UTC))
    assert same_event(a[0], c[0]) is not None


def test_two_people_of_one_article_doing_the_same_on_one_day_stay_apart() -> None:
    text = ("Orbix (NYSE:ORBX) SVP Marta Quell sold 12,000 shares of the company's stock in a trade on Monday, "
            "September 12th. Orbix (NYSE:ORBX) CEO Piet Andersen sold 90,000 shares of Orbix stock in a trade on "
            "Monday, September 12th.")
    found = tagged("filings:9", text, WED)
    assert len(found) == 2
    assert len(merge(found)) == 2
    # The same person's sale told twice in one article is one happening.
    text = ("Orbix (NYSE:ORBX) SVP Marta Quell sold 12,000 shares of the company's stock in a trade on Monday, "
            "September 12th. Filings show SVP Marta Quell sold the 12,000 Orbix shares in a trade on Monday, "
            "September 12th.")
    assert len(merge(tagged("filings:10", text, WED))) == 1
