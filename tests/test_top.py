"""Key developments: `timeline --top N`, the score fields of the JSON, the HTML page's lead
section for big timelines, and the digest's lead for many developments."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import feedparser  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner

from demo_copy import polled_samples, timeline_json
from test_digest_support import SmtpServer, add_event, open_tracker, smtp, write_config  # noqa: F401  (fixture)
from test_render import EVIL, parse_page
from tracker.cli import cli
from tracker.render import KEY_AFTER, KEY_DEVELOPMENTS, render_timeline
from tracker.views import EventView, MentionView

UTC = timezone.utc
NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """samples/ copied to a temp folder and polled once; returns the config path."""
    return polled_samples(tmp_path_factory.mktemp("demo"))


def best_first(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documented --top order: score (as shown), more outlets, earlier date, id."""
    return sorted(events, key=lambda e: (-e["score"], -e["outlets"], e["start"], e["end"], e["id"]))


# --- JSON fields ----------------------------------------------------------------------


def test_json_has_sources_outlets_and_a_score(demo: Path) -> None:
    events = timeline_json(demo)
    assert len(events) >= 5
    for e in events:
        articles = {m["url"] or (m["feed"], m["title"]) for m in e["mentions"]}
        assert e["sources"] == len(articles)
        assert 1 <= e["outlets"] <= e["sources"]
        assert e["outlets"] <= len({m["feed"] for m in e["mentions"]})  # one site per sample feed
        assert isinstance(e["score"], float) and 0 <= e["score"] <= 100
        assert e["score"] == round(e["score"], 2)
    # Reported by several outlets beats one outlet's passing mention, in the samples too.
    most = max(events, key=lambda e: (e["outlets"], e["sources"]))
    least = min(events, key=lambda e: (e["outlets"], e["sources"]))
    assert most["outlets"] > least["outlets"] and most["score"] > least["score"]
    # `tracker event` shows the same fields; recency counts whole days, so reading again
    # a moment later gives the same score.
    one = CliRunner().invoke(cli, ["--config", str(demo), "event", str(most["id"]), "--format", "json"])
    assert one.exit_code == 0, one.output
    shown = json.loads(one.stdout)
    assert (shown["sources"], shown["outlets"]) == (most["sources"], most["outlets"])
    assert shown["score"] == most["score"]
    text = CliRunner().invoke(cli, ["--config", str(demo), "event", str(most["id"])]).stdout
    assert f"{most['sources']} sources, {most['outlets']} outlets, score" in text


# --- --top N --------------------------------------------------------------------------


def test_top_keeps_the_best_in_date_order(demo: Path) -> None:
    everything = timeline_json(demo)
    top3 = timeline_json(demo, "--top", "3")
    assert {e["id"] for e in top3} == {e["id"] for e in best_first(everything)[:3]}
    assert [e["start"] for e in top3] == sorted(e["start"] for e in top3)
    newest = timeline_json(demo, "--top", "3", "--order", "newest")
    assert [e["id"] for e in newest] == [e["id"] for e in top3][::-1]
    # More than there are: all of them, as without --top.
    assert timeline_json(demo, "--top", "1000") == everything
    # After the other filters: the best of the sora events.
    sora = timeline_json(demo, "--topic", "sora")
    top_sora = timeline_json(demo, "--topic", "sora", "--top", "2")
    assert {e["id"] for e in top_sora} == {e["id"] for e in best_first(sora)[:2]}
    # --limit picks the candidates (the 4 earliest), --top the best of them.
    limited = timeline_json(demo, "--limit", "4")
    assert {e["id"] for e in timeline_json(demo, "--limit", "4", "--top", "2")} == {
        e["id"] for e in best_first(limited)[:2]
    }


def test_top_works_in_every_format(demo: Path) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["--config", str(demo), "timeline", "--top", "2", *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    ids = [e["id"] for e in timeline_json(demo, "--top", "2")]
    table = run().splitlines()
    assert len(table) == 3 and [line.split()[0] for line in table[1:]] == ids
    assert [r["id"] for r in csv.DictReader(io.StringIO(run("--format", "csv")))] == ids
    assert run("--format", "ics").count("BEGIN:VEVENT") == 2
    assert len(feedparser.parse(run("--format", "atom")).entries) == 2
    page = parse_page(run("--format", "html"))
    assert {i for i in page.ids if i.startswith("ev-")} == {f"ev-{i}" for i in ids}


def test_top_must_be_positive(demo: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(demo), "timeline", "--top", "0"])
    assert result.exit_code == 2 and "--top" in result.stderr


# --- the HTML page --------------------------------------------------------------------


