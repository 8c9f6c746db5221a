"""`tracker daemon` as a real subprocess against a loopback HTTP server, plus its hooks in-process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from feedserver import FeedServer, Reply, Request
from tracker.app import make_tracker
from tracker.config import FeedConfig, load_config
from tracker.poll import PollResult
from tracker.scheduler import Daemon, DaemonError, DaemonLock, lock_path
from tracker.store.db import create_store_engine, read_connection

ROOT = Path(__file__).resolve().parents[1]
# Generous: a loaded 2-core CI machine starts Python slowly and polls late.
DEADLINE = 20.0


def rss(*items: tuple[str, str]) -> str:
    """An RSS document of (guid, title) items."""
    parts = [
        f"<item><guid>{guid}</guid><title>{title}</title><link>https://news.test/{guid}</link>"
        f"<pubDate>Sat, 23 Mar 2024 09:30:00 +0000</pubDate><description>{title} body.</description></item>"
        for guid, title in items
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://news.test/</link>{''.join(parts)}</channel></rss>"
    )


def wait_for(predicate: Callable[[], object], timeout: float = DEADLINE, what: str = "condition") -> None:
    """Poll until predicate() is truthy; fail with `what` after timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    assert predicate(), f"timed out after {timeout}s waiting for {what}"


class Env:
    """A feeds.yaml under tmp_path and its database (a SQLite file tmp_path/tracker.db, or
    PostgreSQL), and ways to look at them."""

    def __init__(self, tmp_path: Path, database_url: str | None = None) -> None:
        self.dir = tmp_path
        self.config = tmp_path / "feeds.yaml"
        # The SQLite file when database_url is None (a fixture may move it).
        self.db = tmp_path / "tracker.db"
        self._url = database_url

    @property
    def database_url(self) -> str:
        return self._url or f"sqlite:///{self.db}"

    @property
    def sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    def write(self, feeds: dict[str, dict[str, str]]) -> Path:
        lines = [f"database: {self.database_url}", "feeds:"]
        for name, options in feeds.items():
            lines.append(f"  - name: {name}")
            lines += [f"    {key}: {value}" for key, value in {"interval": "2s", "timeout": "3s", **options}.items()]
        return self.replace("\n".join(lines) + "\n")

    def replace(self, text: str) -> Path:
        # Write then rename, as editors and config managers do: the daemon never reads half a file.
        tmp = self.config.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(self.config)
        return self.config

    def _query(self, sql: str, **params: object) -> list[Any]:
        """Rows of a query, read as the CLI reads: a read-only engine, nothing created."""
        engine = create_store_engine(self.database_url, read_only=True)
        try:
            with read_connection(engine) as conn:
                return list(conn.execute(text(sql), params).mappings())
        finally:
            engine.dispose()

    def feed_row(self, name: str) -> dict[str, Any]:
        rows = self._query("SELECT * FROM feeds WHERE name = :name", name=name)
        return dict(rows[0]) if rows else {}

    def entry_titles(self, name: str) -> set[str]:
        rows = self._query("SELECT e.title FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE f.name = :name", name=name)
        return {r["title"] for r in rows}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tracker", "--config", str(self.config), *args],
            capture_output=True, text=True, timeout=60, cwd=self.dir,
        )


class DaemonProcess:
    """`python -m tracker daemon` with stderr in a file (a full pipe would block it)."""

    def __init__(self, env: Env, *args: str) -> None:
        self.log_path = env.dir / f"daemon-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "--config", str(env.config), "daemon", *args],
            stdout=subprocess.DEVNULL, stderr=self._log, cwd=env.dir,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_started(self) -> DaemonProcess:
        wait_for(lambda: "daemon started" in self.log or self.proc.poll() is not None, what="the daemon to start")
        assert self.proc.poll() is None, self.log
        return self

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, float]:
        """SIGTERM (or signum); the exit code and how long it took."""
        started = time.monotonic()
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the daemon did not stop within {timeout}s:\n{self.log}")
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> Env:
    """An Env on each backend (modules about SQLite's lock file make their own Env)."""
    return Env(tmp_path, database_url)


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    """Every daemon a test starts, killed at the end whatever happened."""
    started: list[DaemonProcess] = []
    yield started
    for d in started:
        d.kill()
        # pytest shows this only when the test failed: what the daemon said.
        print(f"--- {d.log_path.name} ---\n{d.log}")


