"""Merging in the store does not depend on the order in which articles arrive."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from demo_copy import copy_samples, timeline_json, without_ids
from tracker.cli import cli

FEEDS = ["techwire", "screenbeat", "daily-ledger", "frame-rate"]


def timeline_after_polling(folder: Path, order: list[str]) -> list[tuple[object, ...]]:
    config = copy_samples(folder)
    runner = CliRunner()
    for name in order:
        assert runner.invoke(cli, ["--config", str(config), "poll", "--feed", name]).exit_code == 0
    # Ids are given when an event first appears and then kept (stable links), so they
    # may differ between databases; the events themselves must not.
    return without_ids(timeline_json(config))


@pytest.mark.parametrize("order", [FEEDS[::-1], [FEEDS[2], FEEDS[0], FEEDS[3], FEEDS[1]]])
def test_same_events_whatever_the_order(tmp_path: Path, order: list[str]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    baseline = timeline_after_polling(tmp_path / "a", FEEDS)
    assert len(baseline) >= 5
    assert timeline_after_polling(tmp_path / "b", order) == baseline
