"""merge: same-event rule, order independence, precise intervals, stable ids, edits."""

from __future__ import annotations

import importlib
import re
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.config import Topic
from tracker.events import (
    EventMention,
    KeyedMention,
    MentionKey,
    MergedEvent,
    TopicMatcher,
    assign_ids,
    diff_mentions,
    find_mentions,
    merge,
)
from tracker.temporal import TemporalMention

TOPICS = {
    "sora": Topic("sora", "OpenAI Sora", ("Sora", "text-to-video")),
    "hollywood-meetings": Topic("hollywood-meetings", None, ("Hollywood", "studio*", "meeting*")),
    "strikes": Topic("strikes", None, ("strike*", "SAG-AFTRA", "Writers Guild")),
}
MATCHER = TopicMatcher(TOPICS)
UTC = timezone.utc

FEB = (date(2024, 2, 1), date(2024, 2, 29))
W13 = (date(2024, 3, 25), date(2024, 3, 31))
MAR25 = (date(2024, 3, 25), date(2024, 3, 25))
Y2023 = (date(2023, 1, 1), date(2023, 12, 31))
Y2024 = (date(2024, 1, 1), date(2024, 12, 31))


# The tagger's own result type: hand-built mentions stand in for the tagger's output.
FakeTemporal = TemporalMention


def article(
    source: str,
    text: str,
    dates: dict[str, tuple[str, str | None, str, tuple[date, date]]],
    *,
    title: str = "",
    published: datetime,
    first_seen: datetime | None = None,
) -> list[KeyedMention]:
    """Keyed mentions of a hand-written article whose dates are tagged as given."""

    def extract(body: str, _: object) -> list[FakeTemporal]:
        out = []
        for phrase, (value, mod, granularity, interval) in dates.items():
            for m in re.finditer(re.escape(phrase), body):
                out.append(FakeTemporal(m.start(), m.end(), phrase, "DATE", value, mod, granularity, interval))
        return out

    found = find_mentions(title=title, text=text, published=published, matcher=MATCHER, extractor=extract)
    return [KeyedMention(m, source, published, first_seen or published) for m in found]


SAT = datetime(2024, 3, 23, 9, 30, tzinfo=UTC)
MON = datetime(2024, 3, 25, 14, 0, tzinfo=UTC)
THU = datetime(2024, 3, 28, 16, 0, tzinfo=UTC)

NEXT_WEEK = article(
    "winbuzzer:1",
    "OpenAI is set to meet Hollywood studios, executives and talent agencies in Los Angeles next week.",
    {"next week": ("2024-W13", None, "week", W13)},
    published=SAT,
)
THIS_WEEK = article(
    "reuters:1",
    "OpenAI is meeting studios, producers and talent agencies in Los Angeles this week to pitch Sora, people familiar with the matter said.",
    {"this week": ("2024-W13", None, "week", W13)},
    published=MON,
)
STRIKES_A = article(
    "reuters:2",
    "The outreach comes after the Writers Guild and SAG-AFTRA strikes last year, which ended with new limits on AI.",
    {"last year": ("2023", None, "year", Y2023)},
    published=MON,
)
STRIKES_B = article(
    "deadline:1",
    "The SAG-AFTRA and Writers Guild strikes last year shut down production for months and won new limits on AI.",
    {"last year": ("2023", None, "year", Y2023)},
    published=datetime(2024, 4, 2, 10, 0, tzinfo=UTC),
)
UNVEILED = article(
    "verge:1",
    "OpenAI unveiled Sora, its text-to-video model, in mid-February.",
    {"mid-February": ("2024-02", "MID", "month", FEB)},
    published=MON,
)
MET_LAST_MONTH = article(
    "screendigest:1",
    "OpenAI's meetings with studio executives, which took place last month, were meant to show off Sora.",
    {"last month": ("2024-02", None, "month", FEB)},
    published=THU,
)


def one(kms: list[KeyedMention]) -> KeyedMention:
    assert len(kms) == 1, kms
    return kms[0]


def sources(event: MergedEvent) -> set[str]:
    return {k.source for k in event.mention_keys}