def start(daemons: list[DaemonProcess], env: Env, *args: str) -> DaemonProcess:
    d = DaemonProcess(env, *args)
    daemons.append(d)
    return d.wait_started()


def poll_lines(log: str, feed: str) -> list[str]:
    return [line for line in log.splitlines() if f"tracker.scheduler: {feed}: " in line]


# -- the daemon as a subprocess -----------------------------------------------------------


def test_polls_on_schedule_politely_and_recovers(
    feed_server: FeedServer, env: Env, daemons: list[DaemonProcess]
) -> None:
    news = feed_server.feed("/news.xml", rss(("a1", "First")), etag='"v1"')
    busy = feed_server.route("/busy", Reply(status=429, headers={"Retry-After": "3600"}, content_type=None))
    flaky_calls: list[Request] = []

    def flaky_reply(request: Request) -> Reply:
        flaky_calls.append(request)
        if len(flaky_calls) <= 3:
            return Reply(status=500, body=b"oops", content_type="text/plain")
        return Reply(body=rss(("f1", "Flaky")).encode())

    flaky = feed_server.route("/flaky", flaky_reply)
    gone = feed_server.route("/gone", Reply(status=410, content_type=None))
    env.write({"news": {"url": news}, "busy": {"url": busy}, "flaky": {"url": flaky, "interval": "1s"},
               "gone": {"url": gone, "interval": "1s"}})
    d = start(daemons, env, "--check-config-every", "3600")

    # Conditional GET: the second request revalidates with the ETag of the first answer.
    wait_for(lambda: len(feed_server.requests_to("/news.xml")) >= 2, what="two polls of news")
    assert feed_server.requests_to("/news.xml")[1].headers.get("if-none-match") == '"v1"'
    assert env.entry_titles("news") == {"First"}

    # A changed feed is picked up on the next poll.
    feed_server.feed("/news.xml", rss(("a1", "First"), ("a2", "Second")), etag='"v2"')
    wait_for(lambda: env.entry_titles("news") == {"First", "Second"}, what="the new entry to be stored")

    # CLI reads work while the daemon writes.
    feeds = env.cli("feeds", "--format", "json")
    assert feeds.returncode == 0, feeds.stderr
    assert {f["name"] for f in json.loads(feeds.stdout)} == {"news", "busy", "flaky", "gone"}
    timeline = env.cli("timeline")
    assert timeline.returncode == 0, timeline.stderr
    assert "locked" not in feeds.stderr + timeline.stderr

    # Three failures, backing off, then a success resets the error count.
    wait_for(lambda: env.feed_row("flaky").get("last_status") == "ok", what="flaky to recover")
    row = env.feed_row("flaky")
    assert row["consecutive_errors"] == 0 and row["last_error"] is None and row["backoff_reason"] is None
    assert len(flaky_calls) >= 4
    # The line is logged just after the poll's commit.
    wait_for(lambda: len(poll_lines(d.log, "flaky")) >= 4, what="one log line per flaky poll")

    # Retry-After: 3600 was obeyed: one request in the whole window, and `feeds` says why.
    assert len(feed_server.requests_to("/busy")) == 1
    health = {f["name"]: f for f in json.loads(env.cli("feeds", "--format", "json").stdout)}
    assert health["busy"]["last_status"] == "error"
    assert "retry after 1h" in str(health["busy"]["backoff_reason"])
    assert "backoff: server asked to retry after 1h" in env.cli("feeds").stdout
    # 410 Gone: retired after one request, although its interval is a second.
    assert len(feed_server.requests_to("/gone")) == 1
    assert health["gone"]["last_status"] == "gone" and health["gone"]["next_due"] is None

    code, took = d.stop()
    assert code == 0 and took < 10
    log = d.log
    assert "Traceback" not in log
    # One line per poll, with the feed, what happened and how long it took.
    assert any("news: ok, 1 new, 0 updated" in line and "s); next " in line for line in poll_lines(log, "news"))
    assert any("news: not modified" in line for line in poll_lines(log, "news"))
    assert any("busy: error: HTTP 429" in line for line in poll_lines(log, "busy"))


