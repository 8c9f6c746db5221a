"""Digest test support: a real loopback SMTP server (aiosmtpd), a test CA, a clock, and event rows."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import select

from tracker.app import Tracker, make_tracker
from tracker.clock import to_naive_utc
from tracker.config import load_config
from tracker.store.models import Entry, Event, EventTopic, Feed, Mention, span_class

# aiosmtpd logs a failed TLS handshake with a traceback; the CLI tests read stderr.
logging.getLogger("mail.log").propagate = False

T0 = datetime(2024, 3, 25, 12, 0, tzinfo=timezone.utc)
USER, PASSWORD = "tracker", "s3cret-pw"


class FakeClock:
    """An injectable clock that moves only when told."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        # As a mail client shows it: line ends normalised.
        msg = email.message_from_bytes(self.data.replace(b"\r\n", b"\n"), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class Handler:
    """Records accepted messages; data_reply / rcpt_reply make it answer 4xx or 5xx instead."""

    messages: list[Received] = field(default_factory=list)
    data_reply: str | None = None
    rcpt_reply: str | None = None
    # Take the message, then drop the connection before replying: "accepted, never told".
    drop_after_data: bool = False
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        self.messages.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), content))
        if self.drop_after_data:
            transport = server.transport
            assert isinstance(transport, asyncio.Transport)
            transport.abort()
        return "250 Message accepted for delivery"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
        if ok:
            self.logins.append(USER)
        return AuthResult(success=ok)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """aiosmtpd on 127.0.0.1: plain, or STARTTLS-required with a certificate from a test CA."""

    def __init__(self, *, tls: trustme.CA | None = None, port: int | None = None, implicit_tls: bool = False) -> None:
        self.handler = Handler()
        self.port = port or free_port()
        kwargs: dict[str, Any] = {"authenticator": self.handler.authenticate}
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.issue_cert("127.0.0.1", "localhost").configure_cert(context)
            if implicit_tls:
                kwargs.update(ssl_context=context, auth_require_tls=False)
            else:
                kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(auth_require_tls=False)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)
        self.running = False

    def start(self) -> SmtpServer:
        self.controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """What production builds (create_default_context), trusting only the test CA."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


FEEDS = ("techwire", "screenbeat", "daily-ledger")


def write_config(
    tmp_path: Path,
    port: int,
    *,
    security: str = "none",
    topics_filter: Sequence[str] | None = None,
    min_interval: str = "1h",
    login: bool = False,
    to: Sequence[str] = ("newsroom@example.com", "editor@example.com"),
    database: str | None = None,
) -> Path:
    """feeds.yaml in tmp_path with a digest section; `database`: its URL (default: tmp_path/tracker.db)."""
    lines = [
        f"database: {database or 'sqlite:///' + str(tmp_path / 'tracker.db')}",
        "topics:",
        "  sora:",
        "    title: OpenAI Sora",
        "    keywords: [Sora]",
        "  hollywood-meetings:",
        "    title: Hollywood meetings",
        "    keywords: [Hollywood]",
        "  strikes:",
        "    keywords: [strike*]",
        "feeds:",
        *[f"  - name: {name}\n    url: {name}.xml" for name in FEEDS],
        "digest:",
        f"  to: [{', '.join(to)}]",
        "  from: Tracker <tracker@news.example.org>",
        f"  min_interval: {min_interval}",
    ]
    if topics_filter is not None:
        lines.append(f"  topics: [{', '.join(topics_filter)}]")
    lines += ["  smtp:", "    host: 127.0.0.1", f"    port: {port}", f"    security: {security}", "    timeout: 3s"]
    if login:
        lines += [f"    username: {USER}", "    password_env: TRACKER_TEST_SMTP_PASSWORD"]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def open_tracker(config: Path, clock: FakeClock | None = None) -> Tracker:
    return make_tracker(load_config(config), clock=clock or FakeClock())


# --- event rows, inserted as the poll's merge step would leave them ---------------------


def add_event(
    tracker: Tracker,
    event_id: str,
    *,
    summary: str,
    topics: Sequence[str],
    value: str,
    granularity: str,
    start: date,
    end: date,
    mod: str | None = None,
    sources: Sequence[tuple[str, str, str | None]] = (),
) -> int:
    """An event with one mention per (feed, title, link) source; returns its pk."""
    now = to_naive_utc(tracker.clock())
    with tracker.store.write() as s:
        event = Event(
            id=event_id, value=value, mod=mod, granularity=granularity, start=start, end=end,
            span_class=span_class(start, end), summary=summary, topics=" ".join(sorted(topics)),
            sources=0, first_seen=now, updated=now, date_changed=now, sources_changed=now, revision=1,
        )
        s.add(event)
        s.flush()
        for topic in topics:
            s.add(EventTopic(event_pk=event.pk, topic=topic, span_class=event.span_class, start=start, end=end))
        for feed, title, link in sources:
            _mention(s, event, feed, title, link, now)
        event.sources = len(sources)
        return event.pk


def _mention(s: Any, event: Event, feed: str, title: str, link: str | None, now: datetime) -> None:
    feed_id = s.scalar(select(Feed.id).where(Feed.name == feed))
    n = s.scalar(select(Entry.id).order_by(Entry.id.desc()).limit(1)) or 0
    entry = Entry(
        feed_id=feed_id, key=f"k{n + 1}", link=link, title=title, text=title, published=now,
        content_hash=f"h{n + 1}", first_seen=now, last_changed=now, needs_extraction=False,
    )
    s.add(entry)
    s.flush()
    s.add(
        Mention(
            entry_id=entry.id, event_pk=event.pk, fingerprint=f"f{entry.id}", sentence_index=0, quote=title,
            summary=event.summary, expression=event.value, expr_start=0, expr_end=1, value=event.value,
            mod=event.mod, granularity=event.granularity, start=event.start, end=event.end,
            topics=event.topics, context_topics=False, terms="",
        )
    )


def add_source(tracker: Tracker, event_id: str, feed: str, title: str, link: str | None) -> None:
    """A new article for an event: one more source, revision bumped (as the merge step does)."""
    now = to_naive_utc(tracker.clock())
    with tracker.store.write() as s:
        event = s.scalars(select(Event).where(Event.id == event_id)).one()
        _mention(s, event, feed, title, link, now)
        event.sources += 1
        event.sources_changed = event.updated = now
        event.revision += 1


def change_date(tracker: Tracker, event_id: str, *, value: str, granularity: str, start: date, end: date,
                mod: str | None = None) -> None:
    """The event's date changed: revision bumped."""
    now = to_naive_utc(tracker.clock())
    with tracker.store.write() as s:
        event = s.scalars(select(Event).where(Event.id == event_id)).one()
        event.value, event.mod, event.granularity, event.start, event.end = value, mod, granularity, start, end
        event.span_class = span_class(start, end)
        event.date_changed = event.updated = now
        event.revision += 1


