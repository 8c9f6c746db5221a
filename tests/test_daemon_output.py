"""`tracker daemon` as a real subprocess: its lock file after exit, and a first digest that
waits for the first round of polls."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from feedserver import FeedServer, Reply, endless
from test_daemon import DaemonProcess, Env, daemons, start, wait_for  # noqa: F401  (fixtures)
from test_digest_support import SmtpServer, smtp  # noqa: F401  (fixtures)
from tracker.scheduler import ROUND_MARGIN, initial_round


def rss(guid: str, title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://news.test/</link><item><guid>{guid}</guid><title>{title}</title>"
        f"<link>https://news.test/{guid}</link><pubDate>Sat, 23 Mar 2024 09:30:00 +0000</pubDate>"
        f"<description>{body}</description></item></channel></rss>"
    )


@pytest.fixture
def env(tmp_path: Path) -> Env:
    """SQLite: the lock file beside its database is what these tests read."""
    return Env(tmp_path)


def lock_text(env: Env) -> str:
    return Path(str(env.db) + ".lock").read_text(encoding="ascii")


def test_lock_file_names_the_daemon_only_while_it_runs(
    feed_server: FeedServer, env: Env, daemons: list[DaemonProcess]
) -> None:
    env.write({"a": {"url": feed_server.feed("/a.xml", rss("a1", "A", "A body.")), "interval": "1h"}})
    d = start(daemons, env)
    assert lock_text(env) == f"{d.proc.pid}\n"
    code, _ = d.stop()
    assert code == 0
    # Kept (a fresh inode would let two daemons lock "the" file), but naming nobody.
    assert lock_text(env) == ""
    d2 = start(daemons, env)
    assert lock_text(env) == f"{d2.proc.pid}\n"
    assert d2.stop()[0] == 0 and lock_text(env) == ""


def test_lock_file_is_emptied_when_a_poll_in_flight_outlasts_the_stop(
    feed_server: FeedServer, env: Env, daemons: list[DaemonProcess]
) -> None:
    # A server that trickles a byte every 0.3 s: no read timeout, only the 3 x 2 s
    # deadline ends the fetch, later than the stop waits (2 s + 3 s).
    trickle = feed_server.route("/trickle", Reply(stream=endless(b" "), chunk_delay=0.3))
    env.write({"trickle": {"url": trickle, "timeout": "2s"}})
    d = start(daemons, env)
    wait_for(lambda: feed_server.requests_to("/trickle"), what="the trickling request")
    code, _ = d.stop(timeout=20)
    assert code == 0
    assert "poll(s) unfinished" in d.log
    assert lock_text(env) == ""


def test_first_digest_waits_for_the_first_round_of_polls(
    feed_server: FeedServer, env: Env, daemons: list[DaemonProcess], smtp: SmtpServer
) -> None:
    fast = feed_server.feed("/fast.xml", rss("f1", "Sora dated", "OpenAI will release Sora on 15 February 2024."))
    slow = feed_server.route(
        "/slow.xml",
        Reply(body=rss("s1", "Studios meet", "Hollywood studios will meet on 25 March 2024.").encode(), delay=3),
    )
    env.replace(
        f"database: sqlite:///{env.db}\n"
        "topics:\n"
        "  sora: {keywords: [Sora]}\n"
        "  hollywood: {keywords: [Hollywood]}\n"
        "feeds:\n"
        f"  - {{name: fast, url: '{fast}', interval: 1h, timeout: 10s}}\n"
        f"  - {{name: slow, url: '{slow}', interval: 1h, timeout: 10s}}\n"
        "digest:\n"
        "  to: [newsroom@example.com]\n"
        "  from: tracker@example.com\n"
        "  min_interval: 1s\n"
        f"  smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none, timeout: 3s}}\n"
    )
    d = start(daemons, env, "--digest-check-every", "0.5")
    wait_for(lambda: smtp.messages, what="the first digest")
    assert env.feed_row("slow").get("last_status") == "ok"  # it waited for the slow feed
    # With min_interval 1s and the digest timer every 0.5 s, a second digest for the slow
    # feed's development would be out by now.
    time.sleep(3)
    assert len(smtp.messages) == 1, [m.message["Subject"] for m in smtp.messages]
    body = smtp.messages[0].message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "15 February 2024" in text and "25 March 2024" in text
    assert "the first digest waits for the first polls of 2 feeds" in d.log
    assert d.stop()[0] == 0


def test_initial_round_is_the_feeds_due_at_start_and_is_bounded() -> None:
    now = datetime(2024, 3, 25, 12, 0, tzinfo=timezone.utc)
    due: dict[str, datetime | None] = {
        "new": now + timedelta(seconds=0.4),
        "overdue": now + timedelta(seconds=0.9),
        "later": now + timedelta(minutes=50),  # polled recently: not part of the round
        "gone": None,
    }
    timeouts = {"new": timedelta(seconds=20), "overdue": timedelta(seconds=5), "later": timedelta(seconds=5)}
    members, deadline = initial_round(due, timeouts, now=now, horizon=timedelta(seconds=2))
    assert members == {"new", "overdue"}
    # The longest a member's poll may take: its due time plus 3 x its timeout, plus a margin.
    assert deadline == now + timedelta(seconds=0.4 + 60) + ROUND_MARGIN
    assert initial_round({"later": due["later"]}, timeouts, now=now, horizon=timedelta(seconds=2)) == (frozenset(), None)
