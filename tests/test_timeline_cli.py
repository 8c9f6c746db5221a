"""`tracker timeline` and `tracker event` against a real database polled from the samples."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from demo_copy import polled_samples, timeline_json
from tracker.cli import cli



@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Path:
    """samples/ copied to a temp folder and polled once, on each backend; returns the config path."""
    return polled_samples(tmp_path_factory.mktemp("demo"), module_database_url)


def test_json_shape_and_order(demo: Path) -> None:
    events = timeline_json(demo)
    assert len(events) >= 3
    keys = {"id", "date", "start", "end", "granularity", "summary", "topics", "first_seen", "updated", "mentions"}
    for e in events:
        assert keys <= set(e)
        assert e["start"] <= e["end"]
        assert e["mentions"], e
        for m in e["mentions"]:  # type: ignore[union-attr]
            assert {"url", "title", "feed", "published", "expression", "quote"} <= set(m)
    assert [(e["start"], e["end"]) for e in events] == sorted((e["start"], e["end"]) for e in events)


def test_topic_filter(demo: Path) -> None:
    everything = timeline_json(demo)
    sora = timeline_json(demo, "--topic", "sora")
    assert sora and all("sora" in e["topics"] for e in sora)  # type: ignore[operator]
    assert len(sora) == sum(1 for e in everything if "sora" in e["topics"])  # type: ignore[operator]
    both = timeline_json(demo, "--topic", "sora", "--topic", "strikes")
    assert {e["id"] for e in both} == {e["id"] for e in everything if {"sora", "strikes"} & set(e["topics"])}  # type: ignore[arg-type]


def test_range_filter_keeps_overlapping_events(demo: Path) -> None:
    everything = timeline_json(demo)
    got = timeline_json(demo, "--since", "2024-02", "--until", "2024-02")
    expected = {e["id"] for e in everything if str(e["end"]) >= "2024-02-01" and str(e["start"]) <= "2024-02-29"}
    assert {e["id"] for e in got} == expected and expected


def test_search_limit_and_feed(demo: Path) -> None:
    hits = timeline_json(demo, "--search", "studio*")
    assert hits
    for e in hits:
        text = (str(e["summary"]) + " ".join(str(m["quote"]) for m in e["mentions"])).lower()  # type: ignore[union-attr]
        assert "studio" in text
    assert timeline_json(demo, "--search", "zzzzqqq") == []
    assert len(timeline_json(demo, "--limit", "2")) == 2
    for e in timeline_json(demo, "--feed", "screenbeat"):
        assert any(m["feed"] == "screenbeat" for m in e["mentions"])  # type: ignore[union-attr]


def test_every_format(demo: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    n = len(timeline_json(demo))
    table = runner.invoke(cli, ["--config", str(demo), "timeline"]).stdout
    assert table.splitlines()[0].split()[:3] == ["ID", "WHEN", "SUMMARY"] and len(table.splitlines()) == n + 1
    rows = list(csv.DictReader(io.StringIO(runner.invoke(cli, ["--config", str(demo), "timeline", "--format", "csv"]).stdout)))
    assert len(rows) == n
    atom = feedparser.parse(runner.invoke(cli, ["--config", str(demo), "timeline", "--format", "atom"]).stdout)
    assert atom.bozo == 0 and len(atom.entries) == n
    ics = runner.invoke(cli, ["--config", str(demo), "timeline", "--format", "ics"]).stdout
    assert ics.count("BEGIN:VEVENT") == n
    out = tmp_path / "t.html"
    result = runner.invoke(cli, ["--config", str(demo), "timeline", "--format", "html", "-o", str(out)])
    assert result.exit_code == 0 and out.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html>")


def test_event_command(demo: Path) -> None:
    first = timeline_json(demo)[0]
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(demo), "event", str(first["id"])[:6], "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["id"] == first["id"]
    text = runner.invoke(cli, ["--config", str(demo), "event", str(first["id"])]).stdout
    assert str(first["id"]) in text and "source" in text
    missing = runner.invoke(cli, ["--config", str(demo), "event", "nope"])
    assert missing.exit_code == 1 and "no event with id 'nope'" in missing.stderr


def test_bad_arguments(demo: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(demo), "timeline", "--since", "March"])
    assert result.exit_code == 2 and "is not a date" in result.stderr
    result = runner.invoke(cli, ["--config", str(demo), "timeline", "--topic", "nosuch"])
    assert result.exit_code == 2 and "not a configured topic" in result.stderr


def test_repoll_changes_nothing(demo: Path) -> None:
    before = timeline_json(demo)
    result = CliRunner().invoke(cli, ["--config", str(demo), "poll"])
    assert result.exit_code == 0 and result.stdout.count("not modified") == 4
    assert timeline_json(demo) == before
    # A touched but identical file is read and parsed again: still nothing changes.
    for path in demo.parent.glob("*.xml"):
        path.write_bytes(path.read_bytes() + b"\n")
    result = CliRunner().invoke(cli, ["--config", str(demo), "poll"])
    assert result.exit_code == 0 and "0 new, 0 updated" in result.stdout
    assert timeline_json(demo) == before


def test_partial_dates() -> None:
    from tracker.dates import parse_cli_date

    assert parse_cli_date("2024-02", end=True) == date(2024, 2, 29)
    assert parse_cli_date("2024") == date(2024, 1, 1)
    with pytest.raises(ValueError):
        parse_cli_date("2024-13")


def test_common_and_rare_search_plans_agree(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A common word walks events in date order; a rare one sorts its matches: same answer."""
    import tracker.store.timeline as timeline_module

    for word in ("studio*", "OpenAI", "strike*"):
        sorted_plan = timeline_json(demo, "--search", word, "--limit", "3")
        monkeypatch.setattr(timeline_module, "COMMON_MATCHES", 1)
        walked_plan = timeline_json(demo, "--search", word, "--limit", "3")
        monkeypatch.undo()
        assert walked_plan == sorted_plan and sorted_plan


