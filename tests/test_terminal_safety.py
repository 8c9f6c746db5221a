"""Nothing from a feed drives the terminal, no feed credential shows: real polls, the real CLI."""

from __future__ import annotations

import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner

from feedserver import FeedServer
from tracker.cli import cli

# What must never reach a text output: C0 but tab and newline (CR only in the CR LF line
# ends of CSV and iCalendar, removed before the check), DEL, C1, bidi embeddings,
# overrides, isolates and marks.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
OSC = "\x1b]0;pwned\x07"
Polled = tuple[int, str, str]

# ESC and BEL make the document malformed XML, which the parser recovers from, as it does
# for real feeds; C1 and the bidi controls are legal XML and pass a strict parse. (The
# parser reads the C1 codes that windows-1252 defines as those characters: U+009B becomes
# "›"; U+009D, U+0090 and DEL stay what they are.)
ESCAPES_FEED = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire {OSC} desk \u202eriw</title><link>https://wire.test/</link>
<item><guid>w1</guid><title>Strike {OSC}vote \x1b[2J\x1b[31mcalled\x1b[0m \x9d2J for \u202eyadseuT\u202c</title>
<link>https://wire.test/w1</link><author>desk@wire.test (Desk {OSC})</author>
<pubDate>Sat, 23 Mar 2024 09:30:00 +0000</pubDate>
<description>The strike \x1b]0;evil\x07 will begin on 2 April 2024, \u202eofficials\u202c said \x9d0;c1\x07 again.</description></item>
</channel></rss>
"""
C1_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Bidi \u202egnirts\u202c \x9b31m news</title><link>https://bidi.test/</link>
<item><guid>b1</guid><title>Strike \u2066vote\u2069 \u200f10 20 \x9b31m\x9d0;t\x9c \x90q\x9c \x7f set</title>
<link>https://bidi.test/b1</link><pubDate>Sat, 23 Mar 2024 10:00:00 +0000</pubDate>
<description>Workers said the strike \u202ewill\u202c begin on 2 April 2024 \x9b1m as planned.</description></item>
</channel></rss>
"""
# Relative links resolve against the feed URL, user:password@ and all (not its query).
PLAIN_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Private</title><link>/</link>
<item><guid>p1</guid><title>Strike vote set</title><link>/story/p1?token=tok123</link>
<pubDate>Sat, 23 Mar 2024 11:00:00 +0000</pubDate>
<description>The dock strike will begin on 9 April 2024, organisers said.</description></item>
</channel></rss>
"""


def config_text(tmp: Path, feeds: dict[str, str]) -> str:
    lines = [
        f"database: sqlite:///{tmp / 'tracker.db'}",
        "topics:",
        "  strikes:",
        "    keywords: [strike*]",
        "feeds:",
        *[f"  - name: {name}\n    url: '{url}'\n    timeout: 5s" for name, url in feeds.items()],
        # Preview only: nothing is sent, no server needs to listen there.
        "digest:",
        "  to: [desk@example.com]",
        "  from: Tracker <tracker@example.com>",
        "  smtp:",
        "    host: 127.0.0.1",
        "    port: 9",
        "    security: none",
    ]
    return "\n".join(lines) + "\n"


def invoke(config: Path, *args: str, columns: int = 200) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env={"COLUMNS": str(columns)})
    return result.exit_code, result.stdout, result.stderr


def poll(config: Path) -> Polled:
    """`tracker poll`: (exit code, stdout, stderr)."""
    return invoke(config, "poll")


def assert_inert(text: str) -> None:
    found = FORBIDDEN.findall(text.replace("\r\n", "\n"))
    assert not found, [hex(ord(c)) for c in found]


# --- control and bidi characters ---------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Polled]]:
    """Two hostile feeds polled once by `tracker poll`: (config, the poll's output)."""
    tmp = tmp_path_factory.mktemp("hostile")
    with FeedServer() as server:
        feeds = {
            "wire": server.feed("/wire.xml", ESCAPES_FEED.encode("utf-8")),
            "bidi": server.feed("/bidi.xml", C1_FEED.encode("utf-8")),
        }
        config = tmp / "feeds.yaml"
        config.write_text(config_text(tmp, feeds), encoding="utf-8")
        done = poll(config)
    assert done[0] == 0, done
    yield config, done


def only_event(config: Path) -> dict[str, object]:
    code, out, err = invoke(config, "timeline", "--format", "json")
    assert code == 0, err
    events = json.loads(out)
    assert len(events) == 1, events
    event: dict[str, object] = events[0]
    return event


def test_the_hostile_text_is_stored_and_json_keeps_it_inert(hostile: tuple[Path, Polled]) -> None:
    config, _ = hostile
    code, raw, _ = invoke(config, "timeline", "--format", "json")
    assert code == 0
    (event,) = json.loads(raw)
    # The data is all there (so the other outputs below had it to show)...
    titles = " ".join(str(m["title"]) for m in event["mentions"])
    for char in ("\x1b", "\x9d", "\x90", "\x7f", "\u202e", "\u2066", "\u200f"):
        assert char in titles, repr(char)
    # ...but written as \u escapes, never raw.
    assert_inert(raw)
    code, raw_event, _ = invoke(config, "event", event["id"], "--format", "json")
    assert code == 0 and "\\u001b" in raw_event and "\\u009d" in raw_event
    assert_inert(raw_event)
    code, raw_feeds, _ = invoke(config, "feeds", "--format", "json")
    assert code == 0
    assert_inert(raw_feeds)


def test_poll_lines_are_inert(hostile: tuple[Path, Polled]) -> None:
    _, (_, out, err) = hostile
    assert "wire: ok" in out and "bidi: ok" in out
    assert_inert(out)
    assert_inert(err)


@pytest.mark.parametrize("fmt", ["table", "csv", "html", "atom", "ics"])
def test_timeline_formats_are_inert(hostile: tuple[Path, Polled], fmt: str) -> None:
    config, _ = hostile
    code, out, err = invoke(config, "timeline", "--format", fmt)
    assert code == 0, err
    assert_inert(out)
    if fmt == "table":
        # ESC is shown, not dropped: what is left of the sequence is visibly text.
        assert "\ufffd" in out and "strike" in out.lower()
    if fmt == "atom":
        root = ET.fromstring(out)
        assert root.tag == "{http://www.w3.org/2005/Atom}feed"
        titles = [t.text or "" for t in root.iter("{http://www.w3.org/2005/Atom}title")]
        assert any("2 April 2024" in t for t in titles)
    if fmt == "ics":
        calendar = icalendar.Calendar.from_ical(out)
        assert len(calendar.walk("VEVENT")) == 1


def test_event_text_is_inert_and_shows_every_source(hostile: tuple[Path, Polled]) -> None:
    config, _ = hostile
    code, out, err = invoke(config, "event", str(only_event(config)["id"]))
    assert code == 0, err
    assert_inert(out)
    assert "- wire: Strike \ufffd]0;pwned\ufffdvote \ufffd[2J\ufffd[31mcalled\ufffd[0m \ufffd2J for yadseuT" in out
    assert "- bidi: " in out and "https://wire.test/w1" in out


def test_feeds_table_is_inert(hostile: tuple[Path, Polled]) -> None:
    config, _ = hostile
    code, out, err = invoke(config, "feeds")
    assert code == 0, err
    assert_inert(out)
    assert "wire" in out and "bidi" in out


def test_digest_preview_is_inert(hostile: tuple[Path, Polled]) -> None:
    config, _ = hostile
    code, out, err = invoke(config, "digest", "preview")
    assert code == 0, err
    assert out.startswith("Subject: 1 new development: strikes\n")
    assert "Strike" in out and "\ufffd" in out
    assert_inert(out)
    code, page, head = invoke(config, "digest", "preview", "--html")
    assert code == 0 and page.startswith("<!DOCTYPE html>")
    assert_inert(page)
    assert_inert(head)


def test_opml_import_lines_are_inert(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(config_text(tmp_path, {"local": "local.xml"}), encoding="utf-8")
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<?xml version="1.0" encoding="utf-8"?><opml version="2.0"><body>'
        '<outline text="Evil \u202edesk\u202c \x9b2J" xmlUrl="https://user:hunter2@evil.test/rss?api_key=k3y"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    code, out, err = invoke(config, "feeds", "import", "--dry-run", str(opml))
    assert code == 0, err
    assert_inert(out + err)
    assert "https://user:***@evil.test/rss?api_key=***" in out
    assert "hunter2" not in out + err and "k3y" not in out + err


# --- credentials in feed URLs -------------------------------------------------------------


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Polled]]:
    """A feed behind user:secret@ with relative links, and one that loops on redirects (its
    error quotes its URL), polled once: (config, the poll's output)."""
    tmp = tmp_path_factory.mktemp("private")
    with FeedServer() as server:
        server.feed("/feed.xml", PLAIN_FEED)
        server.redirect("/loop.xml", "/loop.xml", status=302)
        feeds = {
            "private": server.url("/feed.xml").replace("http://", "http://user:secret@"),
            "looping": server.url("/loop.xml").replace("http://", "http://user:secret@") + "?token=secret2",
        }
        config = tmp / "feeds.yaml"
        config.write_text(config_text(tmp, feeds), encoding="utf-8")
        done = poll(config)
        # The credentials reached the server: they are used, only never shown.
        assert server.requests_to("/feed.xml")[0].headers.get("authorization", "").startswith("Basic ")
    yield config, done


def test_poll_lines_hide_credentials(private: tuple[Path, Polled]) -> None:
    _, (code, out, err) = private
    assert code == 1  # the loop failed, the other feed is stored
    assert "private: ok" in out and "looping: error" in err and "user:***@" in err
    assert "secret" not in out + err


@pytest.mark.parametrize(
    "args",
    [
        ("feeds",),
        ("feeds", "--format", "json"),
        ("timeline",),
        ("timeline", "--format", "json"),
        ("timeline", "--format", "csv"),
        ("timeline", "--format", "html"),
        ("timeline", "--format", "atom"),
        ("timeline", "--format", "ics"),
        ("digest", "preview"),
        ("digest", "preview", "--html"),
        ("feeds", "export"),
    ],
    ids=" ".join,
)
def test_no_output_shows_a_feed_password(private: tuple[Path, Polled], args: tuple[str, ...]) -> None:
    config, _ = private
    code, out, err = invoke(config, *args, columns=250)
    assert code == 0, err
    assert "secret" not in out + err


def test_credentials_show_as_stars_and_the_user_stays(private: tuple[Path, Polled]) -> None:
    config, _ = private
    code, out, _ = invoke(config, "feeds", "--format", "json")
    by_name = {f["name"]: f for f in json.loads(out)}
    assert by_name["private"]["url"].startswith("http://user:***@127.0.0.1:")
    assert by_name["looping"]["url"].endswith("/loop.xml?token=***")
    assert "user:***@" in by_name["looping"]["last_error"]
    code, out, _ = invoke(config, "feeds", columns=250)
    assert "http://user:***@127.0.0.1:" in out
    # An article link resolved against the feed URL does not inherit its credentials; its
    # own query is the article's address and stays.
    event = only_event(config)
    urls = [m["url"] for m in event["mentions"]]  # type: ignore[attr-defined]
    assert urls and all("@" not in u and u.endswith("/story/p1?token=tok123") for u in urls)
    code, out, _ = invoke(config, "event", str(event["id"]))
    assert code == 0 and "/story/p1" in out and "secret" not in out


def test_opml_export_keeps_credentials_only_when_asked(private: tuple[Path, Polled]) -> None:
    config, _ = private
    code, out, err = invoke(config, "feeds", "export")
    assert code == 0 and "user:***@" in out and "secret" not in out
    assert "credentials shown as *** (--with-credentials keeps them): private, looping" in err
    code, out, err = invoke(config, "feeds", "export", "--with-credentials")
    assert code == 0 and "user:secret@" in out and "token=secret2" in out and err == ""


def test_log_lines_hide_credentials(tmp_path: Path, feed_server: FeedServer) -> None:
    # A permanent redirect, seen on three polls in a row, moves the feed; the move is logged
    # with the new URL, which carries the credentials of the Location header.
    feed_server.feed("/new.xml", PLAIN_FEED)
    new = feed_server.url("/new.xml").replace("http://", "http://user:secret@") + "?token=secret2"
    feed_server.redirect("/old.xml", new, status=301)
    old = feed_server.url("/old.xml").replace("http://", "http://user:secret@")
    config = tmp_path / "feeds.yaml"
    config.write_text(config_text(tmp_path, {"moving": old}), encoding="utf-8")
    logged = ""
    for _ in range(3):
        code, out, err = poll(config)
        assert code == 0, err
        assert "secret" not in out
        logged += err
    moved = [line for line in logged.splitlines() if "moved permanently" in line]
    assert moved and "http://user:***@127.0.0.1:" in moved[0] and moved[0].endswith("/new.xml?token=***")
    assert "secret" not in logged
    code, out, _ = invoke(config, "feeds", columns=250)
    assert "/new.xml?token=***" in out and "secret" not in out


def test_article_links_do_not_inherit_the_feed_credentials(private: tuple[Path, Polled]) -> None:
    # Relative links are resolved against the feed's address without its user:password@,
    # so the stored links (not only their display) are free of it.
    config, _ = private
    database = config.parent / "tracker.db"
    with sqlite3.connect(database) as db:
        links = [link for (link,) in db.execute("SELECT link FROM entries WHERE link IS NOT NULL")]
    assert links
    assert not [link for link in links if "@" in link or "secret" in link]
