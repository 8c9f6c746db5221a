"""Merge event mentions from many articles into events, deterministically, with stable ids."""

# `merge` is meant for the candidate mentions of one neighbourhood (those that overlap a new
# mention in time and topic), not for the whole database: it weighs only the pairs whose
# dates nest and that share a term, but those can still grow quadratically with a story
# (7,000 mentions of one story take a few seconds; bench/story_merge.py).

from __future__ import annotations

import hashlib
import math
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import NamedTuple

from tracker.clock import to_aware_utc
from tracker.events.mentions import RANGE, EventMention
from tracker.events.text import date_heads, deletion_keys, is_anaphoric, one_edit_apart, starts_with_pronoun

__all__ = [
    "KeyedMention",
    "MentionDiff",
    "MentionKey",
    "MergedEvent",
    "assign_ids",
    "diff_mentions",
    "event_id",
    "merge",
    "same_event",
    "similarity",
]

# Content similarity needed to call two compatible mentions one event, by how vague the
# vaguer interval is: two mentions of one day agree on more than two mentions of one year.
THRESHOLD_DAY = 0.2
THRESHOLD_WEEK = 0.25
THRESHOLD_WIDER = 0.3
# Two sentences of one article are one event only when they clearly say the same thing.
THRESHOLD_SAME_SOURCE = 0.5
# A cluster joins another only if, on average, their members are at least this similar;
# it stops one loose pair from chaining two different happenings together.
LINKAGE_FACTOR = 0.5
# Short sentences share few words by chance; below this many terms the overlap is damped.
MIN_TERMS = 4
KEYWORD_WEIGHT = 0.5
FOCUS_WEIGHT = 2.0
ID_LENGTH = 10
# Intervals longer than this (seasons, quarters, years, spans) hold many happenings: two
# mentions of one must share a word that says what happened, next to their dates.
WIDE_DAYS = 31
# A rare word a typo away from another ("wirter"/"writer", "dokworkers"/"dockworkers") is
# read as that word, at this share of its weight: real words are a typo apart too
# ("breach"/"beach"), so only stems this long, and never as the only evidence.
FUZZY_MIN_LENGTH = 6
FUZZY_MAX_MENTIONS = 2
FUZZY_WEIGHT = 0.5


class MentionKey(NamedTuple):
    """The store's identity of a mention: its article and its fingerprint."""

    source: str
    fingerprint: str


@dataclass(frozen=True)
class KeyedMention:
    """An EventMention with where it came from and when the store first saw it."""

    mention: EventMention
    source: str  # the entry's key (or article id) in the store
    published: datetime
    first_seen: datetime

    @property
    def key(self) -> MentionKey:
        return MentionKey(self.source, self.mention.fingerprint)


@dataclass(frozen=True)
class MergedEvent:
    """One happening: the interval its mentions agree on, its topics, summary and sources."""

    id: str
    value: str
    mod: str | None
    granularity: str
    start: date
    end: date
    topics: frozenset[str]
    summary: str
    mention_keys: tuple[MentionKey, ...]
    first_seen: datetime


