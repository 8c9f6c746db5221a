"""Output that fits people and pipes, through the real CLI: table widths, poll lines as each
feed finishes, progress on a terminal only, --order, -q/-v after the command, the Atom
feed's id and self link, and nothing but HTML from `digest preview --html`."""

from __future__ import annotations

import csv
import io
import os
import pty
import re
import sqlite3
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner, Result

from demo_copy import copy_samples, polled_samples, timeline_json
from feedserver import FeedServer, Reply
from test_digest_support import (  # noqa: F401  (fixtures)
    SmtpServer,
    add_event,
    open_tracker,
    smtp,
    story,
    write_config,
)
from tracker.cli import cli
from tracker.digest import DigestNotSent, send

_SCRIPT = Path(sys.executable).with_name("tracker")
ATOM = "http://www.w3.org/2005/Atom"
# The console script of this environment, as users run it; `python -m tracker` otherwise.
TRACKER = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "tracker"]


def invoke(config: Path, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], env=env)


def rss(*items: tuple[str, str, str]) -> str:
    """An RSS document of (guid, title, body) items published on 23 March 2024."""
    parts = [
        f"<item><guid>{guid}</guid><title>{title}</title><link>https://news.test/{guid}</link>"
        f"<pubDate>Sat, 23 Mar 2024 09:30:00 +0000</pubDate><description>{body}</description></item>"
        for guid, title, body in items
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://news.test/</link>{''.join(parts)}</channel></rss>"
    )


NO_PAGES = "defaults:\n  full_text: never\n"


def write_feeds(tmp_path: Path, feeds: Mapping[str, str], extra: str = "") -> Path:
    lines = [f"database: sqlite:///{tmp_path / 'tracker.db'}", "feeds:"]
    for name, url in feeds.items():
        lines += [f"  - name: {name}", f"    url: {url}", "    timeout: 10s"]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def quiet_env() -> dict[str, str]:
    """The environment for a subprocess, without a COLUMNS of the shell running the tests."""
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    env.pop("TRACKER_DATABASE_URL", None)
    return env


