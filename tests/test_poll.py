"""`tracker poll` end to end: a loopback HTTP server, a real SQLite file, the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from feedserver import FeedServer, Reply, gzip_bomb
from tracker.app import make_tracker
from tracker.cli import cli
from tracker.config import load_config
from tracker.clock import to_aware_utc
from tracker.policy import JITTER_FRACTION
from tracker.store import Entry, Feed

ROOT = Path(__file__).resolve().parents[1]


def rss(*items: tuple[str, str, str], ttl: int | None = None) -> str:
    """An RSS document of (guid, title, body) items."""
    parts = [
        f"<item><guid>{guid}</guid><title>{title}</title><link>https://news.test/{guid}</link>"
        f"<pubDate>Sat, 23 Mar 2024 09:30:00 +0000</pubDate><description>{body}</description></item>"
        for guid, title, body in items
    ]
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://news.test/</link>{ttl_tag}{''.join(parts)}</channel></rss>"
    )


ONE = rss(("a1", "First", "Alpha body."))
TWO = rss(("a1", "First", "Alpha body."), ("a2", "Second", "Beta body."))


@pytest.fixture
def make_config(tmp_path: Path, database_url: str) -> Callable[..., Path]:
    """feeds.yaml in tmp_path, on each backend (database_url)."""

    def make(feeds: dict[str, str], extra: str = "") -> Path:
        lines = [f"database: {database_url}", "feeds:"]
        for name, url in feeds.items():
            lines += [f"  - name: {name}", f"    url: {url}", "    timeout: 2s"]
        path = tmp_path / "feeds.yaml"
        path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
        return path

    return make


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def entry_count(config: Path) -> int:
    tracker = make_tracker(load_config(config))
    with tracker.store.read() as s:
        n = s.scalar(select(func.count()).select_from(Entry)) or 0
    tracker.close()
    return n


def health(config: Path) -> dict[str, dict[str, object]]:
    code, out, _ = run(config, "feeds", "--format", "json")
    assert code == 0
    return {f["name"]: f for f in json.loads(out)}


def test_poll_stores_then_conditional_get_costs_nothing(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    url = feed_server.feed("/f.xml", ONE, etag='"v1"')
    config = make_config({"news": url})
    code, out, _ = run(config, "poll")
    assert code == 0 and "news: ok, 1 new, 0 updated, 0 unchanged" in out
    code, out, _ = run(config, "poll")
    assert code == 0 and "news: not modified" in out
    second = feed_server.requests_to("/f.xml")[1]
    assert second.headers["if-none-match"] == '"v1"'
    assert second.headers["user-agent"].startswith("tracker/")
    h = health(config)["news"]
    assert (h["entries"], h["last_status"], h["last_error"], h["consecutive_errors"]) == (1, "not-modified", None, 0)
    assert h["next_due"] is not None


def test_new_and_edited_entries_are_never_duplicated(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    url = feed_server.feed("/f.xml", ONE)
    config = make_config({"news": url})
    run(config, "poll")
    feed_server.feed("/f.xml", rss(("a1", "First", "Alpha body, edited."), ("a2", "Second", "Beta body.")))
    code, out, _ = run(config, "poll")
    assert "1 new, 1 updated, 0 unchanged" in out
    code, out, _ = run(config, "poll")
    assert "0 new, 0 updated, 2 unchanged" in out
    assert entry_count(config) == 2
    tracker = make_tracker(load_config(config))
    with tracker.store.read() as s:
        texts = sorted(s.scalars(select(Entry.text)))
    tracker.close()
    assert texts == ["Alpha body, edited.", "Beta body."]


def test_one_failing_feed_loses_nothing_else(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    config = make_config(
        {
            "good": feed_server.feed("/good.xml", TWO),
            "missing": feed_server.url("/missing.xml"),
            "broken": feed_server.route("/500", Reply(status=500, body=b"oops", content_type="text/plain")),
            "html": feed_server.feed("/page", "<html><body><p>Not a feed</p></body></html>", content_type="text/html"),
        }
    )
    code, out, err = run(config, "poll")
    assert code == 1
    assert "good: ok, 2 new" in out
    assert "missing: error: HTTP 404" in err
    assert "broken: error: HTTP 500" in err
    assert "html: error:" in err
    assert "Traceback" not in out + err
    assert entry_count(config) == 2
    h = health(config)
    assert h["missing"]["consecutive_errors"] == 1 and h["missing"]["last_status"] == "error"
    assert "404" in str(h["missing"]["last_error"])


def test_gone_feed_is_retired(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    config = make_config({"old": feed_server.route("/old", Reply(status=410, content_type=None))})
    code, _, err = run(config, "poll")
    assert code == 1 and "old: gone" in err
    code, _, err = run(config, "poll")
    assert "old: gone" in err
    assert len(feed_server.requests_to("/old")) == 1
    assert health(config)["old"]["last_status"] == "gone"


def test_retry_after_pushes_next_due(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    config = make_config(
        {"busy": feed_server.route("/busy", Reply(status=429, headers={"Retry-After": "3600"}, content_type=None))}
    )
    before = datetime.now(timezone.utc)
    code, _, err = run(config, "poll")
    assert code == 1 and "busy: error" in err
    h = health(config)["busy"]
    due = datetime.fromisoformat(str(h["next_due"]).replace("Z", "+00:00"))
    assert (due - before).total_seconds() >= 3590


def test_permanent_redirect_moves_after_three_polls(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    new_url = feed_server.feed("/new.xml", ONE)
    old_url = feed_server.redirect("/old.xml", "/new.xml", status=301)
    config = make_config({"moved": old_url})
    for expected in (old_url, old_url, new_url):
        code, _, _ = run(config, "poll")
        assert code == 0
    assert health(config)["moved"]["url"] == new_url
    run(config, "poll")
    assert len(feed_server.requests_to("/old.xml")) == 3
    assert entry_count(config) == 1


def test_temporary_redirect_does_not_move(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    feed_server.feed("/new.xml", ONE)
    old_url = feed_server.redirect("/old.xml", "/new.xml", status=302)
    config = make_config({"moved": old_url})
    for _ in range(4):
        run(config, "poll")
    assert health(config)["moved"]["url"] == old_url


def test_gzip_bomb_is_an_error_not_a_crash(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    bomb = feed_server.route(
        "/bomb", Reply(body=gzip_bomb(20 * 2**20), headers={"Content-Encoding": "gzip"}, content_type="application/rss+xml")
    )
    config = make_config({"bomb": bomb, "good": feed_server.feed("/good.xml", ONE)})
    code, out, err = run(config, "poll")
    assert code == 1
    assert "bomb: error:" in err and "larger than" in err
    assert "good: ok, 1 new" in out


def test_poll_named_feed_and_unknown_name(feed_server: FeedServer, make_config: Callable[..., Path]) -> None:
    config = make_config({"a": feed_server.feed("/a.xml", ONE), "b": feed_server.feed("/b.xml", TWO)})
    code, out, _ = run(config, "poll", "--feed", "b")
    assert code == 0 and "b: ok, 2 new" in out and "a:" not in out
    code, _, err = run(config, "poll", "--feed", "zzz")
    assert code == 2 and "no feed named 'zzz'" in err


def test_bad_config_through_the_real_entry_point(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds:\n  - url: https://a.test/f\n    interval: 5 minutes\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "--config", str(config), "poll"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == 'tracker: error: feeds.yaml: feeds[0].interval: "5 minutes" is not a duration (use 5m)'


def test_version_and_db_commands(tmp_path: Path, make_config: Callable[..., Path], database_url: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "tracker", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("tracker, version ")
    config = make_config({"a": str(ROOT / "samples" / "techwire.xml")})
    code, out, err = run(config, "db", "current")
    if database_url.startswith("sqlite"):
        database = tmp_path / "tracker.db"
        assert code == 2 and out == ""
        assert err.strip() == f"tracker: error: no database at {database} (run tracker poll or tracker db upgrade first)"
        assert not database.exists()
    else:
        # A PostgreSQL database is created on the server (createdb); tracker makes the tables.
        assert code == 0 and out.startswith("current: empty; head: "), err
    code, out, _ = run(config, "db", "upgrade")
    assert code == 0 and out.startswith("database at revision ")
    code, out, _ = run(config, "db", "current")
    assert "up to date" in out


def test_local_files_and_missing_file(tmp_path: Path, make_config: Callable[..., Path]) -> None:
    (tmp_path / "local.xml").write_text(TWO, encoding="utf-8")
    config = make_config({"local": "local.xml", "nofile": "nope.xml"})
    code, out, err = run(config, "poll")
    assert code == 1 and "local: ok, 2 new" in out and "nofile: error:" in err


@pytest.mark.parametrize("reply", ["ok", "error"])
def test_the_next_poll_is_an_interval_after_the_servers_answer(
    feed_server: FeedServer, make_config: Callable[..., Path], reply: str
) -> None:
    """A poll whose request went out late (here the clock moves an hour once the server has
    been asked) is due again an interval after the answer, not after the poll's start:
    otherwise another daemon could poll the feed less than an interval after the request."""
    route = feed_server.feed("/late.xml", ONE) if reply == "ok" else feed_server.route(
        "/late.xml", Reply(status=503, content_type=None)
    )
    config = make_config({"late": route})
    start = datetime(2024, 3, 25, 12, 0, tzinfo=timezone.utc)
    answered = start + timedelta(hours=1)

    def clock() -> datetime:
        return answered if feed_server.requests_to("/late.xml") else start

    tracker = make_tracker(load_config(config), clock=clock)
    try:
        tracker.poll()
        interval = tracker.config.feeds[0].interval
        with tracker.store.read() as s:
            due = s.scalar(select(Feed.next_due).where(Feed.name == "late"))
    finally:
        tracker.close()
    assert due is not None
    assert to_aware_utc(due) >= answered + interval * (1 - JITTER_FRACTION)