def story(n: int) -> list[EventView]:
    """n events over half a year; every seventh is covered by several outlets on the day."""
    events = []
    for i in range(n):
        day = date(2024, 1, 1) + timedelta(days=i * 3)
        outlets = 4 + i % 3 if i % 7 == 3 else 1
        mentions = tuple(
            MentionView(
                url=f"https://www.outlet{k}.example/{i}",
                title=f"Story {i} in outlet {k}",
                feed=f"outlet{k}",
                published=datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(days=0 if outlets > 1 else 40),
                expression="on Monday",
                quote=f"Something happened on Monday, story {i}.",
            )
            for k in range(outlets)
        )
        events.append(
            EventView(
                id=f"ev{i:04d}", value=day.isoformat(), mod=None, granularity="day", start=day, end=day,
                summary=f"Happening number {i}", topics=("sora",) if i % 2 else ("strikes",),
                first_seen=datetime(2024, 6, 1, tzinfo=UTC), updated=datetime(2024, 6, 1, tzinfo=UTC), mentions=mentions,
            )
        )
    return events


def html(events: list[EventView], order: str = "oldest") -> str:
    return render_timeline(events, "html", now=NOW, title="Big <story>", topic_titles={"sora": "OpenAI Sora"}, order=order)


def test_a_small_page_has_no_key_section() -> None:
    text = html(story(KEY_AFTER))
    assert "Key developments" not in text and 'class="period"' not in text
    assert text.count('<li id="ev-') == KEY_AFTER


def test_a_big_page_leads_with_its_key_developments() -> None:
    events = story(60)
    text = html(events)
    page = parse_page(text)
    joined = "".join(page.text)
    lead = text[text.index("Key developments") : text.index('<div class="chart">')]
    keys = [i for i in page.ids if i.startswith("key-")]
    assert len(keys) == KEY_DEVELOPMENTS
    # The key developments are the highest scores (the events with several outlets), in date order.
    several = [e for e in events if len(e.mentions) > 1]
    assert {f"key-{e.id}" for e in several} <= set(keys)
    assert keys == sorted(keys)  # ids follow the dates in this story
    assert "4 outlets · 4 sources · score" in lead
    assert text.index("Key developments") < text.index('<div class="chart">') < text.index('<section class="all">')
    # Every event is still there, folded by month, with the key ones marked.
    assert len([i for i in page.ids if i.startswith("ev-")]) == 60
    assert text.count('<details class="period"') == len({(e.start.year, e.start.month) for e in events})
    assert text.count('<li id="ev-') == 60 and text.count('class="key"><div class="when"><span class="star"') == len(keys)
    assert "All 60 events" in joined
    # The chart draws only the key developments and links to their cards; every link lands.
    chart = text[text.index('<div class="chart">') : text.index('<section class="all">')]
    assert chart.count('class="mark dot"') == KEY_DEVELOPMENTS and "#ev-" not in chart
    targets = {h[1:] for h in page.hrefs if h.startswith("#")}
    assert targets <= set(page.ids) and len(page.ids) == len(set(page.ids))
    # The month grid links to the months.
    assert {t for t in targets if t.startswith("p-")} == {i for i in page.ids if i.startswith("p-")}
    # Still self-contained: no script, nothing loaded.
    assert "script" not in page.tags and page.loads == [] and page.handlers == []


def test_a_big_page_in_newest_order_and_hostile_text() -> None:
    events = story(30)
    events[3] = EventView(**{**vars(events[3]), "summary": EVIL, "mentions": tuple(
        MentionView(url="javascript:alert(1)", title=EVIL, feed="evil<feed>", published=m.published,
                    expression="x", quote=EVIL) for m in events[3].mentions
    )})
    text = html(events, order="newest")
    page = parse_page(text)
    assert "script" not in page.tags and page.handlers == []
    assert all(h.startswith(("#", "https://")) for h in page.hrefs)
    assert '<script>alert("x")</script>' in "".join(page.text)
    months = [i for i in page.ids if i.startswith("p-")]
    assert months == sorted(months, reverse=True)
    listed = [i for i in page.ids if i.startswith("ev-")]
    assert listed == sorted(listed, reverse=True)
    # Dates at the ends of the calendar and events without topics do not break the page.
    events[0] = EventView(**{**vars(events[0]), "start": date.min, "end": date.min, "topics": ()})
    events[1] = EventView(**{**vars(events[1]), "granularity": "decade", "start": date(9990, 1, 1), "end": date.max})
    assert 'id="p-0001-01"' in html(events) and 'id="p-9990-00"' in html(events)


# --- the digest -----------------------------------------------------------------------


