"""Crash-safe polling with real processes: `tracker poll` killed with SIGKILL leaves no worker
process behind and nothing half-done that the next plain poll does not finish; workers import
the installed package whatever folder the command runs in.

Real parts only: the installed `tracker` command in subprocesses, a loopback HTTP server
(tests/feedserver.py) or local files, real SQLite files under tmp_path, /proc for processes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html import escape
from pathlib import Path
from typing import Any

import pytest

from demo_copy import timeline_json
from feedserver import FeedServer, Reply, wait_until

# The `tracker` console script of the interpreter running the tests (the project's venv).
TRACKER = str(Path(sys.executable).with_name("tracker"))

TOPICS = """topics:
  strikes:
    keywords: ["strike*", "union*", "walkout*"]
  studios:
    keywords: [Hollywood, "studio*"]
"""

# Ten stories, told by every feed in its own words: the same dates in many feeds, so the
# poll merges mentions of different feeds into events.
STORIES = [
    ("The writers union", "vote on the new studio contract"),
    ("The actors union", "begin a walkout at the Hollywood studios"),
    ("Hollywood studios", "meet the unions for a final round of talks"),
    ("The crew union", "decide on a strike at the studios"),
    ("The animation union", "present its demands to the studios"),
    ("Studio executives", "answer the strike threat in Los Angeles"),
    ("The musicians union", "join the walkout in Hollywood"),
    ("The stunt performers union", "hold a strike authorisation vote"),
    ("Hollywood studios", "publish their offer to the writers union"),
    ("The directors union", "open talks with the studios"),
]
VOICES = ["said", "reported", "confirmed", "announced", "wrote"]


def article(feed: int, n: int) -> tuple[str, str, str, str]:
    """(guid, title, body, pubDate) of entry n of feed number `feed`: dated, on-topic sentences."""
    who, what = STORIES[n % len(STORIES)]
    day = 2 + 2 * (n % len(STORIES))
    voice = VOICES[(feed + n) % len(VOICES)]
    body = (
        f"{who} will {what} on April {day}, 2024, people familiar with the plans {voice}. "
        f"The studio group said talks on the strike would resume on May {1 + n % 7}, 2024. "
        f"Outlet {feed} adds that picket lines outside the studios stay quiet for now."
    )
    title = f"{who} to {what} (outlet {feed}, item {n})"
    published = f"Sat, 23 Mar 2024 {n % 24:02d}:{feed % 60:02d}:00 +0000"
    return f"f{feed}-{n}", title, body, published


def feed_document(feed: int, entries: int, *, titles: dict[int, str] | None = None) -> str:
    """An RSS document of `entries` articles; `titles` replaces the titles of some of them."""
    items = []
    for n in range(entries):
        guid, title, body, published = article(feed, n)
        title = (titles or {}).get(n, title)
        items.append(
            f"<item><guid>{guid}</guid><title>{escape(title)}</title><link>https://news.test/{guid}</link>"
            f"<pubDate>{published}</pubDate><description>{escape(body)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Outlet {feed}</title><link>https://news.test/{feed}</link>{''.join(items)}</channel></rss>"
    )


def write_config(folder: Path, feeds: dict[str, str], *, timeout: str = "10s") -> Path:
    """feeds.yaml with the topics, a database in `folder` and these feeds (name -> URL or path)."""
    lines = [f"database: sqlite:///{folder / 'tracker.db'}", TOPICS.rstrip(), "feeds:"]
    for name, url in feeds.items():
        lines += [f"  - name: {name}", f"    url: {json.dumps(url)}", f"    timeout: {timeout}"]
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tracker_env() -> dict[str, str]:
    """The environment for the `tracker` subprocesses: the config decides the database."""
    return {k: v for k, v in os.environ.items() if k not in ("TRACKER_DATABASE_URL", "TRACKER_CONFIG")}


def stored_entries(database: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(database) as db:
        return sorted(db.execute(
            "SELECT feeds.name, entries.key, entries.content_hash FROM entries JOIN feeds ON feeds.id = entries.feed_id"
        ))


def pending_entries(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return int(db.execute("SELECT count(*) FROM entries WHERE needs_extraction").fetchone()[0])


def normalised_timeline(config: Path) -> list[tuple[Any, ...]]:
    """`tracker timeline --format json` without what depends on when or in which order
    things happened (ids, first_seen, updated, score)."""
    return sorted(
        (e["date"], e["mod"], e["start"], e["end"], e["granularity"], e["summary"], tuple(e["topics"]),
         e["sources"], e["outlets"], tuple(sorted((m["feed"], m["quote"]) for m in e["mentions"])))
        for e in timeline_json(config)
    )


# -- processes, from /proc --------------------------------------------------------------

def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name is in parentheses and may hold spaces: fields follow the last ')'.
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        table[int(name)] = (int(ppid), state)
    return table


def descendants(pid: int) -> dict[int, int]:
    """The live processes below `pid`, each with its depth (1: a child)."""
    children: dict[int, list[int]] = {}
    for child, (parent, state) in _process_table().items():
        if state != "Z":
            children.setdefault(parent, []).append(child)
    found: dict[int, int] = {}
    todo = [(pid, 0)]
    while todo:
        parent, depth = todo.pop()
        for child in children.get(parent, []):
            if child not in found:
                found[child] = depth + 1
                todo.append((child, depth + 1))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it is not: it runs nothing)."""
    state = _process_table().get(pid)
    return state is not None and state[1] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return "?"


