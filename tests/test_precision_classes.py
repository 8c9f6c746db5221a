"""Event precision (issue 12): dates that make no event, and the similar dates that still do.

Each class has sentences whose date is no happening's date (a quoted message's attribution,
a reference's date, a page stamp, a comparison, a wish, a habit, a question, a name, a
count, a fragment, a report's date, background years before the story) and, next to them,
sentences like them whose date is a happening's. Every sentence here is made up.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from tracker.config import Topic
from tracker.events import TopicMatcher, find_mentions, split_sentences
from tracker.temporal import extract

PUBLISHED = datetime(2024, 4, 17, 9, 0, tzinfo=timezone.utc)  # a Wednesday
EVERYTHING = TopicMatcher({})  # no topics: every dated sentence counts


def events(text: str, published: datetime = PUBLISHED, matcher: TopicMatcher = EVERYTHING) -> list[tuple[str, str]]:
    return [(m.expression, m.value) for m in find_mentions(title="", text=text, published=published, matcher=matcher)]


def none_of(text: str) -> None:
    assert events(text) == [], text


# --- citations: message attributions, header fields, references, page stamps, tweet lines -----


@pytest.mark.parametrize(
    "text",
    [
        "On Tue, Mar 5, 2024 at 11:02:41AM +0200, Pavel K. Orlov wrote: I pushed the fix to the branch.",
        "Thanks for the patch. At 14:10 3rd Apr 2024, river_otter wrote: The numbers in the chart look wrong.",
        "commit 1f2e3d Author: Ana Ruiz <ana@example.org> Date: Wed Mar 13 09:12:44 2024 +0100 Fix the parser",
        "(2:10) “Why Ports Move Slowly,” Harbor Quarterly, October 2022. http://ex.am/ple1 (4:05) “Cargo,” Ledger, May 2021.",
        "Readers can also watch the debate (17/04/2024 - 20h15)",
        "(9:40 p.m. Tuesday ET, 3:40 a.m. Wednesday in Kyiv) The drones struck a depot outside the city.",
        "12 minutes ago via Tweetbot for iOS",
        "This ABC Radio segment was first broadcast on 2 April 2024.",
    ],
)
def test_citation_dates_make_no_event(text: str) -> None:
    none_of(text)


def test_a_live_page_stamp_does_not_date_the_entry_but_the_entry_keeps_its_own_date() -> None:
    text = "(9:40 p.m. Tuesday ET, 3:40 a.m. Wednesday in Kyiv) The drones struck a depot outside the city on Tuesday."
    assert events(text) == [("Tuesday", "2024-04-16")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Pavel Orlov wrote the first version of the parser on March 5, 2024.", ("March 5, 2024", "2024-03-05")),
        ("The harbor authority published its cargo report in October 2022 after a long delay.", ("October 2022", "2022-10")),
        ("The ferry sank on 2 April 2024, and the first episode about it was broadcast a week later.", ("2 April 2024", "2024-04-02")),
    ],
)
def test_similar_happenings_keep_their_dates(text: str, expected: tuple[str, str]) -> None:
    assert expected in events(text)


def test_a_stamp_before_the_text_is_furniture_and_the_text_stays() -> None:
    text = "Wed Apr 10, 2024 6:05 pm EDT (Reuters) - The port of Halden reopened on Wednesday after the storm."
    flagged = [(s.text, s.boilerplate) for s in split_sentences(text)]
    assert flagged[0] == ("Wed Apr 10, 2024 6:05 pm EDT", True)
    assert flagged[-1] == ("The port of Halden reopened on Wednesday after the storm.", False)


def test_a_list_of_links_is_furniture() -> None:
    text = "— Home — Wikinews — Commons — Data Q17 — Wahl des Rates 1952 – Data — Help — Contact"
    assert events(text) == []


# --- no happening: comparisons, cut-offs, wishes, habits, questions, fragments ---------------------


@pytest.mark.parametrize(
    "text",
    [
        "The bakery sold more loaves than in 2021.",
        "Rainfall was well below the total compared with 2019.",
        "The cost of the repairs through February 9 was about $2 million.",
        "Ticket sales as of March 31 stood at 40,000.",
        "We are hoping to open the second shop in this month.",
        "What I'd really like to do in 2025 is learn to sail.",
        "Usually in the autumn the club holds a jumble sale.",
        "What plans does the council have for 2025?",
        "December.",
        "That was 14 February.",
    ],
)
def test_dates_of_no_happening_make_no_event(text: str) -> None:
    none_of(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The bakery sold twice as many loaves in 2021 as the year before.", ("2021", "2021")),
        ("The repairs were finished on February 9 at a cost of $2 million.", ("February 9", "2024-02-09")),
        ("The council plans to open the second library in 2025.", ("2025", "2025")),
        ("The club held a jumble sale in the autumn of 2023.", ("the autumn of 2023", "2023-FA")),
        ("Applications must be in no later than May 3.", ("May 3", "2024-05-03")),
        ("It ended in February.", ("February", "2024-02")),
    ],
)
def test_similar_happenings_are_still_events(text: str, expected: tuple[str, str]) -> None:
    assert expected in events(text), events(text)


# --- names and numbers read as times ------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Further reading: June Whitcombe on the history of the guild.",
        "The opening act was the duo Midnight Harbor from Leeds.",
        "Row 4: the Lumo Q3 hatchback in grey.",
        "Gallery | 2024 Coastal Boat Show Exhibitor",
        "The clerk said the visit lasted from 0940 until 1005, between 0940 and 1005.",
        "1415 Maria Lindqvist, who leads the rescue team, says the tunnel is clear.",
        "We still run an old (circa 2009) copy of the software.",
    ],
)
def test_names_and_numbers_are_no_dates(text: str) -> None:
    none_of(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("In June Whitcombe published her history of the guild.", ("June", "2023-06")),
        ("The duo played until midnight at the harbor.", None),
        ("The company sold more cars in Q3 than ever.", None),
        ("The 2023 Coastal Boat Show drew record crowds.", ("2023", "2023")),
        ("Year built: 1998 Floor area: 80 square metres, the listing says the house was built in 1998.", ("1998", "1998")),
    ],
)
def test_similar_times_are_still_dates(text: str, expected: tuple[str, str] | None) -> None:
    found = events(text)
    assert found, text
    if expected is not None:
        assert expected in found, found


# --- the date of the saying ---------------------------------------------------------------------


def test_a_date_between_a_verb_of_saying_and_what_was_said_dates_the_saying() -> None:
    none_of("Port officials told the harbour committee on Monday that the dredging had failed.")
    assert ("Monday", "2024-04-15") in events("Port officials opened the new harbour on Monday, the committee said.")


def test_a_fronted_date_before_a_long_subject_and_a_verb_of_saying() -> None:
    none_of("This week the museum's chief curator, Ilse Brandt, tells visitors how the collection was saved.")


# --- background of a topic's story -------------------------------------------------------------

FLOOD = TopicMatcher({"flood": Topic("flood", None, ("flood*", "river"))})


def test_with_topics_years_old_background_is_no_event_of_the_story() -> None:
    text = "The river flooded the valley on Monday. The charity, founded after the 1998 flood, sent boats."
    assert events(text, matcher=FLOOD) == [("Monday", "2024-04-15")]
    # without topics every dated sentence is the article's own subject
    assert ("1998", "1998") in events(text)


def test_with_topics_a_recent_past_date_of_the_story_stays() -> None:
    text = "The river flooded the valley in May 2022, and the inquiry into the flood opened in 2023."
    assert events(text, matcher=FLOOD) == [("May 2022", "2022-05"), ("2023", "2023")]


# --- weekends and bounds (issue 12, point 4) --------------------------------------------------------

MONDAY = date(2024, 4, 15)


def test_a_past_tense_weekend_told_on_a_weekday_is_the_one_just_past() -> None:
    [m] = extract("This weekend we walked the coast path.", MONDAY)
    assert m.value == "2024-W15-WE"
    [m] = extract("This weekend we will walk the coast path.", MONDAY)
    assert m.value == "2024-W16-WE"


def test_next_weekend_early_in_the_week_is_the_coming_one() -> None:
    [m] = extract("We will walk the coast path next weekend.", MONDAY)
    assert m.value == "2024-W16-WE"
    [m] = extract("We will walk the coast path next weekend.", date(2024, 4, 20))  # a Saturday
    assert m.value == "2024-W17-WE"


def test_more_than_a_week_ago_names_no_week() -> None:
    [m] = extract("The pipes were replaced over a week ago.", MONDAY)
    assert m.mod == "MORE_THAN"
    assert events("The pipes were replaced over a week ago.") == []
    assert events("The pipes were replaced a week ago.") == [("a week ago", "2024-W15")]
    [m] = extract("They argued over the weekend.", MONDAY)
    assert m.mod is None and m.text == "the weekend"


# --- page stamps inside a sentence, journal references, table rows -----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Ferry strike spreads to the north coast OSLO | Tue Apr 16, 2024 7:15 am CET OSLO",
        "Page last updated at 10:02 GMT, Monday, 15 April 2024 Print this page",
        "1:05 a.m. Tuesday ET, 8:05 a.m. Tuesday in Kyiv A spokesman for the air force confirmed the attack.",
        "Marine Biology Letters, 41(2), 1630–1642. doi:10.1234/mbl.2019.0042",
    ],
)
def test_page_stamps_and_references_make_no_event(text: str) -> None:
    none_of(text)


def test_an_entry_heading_of_a_live_page_dates_its_entry() -> None:
    assert events("3.40 pm: The harbour master tells the inquiry the pilot was asleep.") == [("3.40 pm", "2024-04-17T15:40")]


def test_the_date_next_to_the_text_of_a_table_row_is_its_date() -> None:
    assert events("March 1, 2024 March 20, 2024 - Last day to register for the race.") == [("March 20, 2024", "2024-03-20")]
    assert events("The race was moved from March 1, 2024 to March 20, 2024.") == [
        ("March 1, 2024 to March 20, 2024", "2024-03-01/2024-03-20")
    ]


# --- report-date: a subject with an aside between dashes before its verb of saying --------


def test_a_fronted_date_before_a_subject_with_a_dashed_aside_and_a_verb_of_saying() -> None:
    said = ("Also on Tuesday, the head of the county fire service, Chief Mara Lindqvist - the official leading "
            "the response to the blaze - said crews would contain it by the weekend.")
    assert ("Tuesday", "2024-04-16") not in events(said)
    em = ("On Monday, the director of the regional health board, Dr. Omar Haddad \u2014 the man who ran the "
          "vaccination drive \u2014 told reporters the clinics would stay open.")
    assert ("Monday", "2024-04-15") not in events(em)


def test_a_subject_with_a_dashed_aside_that_acts_on_the_date_is_still_an_event() -> None:
    ordered = ("Also on Tuesday, the head of the county fire service, Chief Mara Lindqvist - the official leading "
               "the response to the blaze - ordered crews to pull back from the ridge.")
    assert ("Tuesday", "2024-04-16") in events(ordered)
    inside = "The new mayor - who was sworn in on Monday - said the budget would be cut."
    assert ("Monday", "2024-04-15") in events(inside)


# --- span-cut: a list of consecutive days is one span ------------------------------------------


def test_a_list_of_three_consecutive_days_is_one_span() -> None:
    # Published on a Wednesday: the Sunday, Monday and Tuesday just past.
    found = events("Sunday, Monday, Tuesday - three days of rain is what it took to fill the reservoir.")
    assert found == [("Sunday, Monday, Tuesday", "2024-04-14/2024-04-16")]
    assert events("The volunteers dug the trench on Sunday, Monday and Tuesday.") == [
        ("Sunday, Monday and Tuesday", "2024-04-14/2024-04-16")
    ]


def test_two_days_or_days_not_in_a_row_stay_days() -> None:
    assert ("Sunday", "2024-04-14") in events("The volunteers dug the trench on Sunday and Tuesday.")
    found = events("The school held its fair on Sunday, its concert on Monday.")
    assert ("Sunday", "2024-04-14") in found and all("/" not in value for _, value in found)


# --- year-in-a-name: a year that names a thing beside the date of the happening ----------------


def test_a_year_naming_a_thing_beside_another_date_is_no_event() -> None:
    found = events("2025 pocket diary is on sale today!")
    assert ("today", "2024-04-17") in found and all(expr != "2025" for expr, _ in found)
    found = events("The 2025 road atlas went to the printers on Monday.")
    assert ("Monday", "2024-04-15") in found and all(expr != "2025" for expr, _ in found)


def test_a_year_that_dates_the_happening_stays() -> None:
    assert ("2025", "2025") in events("The pocket diary will go on sale in 2025, the printer announced today.")
    assert ("2022", "2022") in events("The 2022 road atlas sold out within a week.")


# --- off-topic: a person's past told in a relative clause ------------------------------------


def test_with_topics_a_persons_past_in_a_relative_clause_is_background() -> None:
    text = ("The river flood has cut off the town. Jonas Berg, who joined the rescue service in 2021, led the "
            "flood crews on Tuesday.")
    found = events(text, matcher=FLOOD)
    assert ("Tuesday", "2024-04-16") in found and all(expr != "2021" for expr, _ in found)
    text = ("Lena Sorel was chief engineer at the river authority, for which she had worked on dams in Austria "
            "before moving to the flood office in 2022.")
    assert events(text, matcher=FLOOD) == []


def test_with_topics_a_recent_act_in_a_relative_clause_stays() -> None:
    text = "Jonas Berg, who led the flood crews on Tuesday, has been promoted."
    assert ("Tuesday", "2024-04-16") in events(text, matcher=FLOOD)
    text = "The river flood, which began in March 2023, has cost the region dearly."
    assert ("March 2023", "2023-03") in events(text, matcher=FLOOD)
    text = "Jonas Berg joined the flood rescue service in 2021."
    assert ("2021", "2021") in events(text, matcher=FLOOD)


# --- "today" describing the present, a day greeted: figurative ---------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The second step of this tutorial today is a simple wooden frame for the shelf.",
        "Farmers today are far more dependent on credit than their parents were.",
        "The lighthouse keeper is celebrating the weekend with a basket of fresh scones.",
        "Our bakery is welcoming Friday with a new rye loaf:",
    ],
)
def test_a_figurative_today_or_a_greeted_day_makes_no_event(text: str) -> None:
    none_of(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Today is opening day for the new swimming pool.", ("Today", "2024-04-17")),
        ("What the council approved today is a plan to rebuild the pier.", ("today", "2024-04-17")),
        ("The ferry vote today is expected to pass easily.", ("today", "2024-04-17")),
        ("The tutorial went online today.", ("today", "2024-04-17")),
        ("The lighthouse keeper celebrated on Saturday with a basket of fresh scones.", ("Saturday", "2024-04-13")),
        ("The bakery will celebrate its tenth birthday this weekend.", ("this weekend", "2024-W16-WE")),
    ],
)
def test_a_happening_today_or_on_a_day_is_still_an_event(text: str, expected: tuple[str, str]) -> None:
    assert expected in events(text), events(text)


# --- an interviewee's own earlier conversation: the date of the saying ---------------------------


def test_an_interviewees_earlier_conversation_recalled_to_them_dates_the_saying() -> None:
    none_of("Last Thursday you spoke with the head of the port authority about the dredging plans.")
    assert ("last Thursday", "2024-04-11") in events(
        "The mayor met the head of the port authority last Thursday about the dredging plans."
    )
    assert ("last Thursday", "2024-04-11") in events(
        "The mayor spoke with the head of the port authority last Thursday about the dredging plans."
    )
    assert ("This week", "2024-W16") in events("This week we talk about the dredging of the old harbour.")


# --- a caption, a state over a period: no happening ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The old ferry terminal in 1962",
        "Our first shop front in March 2009",
        "In 2024, the council's promise of cheaper ferries has come to nothing.",
        "This year the harbour plan has remained on paper.",
    ],
)
def test_a_caption_or_a_state_over_a_period_makes_no_event(text: str) -> None:
    none_of(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Old ferry terminal demolished in 1962", ("1962", "1962")),
        ("We opened our first shop in March 2009", ("March 2009", "2009-03")),
        ("The old ferry terminal was built in 1962.", ("1962", "1962")),
        ("In 2024, the council has hired 40 new ferry crew.", ("2024", "2024")),
        ("In 2023 the ferry company went bankrupt, and its plans have come to nothing.", ("2023", "2023")),
        ("Fares have stayed high since 2016.", ("2016", "2016")),
    ],
)
def test_a_happening_in_a_short_line_or_a_perfect_clause_is_still_an_event(text: str, expected: tuple[str, str]) -> None:
    assert expected in events(text), events(text)


# --- rankings, prefixes, clock numbers, records since a date, interviews --------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Critics called it the strangest comeback of the season.",
        "Readers voted it Best Album of 2022 by a wide margin.",
        "Rents are still well above pre-2019 levels in the city.",
        "The essay sits squarely in post-1989 debates about the border.",
        "The film reads like a relic of post-11-September anxiety.",
    ],
)
def test_a_ranking_or_a_prefixed_date_makes_no_event(text: str) -> None:
    none_of(text)


def test_a_clock_time_before_a_time_zone_is_no_year_and_the_day_stays() -> None:
    assert events("The quake struck at 1730 local time (2030 GMT) on Sunday, officials said.") == [
        ("Sunday", "2024-04-14")
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The biggest storm of the decade hit the coast on Tuesday.", ("Tuesday", "2024-04-16")),
        ("The protests of 2011 toppled the government within weeks.", ("2011", "2011")),
        ("Post offices across the region closed on Monday.", ("Monday", "2024-04-15")),
        ("Forecasters said the storm would reach the islands this week.", ("this week", "2024-W16")),
    ],
)
def test_similar_rankings_and_prefixes_still_date_happenings(text: str, expected: tuple[str, str]) -> None:
    assert expected in events(text), events(text)


@pytest.mark.parametrize(
    "text",
    [
        "The lender's shares closed above 300 pence for the first time since June last year.",
        "Diesel sold at its lowest price since 2016, the ministry said.",
        "Speaking to a local radio station on 3 April, the coach criticised the schedule.",
    ],
)
def test_a_record_measured_since_a_date_or_an_interviews_date_makes_no_event(text: str) -> None:
    none_of(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Copper hit its highest price since 2011 on Monday.", ("Monday", "2024-04-15")),
        # Here the date dates a happening the record is measured from.
        ("The pumps ran for the first time since the 12 March blast at the plant.", ("the 12 March", "2024-03-12")),
        ("The vote comes ahead of November's election, the biggest test of the year.", ("November", "2024-11")),
        ("The mayor has led the city since 2019.", ("2019", "2019")),
        ("Speaking at the summit on Tuesday, the minister announced a new fund.", ("Tuesday", "2024-04-16")),
    ],
)
def test_a_happening_beside_a_record_or_a_speech_is_still_an_event(text: str, expected: tuple[str, str]) -> None:
    assert expected in events(text), events(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        # An episode or an issue is a happening of its own week (the labelling rule's "episode").
        ("This week the Harbour Roundup looks at ferry fares and a new pier.", ("This week", "2024-W16")),
        ("Listing 14 Garden Flat, Year Built: 1931 Floor Area: 640 sq ft.", ("1931", "1931")),
    ],
)
def test_an_episodes_week_and_a_listed_build_year_stay(text: str, expected: tuple[str, str]) -> None:
    assert expected in events(text), events(text)


def test_a_bracketed_date_closing_a_quotations_attribution_makes_no_event() -> None:
    none_of('"Backups finish in under a minute now." --Ola Berg, ops lead (Thursday, March 7, 2024)')


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The bridge reopened (on Tuesday) after two months of repairs.", ("Tuesday", "2024-04-16")),
        ("Offline maps will ship in version 5.2 (May 14).", ("May 14", "2024-05-14")),
        ("(Updated 2-April-2024) New installers are available for download.", None),
    ],
)
def test_other_bracketed_dates_still_date_happenings(text: str, expected: tuple[str, str] | None) -> None:
    found = events(text)
    assert found, text
    if expected is not None:
        assert expected in found, found


def test_a_period_judged_as_a_whole_makes_no_event_but_the_year_something_happened_does() -> None:
    none_of("For the volunteers, 2023 was a difficult year, and the next one looks no easier.")
    none_of("Last week was a remarkably quiet week for the markets.")
    assert ("2019", "2019") in events("2019 was the year the old pier finally collapsed into the sea.")
    assert ("2021", "2021") in events("2021 was a year in which three ministers resigned.")
