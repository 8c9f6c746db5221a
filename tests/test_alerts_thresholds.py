"""Who hears of what: every development without a threshold, crossings with key_only and
min_outlets, match as `timeline --search`, digest mode, bursts; sent through apprise to loopback."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import tracker.alerts as alerts
from test_alerts_support import Receiver, open_tracker, receiver, titles, write_config  # noqa: F401  (fixtures)
from test_digest_support import FakeClock, add_event, add_source, change_date, story
from tracker.app import Tracker, make_tracker
from tracker.cli import cli
from tracker.config import load_config
from tracker.store.models import AlertItem, AlertMark, Event
from tracker.store.timeline import TimelineQuery, timeline

ROOT = Path(__file__).resolve().parents[1]


def send(tracker: Tracker) -> None:
    results = alerts.send(tracker, automatic=True)
    assert all(r.error is None for r in results), [r.error for r in results]


def test_without_a_threshold_every_development_goes_out(receiver: Receiver, tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "all", "urls": [receiver.url("json", "/all")]}])
    tracker = open_tracker(config)
    story(tracker)
    send(tracker)
    assert titles(receiver.to("/all")) == [
        "Writers strike across the industry, 2023, 1 outlet",
        "OpenAI unveils Sora, a text-to-video model, mid-Feb 2024, 2 outlets",
        "OpenAI meets Hollywood studios in Los Angeles, week of 25 Mar 2024, 1 outlet",
    ]
    send(tracker)
    assert len(receiver.to("/all")) == 3  # each development once

    add_source(tracker, "ev-unveil", "daily-ledger", "Sora, a month on", "https://ledger.example/sora")
    change_date(tracker, "ev-meet", value="2024-03-26", granularity="day", start=date(2024, 3, 26), end=date(2024, 3, 26))
    send(tracker)
    update, date_change = receiver.to("/all")[3:]
    assert update.title == "Update: OpenAI unveils Sora, a text-to-video model, mid-Feb 2024, 3 outlets"
    assert "**Updated: 1 new source**" in update.message and "(daily-ledger)" in update.message
    assert date_change.title == "Update: OpenAI meets Hollywood studios in Los Angeles, 26 Mar 2024, 1 outlet"
    assert "date changed, was week of 25 March 2024" in date_change.message
    send(tracker)
    assert len(receiver.to("/all")) == 5
    tracker.close()


def test_min_outlets_sends_an_event_when_an_update_crosses_it(receiver: Receiver, tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "big", "urls": [receiver.url("json", "/big")], "min_outlets": 2,
                                      "topics": ["sora"]}])
    tracker = open_tracker(config)
    story(tracker)
    send(tracker)
    assert titles(receiver.to("/big")) == ["OpenAI unveils Sora, a text-to-video model, mid-Feb 2024, 2 outlets"]

    add_source(tracker, "ev-meet", "techwire", "More on the meeting", "https://techwire.example/meet2")
    send(tracker)  # a second article of the same outlet: still one outlet
    assert len(receiver.to("/big")) == 1
    add_source(tracker, "ev-meet", "screenbeat", "Studios to meet OpenAI", "https://screenbeat.example/meet")
    send(tracker)  # crosses: sent, as an update of what the target was not told before
    crossing = receiver.to("/big")[1]
    assert crossing.title == "Update: OpenAI meets Hollywood studios in Los Angeles, week of 25 Mar 2024, 2 outlets"
    assert "Updated: 1 new source; now 2 outlets" in crossing.message

    # Updates of events over the threshold already cross nothing: not sent.
    add_source(tracker, "ev-meet", "daily-ledger", "Hollywood waits", "https://ledger.example/meet")
    add_source(tracker, "ev-unveil", "daily-ledger", "Sora, a month on", "https://ledger.example/sora")
    change_date(tracker, "ev-unveil", value="2024-02-15", granularity="day", start=date(2024, 2, 15), end=date(2024, 2, 15))
    send(tracker)
    assert len(receiver.to("/big")) == 2
    # ... and are accounted for, not looked at again and again.
    with tracker.store.read() as s:
        revisions = {e.id: e.revision for e in s.scalars(select(Event))}
        marks = {s.get_one(Event, m.event_pk).id: (m.revision, m.told, m.passed) for m in s.scalars(select(AlertMark))}
    assert marks == {"ev-unveil": (revisions["ev-unveil"], 1, True), "ev-meet": (revisions["ev-meet"], 3, True)}
    tracker.close()


def key_ids(tracker: Tracker, topic: str, n: int) -> set[str]:
    return {v.id for v in timeline(tracker.store, TimelineQuery(topics=(topic,), top=n), now=tracker.clock())}


def test_key_only_sends_the_topics_top_events_and_updates_that_make_one_key(receiver: Receiver, tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "key", "urls": [receiver.url("json", "/key")], "key_only": True,
                                      "key_top": 1}])
    tracker = open_tracker(config)
    add_event(tracker, "ev-launch", summary="OpenAI launches Sora", topics=["sora"], value="2024-03-25",
              granularity="day", start=date(2024, 3, 25), end=date(2024, 3, 25),
              sources=[("techwire", "Sora launches", "https://techwire.example/l"),
                       ("screenbeat", "Sora is here", "https://screenbeat.example/l")])
    add_event(tracker, "ev-price", summary="Sora pricing announced", topics=["sora"], value="2024-03",
              granularity="month", start=date(2024, 3, 1), end=date(2024, 3, 31),
              sources=[("daily-ledger", "What Sora costs", "https://ledger.example/p")])
    add_event(tracker, "ev-strike", summary="Writers strike", topics=["strikes"], value="2023",
              granularity="year", start=date(2023, 1, 1), end=date(2023, 12, 31),
              sources=[("daily-ledger", "Strike year", "https://ledger.example/s")])
    assert key_ids(tracker, "sora", 1) == {"ev-launch"}
    send(tracker)
    # The top event of each topic: the only strike event is its topic's key development.
    assert sorted(titles(receiver.to("/key"))) == [
        "OpenAI launches Sora, 25 Mar 2024, 2 outlets", "Writers strike, 2023, 1 outlet",
    ]

    # More outlets are not enough to outrank the launch ...
    add_source(tracker, "ev-price", "techwire", "Sora's price", "https://techwire.example/p")
    add_source(tracker, "ev-price", "screenbeat", "Pricey Sora", "https://screenbeat.example/p")
    assert key_ids(tracker, "sora", 1) == {"ev-launch"}
    send(tracker)
    assert len(receiver.to("/key")) == 2
    # ... a sharper date is: the update crosses into the key developments and is sent.
    change_date(tracker, "ev-price", value="2024-03-25", granularity="day", start=date(2024, 3, 25), end=date(2024, 3, 25))
    assert key_ids(tracker, "sora", 1) == {"ev-price"}
    send(tracker)
    crossing = receiver.to("/key")[2]
    assert crossing.title == "Update: Sora pricing announced, 25 Mar 2024, 3 outlets"
    assert "now a key development" in crossing.message and "date changed, was March 2024" in crossing.message
    # An update of an event the target heard of as key crosses nothing: not sent.
    add_source(tracker, "ev-launch", "daily-ledger", "Sora, day two", "https://ledger.example/l")
    send(tracker)
    assert len(receiver.to("/key")) == 3
    tracker.close()


def _samples(tmp_path: Path, targets: list[dict[str, object]]) -> Path:
    for name in ("techwire.xml", "screenbeat.xml", "daily-ledger.xml", "frame-rate.atom"):
        shutil.copy(ROOT / "samples" / name, tmp_path / name)
    demo = (ROOT / "samples" / "demo.yaml").read_text(encoding="utf-8")
    demo = demo.replace("database: sqlite:///demo.db", f"database: sqlite:///{tmp_path / 'demo.db'}")
    import yaml

    demo += yaml.safe_dump({"alerts": targets}, sort_keys=False)
    path = tmp_path / "demo.yaml"
    path.write_text(demo, encoding="utf-8")
    return path


@pytest.mark.parametrize("query", ["studio*", "guild", "OpenAI Hollywood"])
def test_match_selects_what_timeline_search_finds(receiver: Receiver, tmp_path: Path, query: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    config = _samples(tmp_path, [{"name": "m", "urls": [receiver.url("json", "/m")], "mode": "digest",
                                  "topics": ["hollywood-meetings"], "match": query}])
    result = CliRunner().invoke(cli, ["--config", str(config), "poll", "-q"])
    assert result.exit_code == 0, result.output
    tracker = make_tracker(load_config(config), processes=0)
    expected = {v.id for v in timeline(tracker.store, TimelineQuery(topics=("hollywood-meetings",), search=query))}
    assert expected  # the query finds something, and not everything
    everything = {v.id for v in timeline(tracker.store, TimelineQuery(topics=("hollywood-meetings",)))}
    assert expected < everything
    send(tracker)
    with tracker.store.read() as s:
        sent = {s.get_one(Event, i.event_pk).id for i in s.scalars(select(AlertItem))}
    assert sent == expected and len(receiver.to("/m")) == 1
    tracker.close()


def test_digest_mode_sends_one_list_at_most_every_min_interval(receiver: Receiver, tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "team", "urls": [receiver.url("json", "/team")], "mode": "digest",
                                      "min_interval": "1h"}])
    clock = FakeClock()
    tracker = open_tracker(config, clock)
    story(tracker)
    send(tracker)
    [first] = receiver.to("/team")
    assert first.title == "3 new developments: OpenAI Sora, Hollywood meetings, strikes"
    for line in ("**OpenAI unveils Sora, a text-to-video model, mid-Feb 2024, 2 outlets**",
                 "**Writers strike across the industry, 2023, 1 outlet**",
                 "- [OpenAI to meet Hollywood](https://techwire.example/meet) (techwire)"):
        assert line in first.message
    clock.advance(minutes=10)
    add_source(tracker, "ev-unveil", "daily-ledger", "Sora, a month on", "https://ledger.example/sora")
    send(tracker)
    assert len(receiver.to("/team")) == 1  # held back
    [channel] = alerts.channels_of(tracker.config)
    assert alerts.outbox(tracker, channel).next_due() == clock.now + timedelta(minutes=50)
    clock.advance(minutes=50)
    send(tracker)
    second = receiver.to("/team")[1]
    assert second.title == "1 updated development: OpenAI Sora" and "Updated: 1 new source" in second.message
    tracker.close()


def test_a_burst_of_instant_developments_is_one_list(receiver: Receiver, tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "phone", "urls": [receiver.url("json", "/phone")]}])
    tracker = open_tracker(config)
    for day in range(1, 13):
        add_event(tracker, f"ev-{day:02d}", summary=f"Sora news of day {day}", topics=["sora"],
                  value=f"2024-03-{day:02d}", granularity="day", start=date(2024, 3, day), end=date(2024, 3, day),
                  sources=[("techwire", f"Day {day}", f"https://techwire.example/{day}")])
    send(tracker)
    [burst] = receiver.to("/phone")
    assert burst.title == "12 new developments: OpenAI Sora"
    assert burst.message.count("**Sora news of day") == 10
    assert burst.message.rstrip().endswith("and 2 more developments: tracker timeline shows them all")
    # Every one of the twelve is accounted as told: none comes again.
    with tracker.store.read() as s:
        assert len(s.scalars(select(AlertMark)).all()) == 12
    send(tracker)
    assert len(receiver.to("/phone")) == 1
    # Up to INSTANT_BURST at once are one notification each.
    for day in range(13, 13 + alerts.INSTANT_BURST):
        add_event(tracker, f"ev-{day:02d}", summary=f"Sora news of day {day}", topics=["sora"],
                  value=f"2024-03-{day:02d}", granularity="day", start=date(2024, 3, day), end=date(2024, 3, day),
                  sources=[("techwire", f"Day {day}", f"https://techwire.example/{day}")])
    send(tracker)
    assert len(receiver.to("/phone")) == 1 + alerts.INSTANT_BURST
    tracker.close()
