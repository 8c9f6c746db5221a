"""Sentence splitting of news text: abbreviations, quotes, bylines, datelines, boilerplate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.events import Sentence, is_boilerplate, split_sentences


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def content(text: str) -> list[str]:
    return [s.text for s in split_sentences(text) if not s.boilerplate]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("OpenAI met studios on Mar. 25 in Los Angeles. It went well.",
         ["OpenAI met studios on Mar. 25 in Los Angeles.", "It went well."]),
        ("The U.S. studios agreed. Paramount did not.", ["The U.S. studios agreed.", "Paramount did not."]),
        ("He moved to the U.S. The studios noticed.", ["He moved to the U.S.", "The studios noticed."]),
        ("Dr. Smith and Mr. Jones met Gov. Newsom. They talked.",
         ["Dr. Smith and Mr. Jones met Gov. Newsom.", "They talked."]),
        ("Warner Bros. Discovery and Apple Inc. were there. So was Sony.",
         ["Warner Bros. Discovery and Apple Inc. were there.", "So was Sony."]),
        ("The deal was signed by Apple Inc. The company declined to comment.",
         ["The deal was signed by Apple Inc.", "The company declined to comment."]),
        ("Talks start at 10 a.m. Pacific time. They end at 3 p.m. The studios will attend.",
         ["Talks start at 10 a.m. Pacific time.", "They end at 3 p.m.", "The studios will attend."]),
        ("George W. Bush met J. K. Rowling. Nobody knows why.",
         ["George W. Bush met J. K. Rowling.", "Nobody knows why."]),
        ('He said, "It\'s over." The studios agreed.', ['He said, "It\'s over."', "The studios agreed."]),
        ("He said, “It’s over.” The studios agreed.", ["He said, “It’s over.”", "The studios agreed."]),
        ('"Is this the end?" Altman asked. Nobody answered.', ['"Is this the end?" Altman asked.', "Nobody answered."]),
        ('"Is this the end?" asked Altman. Nobody answered.', ['"Is this the end?" asked Altman.', "Nobody answered."]),
        ("Is this the end? Nobody knows! Really.", ["Is this the end?", "Nobody knows!", "Really."]),
        ("Sora costs $2.50 per clip. That is cheap.", ["Sora costs $2.50 per clip.", "That is cheap."]),
        ("The vote is set for Jan. 5. Members will decide.", ["The vote is set for Jan. 5.", "Members will decide."]),
        ("See Fig. 3 and No. 4 for details. Done.", ["See Fig. 3 and No. 4 for details.", "Done."]),
    ],
)
def test_abbreviations_and_quotes(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


def test_paragraph_breaks_always_end_a_sentence() -> None:
    text = "OpenAI met studios this week\n\nThe talks were friendly"
    assert texts(text) == ["OpenAI met studios this week", "The talks were friendly"]
    assert [s.paragraph for s in split_sentences(text)] == [0, 1]


def test_wrapped_lines_are_joined_but_short_lines_stand_alone() -> None:
    wrapped = "OpenAI is set to meet Hollywood studios, media executives and\ntalent agencies in Los Angeles next week."
    assert len(split_sentences(wrapped)) == 1
    lines = "Share on Facebook\nTweet\nOpenAI met studios."
    assert texts(lines) == ["Share on Facebook", "Tweet", "OpenAI met studios."]


def test_offsets_point_into_the_text() -> None:
    text = "By Jane Doe\n\nLOS ANGELES (Reuters) - OpenAI met studios.  Then it left.\n\n\nShare on X"
    for s in split_sentences(text):
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip()


@pytest.mark.parametrize(
    "text, dateline, rest",
    [
        ("LOS ANGELES (Reuters) - OpenAI met studios.", "LOS ANGELES (Reuters)", "OpenAI met studios."),
        ("LOS ANGELES, March 25 (Reuters) - OpenAI met studios.", "LOS ANGELES, March 25 (Reuters)", "OpenAI met studios."),
        ("NEW YORK — The strike ended.", "NEW YORK", "The strike ended."),
        ("WASHINGTON, Nov. 9 (AP) -- The strike ended.", "WASHINGTON, Nov. 9 (AP)", "The strike ended."),
        ("LONDON (AP): Talks resumed.", "LONDON (AP)", "Talks resumed."),
        ("SAN FRANCISCO/LOS ANGELES (Reuters) - Talks resumed.", "SAN FRANCISCO/LOS ANGELES (Reuters)", "Talks resumed."),
        ("(Reuters) - Talks resumed.", "(Reuters)", "Talks resumed."),
    ],
)
def test_datelines_are_cut_off_and_flagged(text: str, dateline: str, rest: str) -> None:
    first, second = split_sentences(text)
    assert (first.text, first.boilerplate) == (dateline, True)
    assert (second.text, second.boilerplate) == (rest, False)


@pytest.mark.parametrize(
    "text",
    [
        "By Jane Doe\nOpenAI met studios.",
        "By Jane Doe and John Roe\n\nOpenAI met studios.",
        "By Alex Kim · March 28, 2024, 4:20 PM UTC\n\nOpenAI met studios.",
        "By Markus Kasanmascheff | March 23, 2024\n\nOpenAI met studios.",
        "By JANE DOE\nOpenAI met studios.",
    ],
)
def test_bylines_are_flagged(text: str) -> None:
    assert content(text) == ["OpenAI met studios."]


def test_byline_and_dateline_in_one_line() -> None:
    sentences = split_sentences("By Jane Doe LOS ANGELES (Reuters) - OpenAI met studios.")
    assert [(s.text, s.boilerplate) for s in sentences] == [
        ("By Jane Doe", True),
        ("LOS ANGELES (Reuters)", True),
        ("OpenAI met studios.", False),
    ]


def test_by_a_date_is_not_a_byline() -> None:
    assert content("By March the studios will have decided.") == ["By March the studios will have decided."]
    assert content("By next week, OpenAI will decide.") == ["By next week, OpenAI will decide."]


@pytest.mark.parametrize(
    "line",
    [
        "Jane Doe is a senior reporter at Reuters covering AI.",
        "Markus Kasanmascheff is a senior reporter at WinBuzzer covering AI, Microsoft and Windows.",
        "Alex Kim is a staff writer at Screen Digest covering entertainment.",
        "Jane covers artificial intelligence for The Verge.",
        "Editors' Recommendations",
        "Editor’s Picks",
        "Related: OpenAI's Sora heads to Hollywood",
        "Read more: The 2023 strikes, explained",
        "READ MORE",
        "Share on Facebook",
        "Share on X",
        "Tweet",
        "Copy link",
        "Facebook | Twitter | LinkedIn",
        "Source: Bloomberg",
        "Sources: Reuters, AP",
        "Image credit: OpenAI",
        "Image: OpenAI",
        "Photo by Jane Doe/Getty Images",
        "The post OpenAI courts Hollywood appeared first on WinBuzzer.",
        "Subscribe to our newsletter for the latest AI news.",
        "Sign up for Deadline's Breaking News Alerts",
        "© 2024 Reuters. All rights reserved.",
        "Copyright 2024 The Associated Press.",
        "All rights reserved.",
        "Advertisement",
        "Updated March 28, 2024, 5:02 PM UTC: This story has been updated.",
        "Published on March 23, 2024",
        "March 28, 2024 at 4:20 p.m. ET",
        "April 2, 2024 3:00am",
        "2024-03-23 09:41",
        "Reporting by Krystal Hu; Editing by Nick Zieminski",
        "Tags: AI, Hollywood, OpenAI",
        "Jane Doe, Staff Writer",
        "Jane Doe | Senior Entertainment Reporter",
        # embedded tweets, links and reference lists
        "— Dana Holt (@danaholt) February 9, 2024",
        "Lines around the block for the premiere pic.twitter.com/Qw3rTy7",
        "https://example.com/2024/03/22/sora-studios",
        "Mbeki T. (2017). Video synthesis at scale.",
        "Arnaud, P., & Silva, R. (2022). Diffusion models for film.",
        "(2:14) Source: “Studios Weigh AI Video,” The Film Ledger, March 2024.",
    ],
)
def test_boilerplate(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "OpenAI is meeting Hollywood studios this week.",
        "The company unveiled Sora in mid-February.",
        "Sora is a text-to-video model.",
        "Altman is a former Y Combinator president who met studios last week.",
        "Sharing clips on social media, OpenAI drew attention in February.",
        "Sources familiar with the talks said the meetings went well.",
        "Photos of the set leaked last week.",
        "The strike was a source of frustration for studios.",
        "Writers who joined the strike last year say they feel vindicated.",
        "A 2022 study by Arnaud found that audiences could not tell the clips apart.",
        "The union (@wgaeast on social media) posted the vote on Friday.",
    ],
)
def test_news_is_not_boilerplate(line: str) -> None:
    assert not is_boilerplate(line)


def test_trailer_paragraph_is_flagged_whole() -> None:
    text = (
        "OpenAI met studios this week.\n\n"
        "Editors' Recommendations\nOpenAI's Sora: everything we know so far\nSam Altman says a new model is coming this summer\n\n"
        "Jane Doe is a senior reporter at Reuters. She has covered Hollywood since 2015.\n\n"
        "The studios were impressed."
    )
    assert content(text) == ["OpenAI met studios this week.", "The studios were impressed."]


@given(st.text(alphabet=st.sampled_from("Ab .?!\n\"'”U.S.Mr.By-—:()0123"), max_size=200))
def test_spans_are_ordered_and_faithful(text: str) -> None:
    sentences = split_sentences(text)
    previous_end = 0
    for s in sentences:
        assert isinstance(s, Sentence)
        assert previous_end <= s.start < s.end <= len(text)
        assert text[s.start : s.end] == s.text
        previous_end = s.end


def test_adversarial_input_stays_linear() -> None:
    import time

    text = "A" * 20000 + " b. " + "U.S. " * 3000 + "By " + "Jane " * 2000 + "\n" + "Share | " * 2000
    started = time.perf_counter()
    split_sentences(text)
    # A hang guard against quadratic splitting (minutes on this input), not a speed target.
    assert time.perf_counter() - started < 10.0


def test_inline_related_link_does_not_swallow_a_flattened_article() -> None:
    text = "OpenAI met studios. Related: Sora heads to Hollywood. The studios were impressed."
    assert content(text) == ["OpenAI met studios.", "The studios were impressed."]


def test_a_colon_heading_is_not_a_dateline() -> None:
    assert content("SAG-AFTRA: Members will vote next week.") == ["SAG-AFTRA: Members will vote next week."]
    assert content("UPDATE: The studios agreed.") == ["UPDATE: The studios agreed."]


@pytest.mark.parametrize(
    "line",
    [
        "NAIROBI | Tue Nov 12, 2019 6:05 am GMT",
        "Monday, October 7, 2019; 11:20 AM",
        "Page last updated at 09:12 GMT, Monday, 7 October 2019 10:12 UK",
        "Posted 7 Oct 2019, 8.45am",
        "First published on Mon 7 Oct 2019 16.30 BST",
    ],
)
def test_time_stamps_in_any_layout_are_boilerplate(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "The ferry capsized at 6:05 am on Tuesday, November 12, 2019.",
        "Voting closes at 8 pm on Sunday.",
        "Ministers meet at 10.30 on Monday to approve the budget.",
        "Shares fell 2.35 percent on October 7.",
    ],
)
def test_happenings_at_a_time_of_day_are_news(line: str) -> None:
    assert not is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "...FLOOD WATCH IN EFFECT FROM 4 PM THIS AFTERNOON THROUGH SATURDAY MORNING...",
        "Tuesday, 6:30-8 p.m. Fairview Branch Library, 12 Oak Street, Springfield.",
    ],
)
def test_bulletins_and_listings_with_a_time_are_news(line: str) -> None:
    assert not is_boilerplate(line)
