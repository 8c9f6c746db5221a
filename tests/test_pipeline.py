"""The fast poll pipeline gives the same results as the plain one: prefilter, worker processes, one merge."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import test_events_story as story
from conftest import Databases
from demo_copy import timeline_json, without_ids
from tracker.app import TopicPrefilter, make_tracker
from tracker.config import FeedConfig, Topic, load_config
from tracker.events import TopicMatcher, find_mentions
from tracker.parse import parse_feed

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SAMPLE_FEEDS = ["techwire.xml", "screenbeat.xml", "daily-ledger.xml", "frame-rate.atom"]
TOPICS = load_config(SAMPLES / "demo.yaml").topics
NOW = datetime(2024, 3, 30, tzinfo=timezone.utc)


def sample_articles() -> list[tuple[str, str, datetime]]:
    articles = []
    for name in SAMPLE_FEEDS:
        for entry in parse_feed((SAMPLES / name).read_bytes(), {"content-type": "application/xml"}, now=NOW).entries:
            articles.append((entry.title, entry.text, entry.published or NOW))
    articles += [(a.title, a.text, a.published) for a in story.ARTICLES]
    # Keyword edge cases: at a sentence start after punctuation, curly apostrophes, a
    # phrase broken over a line, a prefix keyword inside a longer word, none at all.
    articles += [
        ("Budget news", "The council met on Monday.Studios said on Tuesday they would wait.", NOW),
        ("Talks", "Hollywood’s unions will meet next week.", NOW),
        ("Talks", "The Writers\nGuild plans a vote on March 25.", NOW),
        ("Talks", "Prestrike talks resumed on Friday, and restrikes are planned next month.", NOW),
        ("Weather", "Heavy rain is expected on Friday across the coast.", NOW),
    ]
    return articles


TOPIC_SETS: list[dict[str, Topic]] = [
    dict(TOPICS),
    {"sora": TOPICS["sora"]},
    {"empty": Topic("empty", None, ())},
]


@pytest.mark.parametrize("topics", TOPIC_SETS, ids=["demo", "sora-only", "no-keywords"])
@pytest.mark.parametrize("feed_topics", [None, ("strikes",), ()], ids=["all", "strikes", "none"])
def test_prefilter_never_drops_a_mention(topics: dict[str, Topic], feed_topics: tuple[str, ...] | None) -> None:
    matcher = TopicMatcher(topics)
    prefilter = TopicPrefilter(topics)
    skipped = 0
    for title, text, published in sample_articles():
        mentions = find_mentions(title=title, text=text, published=published, matcher=matcher, feed_topics=feed_topics)
        if not prefilter.could_mention(title, text, feed_topics):
            skipped += 1
            assert mentions == [], title
    if topics is TOPIC_SETS[0] and feed_topics is None:
        # The prefilter does skip something on the samples (off-topic articles).
        assert skipped > 0


def test_prefilter_without_topics_keeps_everything() -> None:
    assert TopicPrefilter({}).could_mention("", "", None)


def write_config(folder: Path, copies: int, database: str) -> Path:
    """The demo topics with the sample feeds, each under `copies` names (enough feeds for the pool)."""
    lines = [f"database: {database}", "topics:"]
    for name, topic in TOPICS.items():
        lines.append(f"  {name}: {{keywords: {json.dumps(list(topic.keywords))}}}")
    lines.append("feeds:")
    for copy in range(copies):
        for file in SAMPLE_FEEDS:
            lines.append(f"  - {{name: {Path(file).stem}-{copy}, url: {json.dumps(str(SAMPLES / file))}}}")
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def timeline(config: Path) -> list[tuple[object, ...]]:
    return without_ids(timeline_json(config))


def test_pool_prefilter_and_one_merge_match_the_plain_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_database_url: Databases
) -> None:
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    outcomes = []
    # (worker processes, prefilter, poll all feeds at once)
    for n, (processes, prefilter, at_once) in enumerate([(0, False, False), (2, True, True), (0, True, True)]):
        folder = tmp_path / str(n)
        folder.mkdir()
        config = write_config(folder, copies=2, database=make_database_url(folder / "tracker.db"))
        tracker = make_tracker(load_config(config), processes=processes, prefilter=prefilter)
        try:
            if at_once:
                results = tracker.poll()
                assert len(results) == 8
            else:
                # The plain pipeline: one feed per poll, extraction and merging in its transaction.
                results = [r for feed in tracker.feeds() for r in tracker.poll([feed.name])]
            assert all(r.status == "ok" for r in results), [r.line() for r in results]
            if processes:
                assert tracker._pool is not None  # the pool was really used
            stored = sum(tracker.store.entry_counts().values())
            # Polling again changes nothing and starts no work.
            again = tracker.poll()
            assert all(r.status == "not-modified" for r in again)
        finally:
            tracker.close()
        assert tracker._pool is None
        outcomes.append((stored, [(r.feed, r.new, r.updated, r.unchanged) for r in results], timeline(config)))
    assert len(outcomes[0][2]) >= 5
    assert outcomes[1] == outcomes[0]
    assert outcomes[2] == outcomes[0]


def test_edited_entry_is_extracted_again_with_its_stored_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    config = write_config(tmp_path, copies=2, database=database_url)
    tracker = make_tracker(load_config(config), processes=0)
    try:
        tracker.poll()
        feed = tracker.config.feeds[0]
        path = Path(feed.url)
        edited = tmp_path / "edited.xml"
        edited.write_bytes(path.read_bytes().replace(b"next week", b"on April 2"))
        cfg = FeedConfig(name=feed.name, url=str(edited), interval=timedelta(minutes=30), timeout=timedelta(seconds=20))
        tracker.reconfigure(replace(tracker.config, feeds=(cfg, *tracker.config.feeds[1:])))
        [result] = tracker.poll([feed.name])
        assert (result.status, result.updated) == ("ok", 1)
        assert result.events_changed > 0
    finally:
        tracker.close()


def test_a_failed_merge_keeps_every_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    config = write_config(tmp_path, copies=1, database=database_url)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("merge bug")

    monkeypatch.setattr("tracker.merge_step.apply_mentions", broken)
    tracker = make_tracker(load_config(config), processes=0)
    try:
        results = tracker.poll()
        assert all(r.status == "ok" and r.new > 0 for r in results)
        assert any("events not merged" in (r.warning or "") for r in results)
        from sqlalchemy import func, select

        from tracker.store import Entry

        with tracker.store.read() as s:
            pending = s.scalar(select(func.count()).select_from(Entry).where(Entry.needs_extraction.is_(True)))
        assert pending and pending > 0  # left for `tracker reprocess --pending`
    finally:
        tracker.close()


def test_one_feed_or_a_few_start_no_worker_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    config = write_config(tmp_path, copies=1, database=f"sqlite:///{tmp_path / 'tracker.db'}")
    tracker = make_tracker(load_config(config), processes=2)
    try:
        tracker.poll(["techwire-0"])
        tracker.poll()  # four feeds: not worth starting workers
        assert tracker._pool is None
    finally:
        tracker.close()


# Letters whose case folding is unusual: several characters, or a different letter.
_TRICKY = "aAsSkKiIßẞſ\u212aİıΣσςﬁ'’ -"


@settings(max_examples=500, deadline=None)
@given(
    keyword=st.text(alphabet="aksiß'’ -*", min_size=1, max_size=4).filter(lambda k: k.strip(" *")),
    text=st.text(alphabet=_TRICKY, max_size=12),
    cut=st.tuples(st.integers(0, 12), st.integers(0, 12)),
)
@example(keyword="ss", text="ß", cut=(0, 1))
@example(keyword="strasse", text="Die Straße", cut=(4, 10))
@example(keyword="k*", text="\u212a", cut=(0, 1))
def test_prefilter_matches_wherever_the_matcher_does(keyword: str, text: str, cut: tuple[int, int]) -> None:
    topics = {"t": Topic("t", None, (keyword,))}
    matcher, prefilter = TopicMatcher(topics), TopicPrefilter(topics)
    # find_mentions matches slices of the text (sentences) and the title.
    piece = text[min(cut) : max(cut)]
    if matcher.match(piece):
        assert prefilter.could_mention("", text, None)
        assert prefilter.could_mention("", text, ("t",))
        assert prefilter.could_mention(piece, "", None)
