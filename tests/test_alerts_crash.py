"""Alerts across a kill -9 of the sender (`alerts send` and the daemon), and instant alerts from a
real daemon: subprocesses, a loopback receiver, SQLite files migrated by Alembic."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from feedserver import FeedServer, Reply, Request
from test_alerts_support import Answer, Receiver, open_tracker, receiver, titles, write_config  # noqa: F401
from test_digest_support import add_event
from tracker.app import make_tracker
from tracker.config import load_config
from tracker.store.models import AlertMark, AlertMessage, Event

DEADLINE = 30.0


def wait_for(predicate: Callable[[], object], what: str, timeout: float = DEADLINE) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    assert predicate(), f"timed out after {timeout}s waiting for {what}"


def tracker_cmd(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tracker", "--config", str(config), *args]


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TRACKER_DATABASE_URL"}
    return {**env, **extra}


def three_events(config: Path) -> None:
    tracker = open_tracker(config)
    for day, name in ((5, "Sora reaches animators"), (15, "OpenAI unveils Sora"), (25, "Sora meets Hollywood")):
        add_event(tracker, f"ev-{day}", summary=name, topics=["sora"], value=f"2024-03-{day:02d}", granularity="day",
                  start=date(2024, 3, day), end=date(2024, 3, day),
                  sources=[("techwire", name, f"https://techwire.example/{day}")])
    tracker.close()


def test_alerts_send_killed_mid_batch_then_restarted_sends_each_development_once(
    receiver: Receiver, tmp_path: Path
) -> None:
    path = "/phone/t0ken"
    # The second message is taken in and never answered: the sender is killed waiting.
    receiver.answers[path] = lambda n: Answer(stall=n == 2)
    config = write_config(tmp_path, [{"name": "phone", "urls": [receiver.url("json", "/phone/${PHONE_TOKEN}")],
                                      "timeout": "30s"}])
    three_events(config)
    env = child_env(PHONE_TOKEN="t0ken")
    proc = subprocess.Popen(tracker_cmd(config, "alerts", "send"), env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(receiver.to(path)) == 2 or proc.poll() is not None, "the second message")
        assert proc.poll() is None
    finally:
        proc.kill()  # SIGKILL: no handler, no cleanup
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    tracker = make_tracker(load_config(config), processes=0)
    with tracker.store.read() as s:
        messages = list(s.scalars(select(AlertMessage).order_by(AlertMessage.id)))
        assert [(m.status, m.sending_since is not None) for m in messages] == [("sent", False), ("pending", True)]
        assert messages[1].holder is not None and f":{proc.pid}:" in messages[1].holder
        interrupted = messages[1].uid
    # The preview says what will happen: the interrupted message goes again, as it was.
    preview = subprocess.run(tracker_cmd(config, "alerts", "preview"), env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=60)
    assert preview.returncode == 0, preview.stderr
    assert f"(re-send of alert {interrupted}, may have been delivered already" in preview.stdout
    assert "Title: Sora meets Hollywood, 25 Mar 2024, 1 outlet" in preview.stdout

    receiver.release()
    again = subprocess.run(tracker_cmd(config, "alerts", "send"), env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0].startswith(f"re-sent alert {interrupted} to phone: OpenAI unveils Sora")
    assert "sent alert" in again.stdout.splitlines()[1] and "Sora meets Hollywood" in again.stdout.splitlines()[1]

    hits = receiver.to(path)
    # Each development once, but for the one whose delivery the kill interrupted: the
    # duplicate window, and the copy is byte for byte the same message.
    assert titles(hits) == [
        "Sora reaches animators, 5 Mar 2024, 1 outlet",
        "OpenAI unveils Sora, 15 Mar 2024, 1 outlet",
        "OpenAI unveils Sora, 15 Mar 2024, 1 outlet",
        "Sora meets Hollywood, 25 Mar 2024, 1 outlet",
    ]
    assert hits[1].body == hits[2].body
    # Of the messages the service answered while a sender listened, each development once.
    answered_live = [hits[0], hits[2], hits[3]]
    assert all(h.answered == 200 for h in answered_live)
    with tracker.store.read() as s:
        assert [m.status for m in s.scalars(select(AlertMessage))] == ["sent"] * 3
        assert sorted(s.get_one(Event, m.event_pk).id for m in s.scalars(select(AlertMark))) == ["ev-15", "ev-25", "ev-5"]
    tracker.close()
    third = subprocess.run(tracker_cmd(config, "alerts", "send"), env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=60)
    assert third.returncode == 0 and "nothing to send" in third.stdout
    assert len(receiver.to(path)) == 4


# -- the daemon ----------------------------------------------------------------------------


def rss(*items: tuple[str, str, str, str]) -> bytes:
    """(guid, title, RFC 822 date, text) items."""
    parts = [
        f"<item><guid>{g}</guid><title>{t}</title><link>https://news.test/{g}</link><pubDate>{d}</pubDate>"
        f"<description>{x}</description></item>"
        for g, t, d, x in items
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://news.test/</link>{''.join(parts)}</channel></rss>"
    ).encode()


UNVEIL = ("a1", "OpenAI unveils Sora", "Fri, 16 Feb 2024 09:30:00 +0000",
          "OpenAI unveiled Sora, its text-to-video model, on Thursday.")
PITCH = ("a2", "Sora heads to Hollywood", "Sat, 23 Mar 2024 09:30:00 +0000",
         "OpenAI will pitch Sora to film studios in Los Angeles on Monday.")
ARTISTS = ("a3", "Sora reaches artists", "Mon, 04 Mar 2024 09:30:00 +0000",
           "A handful of animators received access to Sora last week.")


def daemon_config(tmp_path: Path, feed_url: str, target: dict[str, object]) -> Path:
    data = {
        "database": f"sqlite:///{tmp_path / 'tracker.db'}",
        "defaults": {"interval": "2s", "timeout": "3s", "full_text": "never"},
        "topics": {"sora": {"title": "OpenAI Sora", "keywords": ["Sora"]}},
        "feeds": [{"name": "news", "url": feed_url}],
        "alerts": [target],
    }
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class Daemon:
    def __init__(self, config: Path, env: dict[str, str], *args: str) -> None:
        self.log_path = config.parent / f"daemon-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(tracker_cmd(config, "daemon", *args), env=env, cwd=config.parent,
                                     stdout=subprocess.DEVNULL, stderr=self._log)
        wait_for(lambda: "daemon started" in self.log or self.proc.poll() is not None, "the daemon to start")
        assert self.proc.poll() is None, self.log

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()
        print(f"--- {d.log_path.name} ---\n{d.log}")


def test_the_daemon_alerts_within_one_poll_cycle(receiver: Receiver, feed_server: FeedServer, tmp_path: Path,
                                                 daemons: list[Daemon]) -> None:
    document = [rss(UNVEIL)]
    served_new: list[float] = []  # when each request got the document with the new article

    def feed(_request: Request) -> Reply:
        if b"a2" in document[0]:
            served_new.append(time.monotonic())
        return Reply(body=document[0])

    url = feed_server.route("/feed.xml", feed)
    config = daemon_config(tmp_path, url, {"name": "phone", "urls": [receiver.url("json", "/phone")]})
    # Digests and alert retries every 10 minutes: only the hook after a poll can be this quick.
    daemons.append(Daemon(config, child_env(), "--digest-check-every", "600"))
    wait_for(lambda: len(receiver.to("/phone")) == 1, "the first alert")
    assert receiver.to("/phone")[0].title == "OpenAI unveiled Sora, its text-to-video model, 15 Feb 2024, 1 outlet"

    document[0] = rss(UNVEIL, PITCH)
    wait_for(lambda: len(receiver.to("/phone")) == 2, "the alert of the new development")
    arrived = receiver.to("/phone")[1].at
    # The poll that read it sent it, before the next poll (every 2s) came round.
    assert served_new and served_new[0] < arrived < served_new[0] + 5.0
    assert [t for t in served_new if t < arrived] == served_new[:1]
    assert receiver.to("/phone")[1].title.startswith("OpenAI will pitch Sora to film studios in Los Angeles")
    time.sleep(2.5)  # a poll or two more: nothing new, nothing sent
    assert len(receiver.to("/phone")) == 2
    d = daemons[0]
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(timeout=15) == 0, d.log


def test_the_daemon_killed_mid_batch_resends_only_the_interrupted_message(
    receiver: Receiver, feed_server: FeedServer, tmp_path: Path, daemons: list[Daemon]
) -> None:
    receiver.answers["/phone"] = lambda n: Answer(stall=n == 2)
    url = feed_server.feed("/feed.xml", rss(UNVEIL, PITCH, ARTISTS))
    config = daemon_config(tmp_path, url, {"name": "phone", "urls": [receiver.url("json", "/phone")], "timeout": "30s"})
    first = Daemon(config, child_env(), "--digest-check-every", "0.5")
    daemons.append(first)
    wait_for(lambda: len(receiver.to("/phone")) == 2, "the second alert")
    first.kill()
    receiver.release()
    second = Daemon(config, child_env(), "--digest-check-every", "0.5")
    daemons.append(second)
    wait_for(lambda: len(receiver.to("/phone")) == 4, "the re-sent and the last alert")
    time.sleep(1.5)  # timer turns and polls: nothing more
    hits = receiver.to("/phone")
    assert len(hits) == 4 and hits[1].body == hits[2].body
    assert len({h.title for h in hits}) == 3
    assert "re-sending it unchanged" in second.log and " re-sent to phone: " in second.log
    second.proc.send_signal(signal.SIGTERM)
    assert second.proc.wait(timeout=15) == 0, second.log
    tracker = make_tracker(load_config(config), processes=0)
    with tracker.store.read() as s:
        assert [m.status for m in s.scalars(select(AlertMessage))] == ["sent"] * 3
    tracker.close()


def test_who_holds_an_attempt() -> None:
    import socket

    from tracker.alerts._outbox import holder_alive, holder_id

    me = holder_id()
    host = socket.gethostname()
    assert holder_alive(me) is True  # another thread of this process
    assert holder_alive(f"{host}:{os.getpid()}:0123456789ab") is False  # an earlier process with this pid
    assert holder_alive(f"{host}:{os.getppid()}:0123456789ab") is True  # a live process
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert holder_alive(f"{host}:{dead.pid}:0123456789ab") is False
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    time.sleep(0.5)  # exited, not yet reaped: a zombie sends nothing more
    assert holder_alive(f"{host}:{zombie.pid}:0123456789ab") is False
    zombie.wait()
    assert holder_alive(f"another-host.example:{os.getpid()}:x") is None  # only the lease tells
    assert holder_alive(None) is False
