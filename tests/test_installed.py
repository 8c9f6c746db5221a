"""The built packages work where users install them (issue 11): the sdist and the wheel carry
the migrations, and the wheel installed with pipx into a new virtualenv runs from a folder
outside the checkout. The fixtures (conftest.py, tests/installed.py) build and install once
per session; `make test` runs this module like any other."""

from __future__ import annotations

import json
import subprocess
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

from installed import DIST_NAME, ROOT, Dists, copy_samples_as_feeds, run_tracker

from tracker.store import head_revision


def _source_files(folder: Path) -> set[Path]:
    """The .py files (and Alembic's script.py.mako) under folder, relative to it."""
    return {
        p.relative_to(folder)
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and (p.suffix == ".py" or p.name == "script.py.mako")
    }


MIGRATIONS = _source_files(ROOT / "migrations")


def test_the_checkout_has_migrations() -> None:
    """Guards the tests below against comparing empty sets."""
    assert {Path("env.py"), Path("script.py.mako")} <= MIGRATIONS
    assert any(p.parts[0] == "versions" for p in MIGRATIONS)


def test_sdist_contains_the_migrations(built_dists: Dists) -> None:
    with tarfile.open(built_dists.sdist) as tar:
        names = {Path(*Path(n).parts[1:]) for n in tar.getnames()}  # without the top folder
    assert {"migrations" / p for p in MIGRATIONS} <= names
    assert {"tracker" / p for p in _source_files(ROOT / "tracker")} <= names


def test_wheel_contains_every_package_and_the_migrations(built_dists: Dists) -> None:
    """pyproject.toml lists the packages by hand (to map migrations/ into tracker._migrations):
    a package under tracker/ missing from that list fails here."""
    with zipfile.ZipFile(built_dists.wheel) as whl:
        names = {Path(n) for n in whl.namelist()}
        (metadata,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(whl.read(metadata).decode())
        (entry_points,) = [n for n in whl.namelist() if n.endswith(".dist-info/entry_points.txt")]
        scripts = whl.read(entry_points).decode()
    missing = {"tracker" / p for p in _source_files(ROOT / "tracker")} - names
    assert not missing, f"not in the wheel (add their packages to pyproject.toml): {sorted(map(str, missing))}"
    assert {"tracker/_migrations" / p for p in MIGRATIONS} <= names
    assert meta["Name"] == DIST_NAME
    assert "tracker = tracker.cli:main" in scripts


def test_installed_command_polls_and_reads_the_samples_from_another_folder(
    installed_tracker: Path, tmp_path: Path
) -> None:
    """The smoke test: the bundled samples polled by the pipx-installed command, run from a
    temporary folder with the samples' config as ./feeds.yaml (the default)."""
    copy_samples_as_feeds(tmp_path)

    # It is the installed package that runs, with its own migrations, not this checkout.
    python = installed_tracker.resolve().parent / "python"
    where = subprocess.run(
        [str(python), "-c", "import tracker.store.db as db; print(db.__file__); print(db.MIGRATIONS_DIR)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert len(where) == 2
    for path in map(Path, where):
        assert ROOT not in path.parents, path
    assert Path(where[1]).name == "_migrations"

    # Reading before any poll creates nothing and says what to do.
    before = run_tracker(installed_tracker, "timeline", cwd=tmp_path)
    assert before.returncode == 2 and before.stderr.startswith("tracker: error: no database at "), before.stderr
    assert not (tmp_path / "demo.db").exists()

    poll = run_tracker(installed_tracker, "poll", cwd=tmp_path)
    assert poll.returncode == 0, poll.stderr
    feeds = {line.split(":")[0] for line in poll.stdout.splitlines() if line.strip()}
    assert {"techwire", "screenbeat", "daily-ledger", "frame-rate"} <= feeds, poll.stdout
    assert (tmp_path / "demo.db").exists()

    timeline = run_tracker(installed_tracker, "timeline", "--format", "json", cwd=tmp_path)
    assert timeline.returncode == 0, timeline.stderr
    events = json.loads(timeline.stdout)
    assert isinstance(events, list) and events, "no events on the installed timeline"
    assert all(e["mentions"] for e in events)

    event = run_tracker(installed_tracker, "event", events[0]["id"], "--format", "json", cwd=tmp_path)
    assert event.returncode == 0, event.stderr
    assert json.loads(event.stdout)["id"] == events[0]["id"]

    for command in (("feeds",), ("reprocess",)):
        done = run_tracker(installed_tracker, *command, cwd=tmp_path)
        assert done.returncode == 0 and done.stdout.strip(), (command, done.stderr)

    current = run_tracker(installed_tracker, "db", "current", cwd=tmp_path)
    assert current.returncode == 0, current.stderr
    assert str(head_revision()) in current.stdout, current.stdout
