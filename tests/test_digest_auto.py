"""The automatic digest (min_interval, retries) with an injected clock, and `tracker poll` of the samples end to end."""

from __future__ import annotations

import logging
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from test_digest_support import (  # noqa: F401  (fixtures)
    FakeClock,
    SmtpServer,
    add_event,
    add_source,
    open_tracker,
    smtp,
    story,
    write_config,
)
from tracker.app import Tracker
from tracker.cli import cli
from tracker.digest import maybe_send, next_due
from tracker.store.models import Digest

ROOT = Path(__file__).resolve().parents[1]


def late_event(tracker: Tracker, event_id: str, month: int) -> None:
    add_event(tracker, event_id, summary=f"Sora news for month {month}", topics=["sora"], value=f"2024-{month:02d}",
              granularity="month", start=date(2024, month, 1), end=date(2024, month, 28),
              sources=[("techwire", f"Sora in month {month}", f"https://techwire.example/{month}")])


def test_min_interval_holds_developments_back_then_sends_them_together(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    clock = FakeClock()
    tracker = open_tracker(write_config(tmp_path, smtp.port, min_interval="1h", database=database_url), clock)
    assert maybe_send(tracker) is None and next_due(tracker) is None  # nothing yet
    story(tracker)
    assert next_due(tracker) == clock.now
    first = maybe_send(tracker)
    assert first is not None and len(smtp.messages) == 1

    clock.advance(minutes=10)
    late_event(tracker, "ev-may", 5)
    assert maybe_send(tracker) is None  # too soon: waits
    assert next_due(tracker) == clock.now + timedelta(minutes=50)
    clock.advance(minutes=20)
    add_source(tracker, "ev-unveil", "daily-ledger", "Sora, a month on", "https://ledger.example/sora")
    assert maybe_send(tracker) is None
    assert len(smtp.messages) == 1
    clock.advance(minutes=30)  # exactly an hour after the first digest
    second = maybe_send(tracker)
    assert second is not None and second.developments == 2 and len(smtp.messages) == 2
    assert smtp.messages[1].message["Subject"] == "1 new, 1 updated developments: OpenAI Sora"
    assert maybe_send(tracker) is None and next_due(tracker) is None
    tracker.close()


def test_automatic_respects_retry_backoff_and_never_raises(smtp: SmtpServer, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture, database_url: str) -> None:
    clock = FakeClock()
    tracker = open_tracker(write_config(tmp_path, smtp.port, min_interval="1h", database=database_url), clock)
    story(tracker)
    smtp.handler.data_reply = "421 4.7.0 Too busy, try later"
    with caplog.at_level(logging.ERROR, logger="tracker.digest"):
        assert maybe_send(tracker) is None
    assert "421 4.7.0 Too busy" in caplog.text
    smtp.handler.data_reply = None
    clock.advance(seconds=59)
    assert maybe_send(tracker) is None  # the retry is due after a minute
    assert next_due(tracker) == clock.now + timedelta(seconds=1)
    with tracker.store.read() as s:
        assert [d.attempts for d in s.scalars(select(Digest))] == [1]
    clock.advance(seconds=1)
    late_event(tracker, "ev-may", 5)
    result = maybe_send(tracker)
    # The retry also carries what arrived meanwhile, and is not held back by min_interval.
    assert result is not None and result.developments == 4 and len(smtp.messages) == 1

    # A permanent refusal is recorded and logged; its developments wait for the next one.
    clock.advance(hours=2)
    late_event(tracker, "ev-june", 6)
    smtp.handler.data_reply = "550 5.7.1 Relaying denied"
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="tracker.digest"):
        assert maybe_send(tracker) is None
    assert "550 5.7.1 Relaying denied" in caplog.text
    smtp.handler.data_reply = None
    assert maybe_send(tracker) is None  # min_interval counts from the refused attempt too
    clock.advance(hours=1)
    result = maybe_send(tracker)
    assert result is not None and result.developments == 1 and len(smtp.messages) == 2
    tracker.close()


