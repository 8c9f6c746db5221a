"""Summaries, quotes, content terms and fingerprints of event mentions."""

from __future__ import annotations

import pytest

from tracker.events.text import (
    content_terms,
    date_heads,
    deletion_keys,
    fingerprint,
    is_anaphoric,
    make_quote,
    make_summary,
    one_edit_apart,
    proper_names,
    stem,
)


def summary(sentence: str, expression: str) -> str:
    start = sentence.index(expression)
    return make_summary(sentence, start, start + len(expression))


@pytest.mark.parametrize(
    "sentence, expression, expected",
    [
        ("But OpenAI will meet Hollywood studios in Los Angeles next week, the company said.", "next week",
         "OpenAI will meet Hollywood studios in Los Angeles"),
        ("However, the strike ended last year, he said.", "last year", "The strike ended"),
        ("Meanwhile, OpenAI unveiled Sora in mid-February, according to people familiar with the matter.",
         "mid-February", "OpenAI unveiled Sora"),
        ('"We are meeting the studios this week," Altman told Bloomberg.', "this week", "We are meeting the studios"),
        ("Next week, OpenAI will hold meetings with studios in Los Angeles, sources said.", "Next week",
         "OpenAI will hold meetings with studios in Los Angeles"),
        ("The entertainment industry is still recovering from last year's strikes.", "last year",
         "The entertainment industry is still recovering from the strikes"),
        ("And the talks resumed on Monday, said Jane Doe, a union spokesperson.", "Monday", "The talks resumed"),
        ("The studios met on March 25; the writers met on March 26.", "March 26", "The writers met"),
    ],
)
def test_summary_is_the_cleaned_clause(sentence: str, expression: str, expected: str) -> None:
    assert summary(sentence, expression) == expected


def test_long_summary_is_cut_where_a_clause_ends() -> None:
    sentence = (
        "OpenAI is set to meet Hollywood studios, media executives and talent agencies in Los Angeles next week "
        "to encourage filmmakers to use Sora, its text-to-video generator, which it unveiled to the public with "
        "great fanfare."
    )
    text = summary(sentence, "next week")
    assert len(text) <= 120
    assert text.startswith("OpenAI is set to meet Hollywood studios")
    assert "next week" not in text
    assert not text.endswith((",", " and", " to"))


def test_summary_never_exceeds_the_limit() -> None:
    sentence = "Word " * 80 + "in February."
    assert len(summary(sentence, "February")) <= 121


def test_quote_keeps_short_sentences_whole_and_cuts_long_ones_around_the_date() -> None:
    assert make_quote("  OpenAI met\n studios  last week. ", 19, 28) == "OpenAI met studios last week."
    sentence = "x" * 10 + " " + "word " * 100 + "last week " + "word " * 100
    start = sentence.index("last week")
    quote = make_quote(sentence, start, start + 9)
    assert "last week" in quote and len(quote) <= 302
    assert quote.startswith("…") and quote.endswith("…")


def test_content_terms_drop_stopwords_dates_and_numbers() -> None:
    terms = content_terms("OpenAI's meetings with 3 studios next week, the company said on Monday.")
    assert terms == {"openai", "meet", "studio"}
    assert content_terms("A $17bn loss and 11m gallons over 5km") == {"loss", "gallon"}


@pytest.mark.parametrize(
    "words, stem_",
    [("meetings", "meet"), ("meeting", "meet"), ("meets", "meet"), ("met", "meet"), ("studios", "studio"),
     ("unveiled", "unveil"), ("unveiling", "unveil"), ("strikes", "strike"),
     ("held", "hold"), ("news", "news"), ("focus", "focus")],
)
def test_stem(words: str, stem_: str) -> None:
    assert stem(words) == stem_


@pytest.mark.parametrize(
    "forms",
    [
        # possessives, plurals, -ing/-ed, including the silent e a light stemmer loses
        ("writers'", "writer's", "writers", "Writer"),
        ("agencies", "agency", "agency's"),
        ("strike", "strikes", "striking", "struck"),
        ("negotiations", "negotiated", "negotiating", "negotiate"),
        ("released", "releases", "release", "releasing"),
        # irregular verbs and nouns, which no suffix rule reaches
        ("fought", "fighting", "fights"),
        ("began", "begun", "beginning", "begins"),
        ("sold", "selling", "sells"),
        ("children", "child"),
    ],
)
def test_inflections_share_a_stem(forms: tuple[str, ...]) -> None:
    assert len({stem(w) for w in forms}) == 1, {w: stem(w) for w in forms}


@pytest.mark.parametrize("a, b", [("meeting", "meat"), ("strike", "stroke"), ("news", "new"), ("writer", "write")])
def test_different_words_keep_different_stems(a: str, b: str) -> None:
    assert stem(a) != stem(b)


@pytest.mark.parametrize(
    "a, b, expected",
    [("wirter", "writer", True), ("guilde", "guild", True), ("unveil", "unvail", True), ("strike", "strikes", True),
     ("writer", "writer", False), ("abcd", "bcda", False), ("strike", "stroll", False), ("guild", "guilder", False)],
)
def test_one_edit_apart(a: str, b: str, expected: bool) -> None:
    assert one_edit_apart(a, b) is expected
    assert one_edit_apart(b, a) is expected
    if expected:
        assert set(deletion_keys(a)) & set(deletion_keys(b))


def test_one_edit_apart_without_substitution() -> None:
    assert not one_edit_apart("concert", "concern", substitute=False)
    assert one_edit_apart("wirter", "writer", substitute=False)
    assert one_edit_apart("dokworker", "dockworker", substitute=False)


@pytest.mark.parametrize(
    "sentence, expression, heads",
    [
        # the word before the date: what it is the date of
        ("Hollywood writers went on strike last year over pay.", "last year", {"strike"}),
        ("The industry is still bruised by the strikes of last year.", "last year", {"strike"}),
        ("A worker said a leak in 2007 at the refinery had made him ill.", "2007", {"leak"}),
        # opening the clause, possessive, or inside a noun phrase: the words after it
        ("Last year, writers and actors went on strike over pay.", "Last year", {"writer", "actor", "strike", "pay"}),
        ("They counted the cost of last year's actors' and writers' strike, which halted filming.", "last year",
         {"cost", "actor", "writer", "strike"}),
        ("The spill dwarfs the 1989 tanker disaster off the coast.", "1989", {"dwarf", "tanker", "disast", "coast"}),
        # another clause after the date is another happening
        ("Revenue dropped in 2023 as strikes halted production.", "2023", {"drop"}),
        ("It was never mentioned.", "last year", set()),
        # the date phrase as a word, not inside one ("May" in "Mayor")
        ("The Mayor said the strike began in May.", "May", {"begin"}),
    ],
)
def test_date_heads(sentence: str, expression: str, heads: set[str]) -> None:
    assert date_heads(sentence, expression) == heads


def test_date_heads_and_names() -> None:
    # A name right before the date is what it dates: no topic word behind it is the head.
    sentence = "The union recalled the strike at Acme last year."
    assert date_heads(sentence, "last year", frozenset({"acm"})) == {"acm"}
    assert date_heads(sentence, "last year", frozenset({"acm"}), pass_names=True) == {"strike"}
    # After the date, names are passed over to reach what happened.
    sentence = "Last year, Acme workers went on strike."
    assert date_heads(sentence, "Last year", frozenset({"acm"})) == {"worker", "strike"}
