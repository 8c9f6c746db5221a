"""Pure rendering of alert messages: titles for phones, escaping per format, lists."""

from __future__ import annotations

from datetime import date

from tracker.alerts._render import (
    NEW,
    UPDATED,
    Development,
    Source,
    headline,
    list_title,
    md,
    render_list,
    render_one,
    short_when,
)

TITLES = {"sora": "OpenAI Sora", "strikes": "Strikes"}


def dev(summary: str = "OpenAI unveils Sora", *, kind: str = NEW, changes: str = "", when: str = "15 February 2024",
        outlets: int = 3, topics: tuple[str, ...] = ("sora",), sources: int = 3, score: float = 50.0,
        pk: int = 1, day: int = 15) -> Development:
    return Development(
        event_pk=pk, event_id=f"ev{pk}", kind=kind, revision=1, changes=changes, when=when,
        start=date(2024, 2, day), end=date(2024, 2, day), summary=summary, topics=topics,
        sources=tuple(Source(f"outlet{i}", f"Article {i}", f"https://o{i}.example/a({i})") for i in range(sources)),
        source_count=sources, outlets=outlets, score=score,
    )


def test_headline_is_short_with_date_and_outlets() -> None:
    assert headline(dev()) == "OpenAI unveils Sora, 15 Feb 2024, 3 outlets"
    assert headline(dev(outlets=1, when="mid-September 2023")) == "OpenAI unveils Sora, mid-Sep 2023, 1 outlet"
    long = dev("OpenAI unveils Sora, a text-to-video model that turns prompts into minute-long photorealistic clips.")
    assert headline(long) == "OpenAI unveils Sora, a text-to-video model that turns\u2026, 15 Feb 2024, 3 outlets"
    assert short_when("week of 25 March 2024") == "week of 25 Mar 2024"
    assert short_when("May \u2013 September 2023") == "May \u2013 Sep 2023"


def test_markdown_escapes_markup_but_keeps_words() -> None:
    assert md("Sora *wins* _big_ [x](y) <b> `code` ~~gone~~") == (
        "Sora \\*wins\\* \\_big\\_ \\[x\\](y) \\<b\\> \\`code\\` \\~\\~gone\\~\\~"
    )
    assert md("# 1 pick") == "\\# 1 pick" and md("- item") == "\\- item" and md("2024. A year") == "2024\\. A year"
    assert md("SAG-AFTRA, U.S. & co.") == "SAG-AFTRA, U.S. & co."
    assert md("line\nbreak\x1b[2J") == "line break\ufffd\\[2J"


def test_one_development_has_title_summary_kind_and_links_in_three_formats() -> None:
    out = render_one(dev(kind=UPDATED, changes="1 new source", sources=7), TITLES)
    assert out.title == "Update: OpenAI unveils Sora, 15 Feb 2024, 3 outlets"
    assert out.markdown.splitlines()[:3] == [
        "OpenAI unveils Sora", "", "**Updated: 1 new source** \u00b7 15 February 2024 \u00b7 OpenAI Sora \u00b7 3 outlets, 7 articles",
    ]
    # Parentheses in a link are encoded: the markdown link cannot end early.
    assert "- [Article 0](https://o0.example/a%280%29) (outlet0)" in out.markdown
    assert out.markdown.rstrip().endswith("and 2 more sources")
    assert "- Article 4 (outlet4): https://o4.example/a%284%29" in out.text and "Article 5" not in out.text
    assert '<li><a href="https://o0.example/a%280%29">Article 0</a> (outlet0)</li>' in out.html


def test_a_list_leads_with_the_highest_scoring_in_date_order() -> None:
    devs = [dev(f"Event {i}", pk=i, day=i, score=float(i), kind=NEW if i % 2 else UPDATED) for i in range(1, 14)]
    out = render_list(devs, TITLES)
    assert out.title == "7 new, 6 updated developments: OpenAI Sora"
    listed = [line for line in out.text.splitlines() if line.startswith("Event ")]
    assert listed == [f"Event {i}, 15 Feb 2024, 3 outlets" for i in range(4, 14)]
    assert out.text.rstrip().endswith("and 3 more developments: tracker timeline shows them all")
    assert list_title([dev(topics=("sora", "strikes", "a", "b"))], {**TITLES, "a": "A", "b": "B"}) == (
        "1 new development: OpenAI Sora, Strikes, A, 1 more"
    )
