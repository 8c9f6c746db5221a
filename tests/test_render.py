"""Every timeline format round-trips through a real parser; dates read at their precision."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any

import feedparser  # type: ignore[import-untyped]
import icalendar
import pytest

from tracker._terminal import safe_text
from tracker.render import FORMATS, format_when, render_feeds, render_timeline, safe_url
from tracker.views import EventView, FeedHealth, MentionView

UTC = timezone.utc
NOW = datetime(2024, 3, 28, 12, 0, tzinfo=UTC)
EVIL = 'Studios <script>alert("x")</script> & "quotes" \'too\''


def mention(
    url: str | None, title: str, feed: str, published: datetime, expression: str, quote: str
) -> MentionView:
    return MentionView(url=url, title=title, feed=feed, published=published, expression=expression, quote=quote)


def story() -> list[EventView]:
    """The Sora / Hollywood example, built by hand as the store would return it."""
    unveil = EventView(
        id="a1b2c3",
        value="2024-02",
        mod="MID",
        granularity="month",
        start=date(2024, 2, 1),
        end=date(2024, 2, 29),
        summary="OpenAI unveiled its text-to-video model Sora",
        topics=("sora",),
        first_seen=datetime(2024, 3, 23, 9, 41, 7, tzinfo=UTC),
        updated=datetime(2024, 3, 25, 14, 2, 11, tzinfo=UTC),
        mentions=(
            mention(
                "https://example-outlet.test/techwire/sora-hollywood",
                "OpenAI Reportedly Set to Pitch Sora to Hollywood Studios Next Week",
                "techwire",
                datetime(2024, 3, 23, 9, 30, tzinfo=UTC),
                "in mid-February",
                "OpenAI unveiled Sora in mid-February, showing photorealistic clips.",
            ),
            mention(
                "https://example-outlet.test/screenbeat/this-week",
                "OpenAI Brings Sora to Hollywood This Week",
                "screenbeat",
                datetime(2024, 3, 25, 13, 45, tzinfo=UTC),
                "in mid-February",
                "OpenAI showed Sora to the world in mid-February.",
            ),
        ),
    )
    meetings = EventView(
        id="e3f1c2",
        value="2024-W13",
        mod=None,
        granularity="week",
        start=date(2024, 3, 25),
        end=date(2024, 3, 31),
        summary="OpenAI meets Hollywood studios and talent agencies in Los Angeles",
        topics=("hollywood-meetings", "sora"),
        first_seen=datetime(2024, 3, 23, 9, 41, 7, tzinfo=UTC),
        updated=datetime(2024, 3, 25, 14, 2, 11, tzinfo=UTC),
        mentions=(
            mention(
                "https://example-outlet.test/techwire/sora-hollywood",
                "OpenAI Reportedly Set to Pitch Sora to Hollywood Studios Next Week",
                "techwire",
                datetime(2024, 3, 23, 9, 30, tzinfo=UTC),
                "next week",
                "OpenAI's meetings next week could mark the beginning of a new era.",
            ),
            mention(
                "https://example-outlet.test/screenbeat/this-week",
                "OpenAI Brings Sora to Hollywood This Week",
                "screenbeat",
                datetime(2024, 3, 25, 13, 45, tzinfo=UTC),
                "this week",
                "OpenAI is meeting Hollywood studios in Los Angeles this week.",
            ),
        ),
    )
    strikes = EventView(
        id="9f8e7d",
        value="2023",
        mod=None,
        granularity="year",
        start=date(2023, 1, 1),
        end=date(2023, 12, 31),
        summary="Writers and actors went on strike",
        topics=("strikes",),
        first_seen=datetime(2024, 2, 16, 8, 20, tzinfo=UTC),
        updated=datetime(2024, 3, 26, 22, 25, tzinfo=UTC),
        mentions=(
            mention(
                "https://example-outlet.test/ledger/guard-up",
                "Hollywood Hears OpenAI Out, but Keeps Its Guard Up",
                "daily-ledger",
                datetime(2024, 3, 26, 22, 20, tzinfo=UTC),
                "last year",
                "An industry still bruised by the strikes of last year.",
            ),
        ),
    )
    saturday = EventView(
        id="5d6e7f",
        value="2024-03-23",
        mod=None,
        granularity="day",
        start=date(2024, 3, 23),
        end=date(2024, 3, 23),
        summary="The meetings were first reported",
        topics=("hollywood-meetings",),
        first_seen=datetime(2024, 3, 25, 14, 0, tzinfo=UTC),
        updated=datetime(2024, 3, 25, 14, 0, tzinfo=UTC),
        mentions=(
            mention(
                "https://example-outlet.test/screenbeat/this-week",
                "OpenAI Brings Sora to Hollywood This Week",
                "screenbeat",
                datetime(2024, 3, 25, 13, 45, tzinfo=UTC),
                "on Saturday",
                "The meetings, first reported on Saturday, are the company's most direct attempt yet.",
            ),
        ),
    )
    february = EventView(
        id="0c0ffe",
        value="2024-02",
        mod="APPROX",
        granularity="month",
        start=date(2024, 2, 1),
        end=date(2024, 2, 29),
        summary="A first round of meetings with studio executives took place",
        topics=("hollywood-meetings",),
        first_seen=datetime(2024, 3, 26, 22, 25, tzinfo=UTC),
        updated=datetime(2024, 3, 26, 22, 25, tzinfo=UTC),
        mentions=(
            mention(
                "https://example-outlet.test/ledger/guard-up",
                "Hollywood Hears OpenAI Out, but Keeps Its Guard Up",
                "daily-ledger",
                datetime(2024, 3, 26, 22, 20, tzinfo=UTC),
                "last month",
                "The Los Angeles meetings follow a first round of talks that took place last month.",
            ),
        ),
    )
    return [meetings, strikes, unveil, saturday, february]


def hostile() -> EventView:
    """Everything a feed can throw at a renderer in one event."""
    return EventView(
        id="bad001",
        value="2024-03-23",
        mod=None,
        granularity="day",
        start=date(2024, 3, 23),
        end=date(2024, 3, 23),
        summary=EVIL + "\r\nSecond line\rthird\x00\x07",
        topics=("sora",),
        first_seen=datetime(2024, 3, 23, 10, 0, tzinfo=UTC),
        updated=datetime(2024, 3, 23, 10, 0, tzinfo=UTC),
        mentions=(
            mention("javascript:alert(1)", EVIL, "evil<feed>", datetime(2024, 3, 23, 9, 0, tzinfo=UTC), "on Saturday", EVIL),
            mention('https://example.test/a"onmouseover="x', "quote in url", "evil", datetime(2024, 3, 23, 9, 0, tzinfo=UTC), "x", "x"),
            mention("https://example.test/ok?a=1&b=2", "Fine & dandy", "evil", datetime(2024, 3, 23, 9, 0, tzinfo=UTC), "Saturday", "on Saturday"),
        ),
    )


def render(events: list[EventView], fmt: str) -> str:
    return render_timeline(
        events, fmt, now=NOW, title="Sora & <Hollywood>", topic_titles={"sora": "OpenAI Sora", "strikes": "Strikes"}
    )


# --- format_when ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "mod", "granularity", "start", "end", "expected"),
    [
        ("2024-02-15", None, "day", date(2024, 2, 15), date(2024, 2, 15), "15 February 2024"),
        ("2024-W13", None, "week", date(2024, 3, 25), date(2024, 3, 31), "week of 25 March 2024"),
        ("2024-02", None, "month", date(2024, 2, 1), date(2024, 2, 29), "February 2024"),
        ("2024-02", "MID", "month", date(2024, 2, 1), date(2024, 2, 29), "mid-February 2024"),
        ("2024-03", "START", "month", date(2024, 3, 1), date(2024, 3, 31), "early March 2024"),
        ("2024-03", "END", "month", date(2024, 3, 1), date(2024, 3, 31), "late March 2024"),
        ("2024-Q1", None, "quarter", date(2024, 1, 1), date(2024, 3, 31), "Q1 2024"),
        ("2024-SP", None, "season", date(2024, 3, 1), date(2024, 5, 31), "spring 2024"),
        ("2024-SU", None, "season", date(2024, 6, 1), date(2024, 8, 31), "summer 2024"),
        ("2024-FA", None, "season", date(2024, 9, 1), date(2024, 11, 30), "fall 2024"),
        ("2024-WI", None, "season", date(2023, 12, 1), date(2024, 2, 29), "winter 2024"),
        ("2024-H1", None, "half", date(2024, 1, 1), date(2024, 6, 30), "H1 2024"),
        ("2023", None, "year", date(2023, 1, 1), date(2023, 12, 31), "2023"),
        ("2023", "MID", "year", date(2023, 1, 1), date(2023, 12, 31), "mid-2023"),
        ("2023", "END", "year", date(2023, 1, 1), date(2023, 12, 31), "late 2023"),
        ("202", None, "decade", date(2020, 1, 1), date(2029, 12, 31), "the 2020s"),
        ("202", "START", "decade", date(2020, 1, 1), date(2029, 12, 31), "the early 2020s"),
        ("2024-02-15", "APPROX", "day", date(2024, 2, 15), date(2024, 2, 15), "around 15 February 2024"),
        ("2024-W13", "APPROX", "week", date(2024, 3, 25), date(2024, 3, 31), "around the week of 25 March 2024"),
        ("2024-W13", "START", "week", date(2024, 3, 25), date(2024, 3, 31), "early in the week of 25 March 2024"),
        ("2024", "APPROX", "year", date(2024, 1, 1), date(2024, 12, 31), "around 2024"),
        ("2024-03", "BEFORE", "month", date(2024, 3, 1), date(2024, 3, 31), "before March 2024"),
        ("2024-03", "ON_OR_AFTER", "month", date(2024, 3, 1), date(2024, 3, 31), "on or after March 2024"),
        # Spans ("from May to September 2023"): each end at its precision, the year once if shared.
        ("2023-05/2023-09", None, "range", date(2023, 5, 1), date(2023, 9, 30), "May – September 2023"),
        ("2023-07-14/2023-11-09", None, "range", date(2023, 7, 14), date(2023, 11, 9), "14 July – 9 November 2023"),
        ("2023-12/2024-02", None, "range", date(2023, 12, 1), date(2024, 2, 29), "December 2023 – February 2024"),
        ("2020/2022", None, "range", date(2020, 1, 1), date(2022, 12, 31), "2020 – 2022"),
        ("2023-W10/2023-W12", None, "range", date(2023, 3, 6), date(2023, 3, 26), "6 March 2023 – 26 March 2023"),
    ],
)
def test_format_when(value: str, mod: str | None, granularity: str, start: date, end: date, expected: str) -> None:
    assert format_when(value, mod, granularity, start, end) == expected


def test_format_when_falls_back_on_the_interval() -> None:
    # Values the tagger might not spell as TIMEX3 still render from start/end.
    assert format_when("XXXX-Q2", None, "quarter", date(2024, 4, 1), date(2024, 6, 30)) == "Q2 2024"
    assert format_when("?", None, "half", date(2024, 7, 1), date(2024, 12, 31)) == "H2 2024"
    assert format_when("?", None, "season", date(2023, 12, 1), date(2024, 2, 29)) == "winter 2024"
    assert format_when("?", None, "decade", date(1990, 1, 1), date(1999, 12, 31)) == "the 1990s"
    assert format_when("?", None, "fortnight", date(2024, 3, 1), date(2024, 3, 14)) == "1 March 2024 – 14 March 2024"


# --- every format, every parser -------------------------------------------------------


def test_json_is_the_interface_shape() -> None:
    data = json.loads(render(story(), "json"))
    assert [e["id"] for e in data] == ["9f8e7d", "a1b2c3", "0c0ffe", "5d6e7f", "e3f1c2"]  # by date
    meetings = data[-1]
    assert set(meetings) == {
        "id", "date", "mod", "start", "end", "granularity", "summary", "topics",
        "first_seen", "updated", "sources", "outlets", "score", "mentions",
    }
    assert (meetings["sources"], meetings["outlets"]) == (2, 2)
    assert 0 < meetings["score"] <= 100 and meetings["score"] == round(meetings["score"], 2)
    assert meetings["date"] == "2024-W13"
    assert (meetings["start"], meetings["end"]) == ("2024-03-25", "2024-03-31")
    assert meetings["topics"] == ["hollywood-meetings", "sora"]
    assert meetings["first_seen"] == "2024-03-23T09:41:07Z"
    assert meetings["mentions"][0] == {
        "url": "https://example-outlet.test/techwire/sora-hollywood",
        "title": "OpenAI Reportedly Set to Pitch Sora to Hollywood Studios Next Week",
        "feed": "techwire",
        "published": "2024-03-23T09:30:00Z",
        "expression": "next week",
        "quote": "OpenAI's meetings next week could mark the beginning of a new era.",
        "from": "feed",
    }
    assert json.loads(render([hostile()], "json"))[0]["summary"] == hostile().summary


def test_csv_round_trips() -> None:
    rows = list(csv.reader(io.StringIO(render([*story(), hostile()], "csv"), newline="")))
    assert rows[0] == ["id", "date", "start", "end", "granularity", "summary", "topics",
                       "sources", "first_seen", "updated", "urls"]
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["e3f1c2"][1:5] == ["2024-W13", "2024-03-25", "2024-03-31", "week"]
    assert by_id["e3f1c2"][6] == "hollywood-meetings;sora"
    assert by_id["e3f1c2"][7] == "2"
    assert by_id["e3f1c2"][10].split(" ") == [
        "https://example-outlet.test/techwire/sora-hollywood",
        "https://example-outlet.test/screenbeat/this-week",
    ]
    # Line breaks survive quoting; control characters are made inert (a CR alone becomes LF).
    assert by_id["bad001"][5] == safe_text(hostile().summary)


def test_csv_defuses_spreadsheet_formulas() -> None:
    event = EventView(**{**vars(story()[0]), "summary": "=HYPERLINK(\"http://x\")"})
    rows = list(csv.reader(io.StringIO(render([event], "csv"), newline="")))
    assert rows[1][5] == "'=HYPERLINK(\"http://x\")"


def prop(component: icalendar.cal.Component, name: str) -> Any:
    """A property decoded to Python (date, datetime, str), whatever the library's typing says."""
    return component.decoded(name)