class _Background:
    """How common each term is among the mentions being merged.

    A pair is compared against the *other* mentions: a word most of them share ("OpenAI",
    "Sora" in a Sora neighbourhood) says little about which happening a sentence describes;
    with no other mentions every word counts the same, so two mentions alone compare plainly.
    """

    def __init__(self, mentions: Sequence[EventMention], fuzzy: Mapping[int, frozenset[str]] | None = None) -> None:
        self.n = len(mentions)
        self.df = Counter(t for m in mentions for t in m.terms)
        self._totals: dict[int, float] = {}
        self._weights: dict[str, tuple[float, float]] = {}
        # id(mention) -> the terms it has only by a fuzzy match (see _prepare).
        self.fuzzy: Mapping[int, frozenset[str]] = fuzzy or {}

    def _fuzzy_multiplier(self, m: EventMention, t: str) -> float:
        weight = _multiplier(m, t)
        fuzzy = self.fuzzy.get(id(m))
        return weight * FUZZY_WEIGHT if fuzzy and t in fuzzy else weight

    def weight(self, t: str, shared: bool) -> float:
        others = self.n - 2
        in_others = self.df[t] - (2 if shared else 1)
        return 1.0 + math.log((others + 1) / (max(in_others, 0) + 1))

    def weights(self, t: str) -> tuple[float, float]:
        """(weight(t, False), weight(t, True)), computed once per term."""
        pair = self._weights.get(t)
        if pair is None:
            pair = self._weights[t] = (self.weight(t, False), self.weight(t, True))
        return pair

    def total(self, m: EventMention) -> float:
        """The mention's weight as if it shared nothing; shared terms are corrected per pair."""
        key = id(m)
        if key not in self._totals:
            multiplier = self._fuzzy_multiplier if key in self.fuzzy else _multiplier
            self._totals[key] = sum(self.weight(t, False) * multiplier(m, t) for t in sorted(m.terms))
        return self._totals[key]

    def similarity(self, a: EventMention, b: EventMention) -> float:
        shared = a.terms & b.terms
        if not shared:
            # Nothing shared scores 0.0 whatever the totals (most pairs of a neighbourhood).
            return 0.0
        shared_sum = 0.0
        total_a, total_b = self.total(a), self.total(b)
        fuzzy = self.fuzzy
        multiplier = self._fuzzy_multiplier if fuzzy and (id(a) in fuzzy or id(b) in fuzzy) else _multiplier
        # Sorted, so float sums come out bit-identical whatever the process's hash seed.
        for t in sorted(shared):
            w1, w2 = self.weights(t)
            ma, mb = multiplier(a, t), multiplier(b, t)
            total_a += (w2 - w1) * ma
            total_b += (w2 - w1) * mb
            shared_sum += w2 * min(ma, mb)
        if (total_a, len(a.terms)) <= (total_b, len(b.terms)):
            total, size = total_a, len(a.terms)
        else:
            total, size = total_b, len(b.terms)
        # A three-word sentence shares a word with anything; count it as MIN_TERMS words.
        denominator = total * max(MIN_TERMS, size) / size
        return shared_sum / denominator if denominator > 0 else 0.0


def _multiplier(m: EventMention, t: str) -> float:
    if t in m.focus:
        return FOCUS_WEIGHT
    if t in m.keywords:
        return KEYWORD_WEIGHT
    return 1.0


def similarity(a: EventMention, b: EventMention, background: Sequence[EventMention] = ()) -> float:
    """Weighted overlap coefficient of content terms, damped for very short sentences.

    A term weighs by its rarity among the `background` mentions (the other candidates),
    doubled next to the date expression (it says what the date is the date of), halved
    for topic keywords elsewhere in the sentence (every mention of the topic has them).
    A rare word one edit away from another counts as that word at half weight.
    Score: the sum over shared terms of the smaller weight, over the smaller total.
    """
    prepared, _, fuzzy = _prepare([a, b, *background])
    return _Background(prepared, fuzzy).similarity(prepared[0], prepared[1])


class _Seen(NamedTuple):
    """What merging reads of a mention beyond its fields: the words its date is attached
    to (date_heads; a name right before the date is its head), the same looking past such
    names ("met studios in Los Angeles in 2024": "studios"), and the terms it has only by a
    fuzzy match (see _fuzzy_terms)."""

    heads: frozenset[str]
    event: frozenset[str]
    fuzzy: frozenset[str] = frozenset()


