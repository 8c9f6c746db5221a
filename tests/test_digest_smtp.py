"""Digest delivery against a real SMTP server: down, 4xx, 5xx, crash window, dropped DATA, STARTTLS, login."""

from __future__ import annotations

import re
import socket
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner
from sqlalchemy import select

from test_digest_support import (  # noqa: F401  (fixtures)
    PASSWORD,
    USER,
    FakeClock,
    SmtpServer,
    add_event,
    ca,
    client_context,
    free_port,
    open_tracker,
    smtp,
    story,
    write_config,
)
from tracker.app import Tracker
from tracker.errors import ConfigError
from tracker.cli import cli
from tracker.digest import DigestBusy, DigestNotSent, make_sender, preview, send
from tracker.digest._smtp import SmtpSender
from tracker.store.models import Digest, DigestMark


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def digests(tracker: Tracker) -> list[Digest]:
    with tracker.store.read() as s:
        return list(s.scalars(select(Digest).order_by(Digest.id)))


def marks(tracker: Tracker) -> int:
    with tracker.store.read() as s:
        return len(list(s.scalars(select(DigestMark))))


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tracker: error: digest not sent: ")
    return lines[0]


def test_server_down_exit_1_nothing_lost_then_sent_once_back(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    config = write_config(tmp_path, port, database=database_url)
    tracker = open_tracker(config)
    story(tracker)
    tracker.close()
    code, out, err = run(config, "digest", "send")
    assert code == 1 and out == ""
    line = one_line_error(err)
    assert f"mail server 127.0.0.1:{port}: connection refused" in line
    assert "nothing lost: 3 developments stay pending" in line
    tracker = open_tracker(config)
    [d] = digests(tracker)
    assert (d.status, d.attempts, d.sending_since, marks(tracker)) == ("pending", 1, None, 0)
    assert d.next_attempt is not None and "connection refused" in (d.last_error or "")
    tracker.close()

    server = SmtpServer(port=port).start()
    try:
        code, out, err = run(config, "digest", "send")
        assert code == 0, err
        assert len(server.messages) == 1
        assert server.messages[0].message["Message-ID"] == d.message_id
        assert run(config, "digest", "send")[1].startswith("nothing to send")
    finally:
        server.stop()
    tracker = open_tracker(config)
    assert [x.status for x in digests(tracker)] == ["sent"] and marks(tracker) == 3
    tracker.close()


def test_5xx_is_recorded_failed_and_developments_pend_again(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, smtp.port, database=database_url)
    tracker = open_tracker(config)
    story(tracker)
    tracker.close()
    smtp.handler.data_reply = "554 5.7.1 Message rejected: looks like spam"
    code, _, err = run(config, "digest", "send")
    assert code == 1
    line = one_line_error(err)
    assert "rejected the digest permanently (DATA): 554 5.7.1 Message rejected: looks like spam" in line
    assert "recorded as failed" in line
    tracker = open_tracker(config)
    [d] = digests(tracker)
    assert (d.status, d.last_error, marks(tracker)) == ("failed", "554 5.7.1 Message rejected: looks like spam", 0)
    tracker.close()
    # Pending again: preview shows them; the next send is a new message.
    assert run(config, "digest", "preview")[1].startswith("Subject: 3 new developments")
    smtp.handler.data_reply = None
    assert run(config, "digest", "send")[0] == 0
    msg = smtp.messages[0].message
    assert msg["Subject"].startswith("3 new developments") and msg["Message-ID"] != d.message_id


def test_rcpt_5xx_fails_the_whole_message(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, smtp.port, database=database_url)
    tracker = open_tracker(config)
    story(tracker)
    tracker.close()
    smtp.handler.rcpt_reply = "550 5.1.1 No such user"
    code, _, err = run(config, "digest", "send")
    assert code == 1 and "(RCPT TO newsroom@example.com): 550 5.1.1 No such user" in one_line_error(err)
    assert smtp.messages == []


def test_4xx_stays_pending_with_backoff_and_folds_in_what_is_new(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    clock = FakeClock()
    config = write_config(tmp_path, smtp.port, database=database_url)
    tracker = open_tracker(config, clock)
    story(tracker)
    smtp.handler.data_reply = "451 4.3.0 Try again later"
    with pytest.raises(DigestNotSent) as info:
        send(tracker)
    assert not info.value.permanent and info.value.reply == "451 4.3.0 Try again later"
    assert "temporary failure" in str(info.value)
    [d] = digests(tracker)
    assert (d.status, d.attempts, d.last_error) == ("pending", 1, "451 4.3.0 Try again later")
    assert d.next_attempt == (clock.now + timedelta(minutes=1)).replace(tzinfo=None)
    clock.advance(seconds=30)
    with pytest.raises(DigestNotSent):
        send(tracker)
    [d] = digests(tracker)
    assert d.attempts == 2 and d.next_attempt == (clock.now + timedelta(minutes=2)).replace(tzinfo=None)

    # Something new arrives meanwhile: the retry carries it, under the same Message-ID.
    clock.advance(minutes=5)
    add_event(tracker, "ev-late", summary="Sora release date announced", topics=["sora"], value="2024-12",
              granularity="month", start=date(2024, 12, 1), end=date(2024, 12, 31),
              sources=[("techwire", "Sora in December", "https://techwire.example/dec")])
    smtp.handler.data_reply = None
    result = send(tracker)
    assert result is not None and result.developments == 4
    [msg] = [m.message for m in smtp.messages]
    assert msg["Message-ID"] == d.message_id
    assert msg["Subject"].startswith("4 new developments")
    assert "Sora release date announced" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert [x.status for x in digests(tracker)] == ["sent"] and marks(tracker) == 4
    tracker.close()


class Crash(BaseException):
    """The process dying between the server's 250 and recording it."""


class CrashAfterAccept:
    def __init__(self, real: SmtpSender) -> None:
        self.real = real

    def send(self, message, *, sender, recipients):  # type: ignore[no-untyped-def]
        self.real.send(message, sender=sender, recipients=recipients)
        raise Crash()


def test_crash_after_accept_resends_the_same_message_id(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    clock = FakeClock()
    config = write_config(tmp_path, smtp.port, database=database_url)
    tracker = open_tracker(config, clock)
    story(tracker)
    with pytest.raises(Crash):
        send(tracker, sender=CrashAfterAccept(make_sender(tracker.config.digest.smtp)))  # type: ignore[union-attr]
    assert len(smtp.messages) == 1 and marks(tracker) == 0
    first = smtp.messages[0].message

    # Right away it may still be running elsewhere: refuse rather than double-send.
    with pytest.raises(DigestBusy, match="another process began sending this digest"):
        send(tracker)
    # A development arrives while the outcome is unknown.
    add_event(tracker, "ev-late", summary="Sora release date announced", topics=["sora"], value="2024-12",
              granularity="month", start=date(2024, 12, 1), end=date(2024, 12, 31),
              sources=[("techwire", "Sora in December", "https://techwire.example/dec")])
    clock.advance(minutes=3)
    shown = preview(tracker)
    assert [c.resend for c in shown] == [True, False]
    assert shown[0].message_id == first["Message-ID"] and shown[1].subject == "1 new development: OpenAI Sora"
    result = send(tracker)
    assert result is not None and [m.resend for m in result.messages] == [True, False]
    assert len(smtp.messages) == 3
    again, new = smtp.messages[1].message, smtp.messages[2].message
    # The same message, unchanged: a receiver that has it can drop the duplicate.
    assert again["Message-ID"] == first["Message-ID"] and again["Date"] == first["Date"]
    assert again.get_body(("plain",)).get_content() == first.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Sora release date" not in again.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert new["Message-ID"] != first["Message-ID"] and new["Subject"] == "1 new development: OpenAI Sora"
    assert [d.status for d in digests(tracker)] == ["sent", "sent"] and marks(tracker) == 4
    tracker.close()


def test_connection_dropped_after_data_freezes_the_message(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    clock = FakeClock()
    config = write_config(tmp_path, smtp.port, database=database_url)
    tracker = open_tracker(config, clock)
    story(tracker)
    smtp.handler.drop_after_data = True
    with pytest.raises(DigestNotSent, match="connection closed unexpectedly"):
        send(tracker)
    [d] = digests(tracker)
    assert d.status == "pending" and d.frozen and d.sending_since is None
    smtp.handler.drop_after_data = False
    add_event(tracker, "ev-late", summary="Sora release date announced", topics=["sora"], value="2024-12",
              granularity="month", start=date(2024, 12, 1), end=date(2024, 12, 31), sources=[])
    clock.advance(minutes=1)
    send(tracker)
    ids = [m.message["Message-ID"] for m in smtp.messages]
    assert ids[0] == ids[1] == d.message_id and ids[2] != d.message_id
    assert "Sora release date" not in smtp.messages[1].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    tracker.close()


def test_starttls_with_trusted_certificate_and_login(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = SmtpServer(tls=ca).start()
    try:
        config = write_config(tmp_path, server.port, security="starttls", login=True)
        tracker = open_tracker(config)
        story(tracker)
        smtp_config = tracker.config.digest.smtp  # type: ignore[union-attr]
        # An unset password variable is a configuration error, found before any attempt:
        # nothing is recorded as failed and no retry is scheduled.
        monkeypatch.delenv("TRACKER_TEST_SMTP_PASSWORD", raising=False)
        with pytest.raises(ConfigError, match=r"environment variable TRACKER_TEST_SMTP_PASSWORD is not set"):
            make_sender(smtp_config, ssl_context=client_context(ca))
        code, out, err = run(config, "digest", "send")
        assert code == 2 and out == ""
        assert err.strip().splitlines() == [
            "tracker: error: digest.smtp.password_env: the environment variable TRACKER_TEST_SMTP_PASSWORD "
            "is not set (it holds the password for digest.smtp.username)"
        ]
        assert digests(tracker) == [] and server.messages == []
        monkeypatch.setenv("TRACKER_TEST_SMTP_PASSWORD", PASSWORD)
        sender = make_sender(smtp_config, ssl_context=client_context(ca))
        result = send(tracker, sender=sender)
        assert result is not None and len(server.messages) == 1
        assert server.handler.logins == [USER]
        tracker.close()
    finally:
        server.stop()


def test_starttls_with_untrusted_certificate_is_a_clear_error(ca: trustme.CA, tmp_path: Path) -> None:
    server = SmtpServer(tls=ca).start()
    try:
        config = write_config(tmp_path, server.port, security="starttls")
        tracker = open_tracker(config)
        story(tracker)
        tracker.close()
        # The CLI trusts only the system CAs, not the test CA.
        code, _, err = run(config, "digest", "send")
        assert code == 1
        line = one_line_error(err)
        assert re.search(r"TLS certificate of mail server 127\.0\.0\.1:\d+ not trusted: .*certificate", line), line
        assert "nothing lost: 3 developments stay pending" in line
        assert server.messages == []
    finally:
        server.stop()


def test_plain_server_without_starttls_is_refused_when_starttls_configured(smtp: SmtpServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, smtp.port, security="starttls")
    tracker = open_tracker(config)
    story(tracker)
    tracker.close()
    code, _, err = run(config, "digest", "send")
    assert code == 1 and "does not offer STARTTLS" in one_line_error(err)
    assert smtp.messages == []


def test_cli_trusts_a_private_ca_through_ssl_cert_file(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The production path (create_default_context) with the OpenSSL way to add a CA."""
    server = SmtpServer(tls=ca).start()
    try:
        config = write_config(tmp_path, server.port, security="starttls")
        tracker = open_tracker(config)
        story(tracker)
        tracker.close()
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        code, out, err = run(config, "digest", "send")
        assert code == 0, err
        assert out.startswith("sent <") and len(server.messages) == 1
    finally:
        server.stop()


def test_implicit_tls(ca: trustme.CA, tmp_path: Path) -> None:
    server = SmtpServer(tls=ca, implicit_tls=True).start()
    try:
        config = write_config(tmp_path, server.port, security="ssl")
        tracker = open_tracker(config)
        story(tracker)
        smtp_config = tracker.config.digest.smtp  # type: ignore[union-attr]
        with pytest.raises(DigestNotSent, match="not trusted"):
            send(tracker)
        assert send(tracker, sender=make_sender(smtp_config, ssl_context=client_context(ca))) is not None
        assert len(server.messages) == 1
        tracker.close()
    finally:
        server.stop()


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel completes the handshake; nobody ever says 220
        config = write_config(tmp_path, silent.getsockname()[1])
        config.write_text(config.read_text().replace("timeout: 3s", "timeout: 0.5s"))
        tracker = open_tracker(config)
        story(tracker)
        tracker.close()
        started = time.monotonic()
        code, _, err = run(config, "digest", "send")
        assert code == 1 and time.monotonic() - started < 5
        assert "no answer within 0.5s (during connecting)" in one_line_error(err)