def story(tracker: Tracker) -> dict[str, int]:
    """Three events over two topics at three precisions, plus one strike event."""
    return {
        "unveil": add_event(
            tracker, "ev-unveil", summary="OpenAI unveils Sora, a text-to-video model",
            topics=["sora"], value="2024-02", mod="MID", granularity="month",
            start=date(2024, 2, 11), end=date(2024, 2, 20),
            sources=[("techwire", "OpenAI shows Sora", "https://techwire.example/sora"),
                     ("screenbeat", "Sora stuns studios", "https://screenbeat.example/sora")],
        ),
        "meetings": add_event(
            tracker, "ev-meet", summary="OpenAI meets Hollywood studios in Los Angeles",
            topics=["hollywood-meetings", "sora"], value="2024-W13", granularity="week",
            start=date(2024, 3, 25), end=date(2024, 3, 31),
            sources=[("techwire", "OpenAI to meet Hollywood", "https://techwire.example/meet")],
        ),
        "strike": add_event(
            tracker, "ev-strike", summary="Writers strike across the industry",
            topics=["strikes"], value="2023", granularity="year",
            start=date(2023, 1, 1), end=date(2023, 12, 31),
            sources=[("daily-ledger", "The year of strikes", "https://ledger.example/strikes")],
        ),
    }
