"""`tracker db copy SOURCE_URL TARGET_URL`: a SQLite database filled by real polls (loopback
feeds), a digest sent to a loopback SMTP server and alerts (one delivered, one pending), copied
to a real PostgreSQL and back; every table's rows, the timeline, searches and the next poll
are the same on the copy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import psycopg
from click.testing import CliRunner
from sqlalchemy import select, text

from feedserver import FeedServer, Reply
from pgserver import PgServer
from test_alerts_support import Receiver, closed_port, receiver  # noqa: F401
from test_digest_support import SmtpServer, smtp  # noqa: F401
from tracker.cli import cli
from tracker.store.db import create_store_engine, known_revisions, read_connection, upgrade
from tracker.store.models import Base

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {"techwire": "techwire.xml", "screenbeat": "screenbeat.xml", "daily-ledger": "daily-ledger.xml"}
SEARCHES = ["sora", "studio*", "strikes", "Writers Guild", "SAG-AFTRA", "meeting hollywood", "cafe"]
# A story added for the poll on the copy: new entries, mentions and events.
NEW_ITEM = (
    "<item><guid>new-1</guid><title>Sora studio deal signed</title><link>{base}/new-1</link>"
    "<pubDate>Fri, 29 Mar 2024 10:00:00 +0000</pubDate>"
    "<description>OpenAI signed its first Sora deal with a Hollywood studio on March 28, 2024, "
    "after weeks of meetings.</description></item>"
)


def invoke(config: Path, *args: str, database: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env={"TRACKER_DATABASE_URL": database})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def copy(source: str, target: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["db", "copy", source, target])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def serve_samples(server: FeedServer, extra: str = "") -> dict[str, str]:
    """The sample feeds on loopback, their article links on the same server (404: failed pages)."""
    urls = {}
    for name, file in SAMPLES.items():
        body = (ROOT / "samples" / file).read_text(encoding="utf-8").replace("https://example-outlet.test", server.base_url)
        if extra and name == "techwire":
            body = body.replace("</channel>", extra.format(base=server.base_url) + "</channel>")
        urls[name] = server.feed(f"/{name}.xml", body)
    return urls


def write_config(tmp_path: Path, urls: dict[str, str], smtp_port: int, alert_port: int) -> Path:
    feeds = "".join(f"  - name: {n}\n    url: {u}\n    timeout: 2s\n" for n, u in urls.items())
    path = tmp_path / "feeds.yaml"
    path.write_text(
        f"database: sqlite:///{tmp_path / 'source.db'}\n"
        "allow_private_networks: true\npages: {delay: 0s}\n"
        "defaults:\n  full_text: always\n"
        "topics:\n"
        "  sora: {title: OpenAI Sora, keywords: [Sora, text-to-video]}\n"
        "  hollywood-meetings: [Hollywood, 'studio*', 'meeting*']\n"
        "  strikes: ['strike*', SAG-AFTRA, Writers Guild]\n"
        f"feeds:\n{feeds}"
        "digest:\n  to: [news@example.com]\n  from: tracker@example.com\n"
        f"  smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, timeout: 5s}}\n"
        "alerts:\n"
        f"  - name: phone\n    urls: ['json://127.0.0.1:{alert_port}/phone']\n    topics: [sora]\n"
        f"  - name: down\n    urls: ['json://127.0.0.1:{closed_port()}/down']\n    topics: [strikes]\n    timeout: 1s\n",
        encoding="utf-8",
    )
    return path


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in key order, the full-text rows too (the source of a search)."""
    engine = create_store_engine(url, read_only=True)
    try:
        with read_connection(engine) as conn:
            out = {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))] for t in Base.metadata.sorted_tables}
            out["events_fts"] = [tuple(r) for r in conn.execute(text("SELECT rowid, summary, quotes FROM events_fts ORDER BY rowid"))]
    finally:
        engine.dispose()
    return out


def views(config: Path, database: str) -> dict[str, str]:
    """What the CLI shows of a database: the timeline in JSON and every search."""
    out = {}
    for key, args in [("timeline", []), *[(f"search {s}", ["--search", s]) for s in SEARCHES]]:
        code, stdout, stderr = invoke(config, "timeline", "--format", "json", *args, database=database)
        assert code == 0, stderr
        out[key] = stdout
    return out


def check_summary(code: int, out: str, err: str, tables: dict[str, list[tuple[Any, ...]]]) -> None:
    assert code == 0, err
    lines = out.strip().splitlines()
    counts = dict(re.fullmatch(r"(\w+): (\d+) rows?", line).groups() for line in lines[:-1])  # type: ignore[union-attr]
    assert {name: int(n) for name, n in counts.items()} == {name: len(rows) for name, rows in tables.items()}
    assert lines[-1].startswith(f"copied {sum(len(r) for r in tables.values())} rows in {len(tables)} tables from ")


