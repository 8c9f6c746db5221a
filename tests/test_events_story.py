"""The example story end to end: articles in, find_mentions, merge, the expected events out."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest

from tracker.config import Topic
from tracker.events import Extractor, KeyedMention, MergedEvent, TopicMatcher, find_mentions, merge
from tracker.temporal import TemporalMention

TOPICS = {
    "sora": Topic("sora", "OpenAI Sora", ("Sora", "text-to-video")),
    "hollywood-meetings": Topic("hollywood-meetings", None, ("Hollywood", "studio*", "meeting*")),
    "strikes": Topic("strikes", None, ("strike*", "SAG-AFTRA", "Writers Guild")),
}
MATCHER = TopicMatcher(TOPICS)


@dataclass(frozen=True)
class Article:
    key: str
    feed: str
    title: str
    published: datetime
    text: str


UTC = timezone.utc

WINBUZZER = Article(
    key="winbuzzer:openai-sora-hollywood",
    feed="winbuzzer",
    title="OpenAI Set to Pitch Sora to Hollywood Studios Next Week",
    published=datetime(2024, 3, 23, 9, 30, tzinfo=UTC),  # a Saturday
    text="""By Markus Kasanmascheff | March 23, 2024

OpenAI is set to meet Hollywood studios, media executives and talent agencies in Los Angeles next week to encourage filmmakers to use Sora, its text-to-video generator, Bloomberg reported on Friday.

The company first unveiled Sora in mid-February, releasing a series of clips that showed woolly mammoths, a stylish woman walking through Tokyo and a drone shot of the Amalfi coast. So far, only a small group of visual artists, designers and filmmakers have been given access. OpenAI said it wants to gather feedback before a wider release.

OpenAI's meetings next week could mark the beginning of a new era for the film industry. Several studio executives are said to be cautious. The entertainment industry is still recovering from last year's strikes, when writers and actors walked off sets for months, in part over fears about artificial intelligence.

Share on Facebook
Share on X
Copy link

Editors' Recommendations
OpenAI's Sora: everything we know so far
Sam Altman says a new model is coming this summer

Markus Kasanmascheff is a senior reporter at WinBuzzer covering AI, Microsoft and Windows. He has been writing about technology since 2008.

The post OpenAI Set to Pitch Sora to Hollywood Studios Next Week appeared first on WinBuzzer.""",
)

REUTERS = Article(
    key="reuters:openai-hollywood-sora",
    feed="reuters",
    title="OpenAI courts Hollywood studios with Sora video tool",
    published=datetime(2024, 3, 25, 14, 5, tzinfo=UTC),  # the following Monday
    text="""By Krystal Hu and Dawn Chmielewski

LOS ANGELES, March 25 (Reuters) - OpenAI is meeting Hollywood studios, executives and talent agencies in Los Angeles this week to pitch Sora, its text-to-video tool, as it seeks partnerships in the entertainment industry, people familiar with the matter said.

The meetings follow earlier meetings in February with a handful of studio executives, the sources said. Some of the largest U.S. studios, including Paramount and Warner Bros. Discovery, are expected to attend.

Sora, which OpenAI unveiled in mid-February, can generate realistic videos up to a minute long from a short text prompt. The company has not said when the tool will be broadly available.

The outreach comes after the Writers Guild of America and SAG-AFTRA strikes last year, which ended with new limits on how studios can use AI. "Everyone is curious, and everyone is nervous," said one talent agent who asked not to be named.

OpenAI declined to comment on Monday.

Reporting by Krystal Hu in San Francisco and Dawn Chmielewski in Los Angeles; Editing by Nick Zieminski""",
)

SCREEN_DIGEST = Article(
    key="screendigest:sora-hollywood-warming",
    feed="screendigest",
    title="Hollywood is warming up to Sora, but the strikes still loom",
    published=datetime(2024, 3, 28, 16, 20, tzinfo=UTC),  # late March, a Thursday
    text="""By Alex Kim · March 28, 2024, 4:20 PM UTC

OpenAI's charm offensive in Hollywood appears to be working. The company held a round of meetings with major studios and talent agencies in Los Angeles this week, according to two people who attended, and several executives asked for early access to Sora.

It was not the first time. The meetings that took place last month were smaller, with a handful of studio executives, and focused on how directors could use text-to-video tools in pre-production, one attendee told us.

Sora itself was unveiled in mid-February, when OpenAI posted a minute-long clip of a woman walking down a neon-lit Tokyo street.

Not everyone is convinced. Actors who went on strike last year say their new contract gives them only limited protection from AI, and SAG-AFTRA has promised to watch the talks closely.

