"""`tracker daemon` as a real subprocess under storage and config faults (issue 18): a lost
database or lock file stops it with one line; a lock file that cannot be written is one
line; no config file, however hostile, stops it."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from feedserver import FeedServer, Reply, Request, Route
from test_daemon import DEADLINE, DaemonProcess, Env, daemons, rss, start, wait_for  # noqa: F401  (fixture)
from tracker.app import make_tracker
from tracker.config import load_config
from tracker.poll import PollResult
from tracker.scheduler import Daemon

# Exit code of a storage failure (docs/interface.md: 1, the command ran but something failed).
STORAGE_FAILED = 1
# "Within a few seconds": the daemon checks its files every second; the rest is slack for
# a loaded machine.
NOTICE_WITHIN = 10.0
# A failed reload is one line; the message part is cut to about 200 characters.
MAX_MESSAGE = 200


@pytest.fixture
def env(tmp_path: Path) -> Env:
    """The database in its own folder, so that the folder can go without the daemon's log."""
    e = Env(tmp_path)
    e.db = tmp_path / "sub" / "tracker.db"
    return e


def lock_of(env: Env) -> Path:
    return Path(str(env.db) + ".lock")


def titles_in(db: Path) -> set[str]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return {row[0] for row in con.execute("SELECT title FROM entries")}
    finally:
        con.close()


def running_after_first_poll(
    feed_server: FeedServer, env: Env, daemons: list[DaemonProcess], route: Route | None = None
) -> DaemonProcess:
    url = feed_server.route("/news.xml", route) if route else feed_server.feed("/news.xml", rss(("a1", "First")))
    env.write({"news": {"url": url, "interval": "1s"}})
    d = start(daemons, env, "--check-config-every", "3600")
    # Its line is logged once the poll is done, events merged included.
    wait_for(lambda: "news: ok, 1 new" in d.log, what="the first poll")
    assert env.entry_titles("news") == {"First"}
    return d


class HeldFeed:
    """"First", then answers held until `release` that add "Second": a poll in flight
    across the fault, whose write only the check before its commit can stop."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, _request: Request) -> Reply:
        self.calls += 1
        if self.calls == 1:
            return Reply(body=rss(("a1", "First")).encode())
        self.release.wait(timeout=DEADLINE)
        return Reply(body=rss(("a1", "First"), ("a2", "Second")).encode())


@pytest.fixture
def held() -> Iterator[HeldFeed]:
    feed = HeldFeed()
    yield feed
    feed.release.set()  # no server thread left waiting


def stopped_with(d: DaemonProcess, since: float) -> tuple[int, float, str]:
    """The exit code, the seconds since the fault, and the last line of the daemon's stderr."""
    try:
        code = d.proc.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the daemon did not stop:\n{d.log}")
    took = time.monotonic() - since
    log = d.log
    assert "Traceback" not in log, log
    return code, took, log.strip().splitlines()[-1]


# -- the database or its lock file goes while the daemon runs ----------------------------------


def test_deleted_database_folder_stops_the_daemon_and_nothing_is_polled_into_it(
    feed_server: FeedServer, env: Env, daemons: list[DaemonProcess], held: HeldFeed, tmp_path: Path
) -> None:
    d = running_after_first_poll(feed_server, env, daemons, held)
    wait_for(lambda: held.calls >= 2, what="the second poll to be in flight")
    # Second names for the files about to be unlinked: what the daemon might still write
    # into them stays readable here.
    kept = tmp_path / "kept.db"
    os.link(env.db, kept)
    wal = Path(str(env.db) + "-wal")
    if wal.exists():
        os.link(wal, Path(str(kept) + "-wal"))

    deleted = time.monotonic()
    shutil.rmtree(env.db.parent)
    held.release.set()
    code, took, last = stopped_with(d, deleted)

    assert code == STORAGE_FAILED
    assert last == (
        f"tracker: error: the database file {env.db} was deleted while the daemon ran; "
        "stopped so that nothing is written into a lost file"
    )
    assert took < NOTICE_WITHIN
    assert "news: error: the database file" in d.log  # the poll in flight was refused
    assert not env.db.parent.exists()  # nothing made again at the path
    assert titles_in(kept) == {"First"}  # the new entry went nowhere, not into the lost file


def test_replaced_database_file_stops_the_daemon(
    feed_server: FeedServer, env: Env, daemons: list[DaemonProcess], held: HeldFeed, tmp_path: Path
) -> None:
    d = running_after_first_poll(feed_server, env, daemons, held)
    wait_for(lambda: held.calls >= 2, what="the second poll to be in flight")
    copy = tmp_path / "copy.db"
    source, target = sqlite3.connect(env.db), sqlite3.connect(copy)
    try:
        source.backup(target)  # a consistent copy, committed WAL frames included
    finally:
        source.close()
        target.close()

    replaced = time.monotonic()
    os.replace(copy, env.db)
    held.release.set()
    code, took, last = stopped_with(d, replaced)

    assert code == STORAGE_FAILED
    assert last == (
        f"tracker: error: the database file {env.db} was replaced by another file while the daemon ran; "
        "stopped so that nothing is written into a lost file"
    )
    assert took < NOTICE_WITHIN
    assert "news: error: the database file" in d.log
    assert titles_in(env.db) == {"First"}  # nor into the file that took its place


