"""Summaries, quotes, content terms and fingerprints of event mentions."""

from __future__ import annotations

import pytest

from tracker.events.text import (
    content_terms,
    fingerprint,
    is_anaphoric,
    make_quote,
    make_summary,
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


@pytest.mark.parametrize(
    "words, stem_",
    [("meetings", "meet"), ("meeting", "meet"), ("meets", "meet"), ("met", "meet"), ("studios", "studio"),
     ("agencies", "agency"), ("unveiled", "unveil"), ("unveiling", "unveil"), ("strikes", "strike"),
     ("held", "hold"), ("news", "news"), ("focus", "focus")],
)
def test_stem(words: str, stem_: str) -> None:
    assert stem(words) == stem_


def test_proper_names_ignore_sentence_openers() -> None:
    names = proper_names(["OpenAI met Hollywood studios in Los Angeles.", "Studios said OpenAI was late.", "the studios"])
    assert names == {"openai", "hollywood", "los", "angeles"}


def test_anaphora() -> None:
    assert is_anaphoric("It was unveiled in mid-February.")
    assert is_anaphoric("The company said on Monday it would wait.")
    assert not is_anaphoric("Shares of Netflix rose 2% on Tuesday.")
    assert not is_anaphoric("The Writers Guild voted last year.")


def test_fingerprint_is_stable_under_whitespace_case_and_quote_style() -> None:
    a = fingerprint("2024-W13", "OpenAI’s meetings  next week.")
    assert a == fingerprint("2024-W13", "openai's meetings\nnext week.")
    assert a != fingerprint("2024-W12", "OpenAI’s meetings next week.")
    assert len(a) == 16


@pytest.mark.parametrize(
    "sentence, expression, expected",
    [
        # The date belongs to the antecedent of its relative clause, not to the sentence's subject.
        ("That question is sharper after the Writers Guild of America strike, which began on May 2, 2023, "
         "and ended in late September.", "May 2, 2023", "The Writers Guild of America strike began on May 2, 2023"),
        ("That question is sharper after the Writers Guild of America strike, which began on May 2, 2023, "
         "and ended in late September.", "late September",
         "The Writers Guild of America strike began on May 2, 2023, and ended in late September"),
        # After "until" the date is the point of the clause; a short clause still reads alone.
        ("The writers settled in September; SAG-AFTRA's strike lasted until November.", "November",
         "SAG-AFTRA's strike lasted until November"),
        # A date with its year never goes stale, and an elliptical clause needs it.
        ("The writers stayed out from May to September 2023; the actors from July to November 2023.",
         "July to November 2023", "The actors from July to November 2023"),
    ],
)  # fmt: skip
def test_summary_keeps_what_the_clause_needs(sentence: str, expression: str, expected: str) -> None:
    assert summary(sentence, expression) == expected