def test_ics_parses_back_as_all_day_events() -> None:
    text = render([*story(), hostile()], "ics")
    cal = icalendar.Calendar.from_ical(text)
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {f"{i}@tracker" for i in ("a1b2c3", "e3f1c2", "9f8e7d", "5d6e7f", "0c0ffe", "bad001")}
    week = events["e3f1c2@tracker"]
    assert prop(week, "dtstart") == date(2024, 3, 25)
    assert prop(week, "dtend") == date(2024, 4, 1)  # exclusive
    assert prop(week, "dtstamp") == datetime(2024, 3, 25, 14, 2, 11, tzinfo=UTC)
    assert str(week["summary"]) == "OpenAI meets Hollywood studios and talent agencies in Los Angeles"
    assert [str(c) for c in prop(week, "categories")] == ["hollywood-meetings", "sora"]
    description = str(week["description"])
    assert "When: week of 25 March 2024" in description
    assert "OpenAI Brings Sora to Hollywood This Week (screenbeat, 2024-03-25)" in description
    assert "https://example-outlet.test/techwire/sora-hollywood" in description
    day = events["5d6e7f@tracker"]
    assert (prop(day, "dtstart"), prop(day, "dtend")) == (date(2024, 3, 23), date(2024, 3, 24))
    assert "VALUE=DATE" in text.split("DTSTART")[1].split(":")[0]
    bad = events["bad001@tracker"]
    assert "\n" not in str(bad["summary"]) and "\r" not in str(bad["summary"])
    assert "\x00" not in text and "\x07" not in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))  # folded
    assert "url" not in {k.lower() for k in bad} or str(bad["url"]).startswith("https://")


