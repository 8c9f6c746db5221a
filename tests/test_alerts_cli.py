"""`tracker alerts test|preview|send`, the `alerts:` section's validation, and migration 0008."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select

from test_alerts_support import Answer, Receiver, closed_port, open_tracker, receiver, write_config  # noqa: F401
from test_digest_support import FakeClock, story
from tracker.cli import cli
from tracker.config import load_config
from tracker.errors import ConfigError
from tracker.store.db import alembic_config, create_store_engine, upgrade
from tracker.store.models import AlertChannel, AlertMessage


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_alerts_test_sends_to_each_url_and_says_which_failed(receiver: Receiver, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHONE_TOKEN", "tok-123")
    down = f"json://127.0.0.1:{closed_port()}/down"
    config = write_config(tmp_path, [
        {"name": "phone", "urls": [receiver.url("json", "/p/${PHONE_TOKEN}"), receiver.url("form", "/f")],
         "key_only": True, "topics": ["sora"], "min_outlets": 2},
        {"name": "broken", "urls": [receiver.url("json", "/ok"), down]},
    ])
    code, out, err = run(config, "alerts", "test", "phone")
    assert code == 0, err
    assert [line.startswith("sent a test alert to phone[") for line in out.splitlines()] == [True, True]
    assert "tok-123" not in out and "/p/***" in out
    [hit] = receiver.to("/p/tok-123")
    assert hit.title == "tracker: test alert for phone"
    assert hit.message == ("This is a test. Target phone gets instant alerts of key developments of OpenAI Sora "
                           "reported by at least 2 outlets.")
    assert receiver.to("/f")[0].title == "tracker: test alert for phone"
    # Nothing is recorded: no database is even needed.
    assert not (tmp_path / "tracker.db").exists()

    code, out, err = run(config, "alerts", "test", "broken")
    assert code == 1
    assert out.startswith("sent a test alert to broken[0]")
    [line] = err.splitlines()
    assert line.startswith("tracker: error: test alert to broken[1] (json://127.0.0.1:") and "not sent" in line
    assert "connection" in line.lower()

    code, _, err = run(config, "alerts", "test", "nobody")
    assert code == 2 and "alerts: no target named 'nobody' (known: phone, broken)" in err
    monkeypatch.delenv("PHONE_TOKEN")
    code, _, err = run(config, "alerts", "test", "phone")
    assert code == 2
    assert err.strip() == ("tracker: error: feeds.yaml: alerts[0].urls[0]: the environment variable PHONE_TOKEN "
                           "is not set (the URL takes ${PHONE_TOKEN} from it)")


def test_preview_shows_what_send_sends_and_changes_nothing(receiver: Receiver, tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "phone", "urls": [receiver.url("json", "/phone")], "topics": ["sora"]}])
    tracker = open_tracker(config, FakeClock())
    story(tracker)
    tracker.close()
    code, out, err = run(config, "alerts", "preview")
    assert code == 0, err
    blocks = out.split("-" * 72 + "\n")
    assert len(blocks) == 2
    assert blocks[0].startswith(f"To: phone (json://127.0.0.1:{receiver.port}/phone?")
    assert blocks[0].split("\n", 1)[1].startswith(
                                "Title: OpenAI unveils Sora, a text-to-video model, mid-Feb 2024, 2 outlets\n\n"
                                "OpenAI unveils Sora, a text-to-video model\n\n"
                                "New \u00b7 mid-February 2024 \u00b7 OpenAI Sora \u00b7 2 outlets, 2 articles\n")
    assert "- OpenAI shows Sora (techwire): https://techwire.example/sora" in blocks[0]
    assert "Title: OpenAI meets Hollywood studios in Los Angeles, week of 25 Mar 2024, 1 outlet" in blocks[1]
    assert receiver.hits == []
    tracker = open_tracker(config, FakeClock())
    with tracker.store.read() as s:
        assert s.scalars(select(AlertMessage)).all() == [] and s.scalars(select(AlertChannel)).all() == []
    tracker.close()

    code, out, err = run(config, "alerts", "send")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and all(line.startswith("sent alert ") for line in lines)
    assert lines[0].endswith("to phone: OpenAI unveils Sora, a text-to-video model, mid-Feb 2024, 2 outlets")
    sent = [h.message for h in receiver.to("/phone")]
    # What preview showed as text is what went out (in markdown for json://).
    assert sent[0].startswith("OpenAI unveils Sora, a text-to-video model\n\n**New** \u00b7 mid-February 2024")
    code, out, _ = run(config, "alerts", "preview")
    assert code == 0 and out == "nothing to send: no new developments for any target\n"
    code, out, _ = run(config, "alerts", "send")
    assert code == 0 and out == "nothing to send: no new developments for any target\n"


def test_send_exits_1_when_a_delivery_failed_and_sends_to_the_others(receiver: Receiver, tmp_path: Path) -> None:
    receiver.answers["/err"] = lambda n: Answer(status=503)
    config = write_config(tmp_path, [
        {"name": "err", "urls": [receiver.url("json", "/err")]},
        {"name": "ok", "urls": [receiver.url("json", "/ok")]},
    ])
    tracker = open_tracker(config, FakeClock())
    story(tracker)
    tracker.close()
    code, out, err = run(config, "alerts", "send")
    assert code == 1
    assert len(receiver.to("/ok")) == 3 and len(receiver.to("/err")) == 1
    [line] = err.splitlines()
    assert line.startswith("tracker: error: err: not sent: ") and "503" in line and "nothing lost" in line
    assert out.count("to ok: ") == 3
    code, out, err = run(config, "alerts", "preview", "err")
    assert "(re-send of alert " in out and "not delivered yet" in out and "503" in out
    receiver.answers["/err"] = lambda n: Answer(status=200)
    code, out, err = run(config, "alerts", "send", "err")
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()] == ["re-sent", "sent", "sent"]


def test_commands_without_an_alerts_section_or_with_an_unknown_target(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds: [{name: a, url: a.xml}]\n", encoding="utf-8")
    for args in (["alerts", "preview"], ["alerts", "send"], ["alerts", "test", "x"]):
        code, _, err = run(config, *args)
        assert code == 2 and "feeds.yaml: alerts: missing: add an 'alerts' list of targets" in err


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"urls": ["json://h/x"]}, "alerts[0].name: missing"),
        ({"name": "a"}, "alerts[0].urls: missing"),
        ({"name": "a", "urls": ["json://h/x"], "colour": "red"}, "alerts[0].colour: unknown key"),
        ({"name": "a", "urls": ["not a url"]}, "alerts[0].urls[0]: 'not a url' is not an apprise URL"),
        ({"name": "a", "urls": ["json://h/${1X}"]}, "alerts[0].urls[0]: ${1X} is not an environment variable name"),
        ({"name": "a", "urls": ["json://h/${X"]}, "alerts[0].urls[0]: an unclosed ${"),
        ({"name": "a", "urls": ["json://h/x", "json://h/x"]}, "alerts[0].urls[1]: the same URL twice"),
        ({"name": "a", "urls": ["json://h/x"], "mode": "often"}, 'alerts[0].mode: "often" is not one of instant, digest'),
        ({"name": "a", "urls": ["json://h/x"], "topics": ["cats"]}, "alerts[0].topics[0]: topic 'cats' is not defined"),
        ({"name": "a", "urls": ["json://h/x"], "key_only": "yes"}, "alerts[0].key_only: expected true or false"),
        ({"name": "a", "urls": ["json://h/x"], "key_top": 3}, "alerts[0].key_top: applies only with key_only: true"),
        ({"name": "a", "urls": ["json://h/x"], "min_outlets": 0}, "alerts[0].min_outlets: 0 is out of range"),
        ({"name": "a", "urls": ["json://h/x"], "match": "*** --"}, "alerts[0].match: '*** --' has no word"),
        ({"name": "a", "urls": ["json://h/x"], "min_interval": "1h"}, "alerts[0].min_interval: applies only with mode: digest"),
        ({"name": "a", "urls": ["json://h/x"], "mode": "digest", "min_interval": "0s"}, "alerts[0].min_interval:"),
        ({"name": "a", "urls": ["json://h/x"], "timeout": "2 hours"}, 'alerts[0].timeout: "2 hours" is not a duration'),
    ],
)
def test_alerts_section_errors_name_the_key(tmp_path: Path, target: dict[str, object], message: str) -> None:
    config = write_config(tmp_path, [target])
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value).startswith(f"feeds.yaml: {message}"), str(caught.value)


def test_alerts_section_loads_with_defaults_and_rejects_duplicates(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, [
        {"name": "a", "urls": "json://h/x"},
        {"name": "b", "urls": ["json://h/y"], "mode": "digest", "key_only": True, "key_top": 5, "min_outlets": 2,
         "match": "studio*", "min_interval": "30m", "timeout": "5s", "topics": ["sora"]},
    ]))
    a, b = config.alerts
    assert (a.urls, a.mode, a.key_only, a.key_top, a.min_outlets, a.match, a.has_threshold) == (
        ("json://h/x",), "instant", False, 12, None, None, False)
    assert a.timeout.total_seconds() == 10 and a.min_interval.total_seconds() == 3600
    assert (b.mode, b.key_top, b.min_outlets, b.match, b.topics, b.has_threshold) == (
        "digest", 5, 2, "studio*", ("sora",), True)
    assert b.min_interval.total_seconds() == 1800 and b.timeout.total_seconds() == 5
    with pytest.raises(ConfigError, match=r"alerts\[1\].name: duplicate target name 'a' \(also alerts\[0\]\)"):
        load_config(write_config(tmp_path, [{"name": "a", "urls": ["json://h/x"]}, {"name": "a", "urls": ["json://h/y"]}]))
    with pytest.raises(ConfigError, match=r"alerts: expected a list of targets, got a mapping"):
        (tmp_path / "feeds.yaml").write_text("feeds: []\nalerts: {name: a}\n", encoding="utf-8")
        load_config(tmp_path / "feeds.yaml")


def test_the_daemon_refuses_to_start_with_an_unusable_alert_url(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "a", "urls": ["json://127.0.0.1/${TRACKER_TEST_UNSET_TOKEN}"]}])
    result = subprocess.run([sys.executable, "-m", "tracker", "--config", str(config), "daemon"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert "alerts[0].urls[0]: the environment variable TRACKER_TEST_UNSET_TOKEN is not set" in result.stderr
    config = write_config(tmp_path, [{"name": "a", "urls": ["nosuchservice://host/x"]}])
    result = subprocess.run([sys.executable, "-m", "tracker", "--config", str(config), "daemon"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2 and "alerts[0].urls[0]: apprise cannot use this URL" in result.stderr


def test_migration_0008_creates_and_drops_the_alert_tables(tmp_path: Path) -> None:
    from alembic import command

    engine = create_store_engine(f"sqlite:///{tmp_path / 'm.db'}")
    tables = {"alert_channels", "alert_messages", "alert_items", "alert_marks"}
    try:
        upgrade(engine, "0007")
        assert not tables & set(inspect(engine).get_table_names())
        upgrade(engine)
        assert tables <= set(inspect(engine).get_table_names())
        with engine.begin() as conn:
            command.downgrade(alembic_config(connection=conn), "0007")
        assert not tables & set(inspect(engine).get_table_names())
        assert "digests" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