def with_tty_stderr(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    """Run tracker with stderr on a pseudo-terminal and stdout on a pipe: (code, stdout, terminal)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*TRACKER, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=quiet_env()
    )
    os.close(slave)
    seen = []
    try:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: every copy of the terminal's other end is closed
                break
            if not data:
                break
            seen.append(data)
        assert proc.stdout is not None
        out = proc.stdout.read()
        code = proc.wait(timeout=timeout)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, out.decode("utf-8"), b"".join(seen).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """samples/ copied to a temp folder and polled once; returns the config path."""
    return polled_samples(tmp_path_factory.mktemp("demo"))


# -- 1. tables take the width they are given ------------------------------------------------


@pytest.mark.parametrize("columns", [60, 80, 150])
def test_timeline_table_takes_columns_in_a_pipe_and_never_cuts_ids(demo: Path, columns: int) -> None:
    ids = [e["id"] for e in timeline_json(demo)]
    result = invoke(demo, "timeline", env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.rstrip("\n").split("\n")
    assert lines[0].split() == ["ID", "WHEN", "SUMMARY", "TOPICS", "SOURCES"]
    assert [line.split()[0] for line in lines[1:]] == ids
    # Every row fills the width exactly (SOURCES sits at the right edge).
    assert {len(line) for line in lines[1:]} == {columns}
    if columns == 60:
        assert sum("…" in line for line in lines) >= 2  # the summaries gave way


def test_timeline_table_defaults_to_80_columns_and_keeps_ids_when_too_narrow(demo: Path, tmp_path: Path) -> None:
    ids = [e["id"] for e in timeline_json(demo)]
    plain = invoke(demo, "timeline", env={"COLUMNS": None})
    assert {len(line) for line in plain.stdout.rstrip("\n").split("\n")[1:]} == {80}
    narrow = invoke(demo, "timeline", env={"COLUMNS": "30"})
    assert [line.split()[0] for line in narrow.stdout.rstrip("\n").split("\n")[1:]] == ids
    # A file is no terminal either: $COLUMNS decides.
    out = tmp_path / "timeline.txt"
    assert invoke(demo, "timeline", "--format", "table", "-o", str(out), env={"COLUMNS": "70"}).exit_code == 0
    assert {len(line) for line in out.read_text(encoding="utf-8").rstrip("\n").split("\n")[1:]} == {70}


def test_feeds_table_never_cuts_names_and_the_url_takes_what_is_left(tmp_path: Path) -> None:
    name = "a-feed-with-a-rather-long-name"
    url = "https://example.test/" + "section/" * 5 + "feed.xml"
    config = write_feeds(tmp_path, {name: url, "short": "https://example.test/s.xml"})
    assert invoke(config, "db", "upgrade").exit_code == 0

    def table(columns: int) -> list[str]:
        result = invoke(config, "feeds", env={"COLUMNS": str(columns)})
        assert result.exit_code == 0, result.output
        return result.stdout.rstrip("\n").split("\n")

    wide = table(200)
    assert wide[0].split()[-1] == "URL" and any(line.startswith(name + " ") and line.endswith(url) for line in wide)
    middle = table(120)
    row = next(line for line in middle if line.startswith(name + " "))
    assert len(row) == 120 and row.endswith("…") and url not in row
    narrow = table(60)
    assert "URL" not in narrow[0].split()  # no room worth having: left out, not cut to a stub
    assert any(line.startswith(name + " ") for line in narrow)


# -- 2. poll lines as feeds finish ----------------------------------------------------------


def test_poll_prints_each_feed_when_it_finishes(feed_server: FeedServer, tmp_path: Path) -> None:
    fast = feed_server.feed("/fast.xml", rss(("f1", "Fast", "Fast body.")))
    slow = feed_server.route("/slow.xml", Reply(body=rss(("s1", "Slow", "Slow body.")).encode(), delay=3))
    # Article pages (their links lead nowhere) would add a full-text line per feed at the end.
    config = write_feeds(tmp_path, {"fast": fast, "slow": slow}, NO_PAGES)
    proc = subprocess.Popen(
        [*TRACKER, "--config", str(config), "poll"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=quiet_env(),
    )
    assert proc.stdout is not None
    lines: list[tuple[float, str, int | None]] = []
    while line := proc.stdout.readline():
        lines.append((time.monotonic(), line.rstrip("\n"), proc.poll()))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    [(t_fast, first, running), (t_slow, second, _)] = lines
    assert first.startswith("fast: ok, 1 new") and second.startswith("slow: ok, 1 new")
    # The fast feed's line came while the slow feed was still being fetched.
    assert running is None and t_slow - t_fast > 1.5


# -- 3. progress on a terminal only ---------------------------------------------------------


def test_progress_only_on_a_terminal(feed_server: FeedServer, tmp_path: Path) -> None:
    a = feed_server.feed("/a.xml", rss(("a1", "A", "A body."), ("a2", "A2", "More.")))
    b = feed_server.route("/b.xml", Reply(body=rss(("b1", "B", "B body.")).encode(), delay=1))
    config = write_feeds(tmp_path, {"a": a, "b": b}, NO_PAGES)

    code, out, terminal = with_tty_stderr("--config", str(config), "poll")
    assert code == 0, terminal
    assert "polled 1/2 feeds" in terminal and "polled 2/2 feeds" in terminal and "\r" in terminal
    assert "polled" not in out and out.count("\n") == 2  # stdout has the lines, nothing else
    code, out, terminal = with_tty_stderr("--config", str(config), "reprocess")
    assert code == 0, terminal
    assert "reprocessed 3/3 entries" in terminal and out.startswith("reprocessed 3 entries")
    # -q: only problems, and progress is not one.
    code, out, terminal = with_tty_stderr("--config", str(config), "poll", "-q")
    assert code == 0 and out == "" and "polled" not in terminal

    # On pipes: nothing but the lines.
    piped = subprocess.run([*TRACKER, "--config", str(config), "poll"], capture_output=True, text=True,
                           env=quiet_env(), timeout=60)
    assert piped.returncode == 0 and piped.stderr == "" and piped.stdout.count("\n") == 2
    for command in ("poll", "reprocess"):
        result = invoke(config, command)
        assert result.exit_code == 0 and "/2 " not in result.stderr and "/3 " not in result.stderr
        assert "\r" not in result.output


# -- 4. --order ------------------------------------------------------------------------------


def test_order_newest_in_every_format_that_has_an_order(demo: Path) -> None:
    oldest = [e["id"] for e in timeline_json(demo)]
    newest = oldest[::-1]
    assert len(oldest) >= 3
    assert [e["id"] for e in timeline_json(demo, "--order", "newest")] == newest
    # With a limit, newest keeps the latest events.
    assert [e["id"] for e in timeline_json(demo, "--order", "newest", "--limit", "2")] == newest[:2]

    def ids(fmt: str, *args: str) -> list[str]:
        result = invoke(demo, "timeline", "--format", fmt, *args, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        text = result.stdout
        if fmt == "table":
            return [line.split()[0] for line in text.rstrip("\n").split("\n")[1:]]
        if fmt == "csv":
            return [row["id"] for row in csv.DictReader(io.StringIO(text))]
        if fmt == "html":
            return re.findall(r'<li id="ev-([^"]+)"', text)
        assert fmt == "atom"
        return [e.id.removeprefix("urn:tracker:event:") for e in feedparser.parse(text).entries]

    for fmt in ("table", "csv", "html", "atom"):
        assert ids(fmt) == oldest, fmt
        assert ids(fmt, "--order", "newest") == newest, fmt
    assert invoke(demo, "timeline", "--order", "latest").exit_code == 2


# -- 5. -q and -v after the command ----------------------------------------------------------


def test_quiet_and_verbose_after_the_command_add_up(feed_server: FeedServer, tmp_path: Path) -> None:
    config = write_feeds(tmp_path, {"a": feed_server.feed("/a.xml", rss(("a1", "A", "A body.")))})
    loud = invoke(config, "poll")
    assert loud.exit_code == 0 and loud.stdout.startswith("a: ok, 1 new")
    for args in (["poll", "-q"], ["-q", "poll"], ["-q", "poll", "--quiet"]):
        result = invoke(config, *args)
        assert result.exit_code == 0 and result.stdout == "", args
    # -q before and -v after cancel out: the line is back.
    assert invoke(config, "-q", "poll", "-v").stdout.startswith("a: ok, 0 new")
    # -v after the command: tracebacks for errors, as before it.
    for args, traceback in ((["timeline", "-v"], True), (["-v", "timeline"], True), (["timeline"], False),
                            (["-v", "timeline", "-q"], False), (["timeline", "-v", "-v"], True)):
        result = invoke(config, *args, "--feed", "nosuch")
        assert result.exit_code == 2, (args, result.output)
        assert ("Traceback" in result.stderr) is traceback, args
    # -vv after the command: library logging too (an INFO line per HTTP request).
    assert "INFO httpx" in invoke(config, "poll", "-vv").stderr
    assert "INFO httpx" not in invoke(config, "-vv", "poll", "-q", "-q").stderr
    # Subgroups and their commands take them too.
    assert invoke(config, "db", "current", "-q").exit_code == 0
    assert invoke(config, "db", "-v", "current").exit_code == 0
    missing = invoke(config, "digest", "-v", "preview", "-q")
    assert missing.exit_code == 2 and "digest" in missing.stderr and "no such option" not in missing.stderr


# -- 9. the Atom feed's id and self link -------------------------------------------------------


def test_atom_id_is_per_database_and_self_link_follows_url_or_file(demo: Path, tmp_path: Path) -> None:
    def atom(config: Path, *args: str) -> tuple[feedparser.FeedParserDict, str]:
        result = invoke(config, "timeline", "--format", "atom", *args)
        assert result.exit_code == 0, result.output
        parsed = feedparser.parse(result.stdout)
        assert parsed.bozo == 0
        return parsed, result.stdout

    def self_links(document: str | bytes) -> list[str]:
        # Read from the XML itself: feedparser rewrites file: URIs it resolves.
        root = ET.fromstring(document)
        return [link.get("href", "") for link in root.findall(f"{{{ATOM}}}link") if link.get("rel") == "self"]

    first, document = atom(demo)
    assert atom(demo)[0].feed.id == first.feed.id  # stable
    assert self_links(document) == []  # stdout has no address
    con = sqlite3.connect(demo.parent / "demo.db")
    try:
        [(db_id,)] = con.execute("SELECT id FROM database_info").fetchall()
    finally:
        con.close()
    assert first.feed.id == uuid.uuid5(uuid.UUID(db_id), "tracker:timeline:tracker timeline").urn
    # Another view of the same database is another feed; another database, another id.
    assert atom(demo, "--topic", "sora")[0].feed.id not in (first.feed.id, None)
    other = copy_samples(tmp_path)
    assert invoke(other, "poll", env={"TRACKER_DATABASE_URL": None}).exit_code == 0
    assert atom(other)[0].feed.id != first.feed.id

    public = "https://news.example/sora.atom"
    assert self_links(atom(demo, "--url", public)[1]) == [public]
    out = tmp_path / "story feed.atom"
    assert invoke(demo, "timeline", "-o", str(out), "--format", "atom").exit_code == 0
    assert self_links(out.read_bytes()) == [out.resolve().as_uri()]
    assert invoke(demo, "timeline", "-o", str(out), "--format", "atom", "--url", public).exit_code == 0
    assert self_links(out.read_bytes()) == [public]
    bad = invoke(demo, "timeline", "--format", "atom", "--url", "javascript:alert(1)")
    assert bad.exit_code == 2 and "--url" in bad.stderr


# -- 8. digest preview --html ------------------------------------------------------------------


def test_digest_preview_html_prints_only_html(smtp: SmtpServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, smtp.port)
    tracker = open_tracker(config)
    story(tracker)
    text = invoke(config, "digest", "preview")
    assert text.exit_code == 0 and text.stdout.startswith("Subject: 3 new developments")
    page = invoke(config, "digest", "preview", "--html")
    assert page.exit_code == 0
    assert page.stdout.startswith("<!DOCTYPE html>") and page.stdout.rstrip().endswith("</html>")
    assert page.stdout.count("<!DOCTYPE html>") == 1 and "Subject:" not in page.stdout
    assert page.stderr.splitlines()[0].startswith("Subject: 3 new developments")

    # Two messages due: an interrupted digest, re-sent as it was, then what is new.
    smtp.handler.drop_after_data = True
    with pytest.raises(DigestNotSent):
        send(tracker)
    smtp.handler.drop_after_data = False
    add_event(tracker, "ev-late", summary="Sora release date announced", topics=["sora"], value="2024-12",
              granularity="month", start=date(2024, 12, 1), end=date(2024, 12, 31), sources=[])
    tracker.close()
    both = invoke(config, "digest", "preview", "--html")
    assert both.exit_code == 0
    documents = both.stdout.split("<!DOCTYPE html>")
    assert documents[0] == "" and len(documents) == 3  # one after the other, in sending order
    assert "Sora release date" not in documents[1] and "Sora release date" in documents[2]
    assert "re-send of" in both.stderr and both.stderr.count("Subject: ") == 2
