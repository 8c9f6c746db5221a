"""Dates on the command line outside the range tracker reads are one-line usage errors
(exit 2), never tracebacks; the edges of the range work.

Through the real CLI on a real database: the bundled samples polled once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from demo_copy import copy_samples, timeline_json
from tracker.cli import cli

RANGE = "(1000-01-01 to 9999-12-31)"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples copied, and one of their feeds polled: a small real database."""
    config = copy_samples(tmp_path_factory.mktemp("demo"))
    result = CliRunner().invoke(cli, ["--config", str(config), "poll", "--feed", "techwire"], env={"TRACKER_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    return config


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    # Anything but the CLI's own exit is a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def one_error(config: Path, *args: str) -> str:
    code, out, err = run(config, *args)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert out == ""
    assert len(lines) == 1 and lines[0].startswith("tracker: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "quoted"),
    [
        (("--since", "0001"), "'0001'"),
        (("--since", "0001-01-01"), "'0001-01-01'"),
        (("--since", "0999-12-31"), "'0999-12-31'"),
        (("--until", "0001-01-01"), "'0001-01-01'"),
        (("--until", "0500-06"), "'0500-06'"),
        (("--since", "0001", "--until", "0002"), "'0001'"),
        (("--since", "2024", "--until", "0001"), "'0001'"),
    ],
)
def test_dates_before_the_range(demo: Path, args: tuple[str, ...], quoted: str) -> None:
    line = one_error(demo, "timeline", *args)
    # The option may be named before the message ("Invalid value for '--since': ...").
    assert line.endswith(f"{quoted} is outside the dates tracker reads {RANGE}") or (
        f"{quoted} is outside the dates tracker reads {RANGE} (see 'tracker timeline --help')" in line
    ), line


@pytest.mark.parametrize(
    "args",
    [
        ("--since", "99999999d"),
        ("--since", "7d"),
        ("--until", "-99999999d"),
        ("--since", "0000"),
        ("--since", "10000"),
        ("--since", "99999-01-01"),
        ("--since", "2024-13"),
        ("--since", "2024-02-30"),
        ("--until", "2023-02-29"),
        ("--since", "1e308"),
        ("--since", "inf"),
    ],
)
def test_what_is_not_a_date(demo: Path, args: tuple[str, ...]) -> None:
    line = one_error(demo, "timeline", *args)
    assert f"Invalid value for '{args[0]}': {args[1]!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)" in line, line


def test_the_whole_range_holds_every_event(demo: Path) -> None:
    everything = timeline_json(demo)
    assert everything
    # Both edges inclusive, as days or as years.
    assert timeline_json(demo, "--since", "1000-01-01", "--until", "9999-12-31") == everything
    assert timeline_json(demo, "--since", "1000", "--until", "9999") == everything


@pytest.mark.parametrize("fmt", ["json", "table"])
@pytest.mark.parametrize("args", [("--since", "9999-12-31"), ("--until", "1000-01-01"), ("--since", "9999")])
def test_the_edges_of_the_range_hold_nothing(demo: Path, fmt: str, args: tuple[str, str]) -> None:
    code, out, err = run(demo, "timeline", "--format", fmt, *args)
    assert (code, err) == (0, "")
    assert (json.loads(out) == []) if fmt == "json" else (out == "No events.\n")


def test_a_range_date_with_every_filter(demo: Path) -> None:
    """--since at the first day with the options that use dates too (--top scores by date,
    --order newest sorts by it): no overflow anywhere."""
    for extra in (("--top", "3"), ("--order", "newest"), ("--limit", "1"), ("--topic", "sora")):
        code, _, err = run(demo, "timeline", "--format", "json", "--since", "1000", "--until", "9999-12-31", *extra)
        assert code == 0, (extra, err)