def test_next_week_on_saturday_and_this_week_on_monday_are_one_event() -> None:
    [event] = merge(NEXT_WEEK + THIS_WEEK)
    assert (event.value, event.granularity, event.start, event.end) == ("2024-W13", "week", *W13)
    assert sources(event) == {"winbuzzer:1", "reuters:1"}
    assert event.topics == {"hollywood-meetings", "sora"}


def test_last_year_in_two_articles_is_one_2023_event() -> None:
    [event] = merge(STRIKES_A + STRIKES_B)
    assert (event.value, event.granularity, event.start, event.end) == ("2023", "year", *Y2023)
    assert sources(event) == {"reuters:2", "deadline:1"}
    assert "strikes" in event.topics


def test_unveiling_and_meetings_in_the_same_month_stay_apart() -> None:
    events = merge(UNVEILED + MET_LAST_MONTH)
    assert len(events) == 2
    assert {frozenset(sources(e)) for e in events} == {frozenset({"verge:1"}), frozenset({"screendigest:1"})}
    assert all(e.value == "2024-02" for e in events)


def test_everything_together() -> None:
    everything = NEXT_WEEK + THIS_WEEK + STRIKES_A + STRIKES_B + UNVEILED + MET_LAST_MONTH
    events = merge(everything)
    assert sorted((e.value, len(e.mention_keys)) for e in events) == [
        ("2023", 2), ("2024-02", 1), ("2024-02", 1), ("2024-W13", 2)
    ]


def test_topics_must_overlap() -> None:
    sora = article("a:1", "Sora clips were shown to agencies this week.", {"this week": ("2024-W13", None, "week", W13)}, published=MON)
    strike = article("b:1", "SAG-AFTRA clips were shown to agencies this week.", {"this week": ("2024-W13", None, "week", W13)}, published=MON)
    assert len(merge(sora + strike)) == 2


def test_incompatible_intervals_never_merge() -> None:
    feb = article("a:1", "OpenAI met Hollywood studios in Los Angeles in February.", {"February": ("2024-02", None, "month", FEB)}, published=MON)
    w13 = article("b:1", "OpenAI met Hollywood studios in Los Angeles this week.", {"this week": ("2024-W13", None, "week", W13)}, published=MON)
    assert len(merge(feb + w13)) == 2


def test_a_vague_mention_cannot_chain_two_dates() -> None:
    feb = article("a:1", "OpenAI met Hollywood studios and agencies in Los Angeles in February.",
                  {"February": ("2024-02", None, "month", FEB)}, published=MON)
    w13 = article("b:1", "OpenAI met Hollywood studios and agencies in Los Angeles this week.",
                  {"this week": ("2024-W13", None, "week", W13)}, published=MON)
    year = article("c:1", "OpenAI met Hollywood studios and agencies in Los Angeles in 2024.",
                   {"2024": ("2024", None, "year", Y2024)}, published=MON)
    events = merge(feb + w13 + year)
    assert len(events) == 2
    for event in events:
        assert not {"a:1", "b:1"} <= sources(event)


def test_the_event_takes_the_most_precise_interval() -> None:
    day = article("a:1", "OpenAI met Hollywood studios and talent agencies in Los Angeles on Monday.",
                  {"Monday": ("2024-03-25", None, "day", MAR25)}, published=THU)
    [event] = merge(NEXT_WEEK + THIS_WEEK + day)
    assert (event.value, event.granularity, event.start, event.end) == ("2024-03-25", "day", *MAR25)
    assert len(event.mention_keys) == 3


def test_a_time_places_the_event_on_its_day() -> None:
    at3 = article("a:1", "OpenAI met Hollywood studios and talent agencies in Los Angeles at 3 p.m. on Monday.",
                  {"3 p.m. on Monday": ("2024-03-25T15:00", None, "time", MAR25)}, published=THU)
    [event] = merge(at3)
    assert (event.value, event.granularity) == ("2024-03-25", "day")


def test_mod_survives_when_the_interval_is_shared() -> None:
    plain = article("a:1", "OpenAI unveiled Sora, its text-to-video model, in February.",
                    {"February": ("2024-02", None, "month", FEB)}, published=MON)
    [event] = merge(plain + UNVEILED)
    assert (event.value, event.mod) == ("2024-02", "MID")


