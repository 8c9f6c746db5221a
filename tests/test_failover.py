"""Several daemons, one PostgreSQL database: three real `tracker daemon` processes poll 30
loopback feeds and send digests to a real SMTP server (aiosmtpd); one is killed with
SIGKILL while it holds a feed's lease. Then: no feed was polled twice within its interval,
none starved, the entries stored are the entries served, and no digest went out twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from feedserver import FeedServer, Reply, Request
from pgserver import PgServer
from test_digest_support import SmtpServer
from tracker.app import make_tracker
from tracker.config import load_config
from tracker.poll import DEADLINE_FACTOR
from tracker.policy import JITTER_FRACTION
from tracker.store.leases import LEASE_MARGIN, leases
from tracker.store.models import Digest, DigestItem, Entry, Feed

FEEDS = 30
INTERVAL = 4.0
TIMEOUT = 1.0
# Each answer is held back this long, so that polls are in flight when the daemon dies.
SERVE_DELAY = 0.2
# How long the killed daemon's claims hold (tracker.store.leases): its feeds are taken
# over after at most this.
LEASE = TIMEOUT * DEADLINE_FACTOR + LEASE_MARGIN.total_seconds()
# Each feed gains an article this often (about 3 a second over all feeds), until FREEZE.
NEW_ARTICLE_EVERY = 10.0
RUN_BEFORE_KILL = 8.0
RUN_AFTER_TAKEOVER = 8.0
# Latency between a poll's clock reading (from which its next due time counts) and the
# request reaching the server; the only tolerance beyond the design's own jitter.
LATENCY = 0.5
START_DEADLINE = 30.0

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


class Feeds:
    """30 RSS feeds on the loopback server whose articles accumulate over time; every request
    logged with its time and the articles served."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.t0 = time.monotonic()
        self.frozen_at: float | None = None
        self.lock = threading.Lock()
        self.requests: dict[str, list[float]] = {self.name(i): [] for i in range(FEEDS)}
        self.served: set[tuple[str, str]] = set()
        for i in range(FEEDS):
            server.route(f"/{self.name(i)}.xml", self._reply(i))

    @staticmethod
    def name(i: int) -> str:
        return f"f{i:02d}"

    def url(self, i: int) -> str:
        return self.server.url(f"/{self.name(i)}.xml")

    def freeze(self) -> None:
        with self.lock:
            self.frozen_at = time.monotonic()

    def _reply(self, i: int) -> Callable[[Request], Reply]:
        name = self.name(i)

        def reply(_request: Request) -> Reply:
            now = time.monotonic()
            with self.lock:
                self.requests[name].append(now)
                upto = min(now, self.frozen_at) if self.frozen_at is not None else now
                # Feeds gain articles at different moments: 1 to start with, then one more
                # every NEW_ARTICLE_EVERY, phase-shifted per feed.
                count = 1 + int((upto - self.t0 + i * NEW_ARTICLE_EVERY / FEEDS) / NEW_ARTICLE_EVERY)
                items = [self._item(i, k) for k in range(count)]
                self.served.update((name, guid) for guid, _ in items)
            body = "".join(xml for _, xml in items)
            return Reply(
                body=(
                    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                    f"<title>{name}</title><link>https://news.test/{name}</link>{body}</channel></rss>"
                ).encode(),
                delay=SERVE_DELAY,
            )

        return reply

    @staticmethod
    def _item(i: int, k: int) -> tuple[str, str]:
        guid = f"f{i:02d}-{k}"
        # A different date per article: each is an event of its own, so digests keep coming.
        month, day = MONTHS[(i + k) % 12], 1 + (i * 7 + k * 3) % 28
        text = f"OpenAI will show Sora to studio {i}-{k} in Los Angeles on {month} {day}, 2025."
        return guid, (
            f"<item><guid>{guid}</guid><title>Sora at studio {i}-{k}</title><link>https://news.test/{guid}</link>"
            f"<pubDate>Mon, 06 Jan 2025 09:30:00 +0000</pubDate><description>{text}</description></item>"
        )


class DaemonProcess:
    def __init__(self, config: Path, n: int) -> None:
        self.log_path = config.parent / f"daemon-{n}.log"
        self._log = self.log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if k != "TRACKER_DATABASE_URL"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "--config", str(config), "daemon", "--digest-check-every", "1"],
            env=env, cwd=config.parent, stdout=subprocess.DEVNULL, stderr=self._log,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def started(self) -> bool:
        return "daemon started" in self.log

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