def test_deleted_lock_file_stops_the_daemon(feed_server: FeedServer, env: Env, daemons: list[DaemonProcess]) -> None:
    d = running_after_first_poll(feed_server, env, daemons)

    deleted = time.monotonic()
    lock_of(env).unlink()
    code, took, last = stopped_with(d, deleted)

    assert code == STORAGE_FAILED
    assert last == (
        f"tracker: error: the lock file {lock_of(env)} was deleted while the daemon ran; "
        "stopped as a second daemon could now start on the same database"
    )
    assert took < NOTICE_WITHIN
    assert env.entry_titles("news") == {"First"}  # the database itself is untouched


# -- a lock file that cannot be written at start -----------------------------------------------


def test_lock_file_on_a_full_device_is_one_line(env: Env) -> None:
    # A real ENOSPC without filling a disk: the lock path leads to /dev/full, where every
    # write fails with "No space left on device" (for root too).
    env.write({"news": {"url": "http://127.0.0.1:9/news.xml"}})
    env.db.parent.mkdir()
    lock_of(env).symlink_to("/dev/full")

    result = env.cli("daemon")

    assert result.returncode == STORAGE_FAILED
    assert result.stderr.splitlines() == [
        f"tracker: error: cannot write the lock file {lock_of(env)}: No space left on device"
    ]
    assert not env.db.exists()  # refused before the database was created


def test_lock_file_whose_folder_is_a_file_is_one_line(env: Env) -> None:
    # A real fault that holds for root too (permissions do not stop root): the folder of
    # the database is a regular file, so the lock file cannot be created.
    env.write({"news": {"url": "http://127.0.0.1:9/news.xml"}})
    env.db.parent.write_text("not a folder")

    result = env.cli("daemon")

    assert result.returncode == STORAGE_FAILED
    [line] = result.stderr.splitlines()
    # The folder cannot be made ("File exists") or entered ("Not a directory"): either way, one line.
    assert line.startswith(f"tracker: error: cannot create the lock file {lock_of(env)}: "), line
    assert "Traceback" not in result.stderr


# -- a reload that fails keeps the running config ----------------------------------------------


def alias_bomb() -> str:
    """Billion laughs in a feed's interval: nine levels of nine references, 9**9 leaves."""
    levels = ['&a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"&{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "[" + ", ".join(levels) + "]"


def break_config(env: Env, case: str) -> None:
    head = f"database: sqlite:///{env.db}\n"
    if case == "deep":
        env.replace(head + "feeds: " + "[" * 10_000 + "]" * 10_000 + "\n")
    elif case == "bomb":
        bomb = alias_bomb()
        assert len(bomb) < 700, len(bomb)
        env.replace(head + f"feeds:\n  - name: news\n    url: http://127.0.0.1:9/x\n    interval: {bomb}\n")
    elif case == "binary":
        tmp = env.config.with_suffix(".tmp")
        tmp.write_bytes(random.Random(18).randbytes(4096))
        tmp.replace(env.config)
    elif case == "directory":
        env.config.unlink()
        env.config.mkdir()
    else:
        raise AssertionError(case)


@pytest.mark.parametrize("case", ["deep", "bomb", "binary", "directory"])
def test_a_reload_that_fails_keeps_the_daemon_and_its_config(
    feed_server: FeedServer, env: Env, daemons: list[DaemonProcess], case: str
) -> None:
    d = running_after_first_poll(feed_server, env, daemons)

    break_config(env, case)
    d.send(signal.SIGHUP)
    # Generous: until load_config bounds depth and aliases, these two are slow to fail.
    wait_for(lambda: "config not reloaded" in d.log or d.proc.poll() is not None, timeout=20, what="the failed reload")

    assert d.proc.poll() is None, d.log
    log = d.log
    assert "Traceback" not in log, log
    errors = [line for line in log.splitlines() if "config not reloaded" in line]
    assert len(errors) == 1, log
    message = errors[0].partition("keeping the previous one: ")[2]
    assert 0 < len(message) <= MAX_MESSAGE, errors[0]
    # Still polling with the running config: a new entry is stored.
    feed_server.feed("/news.xml", rss(("a1", "First"), ("a2", "Second")))
    wait_for(lambda: env.entry_titles("news") == {"First", "Second"}, what="the next poll to be stored")
    code, _ = d.stop()
    assert code == 0 and "Traceback" not in d.log


def test_a_reload_that_fails_half_way_is_undone(tmp_path: Path) -> None:
    """A failure after the new config reached the database and some jobs (here an interval
    no schedule can hold, past what load_config lets through) leaves the running config,
    its feed rows and its jobs as they were."""
    (tmp_path / "local.xml").write_text(rss(("l1", "Local")), encoding="utf-8")
    config_path = tmp_path / "feeds.yaml"
    config_path.write_text(
        f"database: sqlite:///{tmp_path / 'tracker.db'}\nfeeds:\n  - name: local\n    url: local.xml\n    interval: 1h\n",
        encoding="utf-8",
    )
    config = load_config(config_path)
    local = config.feed("local")
    tracker = make_tracker(config)
    daemon = Daemon(tracker, poll=lambda _t, cfg: PollResult(cfg.name, "ok"))
    try:
        daemon.start()
        before = daemon.scheduled()
        broken = replace(
            config,
            feeds=(
                replace(local, url=local.url + ".moved", interval=timedelta.max),
                replace(local, name="added", url=local.url + ".added"),
            ),
        )
        with pytest.raises(OverflowError):
            daemon._apply(broken)
        assert tracker.config is config
        assert daemon.scheduled().keys() == before.keys() == {"local"}
        assert tracker.store.feed_state("local").url == local.url
    finally:
        daemon.stop()
        tracker.close()