def test_sentences_of_one_article_stay_apart_unless_clearly_the_same() -> None:
    text = (
        "OpenAI unveiled Sora, its text-to-video model, in February. "
        "Separately, OpenAI met Hollywood studios in February to discuss licensing."
    )
    kms = article("a:1", text, {"February": ("2024-02", None, "month", FEB)}, published=MON)
    assert len(kms) == 2 and len(merge(kms)) == 2
    text = "OpenAI will meet Hollywood studios next week. OpenAI's meetings next week could change the film industry."
    kms = article("a:1", text, {"next week": ("2024-W13", None, "week", W13)}, published=SAT)
    assert len(kms) == 2 and len(merge(kms)) == 1


def test_the_same_mention_twice_is_one_mention() -> None:
    [event] = merge(THIS_WEEK + THIS_WEEK + [replace(THIS_WEEK[0], first_seen=MON + timedelta(hours=1))])
    assert len(event.mention_keys) == 1


def test_summary_is_short_and_readable() -> None:
    [event] = merge(NEXT_WEEK + THIS_WEEK)
    assert event.summary in {"OpenAI is set to meet Hollywood studios, executives and talent agencies in Los Angeles",
                             "OpenAI is meeting studios, producers and talent agencies in Los Angeles"}
    assert len(event.summary) <= 120


POOL = NEXT_WEEK + THIS_WEEK + STRIKES_A + STRIKES_B + UNVEILED + MET_LAST_MONTH + article(
    "c:1",
    "OpenAI met Hollywood studios and talent agencies in Los Angeles on Monday. It was unveiled in mid-February. "
    "Actors who went on strike last year are watching.",
    {"Monday": ("2024-03-25", None, "day", MAR25), "mid-February": ("2024-02", "MID", "month", FEB),
     "last year": ("2023", None, "year", Y2023)},
    title="OpenAI's Sora goes to Hollywood",
    published=THU,
)


@settings(max_examples=60, deadline=None)
@given(st.permutations(POOL))
def test_merge_does_not_depend_on_order(shuffled: list[KeyedMention]) -> None:
    assert merge(shuffled) == merge(POOL)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(POOL), min_size=1, max_size=len(POOL)), st.randoms())
def test_subsets_in_any_order(picked: list[KeyedMention], rnd: object) -> None:
    shuffled = list(picked)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    events = merge(shuffled)
    assert events == merge(picked)
    keys = [k for e in events for k in e.mention_keys]
    assert sorted(keys) == sorted({km.key for km in picked})  # every mention in exactly one event


def test_ids_are_stable_short_and_follow_the_earliest_mention() -> None:
    [first] = merge(NEXT_WEEK)
    assert re.fullmatch(r"[0-9a-f]{10}", first.id)
    [grown] = merge(NEXT_WEEK + THIS_WEEK)
    assert grown.id == first.id  # a later article joining does not change the id
    assert merge(THIS_WEEK + NEXT_WEEK)[0].id == first.id
    ids = [e.id for e in merge(POOL)]
    assert len(set(ids)) == len(ids)


def test_assign_ids_keeps_ids_across_reprocessing() -> None:
    before = merge(POOL)
    previous = {k: e.id for e in before for k in e.mention_keys}
    # The earliest mention of the W13 event is edited away: its derived id would change.
    w13 = next(e for e in before if e.value == "2024-03-25")
    anchor_source = min((km for km in POOL if km.key in w13.mention_keys), key=lambda km: km.first_seen).source
    remaining = [km for km in POOL if km.source != anchor_source]
    after = merge(remaining)
    kept = assign_ids(after, previous)
    ids_before = {e.id for e in before}
    for event in kept:
        assert event.id in ids_before
    assert assign_ids(before, previous) == before


def test_assign_ids_split_event_keeps_id_for_the_larger_part() -> None:
    a, b, c = MentionKey("a", "1"), MentionKey("b", "2"), MentionKey("c", "3")
    base = merge(NEXT_WEEK)[0]
    big = replace(base, id="new1", mention_keys=(a, b))
    small = replace(base, id="new2", mention_keys=(c,))
    out = assign_ids([small, big], {a: "old", b: "old", c: "old"})
    assert [e.id for e in out] == ["new2", "old"]
    clash = replace(base, id="old", mention_keys=(MentionKey("d", "4"),))
    out = assign_ids([big, clash], {a: "old", b: "old"})
    assert out[0].id == "old" and out[1].id != "old"