def test_sigterm_during_a_slow_response_and_a_second_daemon(
    feed_server: FeedServer, env: Env, daemons: list[DaemonProcess]
) -> None:
    slow = feed_server.route("/slow", Reply(body=rss(("s1", "Slow")).encode(), delay=30))
    env.write({"slow": {"url": slow, "timeout": "3s"}})
    d = start(daemons, env)

    if env.sqlite:
        # One daemon per SQLite database (a lock file beside it). On PostgreSQL several may
        # share the database: merges serialise on its advisory lock.
        second = DaemonProcess(env)
        daemons.append(second)
        code = second.proc.wait(timeout=60)
        assert code == 1
        lines = second.log.strip().splitlines()
        assert lines[-1].startswith("tracker: error: another tracker daemon (pid ")
        assert "tracker.db.lock" in lines[-1] and "Traceback" not in second.log
        assert Path(str(env.db) + ".lock").exists()

    wait_for(lambda: feed_server.requests_to("/slow"), what="the slow request")
    code, took = d.stop()
    assert code == 0 and took < 10, d.log
    assert "Traceback" not in d.log
    # The poll in flight finished (its timeout) or rolled back: never half-written.
    row = env.feed_row("slow")
    assert row["last_status"] in (None, "error")
    assert (row["last_poll"] is None) == (row["last_status"] is None)
    assert env.entry_titles("slow") == set()


def test_restart_polls_only_what_is_due(feed_server: FeedServer, env: Env, daemons: list[DaemonProcess]) -> None:
    feed_server.feed("/hourly.xml", rss(("h1", "Hourly")))
    feed_server.feed("/fast.xml", rss(("q1", "Fast")))
    env.write({"hourly": {"url": feed_server.url("/hourly.xml"), "interval": "1h"},
               "fast": {"url": feed_server.url("/fast.xml"), "interval": "1s"}})
    d = start(daemons, env)
    wait_for(lambda: env.feed_row("hourly").get("last_status") == "ok" and len(feed_server.requests_to("/fast.xml")) >= 2,
             what="first polls")
    due = env.feed_row("hourly")["next_due"]
    assert d.stop()[0] == 0

    before = len(feed_server.requests_to("/fast.xml"))
    d2 = start(daemons, env)
    # The fast feed is polled again after the restart, the hourly one is not yet due.
    wait_for(lambda: len(feed_server.requests_to("/fast.xml")) >= before + 2, what="fast polls after the restart")
    assert len(feed_server.requests_to("/hourly.xml")) == 1
    assert env.feed_row("hourly")["next_due"] == due
    assert d2.stop()[0] == 0


def test_sighup_reload_adds_and_removes_feeds(
    feed_server: FeedServer, env: Env, daemons: list[DaemonProcess]
) -> None:
    feed_server.feed("/a.xml", rss(("a1", "A")))
    feed_server.feed("/b.xml", rss(("b1", "B")))
    feed_server.route("/old", Reply(status=410, content_type=None))
    feed_server.feed("/new.xml", rss(("m1", "Moved")))
    env.write({"a": {"url": feed_server.url("/a.xml"), "interval": "1s"},
               "moved": {"url": feed_server.url("/old"), "interval": "1s"}})
    d = start(daemons, env, "--check-config-every", "3600")
    wait_for(lambda: feed_server.requests_to("/a.xml") and env.feed_row("moved").get("last_status") == "gone",
             what="a polled and moved gone")

    env.write({"b": {"url": feed_server.url("/b.xml"), "interval": "1s"},
               "moved": {"url": feed_server.url("/new.xml"), "interval": "1s"}})
    d.send(signal.SIGHUP)
    wait_for(lambda: "config reloaded" in d.log, what="the reload")
    assert "added: b; removed: a; changed: moved" in d.log
    wait_for(lambda: len(feed_server.requests_to("/b.xml")) >= 2, what="b polled twice")
    # A poll of a already running when the reload came may still finish; after that, a
    # (removed) is never polled again while b (added) goes on at its 1 s interval.
    a_settled = len(feed_server.requests_to("/a.xml"))
    wait_for(lambda: len(feed_server.requests_to("/b.xml")) >= 4, what="b polled twice more")
    assert len(feed_server.requests_to("/a.xml")) == a_settled
    assert env.entry_titles("b") == {"B"}
    # A gone feed comes back when its URL changes.
    wait_for(lambda: env.entry_titles("moved") == {"Moved"}, what="the moved feed to be polled at its new URL")
    assert len(feed_server.requests_to("/old")) == 1
    # SIGINT (Ctrl-C) stops it as cleanly as SIGTERM.
    assert d.stop(signal.SIGINT)[0] == 0
    assert "stopping (SIGINT)" in d.log and "Traceback" not in d.log


