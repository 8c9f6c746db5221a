"""The stored timeline is merge() of the stored mentions, whatever order and batches they came in.

apply_mentions merges only the events a change can reach (tracker/store/merging.py); these
tests check that the result is what merging every stored mention from scratch gives: the
same events with the same members, intervals, topics and summaries, for random mentions
from a small vocabulary (so that most pairs link), random arrival orders and batch splits,
edits and removals, in real SQLite files.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tracker.events import EventMention, KeyedMention, merge
from tracker.events.mentions import RANGE
from tracker.store import Store, merging
from tracker.store.merging import MergeStats, apply_mentions, source_key
from tracker.store.models import Entry, Event, EventTopic, Feed, Mention

UTC = timezone.utc
NOW = datetime(2024, 4, 1, 12, 0)
FEED = "wire"

# A small world, so that most pairs nest, share words and link: days inside a week inside a
# month inside a year, a neighbouring month, two spans with the same months, typos.
INTERVALS: list[tuple[date, date, str]] = [
    (date(2024, 3, 25), date(2024, 3, 25), "day"),
    (date(2024, 3, 26), date(2024, 3, 26), "day"),
    (date(2024, 3, 25), date(2024, 3, 31), "week"),
    (date(2024, 3, 1), date(2024, 3, 31), "month"),
    (date(2024, 2, 1), date(2024, 2, 29), "month"),
    (date(2024, 1, 1), date(2024, 12, 31), "year"),
    (date(2024, 3, 1), date(2024, 5, 31), RANGE),
    (date(2024, 3, 10), date(2024, 5, 20), RANGE),
]
WORDS = ["strike", "union", "walkout", "meet", "studio", "unveil", "sora", "writer", "wirter", "dockworker",
         "dokworker", "contract", "pilot"]  # fmt: skip
KEYWORDS = {"strike", "meet", "studio", "sora"}
NAMES = {"sora", "union"}
EXPRESSIONS = ["last week", "on tuesday", "in march"]
ARTICLES = 6


@st.composite
def mentions_of_an_article(draw: st.DrawFn) -> list[EventMention]:
    """One version of an article's mentions (fingerprints unique within it; may be none)."""
    fingerprints = draw(st.lists(st.sampled_from(["f1", "f2", "f3", "f4"]), unique=True, max_size=3))
    out = []
    for fp in fingerprints:
        start, end, granularity = draw(st.sampled_from(INTERVALS))
        terms = frozenset(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5)))
        expression = draw(st.sampled_from(EXPRESSIONS))
        lead = draw(st.sampled_from(["", "It ", "Those "]))
        # Words before the date phrase are what it dates (date_heads), those after are not.
        before = sorted(terms)[: draw(st.integers(0, len(terms)))]
        after = sorted(terms - set(before))
        quote = f"{lead}{' '.join(before)} {expression} {' '.join(after)}".strip()
        out.append(
            EventMention(
                sentence_index=draw(st.integers(0, 3)),
                quote=quote,
                expression=expression,
                expr_start=0,
                expr_end=len(expression),
                value=f"{start}/{end}" if granularity == RANGE else str(start),
                mod=draw(st.sampled_from([None, None, "MID"])),
                granularity=granularity,
                start=start,
                end=end,
                topics=frozenset(draw(st.lists(st.sampled_from(["labour", "film"]), max_size=2))),
                terms=terms,
                summary=quote,
                fingerprint=fp,
                context_topics=draw(st.booleans()),
                focus=frozenset(draw(st.lists(st.sampled_from(sorted(terms)), max_size=2))),
                keywords=terms & KEYWORDS,
                names=terms & NAMES,
            )
        )
    return out