def test_diff_mentions_follows_edits() -> None:
    fresh: list[EventMention] = [km.mention for km in NEXT_WEEK + UNVEILED]
    stored = [NEXT_WEEK[0].mention.fingerprint, "gone"]
    diff = diff_mentions(stored, fresh)
    assert diff.removed == {"gone"}
    assert diff.kept == {NEXT_WEEK[0].mention.fingerprint}
    assert [m.fingerprint for m in diff.added] == [UNVEILED[0].mention.fingerprint]
    assert not diff_mentions([m.fingerprint for m in fresh], fresh).changed


def test_merge_is_fast_enough_for_a_neighbourhood() -> None:
    import time

    many = [
        replace(km, source=f"{km.source}#{i}", first_seen=km.first_seen + timedelta(minutes=i))
        for i in range(40)
        for km in POOL
    ]
    started = time.perf_counter()
    events = merge(many)
    # A hang guard (an accidental cubic merge takes minutes here), not a speed target.
    assert time.perf_counter() - started < 30.0
    assert len(events) <= len(POOL)


WORDS = ["meet", "studio", "unveil", "sora", "strike", "writer", "agency", "los", "angele", "openai", "clip", "union"]
INTERVALS = [FEB, W13, MAR25, Y2023, Y2024, (date(2024, 2, 11), date(2024, 2, 20))]


@st.composite
def hand_built(draw: st.DrawFn) -> KeyedMention:
    start, end = draw(st.sampled_from(INTERVALS))
    terms = frozenset(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6)))
    topics = frozenset(draw(st.lists(st.sampled_from(sorted(TOPICS)), max_size=2)))
    source = draw(st.sampled_from(["a", "b", "c", "d"]))
    fp = draw(st.sampled_from(["f1", "f2", "f3", "f4", "f5", "f6"]))
    mention = EventMention(
        sentence_index=draw(st.integers(0, 3)),
        quote=" ".join(sorted(terms)),
        expression="x",
        expr_start=0,
        expr_end=1,
        value=f"{start}/{end}",
        mod=None,
        granularity="day",
        start=start,
        end=end,
        topics=topics,
        terms=terms,
        summary=" ".join(sorted(terms)),
        fingerprint=fp,
        focus=frozenset(draw(st.lists(st.sampled_from(sorted(terms)), max_size=2))),
        keywords=terms & {"meet", "studio", "strike", "sora"},
        names=terms & {"sora", "openai", "los", "angele"},
    )
    seen = datetime(2024, 3, 1, tzinfo=UTC) + timedelta(hours=draw(st.integers(0, 5)))
    return KeyedMention(mention, source, seen, seen)


@settings(max_examples=150, deadline=None)
@given(st.lists(hand_built(), max_size=14), st.randoms())
def test_random_mentions_merge_the_same_in_any_order(kms: list[KeyedMention], rnd: object) -> None:
    shuffled = list(kms)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    events = merge(kms)
    assert merge(shuffled) == events
    assert merge(shuffled + shuffled) == events
    if len({km.key for km in kms}) < len(kms):
        return  # a key seen twice with different content: one copy wins, checked above
    for event in events:
        members = [km.mention for km in kms if km.key in event.mention_keys]
        # Every member's interval contains the event's: the most precise one they agree on.
        assert all(m.start <= event.start and event.end <= m.end for m in members)
        assert event.topics == frozenset().union(*(m.topics for m in members))


def test_single_sentence_unveiling_and_meetings_stay_apart() -> None:
    # The brief's pair at its barest: the shared words are only names ("OpenAI", "Sora").
    unveiled = article("a:1", "OpenAI unveiled Sora in mid-February.",
                       {"mid-February": ("2024-02", "MID", "month", (date(2024, 2, 11), date(2024, 2, 20)))}, published=MON)
    meetings = article("b:1", "OpenAI held meetings with studios last month to show off Sora.",
                       {"last month": ("2024-02", None, "month", FEB)}, published=THU)
    assert len(merge(unveiled + meetings)) == 2


