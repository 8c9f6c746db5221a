"""Helpers the CLI tests share: the bundled samples copied where a test may poll and edit
them, and the timeline read back through the CLI as JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tracker.cli import cli

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def copy_samples(folder: Path, database: str | None = None) -> Path:
    """Copy samples/ (feeds and demo.yaml) into folder; returns the copied demo.yaml.
    `database`: a URL for demo.yaml's `database:` (default: its SQLite demo.db)."""
    for path in SAMPLES.iterdir():
        if path.suffix in (".xml", ".atom", ".yaml"):
            shutil.copy(path, folder / path.name)
    config = folder / "demo.yaml"
    if database is not None:
        text = config.read_text(encoding="utf-8")
        assert "\ndatabase: sqlite:///demo.db\n" in text
        config.write_text(text.replace("\ndatabase: sqlite:///demo.db\n", f"\ndatabase: {database}\n"), encoding="utf-8")
    return config


def polled_samples(folder: Path, database: str | None = None) -> Path:
    """samples/ copied into folder (see copy_samples) and polled once through the CLI;
    returns the config path."""
    config = copy_samples(folder, database)
    result = CliRunner().invoke(cli, ["--config", str(config), "poll"], env={"TRACKER_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    return config


def timeline_json(config: Path, *args: str) -> list[dict[str, Any]]:
    """`tracker timeline --format json [args]` through the CLI; a non-zero exit fails the test."""
    result = CliRunner().invoke(cli, ["--config", str(config), "timeline", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


def without_ids(events: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    """The events as comparable tuples, sorted, without ids (which depend on arrival order)."""
    return sorted(
        (e["date"], e["start"], e["end"], e["summary"], tuple(e["topics"]),
         tuple(sorted((m["feed"], m["quote"]) for m in e["mentions"])))
        for e in events
    )
