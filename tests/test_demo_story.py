"""`make demo` end to end: the bundled samples polled through the CLI give the story's timeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from demo_copy import copy_samples, timeline_json
from tracker.cli import cli

Event = dict[str, object]

# Every article that dates each happening, counted by hand in samples/ (slugs of their links).
UNVEILING = {"techwire/2024/02/16", "ledger/business/2024/02/20", "framerate/2024/03/18",
             "techwire/2024/03/23", "screenbeat/news/2024/03/25"}  # fmt: skip
FEBRUARY_MEETINGS = {"techwire/2024/03/23", "ledger/business/2024/03/26"}
# frame-rate's 24 March piece dates them too: "on Sunday, a day before OpenAI begins a series of meetings".
LA_MEETINGS = {"techwire/2024/03/23", "framerate/2024/03/24", "screenbeat/news/2024/03/25",
               "ledger/business/2024/03/26", "screenbeat/news/2024/03/27"}  # fmt: skip
FILMMAKERS = {"framerate/2024/03/18", "screenbeat/news/2024/03/27"}
STRIKES_LAST_YEAR = {"techwire/2024/02/16", "ledger/business/2024/02/20", "techwire/2024/03/23",
                     "framerate/2024/03/24", "screenbeat/news/2024/03/25", "ledger/business/2024/03/26",
                     "screenbeat/news/2024/03/27"}  # fmt: skip


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Event]]:
    """samples/ copied to a temp folder, polled once through the CLI; the timeline as JSON."""
    folder = tmp_path_factory.mktemp("demo-story")
    config = copy_samples(folder)
    polled = CliRunner().invoke(cli, ["--config", str(config), "poll"])
    assert polled.exit_code == 0, polled.output
    return config, timeline_json(config)


def sources(event: Event) -> set[str]:
    """The articles of an event, as the date part of their links ("techwire/2024/03/23")."""
    out = set()
    for m in event["mentions"]:  # type: ignore[attr-defined]
        url = str(m["url"]).removeprefix("https://example-outlet.test/")
        parts = url.split("/")
        cut = next(i for i, p in enumerate(parts) if p.isdigit() and len(p) == 4)
        out.add("/".join(parts[: cut + 3]))
    return out


def find(events: list[Event], date: str, mod: str | None = None) -> Event:
    hits = [e for e in events if e["date"] == date and e.get("mod") == mod]
    assert len(hits) == 1, [(e["date"], e.get("mod"), e["summary"]) for e in events]
    return hits[0]


def test_sora_unveiling_has_all_its_sources(timeline: tuple[Path, list[Event]]) -> None:
    event = find(timeline[1], "2024-02-15")
    assert event["granularity"] == "day"
    assert sources(event) == UNVEILING
    assert "sora" in event["topics"]  # type: ignore[operator]
    assert "unveil" in str(event["summary"]).lower() or "show" in str(event["summary"]).lower()


def test_february_meetings_stay_apart_from_the_unveiling(timeline: tuple[Path, list[Event]]) -> None:
    event = find(timeline[1], "2024-02")
    assert (event["start"], event["end"], event["granularity"]) == ("2024-02-01", "2024-02-29", "month")
    assert sources(event) == FEBRUARY_MEETINGS
    # "those February meetings", the sentence after "a first round of talks ... last month", joins them.
    assert len(event["mentions"]) == 3  # type: ignore[arg-type]
    assert "hollywood-meetings" in event["topics"]  # type: ignore[operator]


def test_los_angeles_meetings_in_the_week_of_25_march(timeline: tuple[Path, list[Event]]) -> None:
    hits = [e for e in timeline[1] if "2024-03-25" <= str(e["start"]) and str(e["end"]) <= "2024-03-31"]
    assert len(hits) == 1, hits
    assert sources(hits[0]) == LA_MEETINGS
    assert "hollywood-meetings" in hits[0]["topics"]  # type: ignore[operator]


def test_union_reminder_on_sunday_is_its_own_event(timeline: tuple[Path, list[Event]]) -> None:
    event = find(timeline[1], "2024-03-24")
    assert sources(event) == {"framerate/2024/03/24"}
    assert "reminded studios" in str(event["summary"])


def test_filmmakers_got_access_early_in_march(timeline: tuple[Path, list[Event]]) -> None:
    event = find(timeline[1], "2024-03", "START")
    assert sources(event) == FILMMAKERS


def test_last_years_strikes_are_one_event(timeline: tuple[Path, list[Event]]) -> None:
    event = find(timeline[1], "2023")
    assert event["granularity"] == "year"
    assert sources(event) == STRIKES_LAST_YEAR
    assert "strikes" in event["topics"]  # type: ignore[operator]
    assert "strike" in str(event["summary"]).lower()


def test_the_strikes_dated_precisely(timeline: tuple[Path, list[Event]]) -> None:
    events = timeline[1]
    began = find(events, "2023-05-02")
    assert sources(began) == {"techwire/2024/03/23", "ledger/business/2024/03/26"}
    ended = find(events, "2023-09", "END")
    assert sources(ended) == {"techwire/2024/03/23", "ledger/business/2024/03/26"}
    # A range is one mention spanning both ends, not a "July" and a "November" event.
    actors = find(events, "2023-07-14/2023-11-09")
    assert (actors["start"], actors["end"], actors["granularity"]) == ("2023-07-14", "2023-11-09", "range")
    assert sources(actors) == {"framerate/2024/03/24", "ledger/business/2024/03/26"}
    assert "SAG-AFTRA" in str(actors["summary"])
    writers = find(events, "2023-05/2023-09")
    assert (writers["start"], writers["end"]) == ("2023-05-01", "2023-09-30")
    assert sources(writers) == {"framerate/2024/03/24"}
    # "SAG-AFTRA's strike lasted until November", published in March 2024: November 2023.
    until = find(events, "2023-11")
    assert sources(until) == {"techwire/2024/03/23"}


def test_nothing_dated_from_a_false_positive(timeline: tuple[Path, list[Event]]) -> None:
    events = timeline[1]
    assert len(events) <= 12, [(e["date"], e["summary"]) for e in events]
    for e in events:
        assert "2023-01-01" <= str(e["start"]) and str(e["end"]) <= "2024-04-30", e
        for m in e["mentions"]:  # type: ignore[attr-defined]
            # The off-topic phone leak and bakery items date nothing on this story's timeline.
            assert "pixelon" not in str(m["url"]) and "bakery" not in str(m["url"]), m
        # Two halves of one range never show up as separate events.
        assert str(e["summary"]).split()[-1] not in ("to", "from", "until"), e["summary"]
    assert not [e for e in events if str(e["date"]).startswith("2024-11")]


def test_table_reads_well(timeline: tuple[Path, list[Event]]) -> None:
    for e in timeline[1]:
        summary = str(e["summary"])
        assert 20 <= len(summary) <= 120, summary
        assert summary[0].isupper() and not summary.startswith("…"), summary
        assert not summary.endswith((",", ".", " said", " the", " and")), summary
    table = CliRunner().invoke(cli, ["--config", str(timeline[0]), "timeline"])
    assert table.exit_code == 0, table.output
    assert "14 July – 9 November 2023" in table.stdout
    assert "May – September 2023" in table.stdout