def test_paraphrased_unveiling_merges() -> None:
    mid = (date(2024, 2, 11), date(2024, 2, 20))
    a = article("a:1", "OpenAI unveiled Sora, a model that turns text prompts into video, in mid-February.",
                {"mid-February": ("2024-02", "MID", "month", mid)}, published=MON)
    b = article("b:1", "In mid-February, OpenAI introduced Sora, which can create minute-long videos from text.",
                {"mid-February": ("2024-02", "MID", "month", mid)}, published=THU)
    [event] = merge(a + b)
    assert (event.start, event.end, event.mod) == (*mid, "MID")


def test_two_meetings_in_one_week_stay_apart() -> None:
    a = article("a:1", "OpenAI met Hollywood studios in Los Angeles this week.",
                {"this week": ("2024-W13", None, "week", W13)}, published=THU)
    b = article("b:1", "The Writers Guild held a membership meeting in New York this week to discuss AI.",
                {"this week": ("2024-W13", None, "week", W13)}, published=THU)
    assert len(merge(a + b)) == 2


def test_naive_utc_times_from_the_database_merge_like_aware_ones() -> None:
    naive = [replace(km, first_seen=km.first_seen.replace(tzinfo=None), published=km.published.replace(tzinfo=None))
             for km in THIS_WEEK]
    assert merge(NEXT_WEEK + naive) == merge(NEXT_WEEK + THIS_WEEK)


# --- spans, strikes "last year", one article's consecutive sentences ---------------------

JUL14_NOV9 = ("2023-07-14/2023-11-09", None, "range", (date(2023, 7, 14), date(2023, 11, 9)))
NOV = ("2023-11", None, "month", (date(2023, 11, 1), date(2023, 11, 30)))
LAST_YEAR = ("2023", None, "year", Y2023)


def span_article(source: str, text: str, first: str, second: str, span: tuple[str, str | None, str, tuple[date, date]],
                 published: datetime) -> list[KeyedMention]:  # fmt: skip
    """An article whose span is tagged as its two ends, the way the real tagger tags it."""
    lo, hi = span[3]
    return article(source, text, {first: (span[0].split("/")[0], None, "day", (lo, lo)),
                                  second: (span[0].split("/")[1], None, "day", (hi, hi))}, published=published)  # fmt: skip


def test_two_spans_with_the_same_ends_are_one_event_without_shared_words() -> None:
    a = article("framerate:1", "The strikes shut down production. The actors stayed out from July to November 2023.",
                {"July": ("2023-07", None, "month", (date(2023, 7, 1), date(2023, 7, 31))),
                 "November 2023": NOV},
                published=SAT)  # fmt: skip
    b = span_article("ledger:1", "That is sharper after the SAG-AFTRA strike, which ran from July 14 to November 9, 2023.",
                     "July 14", "November 9, 2023", JUL14_NOV9, MON)  # fmt: skip
    assert [m.mention.granularity for m in a + b] == ["range", "range"]
    [event] = merge(a + b)
    assert (event.start, event.end, event.granularity) == (date(2023, 7, 14), date(2023, 11, 9), "range")
    assert event.summary == "The SAG-AFTRA strike ran from July 14 to November 9, 2023"


def test_a_span_never_merges_with_a_date_inside_or_around_it() -> None:
    span = article("framerate:1", "The SAG-AFTRA strike ran from July to November 2023.",
                   {"July": ("2023-07", None, "month", (date(2023, 7, 1), date(2023, 7, 31))),
                    "November 2023": NOV}, published=SAT)  # fmt: skip
    end = article("techwire:1", "The SAG-AFTRA strike lasted until November.", {"November": NOV}, published=SAT)
    year = article("ledger:1", "The SAG-AFTRA strike ran last year.", {"last year": LAST_YEAR}, published=MON)
    events = merge(span + end + year)
    spans = [e for e in events if e.granularity == "range"]
    assert [len(e.mention_keys) for e in spans] == [1]