def test_atom_is_valid_and_complete() -> None:
    text = render([*story(), hostile()], "atom")
    parsed = feedparser.parse(text.encode("utf-8"))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Sora & <Hollywood>"
    assert parsed.feed.updated == "2024-03-26T22:25:00Z"
    entries = {e.id: e for e in parsed.entries}
    assert len(entries) == 6
    week = entries["urn:tracker:event:e3f1c2"]
    assert week.title == "week of 25 March 2024: OpenAI meets Hollywood studios and talent agencies in Los Angeles"
    assert week.updated == "2024-03-25T14:02:11Z"
    assert [link.href for link in week.links] == [
        "https://example-outlet.test/techwire/sora-hollywood",
        "https://example-outlet.test/screenbeat/this-week",
    ]
    assert {t.term for t in week.tags} == {"hollywood-meetings", "sora"}
    assert "OpenAI Brings Sora to Hollywood This Week" in week.content[0].value
    bad = entries["urn:tracker:event:bad001"]
    assert bad.title.startswith('23 March 2024: Studios <script>alert("x")</script> & "quotes"')
    assert "Second line third" in bad.title
    # Only the http(s) link survives; javascript: and the quote-breaking URL are dropped.
    assert [link.href for link in bad.links] == ["https://example.test/ok?a=1&b=2"]
    assert "<script" not in bad.content[0].value  # feedparser sanitizes, but there was nothing to remove
    assert "javascript" not in text


