"""A reloaded config reaches every derived piece: matcher and topic prefilter."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from tracker.app import make_tracker
from tracker.config import load_config

TEXT = "The Quillfeather festival opened on March 22, 2024, in Lisbon."


def config(tmp_path: Path, keywords: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        f"database: sqlite:///{tmp_path / 't.db'}\n"
        f"topics:\n  sora: {{keywords: [Sora]}}\n{keywords}"
        "feeds:\n  - {name: f, url: f.xml}\n",
        encoding="utf-8",
    )
    return path


def test_new_topic_after_reload_is_not_prefiltered_away(tmp_path: Path) -> None:
    tracker = make_tracker(load_config(config(tmp_path, "")), processes=0)
    feed = tracker.config.feed("f")
    published = datetime(2024, 3, 25, tzinfo=timezone.utc)
    assert tracker.screened_mentions(feed, "Festival news", TEXT, published) == []
    tracker.reconfigure(load_config(config(tmp_path, "  festivals: {keywords: [Quillfeather]}\n")))
    feed = tracker.config.feed("f")
    mentions = tracker.screened_mentions(feed, "Festival news", TEXT, published)
    assert [(m.value, sorted(m.topics)) for m in mentions] == [("2024-03-22", ["festivals"])]
    tracker.close()
