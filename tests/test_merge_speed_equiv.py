"""The faster paths of merging give what the plain ones gave: the join check with its
helpers inline, the pair book's store, the region's reuse of windows read for other topic
sets, and the collector paused while planning (and restored)."""

from __future__ import annotations

import gc
import math
from collections.abc import Sequence
from datetime import date, datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from test_merge_incremental import INTERVALS, KEYWORDS, NAMES, WORDS  # the same small world
from tracker.events.mentions import RANGE, EventMention
from tracker.events.merge import (
    LINKAGE_FACTOR,
    Clusters,
    KeyedMention,
    Lookup,
    PairBook,
    Prepared,
    _compare_all,
    _join_check,
    _link,
    _similarity,
    _strong,
    _threshold,
    _vague_apart,
    spans_nest,
)
from tracker.store import merging

UTC = timezone.utc


@st.composite
def keyed_mentions(draw: st.DrawFn) -> list[KeyedMention]:
    out = []
    for n in range(draw(st.integers(2, 9))):
        start, end, granularity = draw(st.sampled_from(INTERVALS))
        terms = frozenset(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5)))
        expression = draw(st.sampled_from(["last week", "about two years ago", "in march"]))
        quote = f"{' '.join(sorted(terms))} {expression}"
        mention = EventMention(
            sentence_index=draw(st.integers(0, 2)), quote=quote, expression=expression, expr_start=0,
            expr_end=len(expression), value=f"{start}/{end}" if granularity == RANGE else str(start),
            mod=draw(st.sampled_from([None, "APPROX"])), granularity=granularity, start=start, end=end,
            topics=frozenset(draw(st.lists(st.sampled_from(["labour", "film"]), max_size=2))), terms=terms,
            summary=quote, fingerprint=draw(st.sampled_from(["f1", "f2", "f3"])) + str(n % 2),
            focus=frozenset(draw(st.lists(st.sampled_from(sorted(terms)), max_size=2))),
            keywords=terms & KEYWORDS, names=terms & NAMES,
        )  # fmt: skip
        source = f"a{draw(st.integers(0, 2))}"
        seen = datetime(2024, 4, 1, n, tzinfo=UTC)
        out.append(KeyedMention(mention, source, seen, seen))
    return out


def reference_join_check(
    preps: Sequence[Prepared], left: Sequence[int], right: Sequence[int], lookup: Lookup
) -> tuple[bool, bool]:
    """_join_check as it was, with its helpers called."""
    total = 0.0
    needed = 0.0
    for i in left:
        pi = preps[i]
        for j in right:
            pj = preps[j]
            if not spans_nest(pi.start, pi.end, pi.span, pj.start, pj.end, pj.span) or _vague_apart(pi, pj):
                return False, False
            sim, linked = lookup(i, j) if i < j else lookup(j, i)
            if sim != sim:
                sim = 0.0
            same_source = pi.source == pj.source
            if same_source and not linked:
                return False, False
            threshold = _threshold(pi.days if pi.days > pj.days else pj.days)
            strong = linked and _strong(pi.mention, pj.mention, same_source, pi.heads, pj.heads)
            total += max(sim, threshold) if strong else sim
            needed += threshold * LINKAGE_FACTOR
    return True, total >= needed


def prepared(kms: Sequence[KeyedMention]) -> list[Prepared]:
    unique = {km.key: km for km in kms}
    return sorted((Prepared(km) for km in unique.values()), key=lambda p: p.order)


@settings(max_examples=200, deadline=None)
@given(keyed_mentions(), st.data())
def test_join_check_is_the_plain_one(kms: list[KeyedMention], data: st.DataObject) -> None:
    preps = prepared(kms)
    book = PairBook()
    book.add(preps)
    sims = _compare_all(preps, book.typos.near)[0]
    n = len(preps)
    order = data.draw(st.permutations(range(n)))
    splits = [([i], [j]) for i in range(n) for j in range(n) if i != j]
    splits += [(order[:k], order[k:]) for k in range(1, n)]
    splits += [(order[k:], order[:k]) for k in range(1, n)]
    for left, right in splits:
        assert _join_check(preps, left, right, sims.lookup) == reference_join_check(preps, left, right, sims.lookup)