def test_a_digest_of_many_developments_leads_with_the_key_ones(smtp: SmtpServer, tmp_path: Path) -> None:  # noqa: F811
    config = write_config(tmp_path, smtp.port)
    tracker = open_tracker(config)
    feeds = ("techwire", "screenbeat", "daily-ledger")
    day = date(2024, 3, 25)
    for i in range(14):
        n = 3 if i in (2, 9) else 2 if i in (4, 6, 11) else 1
        sources = [(feeds[k], f"Report {i} by {feeds[k]}", f"https://{feeds[k]}.example/{i}") for k in range(n)]
        if i == 0:
            sources = [("techwire", "<b>Evil</b> & co", "javascript:alert(1)")]
        add_event(tracker, f"ev-{i:02d}", summary=f"Development number {i}", topics=["sora" if i % 2 else "strikes"],
                  value=day.isoformat(), granularity="day", start=day, end=day, sources=sources)
    tracker.close()
    result = CliRunner().invoke(cli, ["--config", str(config), "digest", "send"])
    assert result.exit_code == 0, result.output
    msg = smtp.messages[0].message
    assert msg["Subject"] == "14 new developments: OpenAI Sora, strikes"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html_part = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]

    key, _, rest = text.partition("Other developments\n===")
    assert "Key developments\n===" in key
    # All reported on the day: the most outlets lead.
    chosen = [2, 4, 6, 9, 11]
    for i in range(14):
        assert (f"Development number {i}\n" in key) == (i in chosen), i
        assert (f"NEW: Development number {i}\n" in rest) == (i not in chosen), i
    # The lead in full: every source with its link.
    assert "  - daily-ledger: Report 9 by daily-ledger\n    https://daily-ledger.example/9" in key
    # The rest: two lines each, under their topics.
    assert "OpenAI Sora\n---" in rest and "strikes\n---" in rest
    assert "* 25 March 2024: NEW: Development number 1\n  1 source (techwire): https://techwire.example/1" in rest
    assert "* 25 March 2024: NEW: Development number 0\n  1 source (techwire)\n" in rest  # not http(s): no link

    lead_html, _, rest_html = html_part.partition("Other developments</h2>")
    assert "Key developments</h2>" in lead_html and "Development number 9" in lead_html
    assert "Development number 9" not in rest_html and "Development number 1 " in rest_html
    assert '<a href="https://techwire.example/1" title="Report 1 by techwire">techwire</a>' in rest_html
    # A link that is not http(s) leaves the outlet unlinked; feed text stays text.
    assert "Development number 0 <span" in rest_html and "(techwire)</span>" in rest_html
    assert "javascript" not in html_part and "<b>Evil" not in html_part
    assert "<img" not in html_part and "<script" not in html_part


def test_a_short_digest_has_no_lead(smtp: SmtpServer, tmp_path: Path) -> None:  # noqa: F811
    config = write_config(tmp_path, smtp.port)
    tracker = open_tracker(config)
    for i in range(10):
        add_event(tracker, f"ev-{i:02d}", summary=f"Development number {i}", topics=["sora"], value="2024-03",
                  granularity="month", start=date(2024, 3, 1), end=date(2024, 3, 31),
                  sources=[("techwire", f"Report {i}", f"https://techwire.example/{i}")])
    tracker.close()
    result = CliRunner().invoke(cli, ["--config", str(config), "digest", "preview"])
    assert result.exit_code == 0, result.output
    assert "Key developments" not in result.stdout and "Other developments" not in result.stdout
    assert result.stdout.count("  1 source:\n  - techwire: Report") == 10