def _sample_config(tmp_path: Path, port: int) -> Path:
    for name in ("techwire.xml", "screenbeat.xml", "daily-ledger.xml", "frame-rate.atom"):
        shutil.copy(ROOT / "samples" / name, tmp_path / name)
    demo = (ROOT / "samples" / "demo.yaml").read_text(encoding="utf-8")
    demo = demo.replace("database: sqlite:///demo.db", f"database: sqlite:///{tmp_path / 'demo.db'}")
    demo += (
        "digest:\n"
        "  to: [newsroom@example.com]\n"
        "  from: tracker@demo.example\n"
        "  topics: [sora, hollywood-meetings]\n"
        "  smtp: {host: 127.0.0.1, port: %d, security: none, timeout: 3s}\n" % port
    )
    path = tmp_path / "demo.yaml"
    path.write_text(demo, encoding="utf-8")
    return path


def test_poll_of_the_samples_then_digest_send(smtp: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    config = _sample_config(tmp_path, smtp.port)
    runner = CliRunner()
    poll = runner.invoke(cli, ["--config", str(config), "poll"])
    assert poll.exit_code == 0, poll.stderr
    assert "events changed" in poll.stdout
    result = runner.invoke(cli, ["--config", str(config), "digest", "send"])
    assert result.exit_code == 0, result.stderr
    [received] = smtp.messages
    msg = received.message
    assert msg["Subject"].startswith(tuple(f"{n} new developments: OpenAI Sora, Hollywood meetings" for n in range(2, 100)))
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "15 February 2024: NEW" in text
    assert "strikes\n===" not in text  # not in the digest's topic filter
    assert "- techwire: " in text and "https://" in text
    # Polling again finds nothing new: nothing to send.
    assert runner.invoke(cli, ["--config", str(config), "poll"]).exit_code == 0
    again = runner.invoke(cli, ["--config", str(config), "digest", "send"])
    assert again.exit_code == 0 and again.stdout.startswith("nothing to send")
    assert len(smtp.messages) == 1


def test_the_daemon_hook_sends_through_maybe_send(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    from tracker.poll import PollResult

    clock = FakeClock()
    tracker = open_tracker(write_config(tmp_path, smtp.port, min_interval="30m", database=database_url), clock)
    changed = [PollResult("techwire", "ok", new=1, events_changed=3)]
    tracker.after_poll(changed)  # nothing pending yet
    story(tracker)
    tracker.after_poll(changed)
    assert len(smtp.messages) == 1
    late_event(tracker, "ev-may", 5)
    clock.advance(minutes=29)
    tracker.after_poll(changed)
    assert len(smtp.messages) == 1
    clock.advance(minutes=1)
    tracker.after_poll(changed)
    assert len(smtp.messages) == 2 and smtp.messages[1].message["Subject"] == "1 new development: OpenAI Sora"
    tracker.close()


def test_daemon_timer_sends_held_back_developments_without_a_new_poll(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    """min_interval held a development back; the daemon's digest timer sends it when due."""
    import time

    from tracker.scheduler import Daemon

    clock = FakeClock()
    tracker = open_tracker(write_config(tmp_path, smtp.port, min_interval="1h", database=database_url), clock)
    story(tracker)
    assert maybe_send(tracker) is not None and len(smtp.messages) == 1
    clock.advance(minutes=10)
    late_event(tracker, "ev-may", 5)
    assert maybe_send(tracker) is None  # held back by min_interval
    daemon = Daemon(tracker, digest_check_every=0.1, poll=lambda _t, cfg: pytest.fail("no poll expected"))
    # No feeds to poll: only the digest timer runs.
    daemon._feeds.clear()
    daemon.start()
    try:
        time.sleep(0.5)
        assert len(smtp.messages) == 1  # still too soon
        clock.advance(minutes=50)
        deadline = time.monotonic() + 10
        while len(smtp.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(smtp.messages) == 2
        body = smtp.messages[1].message.get_body(("plain",))
        assert body is not None and "Sora news for month 5" in body.get_content()
    finally:
        daemon.stop()
        tracker.close()
