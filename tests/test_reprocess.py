"""`tracker reprocess`: topics changed in feeds.yaml apply to stored articles, ids stay stable."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from demo_copy import copy_samples, timeline_json
from tracker.cli import cli



def test_topic_removed_then_restored(tmp_path: Path, database_url: str) -> None:
    config = copy_samples(tmp_path, database_url)
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "poll"]).exit_code == 0
    before = timeline_json(config)
    assert any("strikes" in e["topics"] for e in before)  # type: ignore[operator]

    original = config.read_text(encoding="utf-8")
    without = original.replace('    keywords: ["strike*", SAG-AFTRA, "Writers Guild"]', '    keywords: ["no-such-word-anywhere"]')
    assert without != original
    config.write_text(without, encoding="utf-8")
    result = runner.invoke(cli, ["--config", str(config), "reprocess"])
    assert result.exit_code == 0 and "events changed" in result.stdout
    after = timeline_json(config)
    assert not any("strikes" in e["topics"] for e in after)  # type: ignore[operator]
    assert after != before

    config.write_text(original, encoding="utf-8")
    assert runner.invoke(cli, ["--config", str(config), "reprocess"]).exit_code == 0
    restored = timeline_json(config)
    assert any("strikes" in e["topics"] for e in restored)  # type: ignore[operator]
    # Every dated mention is back, each in exactly one event.
    quotes = lambda evs: sorted(m["quote"] for e in evs for m in e["mentions"])  # type: ignore[attr-defined,union-attr] # noqa: E731
    assert quotes(restored) == quotes(before)


def test_reprocess_of_unchanged_config_changes_nothing(tmp_path: Path, database_url: str) -> None:
    config = copy_samples(tmp_path, database_url)
    runner = CliRunner()
    runner.invoke(cli, ["--config", str(config), "poll"])
    before = timeline_json(config)
    result = runner.invoke(cli, ["--config", str(config), "reprocess", "--feed", "techwire"])
    assert result.exit_code == 0 and result.stdout.strip().endswith("0 events changed")
    assert timeline_json(config) == before
    result = runner.invoke(cli, ["--config", str(config), "reprocess", "--pending"])
    assert result.stdout.strip() == "reprocessed 0 entries: 0 events changed"


def test_daemon_retries_entries_left_unmerged(tmp_path: Path, database_url: str) -> None:
    """Articles stored but never merged (a crash between the steps) are picked up again."""
    from sqlalchemy import delete, update

    from tracker.app import make_tracker
    from tracker.config import load_config
    from tracker.scheduler import Daemon
    from tracker.store.models import Entry, Event, Mention

    config = copy_samples(tmp_path, database_url)
    assert CliRunner().invoke(cli, ["--config", str(config), "poll"]).exit_code == 0
    before = timeline_json(config)
    tracker = make_tracker(load_config(config), processes=0)
    with tracker.store.write() as s:  # as if the process died after storing the entries
        s.execute(delete(Mention))
        s.execute(delete(Event))
        s.execute(update(Entry).values(needs_extraction=True))
    assert timeline_json(config) == []
    daemon = Daemon(tracker)
    daemon._retry_pending()
    tracker.close()
    after = timeline_json(config)
    quotes = lambda evs: sorted(m["quote"] for e in evs for m in e["mentions"])  # type: ignore[attr-defined,union-attr] # noqa: E731
    assert quotes(after) == quotes(before) and len(after) == len(before)


def test_remerge_rebuilds_events_from_the_stored_mentions(tmp_path: Path, database_url: str) -> None:
    from sqlalchemy import create_engine, text

    from tracker.dburl import normalize_database_url

    config = copy_samples(tmp_path, database_url)
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "poll"]).exit_code == 0
    before = timeline_json(config)
    assert len(before) > 3
    # Events no merge makes: every mention moved into the first event, summaries spoiled.
    engine = create_engine(normalize_database_url(database_url))
    try:
        with engine.begin() as c:
            first = c.execute(text("SELECT min(pk) FROM events")).scalar_one()
            c.execute(text("UPDATE mentions SET event_pk = :pk"), {"pk": first})
            c.execute(text("UPDATE events SET summary = 'stale'"))
    finally:
        engine.dispose()
    assert timeline_json(config) != before

    result = runner.invoke(cli, ["--config", str(config), "reprocess", "--remerge"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("re-merged ") and " mentions: " in result.stdout
    after = timeline_json(config)
    # Ids aside: the scrambled event's id goes to one of the events it held, as assign_ids settles it.
    strip = lambda evs: [{k: v for k, v in e.items() if k not in ("id", "updated", "revision", "first_seen")} for e in evs]  # type: ignore[union-attr] # noqa: E731
    for a, b in zip(strip(after), strip(before)):
        assert a == b, [(k, a.get(k), b.get(k)) for k in a if a.get(k) != b.get(k)]
    assert len(after) == len(before)

    bad = runner.invoke(cli, ["--config", str(config), "reprocess", "--remerge", "--pending"])
    assert bad.exit_code == 2 and "--remerge" in bad.output