def _prepare(mentions: Sequence[EventMention]) -> tuple[list[EventMention], list[_Seen], dict[int, frozenset[str]]]:
    """The mentions as merging compares them, what it sees of each, and the fuzzy terms of
    each mention keyed by id of the returned mention (for _Background).

    A rare term one edit away from a term more mentions of the neighbourhood use is read as
    that term too ("dokworkers" as "dockworkers"; see _fuzzy_terms), and the words a date is
    attached to (date_heads: "went on strike last year", "last year's writers' strike")
    weigh like the words next to it.
    """
    canon = _fuzzy_terms(mentions)
    out: list[EventMention] = []
    seen: list[_Seen] = []
    fuzzy: dict[int, frozenset[str]] = {}
    for m in mentions:
        got: frozenset[str] = frozenset()
        if canon and not canon.keys().isdisjoint(m.terms):
            got = frozenset(canon[t] for t in m.terms if t in canon) - m.terms
            m = replace(
                m,
                terms=_canonical(m.terms, canon),
                focus=_canonical(m.focus, canon),
                keywords=_canonical(m.keywords, canon),
                names=_canonical(m.names, canon),
            )
        heads = _canonical(date_heads(m.quote, m.expression, m.names), canon) & m.terms
        event = _canonical(date_heads(m.quote, m.expression, m.names, pass_names=True), canon) & m.terms
        if not (heads | event) <= m.focus:
            m = replace(m, focus=m.focus | heads | event)
        out.append(m)
        seen.append(_Seen(heads, event, got))
        if got:
            fuzzy[id(m)] = got
    return out, seen, fuzzy


def _canonical(terms: frozenset[str], canon: Mapping[str, str]) -> frozenset[str]:
    if not canon or canon.keys().isdisjoint(terms):
        return terms
    return frozenset(canon.get(t, t) for t in terms)


def _fuzzy_terms(mentions: Sequence[EventMention]) -> dict[str, str]:
    """Rare terms read as a more common one a typo away: "wirter" as "writer" when more
    mentions of the neighbourhood write "writer". A typo here is a letter added or dropped
    or two neighbours swapped (one letter changed is how most real words differ:
    "concert"/"concern"); both stems have FUZZY_MIN_LENGTH letters or more and the same
    first letter (typos seldom touch it); the rare one is in at most FUZZY_MAX_MENTIONS
    mentions and the other in more; the most common wins, ties by spelling. Such a match
    counts at FUZZY_WEIGHT and never as the only evidence (_share_what): a function of the set."""
    df = Counter(t for m in mentions for t in m.terms)
    index: dict[str, list[str]] = {}
    for t in df:
        if len(t) >= FUZZY_MIN_LENGTH:
            for k in deletion_keys(t):
                index.setdefault(k, []).append(t)
    best: dict[str, str] = {}
    for group in index.values():
        if len(group) < 2:
            continue
        for u in group:
            if df[u] > FUZZY_MAX_MENTIONS:
                continue
            for v in group:
                if df[v] > df[u] and v[0] == u[0] and one_edit_apart(u, v, substitute=False):
                    current = best.get(u)
                    if current is None or (-df[v], v) < (-df[current], current):
                        best[u] = v
    return best


def _seen(m: EventMention) -> _Seen:
    """_Seen of a mention compared on its own (no neighbourhood to read typos by)."""
    return _Seen(
        date_heads(m.quote, m.expression, m.names) & m.terms,
        date_heads(m.quote, m.expression, m.names, pass_names=True) & m.terms,
    )


def _share_what(a: EventMention, b: EventMention, keywords: bool = True, fuzzy: frozenset[str] = frozenset()) -> bool:
    """Whether two mentions share a word beyond names ("OpenAI ... Sora" says who, not what
    happened) and, with `keywords`, beyond topic keywords (every mention of the topic has
    them). Words read only by a fuzzy match (`fuzzy`) are no evidence."""
    names = a.names | b.names  # a name in either article is a name in both
    shared = (a.terms & b.terms) - names - fuzzy
    return bool(shared - a.keywords - b.keywords if keywords else shared)


def _compatible(a: EventMention, b: EventMention) -> bool:
    """Equal intervals, or one inside the other; a span ("from May to September") only with a span.

    A date inside a span may be its start, its end or another happening in the meantime,
    and a vaguer date around it ("last year") may be a wider story: neither is the span.
    """
    if (a.granularity == RANGE) != (b.granularity == RANGE):
        return False
    return (a.start <= b.start and b.end <= a.end) or (b.start <= a.start and a.end <= b.end)


