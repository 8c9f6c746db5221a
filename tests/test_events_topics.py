"""Topic matching as interface.md says: case-insensitive words, phrases, trailing-* prefixes."""

from __future__ import annotations

import pytest

from tracker.config import Topic
from tracker.events import TopicMatcher

TOPICS = {
    "sora": Topic("sora", "OpenAI Sora", ("Sora", "text-to-video")),
    "hollywood-meetings": Topic("hollywood-meetings", None, ("Hollywood", "studio*", "meeting*")),
    "strikes": Topic("strikes", None, ("strike*", "SAG-AFTRA", "Writers Guild")),
}
MATCHER = TopicMatcher(TOPICS)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("OpenAI's Sora can make videos.", {"sora"}),
        ("SORA and sora and Sora’s clips", {"sora"}),
        ("A new text-to-video model", {"sora"}),
        ("A new text to video model", set()),  # a phrase matches as written
        ("Soraya visited Los Angeles", set()),  # word boundary
        ("Hollywood's studios", {"hollywood-meetings"}),
        ("The studio said", {"hollywood-meetings"}),
        ("The studios said", {"hollywood-meetings"}),
        ("Meetings and a meeting", {"hollywood-meetings"}),
        ("strike", {"strikes"}),
        ("strikes", {"strikes"}),
        ("the striker scored", {"strikes"}),  # strike* matches any ending
        ("a striking image", set()),  # "striking" does not start with "strike"
        ("SAG-AFTRA members", {"strikes"}),
        ("sag-aftra members", {"strikes"}),
        ("The Writers Guild of America", {"strikes"}),
        ("The writers  guild voted", {"strikes"}),  # any whitespace inside a phrase
        ("The Writers' Guild", set()),
        ("Guild writers", set()),
        ("Sora meets Hollywood; strikes loom", {"sora", "hollywood-meetings", "strikes"}),
        ("", set()),
    ],
)
def test_match(text: str, expected: set[str]) -> None:
    assert MATCHER.match(text) == frozenset(expected)


def test_prefix_star_needs_the_whole_prefix() -> None:
    matcher = TopicMatcher({"t": Topic("t", None, ("meet*",))})
    assert matcher.match("meet, meets, meeting, meetup") == {"t"}
    assert not matcher.match("met, mee")
    assert not matcher.match("unmeet")  # the word must start with the prefix


def test_keywords_with_punctuation_and_apostrophes() -> None:
    matcher = TopicMatcher(
        {
            "c": Topic("c", None, ("C++",)),
            "n": Topic("n", None, (".NET",)),
            "w": Topic("w", None, ("writers' strike",)),
        }
    )
    assert matcher.match("I like C++ a lot") == {"c"}
    assert matcher.match("built on .NET today") == {"n"}
    assert matcher.match("the writers’ strike") == {"w"}


def test_no_topics() -> None:
    matcher = TopicMatcher({})
    assert not matcher
    assert matcher.match("Sora and strikes") == frozenset()


def test_spans_name_each_hit() -> None:
    spans = MATCHER.spans("Sora meets Hollywood studios")
    assert [(s, e, t) for s, e, t in spans] == [(0, 4, "sora"), (11, 20, "hollywood-meetings"), (21, 28, "hollywood-meetings")]


def test_caseless_matching_follows_unicode_case_folding() -> None:
    matcher = TopicMatcher({"s": Topic("s", None, ("Straße",)), "k": Topic("k", None, ("Kelvin",))})
    # Full case folding: ß is ss, and the Kelvin sign is a K.
    assert matcher.match("STRASSE closed") == {"s"}
    assert matcher.match("die strasse") == {"s"}
    assert matcher.match("die Straße") == {"s"}
    assert matcher.match("\u212aELVIN scale") == {"k"}


def test_spans_point_into_the_original_text_when_folding_changes_its_length() -> None:
    text = "Die Straße: Sora meets studios"
    spans = MATCHER.spans(text)
    assert [text[s:e] for s, e, _ in spans] == ["Sora", "studios"]
    matcher = TopicMatcher({"s": Topic("s", None, ("strasse",))})
    [(s, e, _)] = matcher.spans("In der Straße")
    assert "In der Straße"[s:e] == "Straße"