def test_strikes_last_year_in_many_articles_are_one_event() -> None:
    # Little else in common: the date is attached to the topic word in every one of them.
    texts = [
        "The announcement will be read closely in Hollywood, where writers went on strike last year over pay.",
        "OpenAI's executives pitched Sora to an industry still bruised by the strikes of last year.",
        "Agents said clients asked about training data, a question fought over during the strikes last year.",
        "The guild said any studio using such a model must follow the rules won after the strike last year.",
        "For the unions, the clips were a reminder of why they went on strike last year.",
    ]
    kms = [km for i, t in enumerate(texts) for km in article(f"feed{i}:1", t, {"last year": LAST_YEAR}, published=MON)]
    assert len(kms) == 5
    [event] = merge(kms)
    assert (event.value, event.granularity) == ("2023", "year")


def test_the_next_sentence_of_one_article_pointing_back_is_the_same_event() -> None:
    text = ("OpenAI held a first round of talks with studio executives last month. "
            "People who attended those February meetings said OpenAI mainly wanted to listen.")  # fmt: skip
    kms = article("ledger:1", text, {"last month": ("2024-02", None, "month", FEB), "February": ("2024-02", None, "month", FEB)},
                  published=MON)  # fmt: skip
    assert len(kms) == 2
    [event] = merge(kms)
    assert len(event.mention_keys) == 2


def test_sentences_of_one_article_far_apart_still_need_to_say_the_same() -> None:
    text = ("OpenAI held a first round of talks with studio executives last month. The weather was fine. "
            "People who attended those February meetings said OpenAI mainly wanted to listen.")  # fmt: skip
    kms = article("ledger:1", text, {"last month": ("2024-02", None, "month", FEB), "February": ("2024-02", None, "month", FEB)},
                  published=MON)  # fmt: skip
    assert len(merge(kms)) == 2


@settings(max_examples=300, deadline=None)
@given(hand_built(), hand_built(), st.booleans(), st.booleans())
def test_pairs_sharing_no_term_link_only_in_the_cases_merge_visits(
    a: KeyedMention, b: KeyedMention, a_range: bool, b_range: bool
) -> None:
    # merge() computes similarities only for pairs that share a term, plus syndicated copies,
    # sentences of one article and equal spans (_special_pairs): every other pair must
    # score 0.0 and never link, or skipping it would change the events.
    merge_module = importlib.import_module("tracker.events.merge")  # the package exports the function under this name

    a = replace(a, mention=replace(a.mention, granularity="range" if a_range else "day"))
    b = replace(b, mention=replace(b.mention, terms=b.mention.terms - a.mention.terms or frozenset({"zzz"}),
                                   granularity="range" if b_range else "day"))  # fmt: skip
    assert not a.mention.terms & b.mention.terms
    pa, pb = merge_module.Prepared(a), merge_module.Prepared(b)
    typos = merge_module.Typos()
    typos.add(pa.long | pb.long)
    assert merge_module._similarity(pa, pb, typos.near) == 0.0
    special = (
        a.mention.fingerprint == b.mention.fingerprint
        or a.source == b.source
        or (a_range and b_range and merge_module._same_span(a.mention, b.mention))
    )
    if merge_module._link(pa, pb, 0.0) is not None:
        assert special


@settings(max_examples=300, deadline=None)
@given(hand_built(), hand_built(), st.floats(0.0, 1.0), st.booleans())
def test_pairs_sharing_only_names_link_only_as_special_pairs(
    a: KeyedMention, b: KeyedMention, score: float, names_in_a: bool
) -> None:
    # The store looks for a mention's links among the mentions sharing a word that is no
    # name (tracker/store/merging.py, _Region._candidates), whatever the similarity.
    merge_module = importlib.import_module("tracker.events.merge")
    shared = a.mention.terms & b.mention.terms
    if names_in_a:
        a = replace(a, mention=replace(a.mention, names=a.mention.names | shared))
    else:
        b = replace(b, mention=replace(b.mention, names=b.mention.names | shared))
    pa, pb = merge_module.Prepared(a), merge_module.Prepared(b)
    special = (
        a.mention.fingerprint == b.mention.fingerprint
        or a.source == b.source
        or merge_module._same_span(a.mention, b.mention)
    )
    if merge_module._compatible(a.mention, b.mention) and merge_module._link(pa, pb, score) is not None:
        assert special