def _threshold(a: EventMention, b: EventMention) -> float:
    days = max((a.end - a.start).days, (b.end - b.start).days) + 1
    if days <= 1:
        return THRESHOLD_DAY
    if days <= 7:
        return THRESHOLD_WEEK
    return THRESHOLD_WIDER


def same_event(a: KeyedMention, b: KeyedMention, background: Sequence[EventMention] = ()) -> float | None:
    """The similarity score when `a` and `b` are one happening, else None (symmetric)."""
    if not _compatible(a.mention, b.mention):
        return None
    prepared, seen, fuzzy = _prepare([a.mention, b.mention, *background])
    pa, pb = replace(a, mention=prepared[0]), replace(b, mention=prepared[1])
    score = _Background(prepared, fuzzy).similarity(prepared[0], prepared[1])
    return _link(pa, pb, score, (seen[0], seen[1]))


def _link(
    a: KeyedMention, b: KeyedMention, score: float, seen: tuple[_Seen, _Seen] | None = None
) -> float | None:
    """same_event for compatible intervals, given their similarity (and what _prepare saw)."""
    ma, mb = a.mention, b.mention
    if ma.topics != mb.topics and not (ma.topics & mb.topics):
        return None
    if ma.fingerprint == mb.fingerprint and a.source != b.source:
        return 1.0  # the same sentence with the same date: syndicated or copied
    if a.source == b.source and _continues(ma, mb):
        return max(score, _threshold(ma, mb))
    if a.source != b.source and _same_span(ma, mb):
        return max(score, _threshold(ma, mb))
    if a.source == b.source:
        if (ma.value, ma.mod, ma.start, ma.end) != (mb.value, mb.mod, mb.start, mb.end):
            return None
        if not _share_what(ma, mb, keywords=False):
            return None
        # An article repeating its date phrase about the same subject ("meetings next week"
        # twice) means one happening; otherwise its sentences must say nearly the same thing.
        repeated = ma.expression.strip().lower() == mb.expression.strip().lower()
        if score < THRESHOLD_SAME_SOURCE and not repeated:
            return None
        return score
    # Most compared pairs score low and have different dates: cheap checks first.
    equal = ma.start == mb.start and ma.end == mb.end
    if not equal and score < _threshold(ma, mb):
        return None
    sa, sb = seen if seen is not None else (_seen(ma), _seen(mb))
    if equal and _dated_topic_word(ma, mb, sa.heads, sb.heads):
        return score
    if score < _threshold(ma, mb):
        return None
    fuzzy = sa.fuzzy | sb.fuzzy if sa.fuzzy or sb.fuzzy else sa.fuzzy
    if not _wide(ma, mb):
        # Within a month, a topic word beside the same names and date is evidence ("the
        # Writers Guild of America walked out in May" / "the Writers Guild of America
        # strike, which began on May 2").
        return score if _share_what(ma, mb, keywords=False, fuzzy=fuzzy) else None
    # "2023" holds many happenings: a topic keyword and a common word are no evidence.
    if not _share_what(ma, mb, fuzzy=fuzzy):
        return None
    return score if _share_event_word(ma, mb, sa.event - fuzzy, sb.event - fuzzy) else None


def _wide(a: EventMention, b: EventMention) -> bool:
    """Whether the vaguer interval is wider than a month: a season, a quarter, a year, a span."""
    return max((a.end - a.start).days, (b.end - b.start).days) + 1 > WIDE_DAYS


def _share_event_word(a: EventMention, b: EventMention, ha: frozenset[str], hb: frozenset[str]) -> bool:
    """Whether the word one date is attached to (date_heads) is next to the other's date too,
    and is neither a name (who) nor a topic keyword (every mention of the topic has those):
    "crane operators went on strike last year" and "last year's dockworkers' and crane
    operators' strike" share "crane operators"; "went on strike last year at the terminals"
    and "terminal revenue fell in 2022" share only a word near the date, not what it dates."""
    shared = (ha & (b.focus | hb)) | ((a.focus | ha) & hb)
    return bool(shared - a.names - b.names - a.keywords - b.keywords)


