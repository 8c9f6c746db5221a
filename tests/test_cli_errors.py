"""Reading never creates, and every error is one line with its documented exit code.

Through the real CLI entry point (click's runner on the `tracker` group, whose `main` is
what the console script runs) and, where the process itself matters, `python -m tracker`.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from demo_copy import polled_samples, timeline_json
from tracker.cli import cli

READERS = [
    ("timeline",),
    ("timeline", "--format", "json", "-o", "{out}"),
    ("event", "abc"),
    ("feeds",),
    ("db", "current"),
    ("digest", "preview"),
]

DIGEST = """digest:
  to: [news@example.com]
  from: tracker@example.com
  smtp: {host: 127.0.0.1, port: 2525, security: none}
"""


def run(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tracker: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return polled_samples(tmp_path_factory.mktemp("demo"))


@pytest.mark.parametrize("command", READERS, ids=lambda c: " ".join(c[:2]))
def test_readers_never_create_a_database_or_folder(tmp_path: Path, command: tuple[str, ...]) -> None:
    missing = tmp_path / "typo" / "deeper" / "tracker.db"
    config = tmp_path / "feeds.yaml"
    config.write_text(f"database: sqlite:///{missing}\nfeeds: [a.xml]\n{DIGEST}", encoding="utf-8")
    out_file = tmp_path / "story.json"
    out_file.write_text("yesterday's export\n", encoding="utf-8")
    args = [a.replace("{out}", str(out_file)) for a in command]
    code, out, err = run(config, *args)
    assert code == 2, err
    assert one_line(err) == f"tracker: error: no database at {missing} (run tracker poll or tracker db upgrade first)"
    assert out == ""
    assert not (tmp_path / "typo").exists()
    assert out_file.read_text(encoding="utf-8") == "yesterday's export\n"


def test_creating_a_database_is_logged_at_warning(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text("<rss><channel><title>t</title></channel></rss>", encoding="utf-8")
    database = tmp_path / "new" / "tracker.db"
    config = tmp_path / "feeds.yaml"
    config.write_text(f"database: sqlite:///{database}\nfeeds: [a.xml]\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "--config", str(config), "poll"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert f"WARNING tracker.store.db: creating a new database at {database}" in proc.stderr
    assert database.exists()
    again = subprocess.run(
        [sys.executable, "-m", "tracker", "--config", str(config), "poll"], capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0 and "creating" not in again.stderr


def _read_only(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m tracker ARGS` where folder cannot be written.

    As root (CI) permissions do not stop writes, so the folder is bind-mounted read-only
    in a private mount namespace (a real read-only mount); otherwise its modes are cleared.
    """
    command = [sys.executable, "-m", "tracker", *args]
    if os.geteuid() == 0:
        script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
        command = ["unshare", "--mount", "sh", "-c", script, str(folder), *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_a_database_on_a_read_only_mount_can_be_read(demo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "story"
    shutil.copytree(demo.parent, folder)
    database, config = folder / "demo.db", folder / "demo.yaml"
    assert not (folder / "demo.db-wal").exists()  # closed cleanly: everything is in the main file
    expected = timeline_json(config)
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)
    try:
        before = sorted(p.name for p in folder.iterdir()), database.read_bytes()
        for args in (("timeline", "--format", "json"), ("feeds",), ("db", "current"), ("event", str(expected[0]["id"]))):
            proc = _read_only(folder, "--config", str(config), *args)
            assert proc.returncode == 0, (args, proc.stderr)
            assert proc.stderr == "", proc.stderr
            if args[0] == "timeline":
                assert [e["id"] for e in json.loads(proc.stdout)] == [e["id"] for e in expected]
        assert (sorted(p.name for p in folder.iterdir()), database.read_bytes()) == before
        # A write in the same conditions fails: the reads above really were read-only.
        proc = _read_only(folder, "--config", str(config), "poll")
        assert proc.returncode == 1 and "readonly database" in proc.stderr, proc.stderr
    finally:
        folder.chmod(0o755)


def test_a_read_only_database_file_can_be_read_beside_a_writer(demo: Path, tmp_path: Path) -> None:
    """The file itself read-only (the folder is not), while its -wal and -shm exist."""
    folder = tmp_path / "story"
    shutil.copytree(demo.parent, folder)
    database, config = folder / "demo.db", folder / "demo.yaml"
    expected = timeline_json(config)
    writer = sqlite3.connect(database)  # holds the WAL open, as a running daemon does
    try:
        writer.execute("PRAGMA journal_mode=WAL").fetchall()
        writer.execute("CREATE TABLE IF NOT EXISTS _probe (x)")
        writer.commit()
        database.chmod(0o444)
        if os.geteuid() == 0:
            subprocess.run(["chattr", "+i", str(database)], check=True)
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "tracker", "--config", str(config), "timeline", "--format", "json"],
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            if os.geteuid() == 0:
                subprocess.run(["chattr", "-i", str(database)], check=True)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert [e["id"] for e in json.loads(proc.stdout)] == [e["id"] for e in expected]
    finally:
        writer.close()