def wait_for(predicate: Callable[[], object], what: str, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    assert predicate(), f"timed out after {timeout}s waiting for {what}"


@pytest.fixture
def database(postgres_server: PgServer) -> Iterator[str]:
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for d in started:
        d.stop()
        print(f"--- {d.log_path.name} ---\n{d.log[-20000:]}")


def test_three_daemons_one_killed(
    tmp_path: Path, database: str, feed_server: FeedServer, daemons: list[DaemonProcess]
) -> None:
    feeds = Feeds(feed_server)
    smtp = SmtpServer().start()
    try:
        _run(tmp_path, database, feeds, smtp, daemons)
    finally:
        smtp.stop()


def _run(tmp_path: Path, database: str, feeds: Feeds, smtp: SmtpServer, daemons: list[DaemonProcess]) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(yaml.safe_dump({
        "database": database,
        "defaults": {"interval": f"{INTERVAL:g}s", "timeout": f"{TIMEOUT:g}s", "full_text": "never"},
        "topics": {"sora": {"title": "OpenAI Sora", "keywords": ["Sora"]}},
        "feeds": [{"name": feeds.name(i), "url": feeds.url(i)} for i in range(FEEDS)],
        "digest": {
            "to": ["newsroom@example.com"], "from": "Tracker <tracker@news.example.org>", "min_interval": "2s",
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "timeout": "3s"},
        },
    }, sort_keys=False), encoding="utf-8")
    # The schema and the feed rows first: three daemons starting together would each migrate.
    make_tracker(load_config(config)).close()
    reader = make_tracker(load_config(config), read_only=True)
    try:
        daemons.extend(DaemonProcess(config, n) for n in range(3))
        wait_for(lambda: all(d.started or d.proc.poll() is not None for d in daemons), "the daemons to start",
                 START_DEADLINE)
        assert all(d.proc.poll() is None for d in daemons), [d.log for d in daemons]
        time.sleep(RUN_BEFORE_KILL)

        # Kill the first daemon while it holds a feed's lease (a poll in flight).
        victim = daemons[0]
        mark = f":{victim.proc.pid}:"

        def victim_holds() -> list[str]:
            return [name for name, (owner, _) in leases(reader.store).items() if owner and mark in owner]

        wait_for(victim_holds, "the daemon to be polling", 20.0)
        victim.proc.kill()
        killed_at = time.monotonic()
        victim.proc.wait(timeout=10)
        held = victim_holds()  # its claims at its death: nobody released them
        takeover = killed_at + LEASE
        time.sleep(max(0.0, takeover + RUN_AFTER_TAKEOVER - time.monotonic()))

        # No new articles from now on; every feed is polled again and stores them all.
        feeds.freeze()

        def stored() -> set[tuple[str, str]]:
            with reader.store.read() as s:
                rows = s.execute(select(Feed.name, Entry.guid).join(Entry, Entry.feed_id == Feed.id))
                # The parser resolves a guid that is not a permalink against the feed's URL.
                return {(f, (g or "").rpartition("/")[2]) for f, g in rows}

        try:
            wait_for(lambda: stored() == feeds.served, "the entries served to be stored", 3 * INTERVAL + 10)
        except AssertionError:
            got = stored()
            raise AssertionError(f"served, not stored: {sorted(feeds.served - got)[:10]}; "
                                 f"stored, not served: {sorted(got - feeds.served)[:10]}") from None
        for d in daemons[1:]:
            assert d.proc.poll() is None, d.log
            d.stop()
        ended = time.monotonic()

        with feeds.lock:
            requests = {name: list(times) for name, times in feeds.requests.items()}
            served = set(feeds.served)
        assert stored() == served

        # Taken over: each feed it held was polled again, once its lease had ended.
        assert held, "the killed daemon held no lease"
        assert all(any(t >= killed_at for t in requests[name]) for name in held), held

        # Never twice within the interval: a poll's next due time is its interval from
        # then, give or take the jitter (JITTER_FRACTION), whoever polls next.
        shortest = INTERVAL * (1 - JITTER_FRACTION) - LATENCY
        for name, times in requests.items():
            gaps = [b - a for a, b in zip(times, times[1:])]
            assert gaps and min(gaps) >= shortest, (name, [round(g, 2) for g in gaps])

        # None starved: no feed waited longer than its interval (plus jitter), a dead
        # daemon's lease and some slack for a busy machine; and after the takeover each
        # was polled about as often as its interval says.
        longest = INTERVAL * (1 + JITTER_FRACTION) + LEASE + 3.0
        window = ended - takeover - 1.0
        expected = int(window / (INTERVAL * (1 + JITTER_FRACTION) + 0.5))
        for name, times in requests.items():
            gaps = [b - a for a, b in zip(times, times[1:])]
            assert max(gaps) <= longest, (name, [round(g, 2) for g in gaps])
            after = [t for t in times if takeover + 1.0 <= t <= ended]
            assert len(after) >= expected - 1, (name, len(after), expected)

        # No digest twice: each Message-ID arrived once, each was recorded as one digest,
        # and no development (event revision) went out in two digests.
        ids = [m.message["Message-ID"] for m in smtp.messages]
        assert ids, "no digest was sent"
        assert not [i for i, n in Counter(ids).items() if n > 1], ids
        with reader.store.read() as s:
            sent = {d.message_id: d.id for d in s.scalars(select(Digest).where(Digest.status == "sent"))}
            items = list(s.execute(select(DigestItem.digest_id, DigestItem.event_pk, DigestItem.revision)))
        # A digest the killed daemon had on the wire stays pending (it is re-sent, unchanged,
        # once its lease ends: the documented window); every other one is recorded as sent.
        unrecorded = [i for i in ids if i not in sent]
        assert len(unrecorded) <= 1, unrecorded
        told = Counter((event, revision) for digest, event, revision in items if digest in sent.values())
        assert not [k for k, n in told.items() if n > 1]

        for d in daemons[1:]:
            assert "Traceback" not in d.log and "crashed" not in d.log, d.log
    finally:
        reader.close()