def _continues(a: EventMention, b: EventMention) -> bool:
    """Adjacent sentences of one article with the same date, the later borrowing the earlier's
    topic or pointing back at it ("... during the strikes last year. 'Nobody has forgotten 2023'",
    "a first round of talks last month. People who attended those February meetings ...")."""
    if (a.value, a.mod, a.start, a.end) != (b.value, b.mod, b.start, b.end):
        return False
    first, second = (a, b) if a.sentence_index < b.sentence_index else (b, a)
    if second.sentence_index - first.sentence_index != 1:
        return False
    return second.context_topics or is_anaphoric(second.quote.lstrip("…\"“'‘ "))


def _same_span(a: EventMention, b: EventMention) -> bool:
    """Two spans that begin in the same month and end in the same month ("from July to
    November 2023", "from July 14 to November 9, 2023"): one happening, told more or less
    precisely."""
    if a.granularity != RANGE or b.granularity != RANGE:
        return False
    return (a.start.year, a.start.month, a.end.year, a.end.month) == (b.start.year, b.start.month, b.end.year, b.end.month)


def _strong(a: EventMention, b: EventMention, same_source: bool, ha: frozenset[str], hb: frozenset[str]) -> bool:
    """A link that says "one happening" on evidence other than shared words."""
    if same_source:
        return _continues(a, b)
    return _same_span(a, b) or _dated_topic_word(a, b, ha, hb)


def _dated_topic_word(a: EventMention, b: EventMention, ha: frozenset[str], hb: frozenset[str]) -> bool:
    """Equal dates attached to the same topic word ("last year's strikes", "went on strike
    last year"): the date is the date of the topic's own happening in both. Attached means
    the word the date belongs to (date_heads), not any word near it: "a leak at an oil
    refinery in 2007" and "an oil rig explosion in 2007" are not "the oil of 2007"."""
    if (a.start, a.end) != (b.start, b.end):
        return False
    return bool(((ha & a.keywords) - a.names) & ((hb & b.keywords) - b.names))


class _PairTable:
    """The compared pairs (i, j), i < j: per i, the sorted js, their similarities and their
    link scores (NaN: not linked).

    A dict of every compared pair took well over 100 bytes a pair (a tuple key, a float
    object, the slot), and a neighbourhood of thousands of mentions has millions of pairs;
    here a pair takes 20 bytes, and a pair never compared none.
    """

    def __init__(self, n: int) -> None:
        self.js: list[array[int]] = [array("i") for _ in range(n)]
        self.values: list[array[float]] = [array("d") for _ in range(n)]
        self.links: list[array[float]] = [array("d") for _ in range(n)]

    def lookup(self, i: int, j: int) -> tuple[float, bool]:
        """(similarity, linked) of the pair (i < j); (NaN, False) when it was not compared."""
        js = self.js[i]
        k = bisect_left(js, j)
        if k < len(js) and js[k] == j:
            link = self.links[i][k]
            return self.values[i][k], link == link
        return math.nan, False