def test_atom_of_nothing_is_still_a_feed() -> None:
    parsed = feedparser.parse(render([], "atom").encode("utf-8"))
    assert parsed.bozo == 0 and parsed.entries == []
    assert parsed.feed.updated == "2024-03-28T12:00:00Z"


class _Page(HTMLParser):
    """Collects what a browser would load or run from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.loads: list[str] = []
        self.handlers: list[str] = []
        self.text: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "href" and tag == "a":
                self.hrefs.append(value or "")
            elif name in ("src", "srcset", "data", "poster", "action") or (name == "href" and tag != "a"):
                self.loads.append(value or "")
            elif name.startswith("on"):
                self.handlers.append(name)
            elif name == "id":
                self.ids.append(value or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def test_html_is_self_contained_and_escaped() -> None:
    text = render([*story(), hostile()], "html")
    page = parse_page(text)
    assert "script" not in page.tags
    assert page.loads == [] and page.handlers == []
    assert "url(" not in text and "@import" not in text
    for href in page.hrefs:
        assert href.startswith(("#", "https://", "http://")), href
    assert "https://example.test/ok?a=1&b=2" in page.hrefs  # &amp; decoded by the parser
    assert not any("onmouseover" in h for h in page.hrefs)
    joined = "".join(page.text)
    assert '<script>alert("x")</script>' in joined  # shown as text, not run
    assert "Sora & <Hollywood>" in joined
    # Every mark links to an entry that exists.
    targets = {h[1:] for h in page.hrefs if h.startswith("#")}
    assert targets and targets <= set(page.ids)
    assert len(page.ids) == len(set(page.ids))


def test_html_draws_lanes_and_precision() -> None:
    text = render(story(), "html")
    page = parse_page(text)
    joined = "".join(page.text)
    # One lane per topic: titles from the config where given.
    for lane in ("OpenAI Sora", "hollywood-meetings", "Strikes"):
        assert lane in joined
    assert 'class="mark dot"' in text  # the day
    assert 'class="mark bar"' in text  # the week, the month, the year
    assert 'class="mark bar approx"' in text  # "around February 2024"
    assert "mid-February 2024" in joined and "week of 25 March 2024" in joined
    assert "<mark>next week</mark>" in text
    # Positions are proportional: the 2023 bar starts left of the February one.
    def left(event_id: str) -> float:
        chunk = text.split(f'href="#ev-{event_id}"')[0].rsplit("left:", 1)[1]
        return float(chunk.split("px")[0])
    assert left("9f8e7d") < left("a1b2c3") < left("5d6e7f") < left("e3f1c2")


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_timeline(fmt: str) -> None:
    text = render([], fmt)
    if fmt == "table":
        assert text == "No events."
    elif fmt == "json":
        assert json.loads(text) == []
    elif fmt == "csv":
        assert len(list(csv.reader(io.StringIO(text)))) == 1
    elif fmt == "ics":
        assert icalendar.Calendar.from_ical(text).walk("VEVENT") == []
    elif fmt == "atom":
        assert feedparser.parse(text.encode()).bozo == 0
    else:
        assert "No events." in "".join(parse_page(text).text)


def test_table_fits_and_truncates() -> None:
    long = EventView(**{**vars(story()[0]), "id": "ffffff", "summary": "word " * 60})
    text = render([*story(), long, hostile()], "table")
    lines = text.split("\n")
    assert lines[0].split() == ["ID", "WHEN", "SUMMARY", "TOPICS", "SOURCES"]
    assert all(len(line) <= 100 for line in lines)
    assert len(lines) == 1 + 7  # one line per event: CR/LF in a summary never breaks a row
    assert any("…" in line for line in lines if line.startswith("ffffff"))
    meetings = next(line for line in lines if line.startswith("e3f1c2"))
    assert "week of 25 March 2024" in meetings and meetings.rstrip().endswith("2")
    # Columns line up: the summary starts at the same offset on every row.
    starts = {line.index(word) for line, word in zip(lines[1:], ["Writers", "OpenAI", "A first", "The meet"])}
    assert len(starts) == 1


def test_table_takes_a_wider_terminal() -> None:
    long = EventView(**{**vars(story()[0]), "summary": "word " * 60})
    lines = render_timeline([long], "table", now=NOW, width=160).split("\n")
    assert max(len(line) for line in lines) == 160


@pytest.mark.parametrize("fmt", FORMATS)
def test_extreme_dates_do_not_crash(fmt: str) -> None:
    first = EventView(**{**vars(story()[3]), "id": "min001", "start": date.min, "end": date.min})
    last = EventView(**{**vars(story()[2]), "id": "max001", "start": date(9990, 1, 1), "end": date.max})
    text = render([first, last], fmt)
    assert "max001" in text and "min001" in text


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown timeline format"):
        render([], "pdf")


def test_safe_url() -> None:
    assert safe_url("https://a.test/x?y=1&z=2") == "https://a.test/x?y=1&z=2"
    assert safe_url("HTTP://a.test/") == "HTTP://a.test/"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//a.test/x", "/relative", "https:///x", None, "",
                'https://a.test/"><script>', "https://a.test/\nx"):
        assert safe_url(bad) is None


# --- feed health ----------------------------------------------------------------------


def feeds() -> list[FeedHealth]:
    return [
        FeedHealth(
            name="winbuzzer",
            url="https://winbuzzer.com/feed/",
            entries=412,
            last_poll=datetime(2024, 3, 25, 14, 0, 3, tzinfo=UTC),
            last_status="ok",
            last_error=None,
            consecutive_errors=0,
            next_due=datetime(2024, 3, 25, 14, 15, tzinfo=UTC),
        ),
        FeedHealth(
            name="broken",
            url="https://broken.test/rss",
            entries=0,
            last_poll=datetime(2024, 3, 25, 14, 0, 3, tzinfo=UTC),
            last_status="error",
            last_error="HTTP 500 Internal Server Error\r\nfrom upstream",
            consecutive_errors=3,
            next_due=datetime(2024, 3, 25, 16, 0, tzinfo=UTC),
            backoff_reason="3 errors in a row",
        ),
        FeedHealth(
            name="new", url="samples/techwire.xml", entries=0, last_poll=None, last_status=None,
            last_error=None, consecutive_errors=0, next_due=None,
        ),
    ]


def test_feeds_json_shape() -> None:
    data = json.loads(render_feeds(feeds(), "json"))
    assert data[0] == {
        "name": "winbuzzer", "url": "https://winbuzzer.com/feed/", "entries": 412,
        "last_poll": "2024-03-25T14:00:03Z", "last_status": "ok", "last_error": None,
        "consecutive_errors": 0, "next_due": "2024-03-25T14:15:00Z",
        "warning": None, "backoff_reason": None, "full_text": None,
    }
    assert data[2]["last_poll"] is None and data[2]["last_status"] is None


def test_feeds_table() -> None:
    text = render_feeds(feeds(), "table")
    lines = text.split("\n")
    assert lines[0].split()[:4] == ["NAME", "STATUS", "ENTRIES", "ERRORS"]
    assert all(len(line) <= 100 for line in lines)
    assert "  error: HTTP 500 Internal Server Error from upstream" in lines
    assert "  backoff: 3 errors in a row" in lines
    assert "never polled" in text
    assert render_feeds([], "table") == "No feeds configured."
    with pytest.raises(ValueError):
        render_feeds(feeds(), "csv")


def test_views_times_are_utc_z() -> None:
    plus_two = timezone(timedelta(hours=2))
    event = EventView(**{**vars(story()[0]), "updated": datetime(2024, 3, 25, 16, 2, 11, tzinfo=plus_two)})
    assert event.to_dict()["updated"] == "2024-03-25T14:02:11Z"
    assert story()[0].sources == 2