def test_the_digest_ranks_a_days_lead_as_the_timeline_does(smtp: SmtpServer, tmp_path: Path) -> None:  # noqa: F811
    """A day many articles refer to lifts its best event into the digest's lead, as it does
    in the timeline's --top: the digest scores a day's lead with the day's part too."""
    config = write_config(tmp_path, smtp.port)
    tracker = open_tracker(config)
    feeds = ("techwire", "screenbeat")
    # All reported on the clock's day (2024-03-25), weeks later. Six quiet days, one
    # two-outlet event each; on the busy day, the earliest (its reporting the least
    # concentrated), a two-outlet event and four one-article events about other things.
    busy = date(2024, 2, 1)
    for i in range(6):
        day = date(2024, 2, 4 + 3 * i)
        add_event(tracker, f"quiet-{i}", summary=f"Quiet day development {i}", topics=["sora"], value=day.isoformat(),
                  granularity="day", start=day, end=day,
                  sources=[(f, f"Quiet {i} by {f}", f"https://{f}.example/quiet/{i}") for f in feeds])
    add_event(tracker, "busy-lead", summary="Busy day development", topics=["sora"], value=busy.isoformat(),
              granularity="day", start=busy, end=busy,
              sources=[(f, f"Busy by {f}", f"https://{f}.example/busy") for f in feeds])
    for i in range(4):
        add_event(tracker, f"busy-{i}", summary=f"Busy day side note {i}", topics=["sora"], value=busy.isoformat(),
                  granularity="day", start=busy, end=busy,
                  sources=[("techwire", f"Side {i}", f"https://techwire.example/side/{i}")])
    tracker.close()
    top = CliRunner().invoke(cli, ["--config", str(config), "timeline", "--top", "5", "--format", "json"])
    assert top.exit_code == 0, top.output
    top_ids = {e["id"] for e in json.loads(top.stdout)}
    # On their own parts the quiet events score higher: the day's part lifts the busy day's lead.
    assert "busy-lead" in top_ids
    result = CliRunner().invoke(cli, ["--config", str(config), "digest", "preview"])
    assert result.exit_code == 0, result.output
    key, _, rest = result.stdout.partition("Other developments")
    assert "Key developments" in key
    summaries = {e["id"]: e["summary"] for e in json.loads(top.stdout)}
    for event_id, summary in summaries.items():
        assert summary in key, event_id
    assert "Busy day development" in key and "Busy day development" not in rest
    assert sum(f"Quiet day development {i}" in key for i in range(6)) == 4


# --- --top over a big story -----------------------------------------------------------


def test_top_over_a_big_story_is_the_best_of_all(tmp_path: Path) -> None:
    """Over more events than one batch, --top reads the mentions of only the events whose
    bound could make it; the result must be what scoring every event gives."""
    import random

    from sqlalchemy import select

    from tracker.clock import to_naive_utc
    from tracker.events.rank import rank_key
    from tracker.store.models import Entry, Event, EventTopic, Feed, Mention, span_class
    from tracker.store.timeline import TimelineQuery, timeline

    config = write_config(tmp_path, 25)
    tracker = open_tracker(config)
    rng = random.Random(5)
    granularities = (("day", 0), ("day", 0), ("week", 6), ("month", 30), ("year", 364))
    with tracker.store.write() as s:
        feeds = list(s.scalars(select(Feed.id)))
        entry = 0
        for pk in range(1, 1201):
            granularity, length = rng.choice(granularities)
            start = date(2023, 1, 1) + timedelta(days=rng.randrange(500))
            end = start + timedelta(days=length)
            seen = to_naive_utc(NOW - timedelta(days=rng.randrange(30)))
            s.add(Event(pk=pk, id=f"{pk * 7919 % 100003:06d}", value=start.isoformat(), granularity=granularity,
                        start=start, end=end, span_class=span_class(start, end), summary=f"Event {pk}", topics="sora",
                        sources=0, first_seen=seen, updated=seen, revision=1))
            s.add(EventTopic(event_pk=pk, topic="sora", span_class=span_class(start, end), start=start, end=end))
            for _ in range(min(12, int(rng.paretovariate(1.3)))):
                entry += 1
                lag = rng.choice((0, 0, 1, 2, 9, 40, 200))
                published = datetime(start.year, start.month, start.day, 8) + timedelta(days=lag, hours=rng.randrange(12))
                # Some feeds carry several sites (aggregators), some articles have no link.
                link = None if rng.random() < 0.1 else f"https://site{rng.randrange(8)}.example/{entry}"
                s.add(Entry(id=entry, feed_id=rng.choice(feeds), key=f"k{entry}", link=link, title=f"Article {entry % 50}",
                            text="", published=published, content_hash="h", first_seen=published, last_changed=published,
                            needs_extraction=False))
                s.add(Mention(entry_id=entry, event_pk=pk, fingerprint=f"f{entry}", sentence_index=0, quote="q",
                              summary="s", expression="e", expr_start=0, expr_end=1, value=start.isoformat(),
                              granularity=granularity, start=start, end=end, topics="sora", terms=""))
    everything = timeline(tracker.store, TimelineQuery(), now=NOW)
    best = sorted(everything, key=lambda e: rank_key(e.score or 0.0, e.outlets, e.start, e.end, e.id))
    for n in (12, 600):
        top = timeline(tracker.store, TimelineQuery(top=n), now=NOW)
        assert {e.id for e in top} == {e.id for e in best[:n]}, n
        assert [(e.start, e.end, e.id) for e in top] == sorted((e.start, e.end, e.id) for e in top)
        assert [e.score for e in top] == [next(x.score for x in everything if x.id == e.id) for e in top]
    tracker.close()