def merge(mentions: Sequence[KeyedMention]) -> list[MergedEvent]:
    """Events from mentions; the result depends only on the set of mentions, not their order.

    Rule: mentions are linked when `same_event` holds (topics overlap or both empty,
    intervals equal or nested, and either the same topic word attached to equal dates or a
    shared word beyond names and topic keywords with a content similarity -- overlap of
    content terms weighted by their rarity among the other mentions given -- over a
    threshold that depends on how precise the dates are; wider than a month, the words the
    dates are attached to must agree; same-article pairs need equal intervals and a high score).
    Links are applied best first (score, then the keys, so ties are canonical), and two
    clusters join only if every cross pair has nested intervals, no two sentences of one
    article are forced together, and the average cross similarity is at least half the
    threshold: a vague mention ("in 2024") cannot chain February and late March together.
    Events come out sorted by (start, end, id).
    """
    unique = _dedupe(mentions)
    n = len(unique)
    prepared, seen, fuzzy = _prepare([km.mention for km in unique])
    unique = [km if km.mention is p else replace(km, mention=p) for km, p in zip(unique, prepared)]
    background = _Background(prepared, fuzzy)
    # Similarities of the nested pairs that can matter: those sharing a term. Any other
    # nested pair scores exactly 0.0 (nothing shared), and _link can join it only as a
    # syndicated copy, a continuing sentence of one article or the same span; those
    # pairs are visited too. Unvisited nested pairs read as 0.0 (_pair_or_zero).
    sims = _PairTable(n)
    # The links, in (i, j) order: parallel arrays, 16 bytes a link (a dict took over 100).
    link_i, link_j, link_score = array("i"), array("i"), array("d")
    starts = [km.mention.start for km in unique]
    postings: dict[str, list[int]] = {}
    for index, km in enumerate(unique):
        for t in km.mention.terms:
            postings.setdefault(t, []).append(index)  # ascending: indices come in order
    extra = _special_pairs(unique)
    for i in range(n):
        row_js, row_values, row_links = sims.js[i], sims.values[i], sims.links[i]
        mention_i = unique[i].mention
        # Sorted by start: a mention that starts after this one ends cannot nest with it.
        stop = bisect_right(starts, mention_i.end, lo=i + 1)
        candidates: set[int] = set(extra.get(i, ()))
        for t in mention_i.terms:
            posting = postings[t]
            candidates.update(posting[bisect_right(posting, i) : bisect_left(posting, stop)])
        for j in sorted(candidates):
            if not _compatible(mention_i, unique[j].mention):
                continue
            sim = background.similarity(mention_i, unique[j].mention)
            row_js.append(j)
            row_values.append(sim)
            s = _link(unique[i], unique[j], sim, (seen[i], seen[j]))
            row_links.append(math.nan if s is None else s)
            if s is not None:
                link_i.append(i)
                link_j.append(j)
                link_score.append(s)
    # Best links first; ties by canonical position (i, j), which sorting made
    # order-independent: the links were made in that order and the sort is stable.
    order = sorted(range(len(link_score)), key=link_score.__getitem__, reverse=True)
    cluster_of = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    # A cluster's version changes whenever it grows; many links join the same two
    # clusters, and until one of them grows the answer is the same (same lists, same
    # order, so the same float sums): it is computed once.
    version = [0] * n
    checked: dict[tuple[int, int, int, int], tuple[bool, bool]] = {}
    for k in order:
        i, j = link_i[k], link_j[k]
        ci, cj = cluster_of[i], cluster_of[j]
        if ci == cj:
            continue
        key = (ci, version[ci], cj, version[cj])
        verdict = checked.get(key)
        if verdict is None:
            verdict = checked[key] = _join_check(unique, members[ci], members[cj], sims, seen)
        possible, similar_enough = verdict
        # A link within one article is the article's own word that both are one happening.
        same_article = unique[i].source == unique[j].source
        if not possible or not (same_article or similar_enough):
            continue
        keep, gone = min(ci, cj), max(ci, cj)
        members[keep].extend(members.pop(gone))
        version[keep] += 1
        for member in members[keep]:
            cluster_of[member] = keep
    events = [_event([unique[k] for k in group], sims, group) for group in members.values()]
    return sorted(events, key=lambda e: (e.start, e.end, e.id))


def _special_pairs(unique: Sequence[KeyedMention]) -> dict[int, list[int]]:
    """For each i, the later mentions it may link with while sharing no term: the same
    sentence in another article, another sentence of its own article, the same span."""
    groups: dict[object, list[int]] = {}
    for index, km in enumerate(unique):
        m = km.mention
        groups.setdefault(("fingerprint", m.fingerprint), []).append(index)
        groups.setdefault(("source", km.source), []).append(index)
        if m.granularity == RANGE:
            groups.setdefault(("span", m.start.year, m.start.month, m.end.year, m.end.month), []).append(index)
    out: dict[int, list[int]] = {}
    for group in groups.values():
        for a, i in enumerate(group):
            if a + 1 < len(group):
                out.setdefault(i, []).extend(group[a + 1 :])
    return out