def test_changed_file_reloads_and_invalid_config_keeps_the_old(
    feed_server: FeedServer, env: Env, daemons: list[DaemonProcess]
) -> None:
    feed_server.feed("/a.xml", rss(("a1", "A")))
    feed_server.feed("/c.xml", rss(("c1", "C")))
    env.write({"a": {"url": feed_server.url("/a.xml"), "interval": "1s"}})
    d = start(daemons, env, "--check-config-every", "0.3")

    env.write({"a": {"url": feed_server.url("/a.xml"), "interval": "1s"},
               "c": {"url": feed_server.url("/c.xml"), "interval": "1s"}})
    wait_for(lambda: env.entry_titles("c") == {"C"}, what="the added feed c to be polled")

    env.replace(env.config.read_text() + "  - name: bad\n    interval: 5 minutes\n")
    wait_for(lambda: "config not reloaded" in d.log, what="the invalid config to be reported")
    errors = [line for line in d.log.splitlines() if "config not reloaded" in line]
    assert len(errors) == 1, d.log
    assert "feeds.yaml: feeds[2]" in errors[0]
    # The old config keeps running: a and c are still polled (and the error is not repeated).
    a, c = len(feed_server.requests_to("/a.xml")), len(feed_server.requests_to("/c.xml"))
    wait_for(lambda: len(feed_server.requests_to("/a.xml")) >= a + 2 and len(feed_server.requests_to("/c.xml")) >= c + 2,
             what="polls with the old config")
    assert len([line for line in d.log.splitlines() if "config not reloaded" in line]) == 1
    code, _ = d.stop()
    assert code == 0 and "Traceback" not in d.log


# -- in-process: hooks and decisions ------------------------------------------------------


@pytest.fixture
def tracker_config(tmp_path: Path, database_url: str) -> Path:
    (tmp_path / "local.xml").write_text(rss(("l1", "Local")), encoding="utf-8")
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"database: {database_url}\nfeeds:\n  - name: local\n    url: local.xml\n    interval: 1h\n",
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize(("events_changed", "calls"), [(3, 1), (0, 0)])
def test_after_poll_hook_runs_only_when_events_changed(tracker_config: Path, events_changed: int, calls: int) -> None:
    tracker = make_tracker(load_config(tracker_config))
    seen: list[list[PollResult]] = []
    due = datetime.now(timezone.utc) + timedelta(hours=1)

    def fake_poll(_tracker: object, cfg: FeedConfig) -> PollResult:
        return PollResult(cfg.name, "ok", new=1, events_changed=events_changed, next_due=due)

    daemon = Daemon(tracker, poll=fake_poll, after_poll=seen.append)
    try:
        daemon._run_feed("local")
    finally:
        daemon.stop()
        tracker.close()
    assert len(seen) == calls
    if calls:
        assert seen[0][0].events_changed == events_changed


def test_default_hook_is_the_trackers_no_op_and_a_crashing_hook_is_contained(tracker_config: Path) -> None:
    tracker = make_tracker(load_config(tracker_config))
    tracker.after_poll([PollResult("local", "ok", events_changed=1)])  # without a digest config: nothing to do

    def broken(_results: list[PollResult]) -> None:
        raise RuntimeError("bug in the digest step")

    daemon = Daemon(tracker, after_poll=broken)
    try:
        daemon.call_after_poll([PollResult("local", "ok", events_changed=1)])  # logs, does not raise
    finally:
        daemon.stop()
        tracker.close()