Updated March 28, 2024, 5:02 PM UTC: This story has been updated with comment from SAG-AFTRA.

Related: How the 2023 strikes changed Hollywood's AI rules

Alex Kim is a staff writer at Screen Digest covering entertainment and technology.

© 2024 Screen Digest Media. All rights reserved.""",
)

DEADLINE = Article(
    key="deadline:unions-eye-ai",
    feed="deadline",
    title="A year after the walkouts, Hollywood unions eye AI again",
    published=datetime(2024, 4, 2, 10, 0, tzinfo=UTC),  # a Tuesday
    text="""By Dominic Patten
April 2, 2024 3:00am

Hollywood's unions are bracing for another fight over artificial intelligence. The SAG-AFTRA and Writers Guild strikes last year shut down most film and TV production for months, and both unions won new limits on the use of AI in their contracts.

Now OpenAI is pushing into the business. The company met with studios and talent agencies in Los Angeles last week to show off Sora, its text-to-video model, according to several people briefed on the meetings.

"We will be watching this very closely," SAG-AFTRA's chief negotiator Duncan Crabtree-Ireland said in an interview on Monday.

Shares of Netflix rose 2% on Tuesday.

Subscribe to Deadline Breaking News Alerts and keep your inbox happy.""",
)

SCREEN_TRADE = Article(
    key="screentrade:agencies-ai-video",
    feed="screentrade",
    title="Studios weigh AI video as talent agencies sound the alarm",
    published=datetime(2024, 3, 27, 14, 15, tzinfo=UTC),  # a Wednesday
    # Traps: "may march", a question in quotes, a decade, a duration, a set, "now", page furniture.
    text="""By Priya Natarajan
March 27, 2024 7:15am PT

Talent agencies may march into the AI debate sooner than expected. Executives at CAA and WME, who sat down with OpenAI in Los Angeles this week, say the technology could reshape how studios develop pitches.

"Will this replace storyboard artists?" one executive asked. "Nobody can say yet."

Studios have used computer-generated imagery since the 1990s, and visual-effects budgets have doubled over the past decade. Every week, the agencies now hold calls with clients about AI.

For now, the studio chiefs are waiting. Sora is not yet available to the public, and OpenAI has given no release date.