SEARCHED = (
    "Café Société premieres in Zürich",
    "SAG-AFTRA strikes end; writers' meetings resume",
    "OpenAI's Sora shown at example.com on 3.5 screens",
    "The studio_system memo leaked",
    "Striking workers met the studios",
)


# Searches and the SEARCHED summaries each finds.
SEARCHES = {
    "cafe": {0}, "CAFÉ société": {0}, "zurich": {0},
    "SAG-AFTRA": {1}, "aftra": {1}, "sag aftra": {1},
    # Stems: "strikes" and "striking" are both "strike"; "meetings" is "meet", "met" is not.
    "strike": {1, 4}, "strike*": {1, 4}, "meeting": {1}, "writer": {1},
    "OpenAI's": {2}, "example.com": {2}, "3.5": {2}, "scree*": {2},
    "studio_system": {3}, "studio*": {3, 4}, "studio": {3, 4},
    # No stop words: "the" is a word like any other; AND, OR and NOT too.
    "the": {3, 4}, "the studios": {3, 4}, "sora OR studio": set(), "sora NOT studio": set(),
    # Quotes and other punctuation separate words; every word must appear, in any order.
    '"workers striking"': {4}, "resume, writers!": {1}, "memo leaked -studio": {3},
    "nosuchword": set(), "***": set(),
}


def test_search_means_the_same_on_both_backends(database_url: str) -> None:
    """--search on SQLite (FTS5) and PostgreSQL (tsvector): words split on anything but
    letters and digits, accents and case ignored, words stemmed, a trailing * a prefix,
    every word required; no phrase, OR or NOT operators."""
    from sqlalchemy import text as sql

    from tracker.store import Store
    from tracker.store.models import Event, span_class
    from tracker.store.timeline import TimelineQuery, timeline

    store = Store(database_url)
    day, now = date(2024, 3, 1), datetime(2024, 3, 1, 12)
    with store.write() as s:
        for i, summary in enumerate(SEARCHED):
            event = Event(
                id=f"e{i}", value="2024-03-01", granularity="day", start=day, end=day, span_class=span_class(day, day),
                summary=summary, topics="", sources=1, first_seen=now, updated=now, revision=1,
            )
            s.add(event)
            s.flush()
            # As tracker/store/merging.py keeps the index, on both backends.
            s.execute(
                sql("INSERT INTO events_fts (rowid, summary, quotes) VALUES (:pk, :summary, :quotes)"),
                {"pk": event.pk, "summary": summary, "quotes": ""},
            )
    try:
        found = {
            search: {int(e.id[1:]) for e in timeline(store, TimelineQuery(search=search))} for search in SEARCHES
        }
    finally:
        store.close()
    assert found == SEARCHES
