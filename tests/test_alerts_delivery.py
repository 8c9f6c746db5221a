"""Alerts sent for real through apprise to loopback receivers: json://, form://, a webhook; a 500,
a timeout and a target that is down, each recorded and retried, while the others receive."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

import tracker.alerts as alerts
from test_alerts_support import (  # noqa: F401  (fixtures)
    Answer,
    Receiver,
    closed_port,
    open_tracker,
    receiver,
    write_config,
)
from test_digest_support import FakeClock, add_event, add_source
from tracker.alerts import Dispatcher, Service, channels_of
from tracker.app import Tracker
from tracker.store.models import AlertChannel, AlertMark, AlertMessage


def sora(tracker: Tracker, *, summary: str = "OpenAI unveils Sora", outlets: int = 3) -> int:
    feeds = [("techwire", "OpenAI shows Sora", "https://techwire.example/sora"),
             ("screenbeat", "Sora stuns studios", "https://screenbeat.example/sora"),
             ("daily-ledger", "Sora and the guilds", "https://ledger.example/sora")]
    return add_event(tracker, "ev-sora", summary=summary, topics=["sora"], value="2024-02-15", granularity="day",
                     start=date(2024, 2, 15), end=date(2024, 2, 15), sources=feeds[:outlets])


def test_json_and_form_targets_get_title_summary_and_links(receiver: Receiver, tmp_path: Path) -> None:
    config = write_config(tmp_path, [
        {"name": "phone", "urls": [receiver.url("json", "/phone")]},
        # A text-only rendering asked for in the URL, as apprise's ?format= does.
        {"name": "pager", "urls": [receiver.url("form", "/pager") + "?format=text"]},
    ])
    tracker = open_tracker(config)
    sora(tracker)
    results = alerts.send(tracker)
    assert [r.error for r in results] == [None, None]

    [phone] = receiver.to("/phone")
    assert phone.headers["content-type"].startswith("application/json")
    assert phone.title == "OpenAI unveils Sora, 15 Feb 2024, 3 outlets"
    # json:// takes markdown: emphasis and links.
    assert phone.message.startswith("OpenAI unveils Sora\n\n**New** \u00b7 15 February 2024 \u00b7 OpenAI Sora \u00b7 3 outlets, 3 articles\n")
    assert "- [OpenAI shows Sora](https://techwire.example/sora) (techwire)" in phone.message
    assert "- [Sora and the guilds](https://ledger.example/sora) (daily\\-ledger)" not in phone.message  # no needless escapes
    assert "- [Sora and the guilds](https://ledger.example/sora) (daily-ledger)" in phone.message

    [pager] = receiver.to("/pager")
    assert pager.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert pager.title == phone.title
    assert "**" not in pager.message and "](" not in pager.message
    assert "- Sora stuns studios (screenbeat): https://screenbeat.example/sora" in pager.message
    tracker.close()


def test_feed_text_cannot_add_markup_links_or_html(receiver: Receiver, tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "phone", "urls": [receiver.url("json", "/phone")]}])
    tracker = open_tracker(config)
    add_event(tracker, "ev-x", summary="Sora *wins* <script>alert(1)</script> [click](https://evil.example)",
              topics=["sora"], value="2024-02-15", granularity="day", start=date(2024, 2, 15), end=date(2024, 2, 15),
              sources=[("techwire", "Bad \x1b[31mlink", "javascript:alert(1)")])
    alerts.send(tracker)
    [hit] = receiver.to("/phone")
    body = hit.message
    assert "<script>" not in body and "\\<script\\>" in body
    assert "\\*wins\\*" in body and "\\[click\\](https://evil.example)" in body
    assert "javascript:" not in body and "\x1b" not in body and "\x1b" not in hit.title
    # Rendered to HTML (what apprise does for an HTML service), it is text, not markup.
    from apprise import NotifyFormat
    from apprise.conversion import convert_between

    as_html = convert_between(NotifyFormat.MARKDOWN, NotifyFormat.HTML, body)
    assert "<script>" not in as_html and "<em>" not in as_html and 'href="https://evil' not in as_html
    tracker.close()


def test_a_webhook_with_secrets_from_the_environment(receiver: Receiver, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # A generic webhook: JSON POSTed to a secret path with an auth header, the message under
    # the key the hook expects ("text"), all through apprise's json:// URL syntax.
    monkeypatch.setenv("HOOK_PATH_TOKEN", "p4th-s3cret")
    monkeypatch.setenv("HOOK_AUTH", "Bearer h3ader-s3cret")
    url = receiver.url("json", "/hooks/${HOOK_PATH_TOKEN}") + "?+Authorization=${HOOK_AUTH}&:message=text"
    config = write_config(tmp_path, [{"name": "hook", "urls": [url]}])
    assert "s3cret" not in config.read_text()
    tracker = open_tracker(config)
    sora(tracker)
    [result] = alerts.send(tracker)
    assert result.error is None and len(result.delivered) == 1
    [hit] = receiver.to("/hooks/p4th-s3cret")
    assert hit.headers["authorization"] == "Bearer h3ader-s3cret"
    payload = hit.payload
    assert "message" not in payload and payload["text"].startswith("OpenAI unveils Sora\n")
    assert payload["title"] == "OpenAI unveils Sora, 15 Feb 2024, 3 outlets"
    # The secrets are in no row of the database (what output shows is apprise's privacy form).
    with tracker.store.read() as s:
        shown = s.scalars(select(AlertChannel.url)).one()
        dump = "\n".join(str(v) for table in ("alert_channels", "alert_messages")
                         for row in s.execute(text(f"SELECT * FROM {table}")) for v in row)
    assert "s3cret" not in dump and "***" in shown
    tracker.close()


def test_a_500_is_recorded_and_retried_with_backoff_then_delivered_once(receiver: Receiver, tmp_path: Path) -> None:
    receiver.answers["/phone"] = lambda n: Answer(status=500 if n <= 2 else 200)
    config = write_config(tmp_path, [{"name": "phone", "urls": [receiver.url("json", "/phone")]}])
    clock = FakeClock()
    tracker = open_tracker(config, clock)
    sora(tracker)
    [channel] = channels_of(tracker.config)
    box = alerts.outbox(tracker, channel)

    first = box.send(automatic=True)
    assert first.error is not None and "500" in first.error and "nothing lost" in first.error
    with tracker.store.read() as s:
        message = s.scalars(select(AlertMessage)).one()
        row = s.get_one(AlertChannel, channel.key)
        assert (message.status, message.attempts, message.sending_since) == ("pending", 1, None)
        assert message.last_error is not None and "500" in message.last_error
        assert row.failures == 1 and row.next_attempt == (clock.now + timedelta(minutes=1)).replace(tzinfo=None)
        assert s.scalars(select(AlertMark)).all() == []  # nothing marked as told
    clock.advance(seconds=30)
    assert box.send(automatic=True).delivered == [] and len(receiver.to("/phone")) == 1  # backing off
    assert box.next_due() == clock.now + timedelta(seconds=30)
    clock.advance(seconds=30)
    second = box.send(automatic=True)
    assert second.error is not None and len(receiver.to("/phone")) == 2
    with tracker.store.read() as s:
        row = s.get_one(AlertChannel, channel.key)
        assert row.failures == 2 and row.next_attempt == (clock.now + timedelta(minutes=2)).replace(tzinfo=None)
    clock.advance(minutes=2)
    third = box.send(automatic=True)
    assert third.error is None and [d.resend for d in third.delivered] == [True]
    hits = receiver.to("/phone")
    # The same recorded message each time, taken once.
    assert len(hits) == 3 and len({h.body for h in hits}) == 1 and len(receiver.delivered("/phone")) == 1
    with tracker.store.read() as s:
        message = s.scalars(select(AlertMessage)).one()
        assert (message.status, message.attempts) == ("sent", 3)
        assert s.get_one(AlertChannel, channel.key).failures == 0
        assert s.scalars(select(AlertMark.told)).all() == [1]
    assert box.send(automatic=True).delivered == [] and len(receiver.to("/phone")) == 3
    tracker.close()


def test_a_timeout_is_recorded_and_the_same_message_goes_again(receiver: Receiver, tmp_path: Path) -> None:
    receiver.answers["/slow"] = lambda n: Answer(delay=3.0 if n == 1 else 0.0)
    config = write_config(tmp_path, [{"name": "slow", "urls": [receiver.url("json", "/slow")], "timeout": "0.5s"}])
    clock = FakeClock()
    tracker = open_tracker(config, clock)
    sora(tracker)
    [channel] = channels_of(tracker.config)
    box = alerts.outbox(tracker, channel)
    started = time.monotonic()
    result = box.send(automatic=True)
    assert time.monotonic() - started < 2.5  # the timeout, not the server, ended the attempt
    assert result.error is not None and "timed out" in result.error.lower()
    with tracker.store.read() as s:
        message = s.scalars(select(AlertMessage)).one()
        assert message.status == "pending" and "timed out" in (message.last_error or "").lower()
        assert s.get_one(AlertChannel, channel.key).failures == 1
    add_source(tracker, "ev-sora", "techwire", "Sora again", "https://techwire.example/again")
    clock.advance(minutes=1)
    again = box.send(automatic=True)
    assert again.error is None and len(again.delivered) == 2
    hits = receiver.to("/slow")
    # The request that timed out reached the service: the re-send is byte for byte the same
    # message (the duplicate window), and the development that arrived meanwhile follows it.
    assert len(hits) == 3 and hits[0].body == hits[1].body
    assert hits[2].title.startswith("Update: OpenAI unveils Sora") and "1 new source" in hits[2].message
    tracker.close()


def test_a_target_that_is_down_or_hangs_delays_nobody_else(receiver: Receiver, tmp_path: Path) -> None:
    receiver.answers["/hangs"] = lambda n: Answer(stall=True)
    config = write_config(tmp_path, [
        {"name": "down", "urls": [f"json://127.0.0.1:{closed_port()}/x"]},
        {"name": "hangs", "urls": [receiver.url("json", "/hangs")], "timeout": "3s"},
        {"name": "phone", "urls": [receiver.url("json", "/phone"), receiver.url("form", "/phone-form")]},
    ])
    clock = FakeClock()
    tracker = open_tracker(config, clock)
    sora(tracker)
    dispatcher = Dispatcher(tracker)
    started = time.monotonic()
    dispatcher.kick()
    assert time.monotonic() - started < 1.0  # the daemon's step never waits for a delivery
    assert dispatcher.stop(15.0)
    gave_up = time.monotonic()
    [hang] = receiver.to("/hangs")
    assert gave_up - hang.at >= 2.5  # the hanging service held its attempt for its timeout (3s) ...
    for path in ("/phone", "/phone-form"):
        [hit] = receiver.delivered(path)
        assert hit.at < hang.at + 2.5  # ... and the others had their message meanwhile
    receiver.release()
    with tracker.store.read() as s:
        rows = {r.target: r for r in s.scalars(select(AlertChannel))}
        states = {(m.channel, m.status) for m in s.scalars(select(AlertMessage))}
    assert rows["down"].failures == 1 and rows["down"].last_error and "connection" in rows["down"].last_error.lower()
    assert rows["hangs"].failures == 1 and "timed out" in (rows["hangs"].last_error or "").lower()
    assert rows["phone"].failures == 0 and rows["phone"].last_sent is not None
    keys = {c.target.name + str(c.url_index): c.key for c in channels_of(tracker.config)}
    assert states == {(keys["down0"], "pending"), (keys["hangs0"], "pending"), (keys["phone0"], "sent"),
                      (keys["phone1"], "sent")}
    tracker.close()


def test_each_service_gets_the_format_it_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_TOKEN", "123456789:abcdefghijklmnop")
    formats = {
        url: Service(url, where="feeds.yaml: alerts[0].urls[0]", timeout=5).format
        for url in ("json://127.0.0.1/x", "json://127.0.0.1/x?format=text", "form://127.0.0.1/x?format=html",
                    "mailto://user:pw@example.com", "ntfy://127.0.0.1/topic", "tgram://${TG_TOKEN}/12345",
                    "discord://1234/abcd")
    }
    assert formats == {
        "json://127.0.0.1/x": "markdown",
        "json://127.0.0.1/x?format=text": "text",
        "form://127.0.0.1/x?format=html": "html",
        "mailto://user:pw@example.com": "html",  # takes HTML, not markdown
        "ntfy://127.0.0.1/topic": "text",  # text only
        "tgram://${TG_TOKEN}/12345": "markdown",
        "discord://1234/abcd": "markdown",
    }


def test_html_services_get_escaped_html(receiver: Receiver, tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "web", "urls": [receiver.url("json", "/web") + "?format=html"]}])
    tracker = open_tracker(config)
    add_event(tracker, "ev-h", summary="Sora & <b>friends</b>", topics=["sora"], value="2024-02-15", granularity="day",
              start=date(2024, 2, 15), end=date(2024, 2, 15),
              sources=[("techwire", "A \"quoted\" title", "https://techwire.example/a?x=1&y=2")])
    alerts.send(tracker)
    [hit] = receiver.to("/web")
    assert "<p>Sora &amp; &lt;b&gt;friends&lt;/b&gt;</p>" in hit.message
    assert '<a href="https://techwire.example/a?x=1&amp;y=2">A &quot;quoted&quot; title</a>' in hit.message
    tracker.close()


def test_concurrent_sends_from_two_threads_send_once(receiver: Receiver, tmp_path: Path) -> None:
    receiver.answers["/phone"] = lambda n: Answer(delay=0.3)
    config = write_config(tmp_path, [{"name": "phone", "urls": [receiver.url("json", "/phone")]}])
    tracker = open_tracker(config)
    sora(tracker)
    out: list[object] = []
    threads = [threading.Thread(target=lambda: out.append(alerts.send(tracker))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(receiver.to("/phone")) == 1
    tracker.close()