def test_copy_sqlite_to_postgresql_and_back(
    feed_server: FeedServer, tmp_path: Path, postgres_server: PgServer, smtp: SmtpServer, receiver: Receiver  # noqa: F811
) -> None:
    config = write_config(tmp_path, serve_samples(feed_server), smtp.port, receiver.port)
    source = f"sqlite:///{tmp_path / 'source.db'}"
    code, out, err = invoke(config, "poll")
    assert code == 0, err
    code, out, err = invoke(config, "digest", "send")
    assert code == 0 and smtp.messages, (out, err)
    code, out, err = invoke(config, "alerts", "send")
    assert code == 1, (out, err)  # "down" refuses connections: its messages stay pending
    before = dump(source)
    for table in ("feeds", "entries", "pages", "events", "event_topics", "mentions", "digests", "digest_items",
                  "digest_marks", "alert_channels", "alert_messages", "alert_items", "alert_marks", "database_info",
                  "events_fts"):
        assert before[table], f"the source has no {table} rows: the test would prove nothing"
    shown = views(config, source)
    assert json.loads(shown["search sora"]) and json.loads(shown["search studio*"])

    postgresql = postgres_server.url(postgres_server.create_database())
    code, out, err = copy(source, postgresql)
    check_summary(code, out, err, before)
    assert dump(postgresql) == before
    assert views(config, postgresql) == shown

    back = f"sqlite:///{tmp_path / 'back.db'}"
    code, out, err = copy(postgresql, back)
    check_summary(code, out, err, before)
    assert dump(back) == before
    assert views(config, back) == shown

    # A non-empty target: one line, exit 2, nothing written.
    for target in (postgresql, back):
        code, out, err = copy(source, target)
        assert code == 2 and out == "", (out, err)
        assert err.count("\n") == 1 and err.startswith("tracker: error: the target database ")
        assert "already holds data" in err
    assert dump(postgresql) == before

    # The next poll on each copy inserts new rows: sequences (PostgreSQL) and keys are right.
    serve_samples(feed_server, extra=NEW_ITEM)
    for target in (postgresql, back):
        code, out, err = invoke(config, "poll", database=target)
        assert code == 0, err
        assert "techwire: ok, 1 new" in out, out
        after = dump(target)
        for table in ("entries", "mentions", "events"):
            assert len(after[table]) > len(before[table]), table
        found = json.loads(views(config, target)["search sora"])
        assert any("deal" in event["summary"] for event in found)


def test_refusals_are_one_line(tmp_path: Path, postgres_server: PgServer) -> None:
    missing = f"sqlite:///{tmp_path / 'missing.db'}"
    code, out, err = copy(missing, f"sqlite:///{tmp_path / 'target.db'}")
    assert code == 2 and out == "" and err.count("\n") == 1 and "no database at" in err, err
    assert not (tmp_path / "target.db").exists()

    same = f"sqlite:///{tmp_path / 'same.db'}"
    code, out, err = copy(same, same)
    assert code == 2 and "the same database" in err, err

    # A target with tables of something else.
    other = postgres_server.create_database()
    with psycopg.connect(host=str(postgres_server.socket_dir), user="postgres", dbname=other, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id integer primary key)")
    source = f"sqlite:///{tmp_path / 'source.db'}"
    engine = create_store_engine(source)
    upgrade(engine)
    engine.dispose()
    code, out, err = copy(source, postgres_server.url(other))
    assert code == 2 and out == "" and err.count("\n") == 1 and "not a tracker database (notes)" in err, err

    # A source behind the newest revision is refused, not upgraded.
    behind = f"sqlite:///{tmp_path / 'behind.db'}"
    engine = create_store_engine(behind)
    upgrade(engine, known_revisions()[-2])
    engine.dispose()
    code, out, err = copy(behind, f"sqlite:///{tmp_path / 'target.db'}")
    assert code == 2 and err.count("\n") == 1 and "not the newest" in err and "db upgrade" in err, err
    assert not (tmp_path / "target.db").exists()


def test_a_running_daemon_on_the_source_is_refused(tmp_path: Path) -> None:
    import fcntl
    import os

    source = tmp_path / "source.db"
    engine = create_store_engine(f"sqlite:///{source}")
    upgrade(engine)
    engine.dispose()
    fd = os.open(tmp_path / "source.db.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as the daemon's DaemonLock does
        os.write(fd, b"4242\n")
        code, out, err = copy(f"sqlite:///{source}", f"sqlite:///{tmp_path / 'target.db'}")
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert "a tracker daemon (pid 4242) is running on" in err and "stop it first" in err
    finally:
        os.close(fd)
    code, out, err = copy(f"sqlite:///{source}", f"sqlite:///{tmp_path / 'target.db'}")
    assert code == 0, err