def test_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    path = lock_path(f"sqlite:///{tmp_path / 'x.db'}")
    assert path == tmp_path / "x.db.lock"
    assert lock_path("sqlite:///:memory:") is None
    first, second = DaemonLock(path), DaemonLock(path)
    first.acquire()
    with pytest.raises(DaemonError, match=rf"another tracker daemon \(pid {os.getpid()}\) is already running"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    with pytest.raises(DaemonError, match="cannot create the lock file"):
        DaemonLock(tmp_path / "a-file" / "x.db.lock").acquire()


def test_a_feed_polled_meanwhile_is_not_polled_again_until_due(tracker_config: Path) -> None:
    """`tracker poll` beside the daemon moved the due time: the database wins over the job."""
    from sqlalchemy import update

    from tracker.store import Feed

    tracker = make_tracker(load_config(tracker_config))
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    with tracker.store.write() as s:
        s.execute(update(Feed).where(Feed.name == "local").values(next_due=later.replace(tzinfo=None)))
    polled: list[str] = []

    def fake_poll(_tracker: object, cfg: FeedConfig) -> PollResult:
        polled.append(cfg.name)
        return PollResult(cfg.name, "ok", next_due=later)

    daemon = Daemon(tracker, poll=fake_poll)
    try:
        daemon._run_feed("local")
        assert polled == []
        with tracker.store.write() as s:
            s.execute(update(Feed).where(Feed.name == "local").values(next_due=None))
        daemon._run_feed("local")
        assert polled == ["local"]
    finally:
        daemon.stop()
        tracker.close()


def test_a_crashing_poll_costs_one_poll_not_the_daemon(tracker_config: Path, caplog: pytest.LogCaptureFixture) -> None:
    tracker = make_tracker(load_config(tracker_config))

    def buggy_poll(_tracker: object, _cfg: FeedConfig) -> PollResult:
        raise ZeroDivisionError("a bug")

    daemon = Daemon(tracker, poll=buggy_poll)
    try:
        daemon.start()
        daemon._run_feed("local")  # does not raise
        assert "local: poll crashed" in caplog.text and "ZeroDivisionError" in caplog.text
        # Still scheduled, backing off in memory since nothing reached the database.
        due = daemon.scheduled()["local"]
        assert due is not None and due > datetime.now(timezone.utc)
    finally:
        daemon.stop()
        tracker.close()


def test_gone_feeds_get_no_job(tracker_config: Path) -> None:
    from sqlalchemy import update

    from tracker.store import Feed

    tracker = make_tracker(load_config(tracker_config))
    with tracker.store.write() as s:
        s.execute(update(Feed).where(Feed.name == "local").values(gone=True))
    daemon = Daemon(tracker)
    try:
        daemon.start()
        assert daemon.scheduled() == {}
    finally:
        daemon.stop()
        tracker.close()


def test_reload_applies_a_shorter_interval_at_once(tracker_config: Path) -> None:
    from sqlalchemy import update

    from tracker.store import Feed

    tracker = make_tracker(load_config(tracker_config))
    now = datetime.now(timezone.utc)
    with tracker.store.write() as s:  # polled a minute ago with the 1h interval
        s.execute(update(Feed).where(Feed.name == "local").values(
            last_poll=(now - timedelta(minutes=1)).replace(tzinfo=None),
            next_due=(now + timedelta(minutes=59)).replace(tzinfo=None),
        ))
    daemon = Daemon(tracker, poll=lambda _t, cfg: PollResult(cfg.name, "ok", next_due=now + timedelta(hours=1)))
    try:
        daemon.start()
        due = daemon.scheduled()["local"]
        assert due is not None and due > now + timedelta(minutes=50)
        tracker_config.write_text(tracker_config.read_text().replace("interval: 1h", "interval: 10s"), encoding="utf-8")
        assert daemon.reload("test")
        due = daemon.scheduled()["local"]
        assert due is not None and due < now + timedelta(seconds=15)
        assert tracker.config.feed("local").interval == timedelta(seconds=10)
        # An invalid file changes nothing.
        tracker_config.write_text("feeds: {}\n", encoding="utf-8")
        assert not daemon.reload("test")
        assert tracker.config.feed("local").interval == timedelta(seconds=10)
    finally:
        daemon.stop()
        tracker.close()