def _dedupe(mentions: Iterable[KeyedMention]) -> list[KeyedMention]:
    """One mention per key, in canonical order (the same key twice is a re-poll)."""
    best: dict[MentionKey, KeyedMention] = {}
    for km in mentions:
        current = best.get(km.key)
        if current is None or _rank(km) < _rank(current):
            best[km.key] = km
    return sorted(best.values(), key=lambda km: (km.mention.start, km.mention.end, km.key))


def _rank(km: KeyedMention) -> tuple[object, ...]:
    """Earliest seen first; the rest makes the order total, so input order never decides."""
    m = km.mention
    return (
        to_aware_utc(km.first_seen),
        to_aware_utc(km.published),
        m.sentence_index,
        m.expr_start,
        m.expr_end,
        m.value,
        m.mod or "",
        m.start,
        m.end,
        m.granularity,
        m.expression,
        m.quote,
        m.summary,
        m.context_topics,
        *(tuple(sorted(s)) for s in (m.topics, m.terms, m.focus, m.keywords, m.names)),
    )


def _join_check(
    unique: Sequence[KeyedMention],
    left: list[int],
    right: list[int],
    sims: _PairTable,
    seen: Sequence[_Seen],
) -> tuple[bool, bool]:
    """Whether two clusters may join at all (every cross pair nested, no two sentences of
    one article forced together), and whether they are similar enough on average."""
    total = 0.0
    needed = 0.0
    lookup = sims.lookup
    for i in left:
        for j in right:
            if not _compatible(unique[i].mention, unique[j].mention):
                return False, False
            sim, linked = lookup(i, j) if i < j else lookup(j, i)
            if sim != sim:
                sim = 0.0  # nested, sharing no term: not visited, similarity 0.0
            same_source = unique[i].source == unique[j].source
            if same_source and not linked:
                return False, False
            threshold = _threshold(unique[i].mention, unique[j].mention)
            # Evidence beyond shared words ("strikes last year" / "went on strike last year")
            # counts as a pair at the threshold, or such events could never grow.
            strong = linked and _strong(
                unique[i].mention, unique[j].mention, same_source, seen[i].heads, seen[j].heads
            )
            total += max(sim, threshold) if strong else sim
            needed += threshold * LINKAGE_FACTOR
    return True, total >= needed


def event_id(anchor: MentionKey) -> str:
    """The id an event gets from its anchor mention: the earliest published, ties by key."""
    text = f"{anchor.source}\x1f{anchor.fingerprint}"
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:ID_LENGTH]


def _anchor(group: Sequence[KeyedMention]) -> KeyedMention:
    # The earliest-published mention (ties by key): a function of the articles themselves,
    # so two databases fed the same articles in any order derive the same ids. A later
    # article that joins keeps the old id through assign_ids.
    return min(group, key=lambda km: (to_aware_utc(km.published), km.key))


def _mod_rank(mod: str | None) -> int:
    # For one interval, "mid-February" says more than "February", which says more than "around".
    if mod in ("START", "MID", "END", "EARLY", "LATE"):
        return 0
    return 1 if mod is None else 2


def _pair_or_zero(sims: _PairTable, a: int, b: int) -> float:
    sim, _ = sims.lookup(a, b) if a < b else sims.lookup(b, a)
    return 0.0 if sim != sim else sim


def _centrality(group: Sequence[KeyedMention], sims: _PairTable, index: Sequence[int]) -> dict[MentionKey, float]:
    """How typical each mention is of its event: its mean similarity to the others."""
    if len(group) < 2:
        return {km.key: 0.0 for km in group}
    out = {}
    for a, km in zip(index, group):
        # sum() as before: it must add the same floats the same way.
        total = sum(_pair_or_zero(sims, a, b) for b in index if b != a)
        out[km.key] = total / (len(group) - 1)
    return out