# (article, its mentions) in arrival order; an article's last arrival is its final version.
Arrival = tuple[int, list[EventMention]]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Arrival], list[int]]:
    """Arrivals (articles may come again: edits, removals) and where the batches end."""
    arrivals = draw(st.lists(st.tuples(st.integers(0, ARTICLES - 1), mentions_of_an_article()), min_size=1, max_size=12))
    cuts = sorted(set(draw(st.lists(st.integers(1, len(arrivals)), max_size=len(arrivals)))) | {len(arrivals)})
    return arrivals, cuts


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated database with one feed and its articles, copied for each example."""
    path = tmp_path_factory.mktemp("incremental") / "template.db"
    store = Store(f"sqlite:///{path}")
    with store.write() as s:
        feed = Feed(name=FEED, url="file:///wire.xml", config_url="file:///wire.xml", created=NOW)
        s.add(feed)
        s.flush()
        for n in range(ARTICLES):
            # Published in an order unlike the article numbers, some at the same time.
            published = NOW - timedelta(hours=(n * 5) % 4)
            s.add(Entry(feed_id=feed.id, key=f"a{n}", title="", text="", published=published,
                        content_hash=f"h{n}", first_seen=NOW + timedelta(minutes=n), last_changed=NOW))
    store.close()
    return path


def fresh_store(template: Path) -> Store:
    folder = Path(tempfile.mkdtemp(prefix="incremental-", dir=template.parent))
    shutil.copyfile(template, folder / "t.db")
    return Store(f"sqlite:///{folder / 't.db'}")


def apply(store: Store, batch: Sequence[Arrival]) -> MergeStats:
    with store.write() as s:
        entries = {e.key: e for e in s.scalars(select(Entry))}
        return apply_mentions(s, [(entries[f"a{n}"], mentions) for n, mentions in batch], NOW.replace(tzinfo=UTC))


def apply_planned(store: Store, batch: Sequence[Arrival]) -> MergeStats:
    """As apply, but planned in a read transaction and written in a write transaction (as
    the merge step does, tracker/merge_step.py)."""
    with store.read() as s:
        entries = {e.key: e.id for e in s.scalars(select(Entry))}
        plan = merging.plan_mentions(s, [(entries[f"a{n}"], mentions) for n, mentions in batch], NOW.replace(tzinfo=UTC))
    with store.write() as s:
        rows = {e.key: e for e in s.scalars(select(Entry))}
        return apply_mentions(s, [(rows[f"a{n}"], mentions) for n, mentions in batch], NOW.replace(tzinfo=UTC), plan=plan)


def stored(store: Store) -> list[tuple[object, ...]]:
    """Every event as (member keys, interval, value, mod, granularity, topics, summary,
    sources), sorted; checks on the way that each mention is in exactly one event and that
    each event's index rows follow it."""
    with store.read() as s:
        names = {e.id: source_key(FEED, e.key) for e in s.scalars(select(Entry))}
        members: dict[int, list[tuple[str, str]]] = {}
        for m in s.scalars(select(Mention)):
            assert m.event_pk is not None
            members.setdefault(m.event_pk, []).append((names[m.entry_id], m.fingerprint))
        topics: dict[int, set[str]] = {}
        for t in s.scalars(select(EventTopic)):
            topics.setdefault(t.event_pk, set()).add(t.topic)
        out = []
        ids = []
        for e in s.scalars(select(Event)):
            assert e.pk in members, "an event with no mention"
            assert topics.get(e.pk, set()) == set(e.topics.split())
            keys = tuple(sorted(members[e.pk]))
            out.append((keys, e.start, e.end, e.value, e.mod, e.granularity, e.topics, e.summary, e.sources))
            ids.append(e.id)
        assert len(set(ids)) == len(ids)
        assert sum(len(v) for v in members.values()) == sum(len(o[0]) for o in out)  # type: ignore[arg-type]
    return sorted(out)  # type: ignore[type-var]


def from_merge(final: dict[int, list[EventMention]]) -> list[tuple[object, ...]]:
    """What merge() makes of the final mentions, in stored()'s shape."""
    published = {n: (NOW - timedelta(hours=(n * 5) % 4)).replace(tzinfo=UTC) for n in final}
    keyed = [
        KeyedMention(m, source_key(FEED, f"a{n}"), published[n], (NOW + timedelta(minutes=n)).replace(tzinfo=UTC))
        for n, mentions in final.items()
        for m in mentions
    ]
    out = []
    for e in merge(keyed):
        keys = tuple(sorted((k.source, k.fingerprint) for k in e.mention_keys))
        sources = len({k.source for k in e.mention_keys})
        out.append((keys, e.start, e.end, e.value, e.mod, e.granularity, " ".join(sorted(e.topics)), e.summary, sources))
    return sorted(out)  # type: ignore[type-var]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories(), whole_window=st.sampled_from([0, merging.WHOLE_WINDOW]))