@settings(max_examples=100, deadline=None)
@given(keyed_mentions())
def test_pair_book_keeps_what_the_functions_give(kms: list[KeyedMention]) -> None:
    preps = prepared(kms)
    book = PairBook()
    book.add(preps)
    # Half the pairs compared one by one, the rest by a set of clusters that remembers them.
    for p in preps[::2]:
        for q in preps:
            book.pair(q, p)
    Clusters(preps, book, remember=True)
    for a, p in enumerate(preps):
        for q in preps[a + 1 :]:
            if not spans_nest(p.start, p.end, p.span, q.start, q.end, q.span):
                assert book.pair(p, q) is None and book.pair(q, p) is None
                continue
            sim = _similarity(p, q, book.typos.near)
            expected = (sim, _link(p, q, sim))
            assert book.pair(p, q) == expected == book.pair(q, p)
            got_sim, linked = book.lookup(p, q)
            assert got_sim == sim and linked == (expected[1] is not None)


def test_windows_of_other_topic_sets_count() -> None:
    region = merging._Region(None)  # type: ignore[arg-type]
    entry = ("feed\x00a", datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))

    def stored(topics: str, start: date, end: date) -> merging._Stored:
        return merging._Stored(("day", start, end, topics, "strike", "f"), 1, 1, 1, entry)

    march, april = (date(2024, 3, 1), date(2024, 3, 31)), (date(2024, 4, 1), date(2024, 4, 30))
    region._read_spans = {frozenset({"labour", "film"}): [march], frozenset({"sora"}): [april], frozenset(): [april]}
    assert region._window_read(stored("labour", date(2024, 3, 5), date(2024, 3, 5)))
    assert region._window_read(stored("film labour", *march))
    assert not region._window_read(stored("labour sora", date(2024, 3, 5), date(2024, 3, 5)))
    assert region._window_read(stored("sora", date(2024, 4, 2), date(2024, 4, 2)))
    assert not region._window_read(stored("film", date(2024, 3, 30), date(2024, 4, 2)))
    # No topics: only a window read for mentions with no topics holds them.
    assert region._window_read(stored("", date(2024, 4, 2), date(2024, 4, 2)))
    assert not region._window_read(stored("", date(2024, 3, 2), date(2024, 3, 2)))


def test_collector_paused_and_restored() -> None:
    was = gc.isenabled()
    try:
        gc.enable()
        with merging._collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled()
        try:
            with merging._collector_paused():
                raise ValueError("planning failed")
        except ValueError:
            pass
        assert gc.isenabled()
        gc.disable()
        with merging._collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_nan_is_never_a_similarity() -> None:
    # The book marks pairs that do not nest with NaN; a similarity is always a number.
    a = EventMention(0, "strike", "in march", 0, 8, "2024-03", None, "month", date(2024, 3, 1), date(2024, 3, 31),
                     frozenset(), frozenset({"strike"}), "strike", "f")  # fmt: skip
    b = EventMention(0, "strike", "in april", 0, 8, "2024-04", None, "month", date(2024, 4, 1), date(2024, 4, 30),
                     frozenset(), frozenset({"strike"}), "strike", "g")  # fmt: skip
    seen = datetime(2024, 4, 1, tzinfo=UTC)
    p, q = Prepared(KeyedMention(a, "x", seen, seen)), Prepared(KeyedMention(b, "y", seen, seen))
    book = PairBook()
    book.add([p, q])
    assert book.pair(p, q) is None
    sim, linked = book.lookup(p, q)
    assert math.isnan(sim) and not linked