def _bare(source: str, index: int, terms: set[str], fingerprint: str, *, context: bool = False) -> KeyedMention:
    mention = EventMention(
        sentence_index=index, quote=" ".join(sorted(terms)), expression="last month", expr_start=0, expr_end=10,
        value="2024-02", mod=None, granularity="month", start=FEB[0], end=FEB[1], topics=frozenset({"strikes"}),
        terms=frozenset(terms), summary=" ".join(sorted(terms)), fingerprint=fingerprint, context_topics=context,
    )
    return KeyedMention(mention, source, MON, MON)


def test_a_continuing_sentence_without_a_shared_term_still_merges() -> None:
    # No term in common, so merge() finds these pairs through _special_pairs, not through terms.
    continued = [_bare("ledger:1", 0, {"walkout", "began"}, "f1"), _bare("ledger:1", 1, {"pickets", "formed"}, "f2", context=True)]
    [event] = merge(continued)
    assert len(event.mention_keys) == 2


# -- vague dates: "about a month ago", "eighteen months ago", "two years later" -------------

MAR = (date(2024, 3, 1), date(2024, 3, 31))
MET_ON_THE_25TH = article(
    "variety:1",
    "OpenAI met Hollywood studios and talent agencies in Los Angeles on March 25 to show them Sora.",
    {"March 25": ("2024-03-25", None, "day", MAR25)},
    published=THU,
)


def test_a_plain_month_still_joins_a_day_inside_it() -> None:
    month = article("thewrap:1", "OpenAI met Hollywood studios and talent agencies in Los Angeles in March to show them Sora.",
                    {"in March": ("2024-03", None, "month", MAR)}, published=datetime(2024, 4, 9, tzinfo=UTC))
    [event] = merge(MET_ON_THE_25TH + month)
    assert (event.value, event.granularity) == ("2024-03-25", "day")


def test_a_date_counted_back_in_months_does_not_join_a_day_inside_it() -> None:
    later = datetime(2025, 9, 20, tzinfo=UTC)
    counted = article("indiewire:4", "Hollywood studios and talent agencies met OpenAI in Los Angeles eighteen months ago "
                      "to see Sora.", {"eighteen months ago": ("2024-03", None, "month", MAR)}, published=later)
    approx = article("deadline:9", "OpenAI met Hollywood studios and talent agencies in Los Angeles about a month ago "
                     "to show them Sora.", {"about a month ago": ("2024-03", "APPROX", "month", MAR)},
                     published=datetime(2024, 4, 22, tzinfo=UTC))
    events = merge(MET_ON_THE_25TH + counted + approx)
    day = event_of_source(events, "variety:1")
    assert sources(day) == {"variety:1"}
    assert (day.value, day.granularity) == ("2024-03-25", "day")
    # Two rough dates of the same month can still be one happening.
    assert sources(event_of_source(events, "indiewire:4")) == {"indiewire:4", "deadline:9"}


def test_a_year_counted_back_joins_neither_a_month_nor_a_day() -> None:
    years = article("hollywoodreporter:2", "OpenAI met Hollywood studios and talent agencies in Los Angeles two years "
                    "ago to show them Sora.", {"two years ago": ("2024", None, "year", Y2024)},
                    published=datetime(2026, 5, 2, tzinfo=UTC))
    month = article("thewrap:1", "OpenAI met Hollywood studios and talent agencies in Los Angeles in March to show them Sora.",
                    {"in March": ("2024-03", None, "month", MAR)}, published=datetime(2024, 4, 9, tzinfo=UTC))
    plain_year = article("screen:3", "OpenAI met Hollywood studios and talent agencies in Los Angeles in 2024 to show "
                         "them Sora.", {"2024": ("2024", None, "year", Y2024)}, published=datetime(2025, 2, 1, tzinfo=UTC))
    events = merge(MET_ON_THE_25TH + month + years)
    assert sources(event_of_source(events, "hollywoodreporter:2")) == {"hollywoodreporter:2"}
    assert sources(event_of_source(events, "variety:1")) == {"variety:1", "thewrap:1"}
    # The same year, told plainly, is the same period: it may join.
    [event] = merge(years + plain_year)
    assert event.value == "2024"


def event_of_source(events: list[MergedEvent], source: str) -> MergedEvent:
    return next(e for e in events if source in sources(e))