Follow us on X for more coverage.
Image credit: OpenAI
Source: Screen Trade Weekly reporting""",
)

ARTICLES = (WINBUZZER, REUTERS, SCREEN_DIGEST, DEADLINE, SCREEN_TRADE)


# --- A stand-in tagger: enough of tracker.temporal for these articles, so the events logic
# is pinned down independently of the real tagger (which has its own tests below).


# The tagger's own result type: hand-built mentions stand in for the tagger's output.
FakeTemporal = TemporalMention


_MONTHS = "January February March April May June July August September October November December".split()
_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()


def _month_interval(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def _week(day: date) -> FakeTemporal:
    monday = day - timedelta(days=day.weekday())
    iso = monday.isocalendar()
    return FakeTemporal(0, 0, "", "DATE", f"{iso.year}-W{iso.week:02d}", None, "week", (monday, monday + timedelta(days=6)))


def fake_extract(text: str, published: date | datetime | None) -> list[FakeTemporal]:
    import re

    assert isinstance(published, datetime)
    today = published.date()
    found: list[FakeTemporal] = []

    def add(m: re.Match[str], t: FakeTemporal) -> None:
        found.append(FakeTemporal(m.start(), m.end(), m.group(), t.type, t.value, t.mod, t.granularity, t.interval))

    taken: list[tuple[int, int]] = []
    month_re = "|".join(_MONTHS)
    for m in re.finditer(rf"\b(mid-|early |late )?({month_re})(?: (\d{{1,2}}))?(?:, (\d{{4}}))?\b", text):
        month = _MONTHS.index(m.group(2)) + 1
        year = int(m.group(4)) if m.group(4) else today.year
        if m.group(3):
            d = date(year, month, int(m.group(3)))
            add(m, FakeTemporal(0, 0, "", "DATE", d.isoformat(), None, "day", (d, d)))
        else:
            mod = {"mid-": "MID", "early ": "START", "late ": "END"}.get(m.group(1) or "")
            add(m, FakeTemporal(0, 0, "", "DATE", f"{year}-{month:02d}", mod, "month", _month_interval(year, month)))
        taken.append(m.span())
    for m in re.finditer(r"\b(next|this|last) (week|month|year)\b", text, re.IGNORECASE):
        shift = {"next": 1, "this": 0, "last": -1}[m.group(1).lower()]
        unit = m.group(2).lower()
        if unit == "week":
            add(m, _week(today + timedelta(weeks=shift)))
        elif unit == "month":
            y, mo = divmod(today.year * 12 + today.month - 1 + shift, 12)
            add(m, FakeTemporal(0, 0, "", "DATE", f"{y}-{mo + 1:02d}", None, "month", _month_interval(y, mo + 1)))
        else:
            y = today.year + shift
            add(m, FakeTemporal(0, 0, "", "DATE", str(y), None, "year", (date(y, 1, 1), date(y, 12, 31))))
    for m in re.finditer(r"\b(?:on )?(" + "|".join(_WEEKDAYS) + r")\b", text):
        back = (today.weekday() - _WEEKDAYS.index(m.group(1))) % 7
        d = today - timedelta(days=back)
        add(m, FakeTemporal(0, 0, "", "DATE", d.isoformat(), None, "day", (d, d)))
    for m in re.finditer(r"\bthis summer\b", text):
        add(m, FakeTemporal(0, 0, "", "DATE", f"{today.year}-SU", None, "season", (date(today.year, 6, 21), date(today.year, 9, 22))))
    for m in re.finditer(r"\bfor months\b", text):
        add(m, FakeTemporal(0, 0, "", "DURATION", "PXM", None, None, None))
    for m in re.finditer(r"\b(?:19|20)\d\d\b", text):
        if not any(s <= m.start() < e for s, e in taken):
            y = int(m.group())
            add(m, FakeTemporal(0, 0, "", "DATE", str(y), None, "year", (date(y, 1, 1), date(y, 12, 31))))
    return sorted(found, key=lambda t: (t.start, t.end))


def keyed(articles: tuple[Article, ...], extractor: object) -> list[KeyedMention]:
    out: list[KeyedMention] = []
    for a in articles:
        found = find_mentions(title=a.title, text=a.text, published=a.published, matcher=MATCHER, extractor=extractor)  # type: ignore[arg-type]
        out.extend(KeyedMention(m, a.key, a.published, a.published) for m in found)
    return out


def by_value(events: list[MergedEvent]) -> dict[tuple[str, str | None], list[MergedEvent]]:
    out: dict[tuple[str, str | None], list[MergedEvent]] = {}
    for e in events:
        out.setdefault((e.value, e.mod), []).append(e)
    return out


def feeds(event: MergedEvent) -> set[str]:
    return {k.source.split(":")[0] for k in event.mention_keys}


def check_story(events: list[MergedEvent]) -> None:
    """The outcomes the brief asks for, and nothing else on the timeline."""
    assert sorted((e.value, e.mod or "") for e in events) == [
        ("2023", ""),
        ("2024-02", ""),
        ("2024-02", "MID"),
        ("2024-W13", ""),
    ], [(e.value, e.mod, e.summary) for e in events]
    events_by = {(e.value, e.mod): e for e in events}

    # "next week" on Saturday 23 March and "this week" on Monday 25 March: one event, ISO week 13.
    meetings = events_by[("2024-W13", None)]
    assert (meetings.start, meetings.end, meetings.granularity) == (date(2024, 3, 25), date(2024, 3, 31), "week")
    assert {"winbuzzer", "reuters", "screendigest", "deadline", "screentrade"} == feeds(meetings)
    assert "hollywood-meetings" in meetings.topics

    # "last year" in 2024 articles about the strikes: one 2023 event.
    strikes = events_by[("2023", None)]
    assert (strikes.start, strikes.end, strikes.granularity) == (date(2023, 1, 1), date(2023, 12, 31), "year")
    assert {"reuters", "deadline", "screendigest"} <= feeds(strikes)
    assert "strikes" in strikes.topics

    # The unveiling "in mid-February" and the meetings that "took place last month": apart.
    unveiling = events_by[("2024-02", "MID")]
    february_meetings = events_by[("2024-02", None)]
    assert unveiling.topics == {"sora"}
    assert {"winbuzzer", "reuters", "screendigest"} == feeds(unveiling)
    assert "hollywood-meetings" in february_meetings.topics
    assert {"reuters", "screendigest"} == feeds(february_meetings)
    assert not set(unveiling.mention_keys) & set(february_meetings.mention_keys)

    for e in events:
        assert 20 <= len(e.summary) <= 120, e.summary
        assert e.summary[0].isupper()
        assert not e.summary.endswith((",", ".", " said"))


EXPECTED_MENTIONS = sorted(
    [
        ("winbuzzer", "next week", "2024-W13"),
        ("winbuzzer", "mid-February", "2024-02"),
        ("winbuzzer", "next week", "2024-W13"),  # "OpenAI's meetings next week could mark ..."
        ("winbuzzer", "last year", "2023"),
        ("reuters", "this week", "2024-W13"),
        ("reuters", "February", "2024-02"),  # "earlier meetings in February"
        ("reuters", "mid-February", "2024-02"),
        ("reuters", "last year", "2023"),
        ("screendigest", "this week", "2024-W13"),
        ("screendigest", "last month", "2024-02"),
        ("screendigest", "mid-February", "2024-02"),
        ("screendigest", "last year", "2023"),
        ("deadline", "last year", "2023"),
        ("deadline", "last week", "2024-W13"),
        ("screentrade", "this week", "2024-W13"),
    ]
)


def check_mentions(mentions: list[KeyedMention]) -> None:
    """Every dated sentence about a topic, and nothing from bylines, boilerplate or statements."""
    found = sorted((km.source.split(":")[0], km.mention.expression, km.mention.value) for km in mentions)
    assert found == EXPECTED_MENTIONS


def test_story_with_a_stand_in_tagger() -> None:
    mentions = keyed(ARTICLES, fake_extract)
    check_mentions(mentions)
    check_story(merge(mentions))


def test_story_does_not_depend_on_arrival_order() -> None:
    expected = merge(keyed(ARTICLES, fake_extract))
    for seed in range(5):
        order = list(ARTICLES)
        random.Random(seed).shuffle(order)
        mentions = keyed(tuple(order), fake_extract)
        random.Random(seed).shuffle(mentions)
        assert merge(mentions) == expected


def test_story_reprocessing_changes_nothing() -> None:
    once = keyed(ARTICLES, fake_extract)
    assert keyed(ARTICLES, fake_extract) == once
    assert merge(once + once) == merge(once)


def test_no_event_from_boilerplate_bylines_datelines_or_statements() -> None:
    mentions = keyed(ARTICLES, fake_extract)
    expressions = {(m.source.split(":")[0], m.mention.expression) for m in mentions}
    for feed, expression in [
        ("winbuzzer", "March 23, 2024"),  # byline date
        ("winbuzzer", "Friday"),  # "Bloomberg reported on Friday"
        ("winbuzzer", "this summer"),  # Editors' Recommendations
        ("winbuzzer", "2008"),  # author bio
        ("reuters", "March 25"),  # dateline
        ("reuters", "Monday"),  # "declined to comment on Monday"
        ("screendigest", "March 28, 2024"),  # byline and update stamp
        ("screendigest", "2023"),  # "Related:" link
        ("screendigest", "2024"),  # copyright
        ("deadline", "Monday"),  # "said in an interview on Monday"
        ("deadline", "Tuesday"),  # Netflix shares: no topic, no reference back
    ]:
        assert (feed, expression) not in expressions


# --- The same story through the real tagger.

@pytest.fixture
def tagger() -> Extractor:
    return pytest.importorskip("tracker.temporal").extract  # type: ignore[no-any-return]


def test_story_with_the_real_tagger(tagger: Extractor) -> None:
    mentions = keyed(ARTICLES, tagger)
    check_mentions(mentions)
    events = merge(mentions)
    check_story(events)
    unveiling = next(e for e in events if e.mod == "MID")
    assert date(2024, 2, 1) <= unveiling.start <= unveiling.end <= date(2024, 2, 29)


def test_real_tagger_story_is_order_independent_and_idempotent(tagger: Extractor) -> None:
    mentions = keyed(ARTICLES, tagger)
    expected = merge(mentions)
    assert keyed(ARTICLES, tagger) == mentions
    for seed in range(5):
        shuffled = list(mentions)
        random.Random(seed).shuffle(shuffled)
        assert merge(shuffled) == expected


def test_real_tagger_title_context(tagger: Extractor) -> None:
    published = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    [m] = find_mentions(title="OpenAI unveils Sora", text="It was unveiled in mid-February.", published=published,
                        matcher=MATCHER, extractor=tagger)
    assert m.topics == frozenset({"sora"})
    assert (m.value, m.mod) == ("2024-02", "MID")


def test_real_tagger_edit_removes_a_mention(tagger: Extractor) -> None:
    first = keyed((REUTERS,), tagger)
    edited = Article(REUTERS.key, REUTERS.feed, REUTERS.title, REUTERS.published,
                     REUTERS.text.replace("Sora, which OpenAI unveiled in mid-February, can generate", "Sora can generate"))
    second = keyed((edited,), tagger)
    assert {m.key for m in second} < {m.key for m in first}
    assert [m.mention.value for m in first if m.key not in {k.key for k in second}] == ["2024-02"]