def test_any_order_and_batches_give_the_events_of_a_merge_from_scratch(
    template: Path, history: tuple[list[Arrival], list[int]], whole_window: int
) -> None:
    # WHOLE_WINDOW 0: every change goes the incremental way, however many mentions it
    # brings (a few stored mentions make every change a big one otherwise).
    arrivals, cuts = history
    final = dict(arrivals)  # each article's last version
    default, merging.WHOLE_WINDOW = merging.WHOLE_WINDOW, whole_window
    incremental = fresh_store(template)
    planned = fresh_store(template)
    scratch = fresh_store(template)
    try:
        start = 0
        for cut in cuts:
            apply(incremental, arrivals[start:cut])
            apply_planned(planned, arrivals[start:cut])
            start = cut
        apply(scratch, [(n, mentions) for n, mentions in sorted(final.items())])
        expected = from_merge(final)
        assert stored(scratch) == expected
        assert stored(incremental) == expected
        assert stored(planned) == expected
    finally:
        merging.WHOLE_WINDOW = default
        incremental.close()
        planned.close()
        scratch.close()


def _mention(fp: str, span: tuple[date, date, str], terms: list[str], topics: list[str]) -> EventMention:
    start, end, granularity = span
    quote = f"last week {' '.join(terms)}"
    return EventMention(0, quote, "last week", 0, 9, str(start), None, granularity, start, end, frozenset(topics),
                        frozenset(terms), quote, fp, keywords=frozenset(terms) & KEYWORDS,
                        names=frozenset(terms) & NAMES)  # fmt: skip


def test_a_new_mention_changes_an_event_it_has_no_link_to(template: Path) -> None:
    """The new month mention links only with the week mention and its copies; merge() then
    builds the day mentions' events differently too. Found by a search like the test above;
    checking the new mention's own links alone misses it."""
    day, week, month = INTERVALS[0], INTERVALS[2], INTERVALS[3]
    first = [_mention("f1", day, ["strike"], []), _mention("f2", day, ["strike"], ["labour"]),
             _mention("f3", week, ["strike", "union"], ["labour"])]  # fmt: skip
    second = [_mention("f3", day, ["strike"], ["labour"]), _mention("f1", day, ["strike"], []),
              _mention("f2", day, ["strike"], [])]  # fmt: skip
    new = [_mention("f3", month, ["union"], ["labour"])]
    default, merging.WHOLE_WINDOW = merging.WHOLE_WINDOW, 0
    store = fresh_store(template)
    try:
        apply(store, [(0, first), (1, second)])
        before = stored(store)
        apply(store, [(2, new)])
        after = stored(store)
        assert after == from_merge({0: first, 1: second, 2: new})
        # Events without the new mention changed too.
        assert {e for e in after if (source_key(FEED, "a2"), "f3") not in e[0]} - set(before)  # type: ignore[operator]
    finally:
        merging.WHOLE_WINDOW = default
        store.close()


def test_ids_stay_with_their_events(template: Path) -> None:
    """Ids are kept from first appearance (README): an event an earlier-published article
    joins keeps its id; merged from scratch it takes the earlier article's."""
    one = [EventMention(0, "writers strike last week", "last week", 0, 9, "2024-03-25", None, "week",
                        date(2024, 3, 25), date(2024, 3, 31), frozenset({"labour"}), frozenset({"writer", "strike", "walkout"}),
                        "writers strike", "f1", keywords=frozenset({"strike"}))]  # fmt: skip
    store = fresh_store(template)
    try:
        apply(store, [(0, one)])  # a0 is published last (see template)
        with store.read() as s:
            [first] = s.scalars(select(Event.id)).all()
        apply(store, [(3, [one[0]])])  # the same sentence, syndicated, published earlier
        with store.read() as s:
            assert s.scalars(select(Event.id)).all() == [first]
    finally:
        store.close()