def _event(group: Sequence[KeyedMention], sims: _PairTable, index: Sequence[int]) -> MergedEvent:
    # Intervals in a cluster are pairwise nested, so the shortest lies inside all the others.
    shortest = min((km.mention.end - km.mention.start).days for km in group)
    precise = [km for km in group if (km.mention.end - km.mention.start).days == shortest]
    counts = Counter((km.mention.value, km.mention.mod, km.mention.start, km.mention.end, km.mention.granularity) for km in precise)
    value, mod, start, end, granularity = min(
        counts,
        key=lambda v: (-counts[v], _mod_rank(v[1]), v[0], v[1] or ""),
    )
    if granularity == "time":
        # The timeline places events on days; the hour stays in the quotes.
        value, granularity = value.split("T")[0], "day"
    central = _centrality(group, sims, index)
    summary = min(group, key=lambda km: _summary_rank(km, start, end, central[km.key])).mention.summary
    return MergedEvent(
        id=event_id(_anchor(group).key),
        value=value,
        mod=mod,
        granularity=granularity,
        start=start,
        end=end,
        topics=frozenset().union(*(km.mention.topics for km in group)),
        summary=summary,
        mention_keys=tuple(sorted(km.key for km in group)),
        first_seen=min(to_aware_utc(km.first_seen) for km in group),
    )


def _summary_rank(km: KeyedMention, start: date, end: date, centrality: float) -> tuple[object, ...]:
    m = km.mention
    return (
        starts_with_pronoun(m.summary),  # "It was unveiled" needs context the timeline lacks
        m.context_topics,
        not 25 <= len(m.summary) <= 120,
        (m.start, m.end) != (start, end),
        -round(centrality, 6),  # the mention most like the others tells the shared story
        to_aware_utc(km.published),  # not first_seen: arrival order must not pick the summary
        km.key,
    )


def assign_ids(events: Sequence[MergedEvent], previous: Mapping[MentionKey, str]) -> list[MergedEvent]:
    """Carry ids over from a previous merge: each event keeps the old id most of its mentions had.

    `previous` maps mention keys (or (source, fingerprint) tuples) to the event id they
    belonged to. Claims are settled largest first, ties by id then the event's smallest
    mention key; an old event split in two keeps its id for the larger part. Events with
    no claim keep their derived id, re-hashed if an old event already used it.
    """
    claims: list[tuple[int, str, tuple[MentionKey, ...], int]] = []
    for index, event in enumerate(events):
        votes = Counter(previous[k] for k in event.mention_keys if k in previous)
        for old_id, count in votes.items():
            claims.append((-count, old_id, event.mention_keys, index))
    claims.sort()
    chosen: dict[int, str] = {}
    taken: set[str] = set()
    for _, old_id, _, index in claims:
        if index in chosen or old_id in taken:
            continue
        chosen[index] = old_id
        taken.add(old_id)
    reserved = taken | set(previous.values())
    out: list[MergedEvent] = []
    for index, event in enumerate(events):
        if index in chosen:
            new_id = chosen[index]
        else:
            new_id = event.id
            salt = 0
            while new_id in reserved:
                salt += 1
                new_id = hashlib.sha1(f"{event.id}\x1f{salt}".encode()).hexdigest()[:ID_LENGTH]
            reserved.add(new_id)
        out.append(event if new_id == event.id else replace(event, id=new_id))
    return out


@dataclass(frozen=True)
class MentionDiff:
    """What re-processing an article changes: mentions to add, to remove, and unchanged ones."""

    added: tuple[EventMention, ...]
    removed: frozenset[str]
    kept: frozenset[str]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def diff_mentions(stored: Collection[str], fresh: Sequence[EventMention]) -> MentionDiff:
    """Compare an article's stored mention fingerprints with a fresh find_mentions result.

    A re-poll of an unchanged article gives no change; an edit removes the mentions of
    deleted sentences and adds those of new ones. Events left with no mentions are the
    store's to delete.
    """
    fresh_fps = {m.fingerprint for m in fresh}
    stored_set = frozenset(stored)
    return MentionDiff(
        added=tuple(m for m in fresh if m.fingerprint not in stored_set),
        removed=stored_set - fresh_fps,
        kept=stored_set & fresh_fps,
    )