def kill_and_check_no_orphans(proc: subprocess.Popen[bytes], family: dict[int, int]) -> None:
    """SIGKILL `proc`; every process of `family` must be gone within 5 s."""
    proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    proc.wait(timeout=10)
    gone = wait_until(lambda: not any(alive(p) for p in family), timeout=5.0)
    left = {p: cmdline(p) for p in family if alive(p)}
    for p in left:  # do not leave them to the next test
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert gone, f"alive {time.monotonic() - killed:.1f}s after the kill: {left}"


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
needs_pool = pytest.mark.skipif(
    (os.cpu_count() or 1) < 2, reason="tracker poll starts worker processes only with two or more cores"
)


# -- worker processes die with the poll -------------------------------------------------------

@needs_proc
@needs_pool
def test_killed_poll_leaves_no_worker_processes(feed_server: FeedServer, tmp_path: Path) -> None:
    feeds = {f"fast{i}": feed_server.feed(f"/fast{i}.xml", feed_document(i, 5)) for i in range(10)}
    # Feeds that answer only after the test is over keep the poll running with its pool.
    feeds |= {
        f"slow{i}": feed_server.route(f"/slow{i}.xml", Reply(body=feed_document(i, 2).encode(), delay=120))
        for i in range(10)
    }
    config = write_config(tmp_path, feeds, timeout="60s")
    proc = subprocess.Popen([TRACKER, "--config", str(config), "poll"], env=tracker_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Workers are the fork server's children: the poll's grandchildren.
        assert wait_until(lambda: any(depth >= 2 for depth in descendants(proc.pid).values()), timeout=60)
        # The fast feeds are parsed: the workers have run tasks, and now wait for more.
        assert wait_until(lambda: len(stored_entries(tmp_path / "tracker.db")) == 50, timeout=60)
        family = descendants(proc.pid)
        assert sum(depth >= 2 for depth in family.values()) >= 1, {p: cmdline(p) for p in family}
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    kill_and_check_no_orphans(proc, family)


@needs_proc
def test_killed_extract_leaves_no_worker_processes() -> None:
    proc = subprocess.Popen([TRACKER, "extract", "--jsonl", "--workers", "2", "-"], env=tracker_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None
    try:
        # Past the lines done in-process, the pool starts; stdin stays open, so it waits for more.
        line = json.dumps({"id": 1, "text": "The union votes on May 2, 2024."}) + "\n"
        proc.stdin.write(line.encode() * 400)
        proc.stdin.flush()
        assert wait_until(lambda: len(descendants(proc.pid)) >= 2, timeout=60)
        family = descendants(proc.pid)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    kill_and_check_no_orphans(proc, family)
    proc.stdin.close()


# -- workers import the installed package -------------------------------------------------------

@needs_pool
def test_workers_import_the_installed_package_from_any_folder(tmp_path: Path) -> None:
    # A folder with a tracker/ of its own, as a checkout of another project might have.
    folder = tmp_path / "elsewhere"
    (folder / "tracker").mkdir(parents=True)
    (folder / "tracker" / "__init__.py").write_text('raise SystemExit("wrong tracker imported")\n', encoding="utf-8")
    feeds = {}
    for i in range(10):  # enough feeds for the worker processes
        path = tmp_path / f"outlet{i}.xml"
        path.write_text(feed_document(i, 5), encoding="utf-8")
        feeds[f"outlet{i}"] = str(path)
    config = write_config(tmp_path, feeds)
    proc = subprocess.run([TRACKER, "--config", str(config), "poll"], cwd=folder, env=tracker_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # No fallback to in-thread parsing either: that would say "worker processes cannot run here".
    for sign in ("Traceback", "Error", "wrong tracker", "worker process"):
        assert sign not in proc.stderr, proc.stderr
    assert proc.stdout.count(": ok, 5 new") == 10, proc.stdout
    database = tmp_path / "tracker.db"
    assert len(stored_entries(database)) == 50 and pending_entries(database) == 0
    assert normalised_timeline(config)  # the workers extracted events


# -- kill -9 at random points, then one plain poll -------------------------------------------------

FEEDS, ENTRIES = 30, 6


def _poll(config: Path) -> None:
    proc = subprocess.run([TRACKER, "--config", str(config), "poll"], env=tracker_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "not extracted" not in proc.stdout and "not merged" not in proc.stdout, proc.stdout


def _watched_poll(config: Path) -> tuple[float, float]:
    """`tracker poll` to the end; (seconds until its first entries were stored, seconds in all)."""
    database = config.parent / "tracker.db"
    started = time.monotonic()
    proc = subprocess.Popen([TRACKER, "--config", str(config), "poll"], env=tracker_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: _count(database) > 0 or proc.poll() is not None, timeout=120)
    first = time.monotonic() - started
    assert proc.wait(timeout=120) == 0
    return first, time.monotonic() - started


def _killed_poll(config: Path, until: Callable[[], bool]) -> None:
    """Start `tracker poll` and SIGKILL it once `until()` holds."""
    proc = subprocess.Popen([TRACKER, "--config", str(config), "poll"], env=tracker_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: until() or proc.poll() is not None, timeout=60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


def _count(database: Path, where: str = "1") -> int:
    try:
        with sqlite3.connect(database) as db:
            return int(db.execute(f"SELECT count(*) FROM entries WHERE {where}").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created yet, or its schema is still being made


def test_kill_at_random_points_then_one_plain_poll(feed_server: FeedServer, tmp_path: Path) -> None:
    # With ETags, as most servers: the poll after the kill gets a 304 for feeds stored before it.
    feeds = {
        f"outlet{i}": feed_server.feed(f"/outlet{i}.xml", feed_document(i, ENTRIES), etag=f'"v{i}"')
        for i in range(FEEDS)
    }
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    reference = write_config(reference_dir, feeds)
    first, took = _watched_poll(reference)
    expected_entries = stored_entries(reference_dir / "tracker.db")
    expected_timeline = normalised_timeline(reference)
    assert len(expected_entries) == FEEDS * ENTRIES
    assert len(expected_timeline) >= len(STORIES)
    assert max(e[7] for e in expected_timeline) > 1  # events from several feeds

    # Three kills, at random points of the part of a poll that writes (before it, a poll
    # only starts up): at a random time, after a random number of entries were stored, and
    # while entries are stored but not merged yet (a poll merges a little after storing).
    # The trials run side by side, each with its own database: most of a poll's time is
    # waiting for processes to start.
    rng = random.Random(20240323)
    delay = first + rng.random() * (took - first)
    stored = rng.randrange(1, FEEDS) * ENTRIES
    plans: list[tuple[str, Callable[[Path], Callable[[], bool]]]] = [
        (f"killed {delay:.2f}s after its start", lambda db: _after(delay)),
        (f"killed after {stored} entries were stored", lambda db: lambda: _count(db) >= stored),
        ("killed with entries stored, not merged", lambda db: lambda: _count(db, "needs_extraction") > 0),
    ]

    def trial(n: int) -> tuple[Path, str, int]:
        label, plan = plans[n]
        folder = tmp_path / f"trial{n}"
        folder.mkdir()
        config = write_config(folder, feeds)
        database = folder / "tracker.db"
        _killed_poll(config, plan(database))
        left = _count(database, "needs_extraction")
        _poll(config)  # one plain poll: no reprocess
        return config, label, left

    with ThreadPoolExecutor(max_workers=len(plans)) as pool:
        trials = list(pool.map(trial, range(len(plans))))
    assert trials[-1][2] > 0, "the kill came too late to leave entries unmerged"
    for config, label, left in trials:
        database = config.parent / "tracker.db"
        assert pending_entries(database) == 0, label
        assert stored_entries(database) == expected_entries, label
        assert normalised_timeline(config) == expected_timeline, f"{label} ({left} entries were pending)"


def _after(seconds: float) -> Callable[[], bool]:
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() >= deadline


# -- the daemon's polls finish it too ----------------------------------------------------------

def test_a_daemon_poll_first_finishes_what_a_crash_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon polls one feed per job (poll_feed): each first finishes its feed's entries
    left unmerged, so no `reprocess` and no wait for the daemon's periodic retry."""
    from tracker.app import make_tracker
    from tracker.config import load_config
    from tracker.poll import poll_feed

    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    feeds = {}
    for i in range(3):
        path = tmp_path / f"outlet{i}.xml"
        path.write_text(feed_document(i, 5), encoding="utf-8")
        feeds[f"outlet{i}"] = str(path)
    config = write_config(tmp_path, feeds)
    database = tmp_path / "tracker.db"
    with make_tracker(load_config(config), processes=0) as tracker:
        assert all(poll_feed(tracker, feed).status == "ok" for feed in tracker.feeds())
    expected = normalised_timeline(config)
    assert expected
    # What a kill between storing and merging leaves: entries stored, marked, not merged.
    with sqlite3.connect(database) as db:
        for table in ("mentions", "event_topics", "events_fts", "events"):
            db.execute(f"DELETE FROM {table}")
        db.execute("UPDATE entries SET needs_extraction = 1")
    assert normalised_timeline(config) == []
    with make_tracker(load_config(config), processes=0) as tracker:
        results = [poll_feed(tracker, feed) for feed in tracker.feeds()]
    # Nothing new to fetch (the files did not change), yet events changed: the catch-up's.
    assert [(r.status, r.warning) for r in results] == [("not-modified", None)] * 3
    assert all(r.events_changed > 0 for r in results)
    assert pending_entries(database) == 0
    assert normalised_timeline(config) == expected