def test_db_upgrade_to_an_unknown_revision(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds: [a.xml]\n", encoding="utf-8")
    code, out, err = run(config, "db", "upgrade", "--revision", "nosuch")
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith("tracker: error: no migration revision 'nosuch' (known: 0001, ")
    assert not (tmp_path / "tracker.db").exists()


@pytest.mark.parametrize(
    ("target", "code", "reason"),
    [
        ("{tmp}/no/such/folder/story.html", 2, "No such file or directory"),
        ("/proc/version", 2, ""),
        ("{tmp}", 2, "Is a directory"),
        ("/dev/full", 1, "No space left on device"),
    ],
    ids=["missing-folder", "proc-version", "a-directory", "dev-full"],
)
def test_output_errors_are_one_line(demo: Path, tmp_path: Path, target: str, code: int, reason: str) -> None:
    path = target.replace("{tmp}", str(tmp_path))
    got, out, err = run(demo, "timeline", "-o", path)
    assert got == code, err
    line = one_line(err)
    assert line.startswith(f"tracker: error: cannot write {path}: ") and reason in line
    assert out == ""


def test_output_file_is_replaced_only_when_complete(demo: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "story.html"
    out_file.write_text("old\n", encoding="utf-8")
    code, _, err = run(demo, "timeline", "--topic", "nosuch", "-o", str(out_file))
    assert code == 2 and "'nosuch' is not a configured topic" in one_line(err)
    assert out_file.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["story.html"]  # no temporary file left
    code, _, err = run(demo, "timeline", "-o", str(out_file))
    assert code == 0, err
    assert out_file.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("name", "start"),
    [("story.json", "["), ("story.ics", "BEGIN:VCALENDAR"), ("story.atom", "<?xml"), ("story.CSV", "id,")],
)
def test_output_format_follows_the_extension(demo: Path, tmp_path: Path, name: str, start: str) -> None:
    code, _, err = run(demo, "timeline", "-o", str(tmp_path / name))
    assert code == 0, err
    assert (tmp_path / name).read_text(encoding="utf-8").startswith(start)
    code, _, err = run(demo, "timeline", "--format", "table", "-o", str(tmp_path / name))
    assert code == 0 and not (tmp_path / name).read_text(encoding="utf-8").startswith(start)


def test_postgresql_url_without_its_driver(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("database: postgresql://tracker:secret@localhost/news\nfeeds: [a.xml]\n", encoding="utf-8")
    # The driver made unimportable in this one process, whatever the venv holds.
    code = "import sys; sys.modules['psycopg'] = None; from tracker.cli import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "--config", str(config), "timeline"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    line = one_line(proc.stderr)
    assert line.startswith("tracker: error: feeds.yaml: database: the psycopg driver for postgresql is not installed")
    assert "pip install 'news-timeline-tracker[postgresql]'" in line
    assert "secret" not in line


def test_unsupported_database_backend(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("database: oracle://db.example/news\nfeeds: [a.xml]\n", encoding="utf-8")
    code, _, err = run(config, "timeline")
    assert code == 2 and "feeds.yaml: database: 'oracle' databases are not supported" in one_line(err)


def test_a_bad_database_url_in_the_environment_is_named(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("database: sqlite:///fine.db\nfeeds: [a.xml]\n", encoding="utf-8")
    code, _, err = run(config, "timeline", env={"TRACKER_DATABASE_URL": "tracker.db"})
    assert code == 2
    assert one_line(err) == (
        "tracker: error: $TRACKER_DATABASE_URL: 'tracker.db' is not a database URL (e.g. sqlite:///tracker.db)"
    )


def test_an_unset_password_variable_stops_the_daemon_as_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    digest = DIGEST.replace("security: none}", "security: none, username: u, password_env: TRACKER_NO_SUCH_PW}")
    config.write_text(f"feeds: [a.xml]\n{digest}", encoding="utf-8")
    code, _, err = run(config, "daemon", env={"TRACKER_NO_SUCH_PW": None})  # type: ignore[dict-item]
    assert code == 2
    assert "the environment variable TRACKER_NO_SUCH_PW is not set" in one_line(err)
    assert not (tmp_path / "tracker.db").exists()


def test_an_ambiguous_event_prefix(demo: Path) -> None:
    ids = sorted(str(e["id"]) for e in timeline_json(demo))
    shared = {}
    for a, b in zip(ids, ids[1:]):
        n = len(os.path.commonprefix([a, b]))
        if n:
            shared[a[:n]] = sum(1 for i in ids if i.startswith(a[:n]))
    assert shared, ids  # 11 hex ids: some two share a first character
    prefix, count = max(shared.items(), key=lambda kv: kv[1])
    code, out, err = run(demo, "event", prefix)
    assert code == 2 and out == ""
    assert one_line(err) == f"tracker: error: ambiguous: {count} events start with {prefix} (give more of the id)"
    code, out, _ = run(demo, "event", ids[0])
    assert code == 0 and ids[0] in out


def test_duplicate_yaml_keys_are_an_error(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("defaults:\n  interval: 5m\n  interval: 10m\nfeeds: [a.xml]\n", encoding="utf-8")
    code, _, err = run(config, "timeline")
    assert code == 2
    assert one_line(err) == (
        'tracker: error: feeds.yaml: not valid YAML at line 3, column 3: duplicate key "interval" (first given at line 2)'
    )


def test_an_empty_feed_list_is_a_warning(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds: []\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "--config", str(config), "poll"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "WARNING tracker.config: feeds.yaml: feeds: the list is empty, so nothing will be polled" in proc.stderr


def test_a_feed_named_twice_is_polled_once(demo: Path) -> None:
    code, out, err = run(demo, "poll", "--feed", "techwire", "--feed", "techwire")
    assert code == 0, err
    assert [line.split(":")[0] for line in out.splitlines()] == ["techwire"]


def test_click_usage_errors_use_the_same_one_line_style(demo: Path) -> None:
    code, _, err = run(demo, "timeline", "--since", "2024-13")
    assert code == 2
    assert one_line(err) == (
        "tracker: error: Invalid value for '--since': '2024-13' is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)"
        " (see 'tracker timeline --help')"
    )
    code, _, err = run(demo, "nosuch")
    assert code == 2 and one_line(err).startswith("tracker: error: No such command 'nosuch'")
