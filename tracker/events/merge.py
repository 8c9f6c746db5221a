"""Merge event mentions from many articles into events, deterministically, with stable ids."""

# Whether two mentions are one happening depends on the two alone (their dates, topics,
# words and articles): no weight is relative to the other mentions being merged. So the
# events of a set of mentions are a function of that set, and the store can add an
# article's mentions without merging their neighbourhood again (tracker/store/merging.py
# re-merges only the events a change can reach, and proves that it reached no others).

from __future__ import annotations

import hashlib
import math
import re
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import NamedTuple

from tracker.clock import to_aware_utc
from tracker.events.mentions import RANGE, EventMention
from tracker.events.text import (
    date_heads,
    deletion_keys,
    is_anaphoric,
    one_edit_apart,
    starts_with_pronoun,
    term_tokens,
)

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
# Words of proper names say who, not what happened; every mention of a story repeats them.
NAME_WEIGHT = 0.5
ID_LENGTH = 10
# Intervals longer than this (seasons, quarters, years, spans) hold many happenings: two
# mentions of one must share a word that says what happened, next to their dates.
WIDE_DAYS = 31
# A long word a typo away from a word of the other mention ("wirter"/"writer",
# "dokworkers"/"dockworkers") counts as that word at this share of its weight: real words
# are a typo apart too ("breach"/"beach"), so only stems this long, and never as evidence.
FUZZY_MIN_LENGTH = 6
FUZZY_WEIGHT = 0.5
# A date that only roughly places its happening ("about 2009", "eighteen months ago", "two
# years later": a count of months or years from the article's date or another) over more
# than a week: it may be off by a month or a year, so it is one happening only with mentions
# of the very same period, never with a finer date inside it (which it could not have moved,
# but would join on the words of a story alone) nor a wider one.
VAGUE_DAYS = 7
# Words that say where a happening stands in time, not what it is: "Starting in January"
# and "starting at the end of January" share no happening. Never evidence on their own.
ASPECT_WORDS = frozenset({"start", "begin", "continu", "finish", "resum", "onward", "onwards"})
# The capitalised run of words a sentence opens with, before its first lower-case word:
# its subject when it names someone ("Acme CFO Jane Roe sold ...").
_OPENING_WORD = re.compile(r"[^\W\d_][\w'’.&-]*")
OPENING_WORDS = 12
_COUNTED_BACK = re.compile(
    r"\b(?:months?|years?|decades?|centuries|century)\s+(?:ago|earlier|later|before|after|back|on)\b", re.IGNORECASE
)


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


# The place of a mention in merge's canonical order: (start, end, key).
Order = tuple[date, date, MentionKey]
# When a link is tried in merge: best score first, ties by the canonical places of its ends.
LinkOrder = tuple[float, Order, Order]


class Prepared:
    """A mention as merging compares it: the words its date is attached to (date_heads;
    a name right before the date is its head), the same looking past such names ("met
    studios in Los Angeles in 2024": "studios"), both weighing like the words next to the
    date; its total weight; its long terms (for typos); its canonical place."""

    __slots__ = ("km", "mention", "key", "source", "order", "heads", "event", "weights", "total", "long",
                 "start", "end", "span", "vague", "actors", "days", "what", "what_kw")

    def __init__(self, km: KeyedMention) -> None:
        m = km.mention
        heads = date_heads(m.quote, m.expression, m.names) & m.terms
        event = date_heads(m.quote, m.expression, m.names, pass_names=True) & m.terms
        if not (heads | event) <= m.focus:
            m = replace(m, focus=m.focus | heads | event)
            km = replace(km, mention=m)
        self.km = km
        self.mention = m
        self.key = km.key
        self.source = km.source
        self.order: Order = (m.start, m.end, km.key)
        self.heads = heads
        self.event = event
        # Weights are 0.5, 1 or 2 (and half of those): their sums are exact in any order.
        self.weights = {t: _multiplier(m, t) for t in m.terms}
        self.total = sum(self.weights.values())
        self.long = frozenset(t for t in m.terms if len(t) >= FUZZY_MIN_LENGTH)
        self.start, self.end, self.span = m.start, m.end, m.granularity == RANGE
        self.vague = is_vague(m)
        self.actors = opening_names(m.quote)
        # For _link, computed once per mention instead of once per pair (the pairs of a
        # neighbourhood are tens of thousands): its length in days, and its words that
        # can say what happened (_share_what: (A & B) - names - aspects - keywords equals
        # (A - own names - aspects - own keywords) & the same of B).
        self.days = (m.end - m.start).days + 1
        self.what = m.terms - m.names - ASPECT_WORDS
        self.what_kw = self.what - m.keywords


def opening_names(quote: str) -> tuple[frozenset[str], ...]:
    """Runs of two or more capitalised words (as stems, no stopwords or date words) a
    sentence opens with: its subject when it names someone ("Acme CFO Jane Roe sold ..."
    gives {cfo, jane, roe}; "Acme (NYSE:ACM) insider John Doe sold ..." {john, doe}). The
    opening ends at the first lower-case word after such a run, or at one not followed by
    a capitalised word ("insider John Doe" goes on). A quote cut before its start ("…")
    has no opening."""
    if quote.startswith("…"):
        return ()
    words = list(_OPENING_WORD.finditer(quote))[:OPENING_WORDS]
    runs: list[frozenset[str]] = []
    current: list[str] = []
    last_end = 0

    def flush() -> None:
        stems = frozenset(stem for _, stem, _, _ in term_tokens(" ".join(current)))
        if len(stems) >= 2:
            runs.append(stems)

    for k, m in enumerate(words):
        word = m.group()
        if word[0].isupper():
            if current and not quote[last_end : m.start()].strip():
                current.append(word)
            else:
                flush()
                current = [word]
            last_end = m.end()
            continue
        flush()
        current = []
        following = words[k + 1].group() if k + 1 < len(words) else ""
        if runs or not following[:1].isupper():
            break
    else:
        flush()
    return tuple(runs)


def _different_actors(p: Prepared, q: Prepared) -> bool:
    """Both sentences open with a name of two or more words the other never mentions
    ("Acme CFO Jane Roe sold shares on Thursday" / "Acme director John Doe sold shares on
    Thursday"): the same act by different people is two happenings."""
    if not p.actors or not q.actors:
        return False
    a_terms, b_terms = p.mention.terms, q.mention.terms
    return any(not (run & b_terms) for run in p.actors) and any(not (run & a_terms) for run in q.actors)


def is_vague(m: EventMention) -> bool:
    """Whether the mention's date places its happening only roughly: approximate ("about
    2009", "around May") or counted in months or years from another date ("eighteen months
    ago", "two years later"), over more than a week. A span is not: its ends are stated."""
    if m.granularity == RANGE or (m.end - m.start).days + 1 <= VAGUE_DAYS:
        return False
    return m.mod == "APPROX" or _COUNTED_BACK.search(m.expression) is not None


def _vague_apart(p: Prepared, q: Prepared) -> bool:
    """A vague mention and another of a different period: never one happening (VAGUE_DAYS)."""
    return (p.vague or q.vague) and (p.start, p.end) != (q.start, q.end)


def _multiplier(m: EventMention, t: str) -> float:
    if t in m.names:
        return NAME_WEIGHT
    if t in m.focus:
        return FOCUS_WEIGHT
    if t in m.keywords:
        return KEYWORD_WEIGHT
    return 1.0


class Typos:
    """Which long terms are a typo apart, among the terms added so far: a letter added or
    dropped or two neighbours swapped (one letter changed is how most real words differ:
    "concert"/"concern"), the same first letter (typos seldom touch it), both stems
    FUZZY_MIN_LENGTH letters or more. A relation between two words, so whether two mentions
    share a typo depends on them alone, as long as both were added."""

    def __init__(self) -> None:
        self.near: dict[str, set[str]] = {}
        self._index: dict[str, list[str]] = {}
        self._seen: set[str] = set()

    def add(self, terms: Iterable[str]) -> None:
        for t in terms:
            if t in self._seen or len(t) < FUZZY_MIN_LENGTH:
                continue
            self._seen.add(t)
            for k in deletion_keys(t):
                bucket = self._index.setdefault(k, [])
                for s in bucket:
                    if s[0] == t[0] and s not in self.near.get(t, ()) and one_edit_apart(s, t, substitute=False):
                        self.near.setdefault(t, set()).add(s)
                        self.near.setdefault(s, set()).add(t)
                bucket.append(t)


def _typo_pairs(p: Prepared, q: Prepared, near: Mapping[str, set[str]]) -> list[tuple[str, str]]:
    """(term of p, term of q) one typo apart, neither in the other mention; each term in
    one pair at most, settled in the order of the pair's spelling (so symmetric)."""
    a_terms, b_terms = p.mention.terms, q.mention.terms
    found: list[tuple[str, str, str, str]] = []
    for u in p.long:
        vs = near.get(u)
        if not vs or u in b_terms:
            continue
        for v in vs:
            if v in b_terms and v not in a_terms:
                found.append((u, v, u, v) if u < v else (v, u, u, v))
    if not found:
        return []
    found.sort()
    used_a: set[str] = set()
    used_b: set[str] = set()
    out = []
    for _, _, u, v in found:
        if u not in used_a and v not in used_b:
            used_a.add(u)
            used_b.add(v)
            out.append((u, v))
    return out


def _similarity(p: Prepared, q: Prepared, near: Mapping[str, set[str]]) -> float:
    """Weighted overlap coefficient of content terms, damped for very short sentences.

    A term weighs 1, doubled next to the date expression (it says what the date is the date
    of), halved for topic keywords and names elsewhere in the sentence (every mention of
    the story has them). A long word one edit away from a word of the other mention counts
    as that word at half weight. Score: the sum over shared terms of the smaller weight,
    over the smaller total. Symmetric, and bit-identical either way round.
    """
    a, b = p.mention, q.mention
    shared = a.terms & b.terms
    typos = _typo_pairs(p, q, near) if near and p.long and q.long else []
    if not shared and not typos:
        # Nothing shared scores 0.0 whatever the totals (most pairs of a neighbourhood).
        return 0.0
    wa, wb = p.weights, q.weights
    # Sums of 0.5, 1 and 2 (and their halves): exact, so the order does not matter.
    shared_sum = 0.0
    for t in shared:
        x, y = wa[t], wb[t]
        shared_sum += x if x < y else y
    for u, v in typos:
        shared_sum += FUZZY_WEIGHT * min(wa[u], wb[v])
    if (p.total, len(a.terms)) <= (q.total, len(b.terms)):
        total, size = p.total, len(a.terms)
    else:
        total, size = q.total, len(b.terms)
    # A three-word sentence shares a word with anything; count it as MIN_TERMS words.
    denominator = total * max(MIN_TERMS, size) / size
    return shared_sum / denominator if denominator > 0 else 0.0


def similarity(a: EventMention, b: EventMention) -> float:
    """The content similarity merging gives two mentions (see _similarity): a function of
    the two alone."""
    pa = Prepared(KeyedMention(a, "", datetime.min, datetime.min))
    pb = Prepared(KeyedMention(b, "", datetime.min, datetime.min))
    typos = Typos()
    typos.add(pa.long | pb.long)
    return _similarity(pa, pb, typos.near)


def _share_what(p: Prepared, q: Prepared, keywords: bool = True) -> bool:
    """Whether two mentions share a word beyond names ("OpenAI ... Sora" says who, not what
    happened) and, with `keywords`, beyond topic keywords (every mention of the topic has
    them). A typo is never evidence: only words both spell alike count. A name in either
    article is a name in both, so the shared words are (A - own names - aspect words) & the
    same of B, which Prepared.what (and .what_kw, without keywords) holds."""
    if keywords:
        return not p.what_kw.isdisjoint(q.what_kw)
    return not p.what.isdisjoint(q.what)


def _compatible(a: EventMention, b: EventMention) -> bool:
    """Equal intervals, or one inside the other; a span ("from May to September") only with a span.

    A date inside a span may be its start, its end or another happening in the meantime,
    and a vaguer date around it ("last year") may be a wider story: neither is the span.
    """
    return spans_nest(a.start, a.end, a.granularity == RANGE, b.start, b.end, b.granularity == RANGE)


def spans_nest(a_start: date, a_end: date, a_range: bool, b_start: date, b_end: date, b_range: bool) -> bool:
    """_compatible on the bare intervals (and whether each is a span)."""
    if a_range != b_range:
        return False
    return (a_start <= b_start and b_end <= a_end) or (b_start <= a_start and a_end <= b_end)


def _threshold(days: int) -> float:
    """The link threshold for the longer of two intervals, `days` long."""
    if days <= 1:
        return THRESHOLD_DAY
    if days <= 7:
        return THRESHOLD_WEEK
    return THRESHOLD_WIDER


def same_event(a: KeyedMention, b: KeyedMention) -> float | None:
    """The similarity score when `a` and `b` are one happening, else None (symmetric)."""
    if not _compatible(a.mention, b.mention):
        return None
    pa, pb = Prepared(a), Prepared(b)
    if pb.order < pa.order:
        pa, pb = pb, pa
    typos = Typos()
    typos.add(pa.long | pb.long)
    return _link(pa, pb, _similarity(pa, pb, typos.near))


def _link(p: Prepared, q: Prepared, score: float) -> float | None:
    """same_event for compatible intervals, given their similarity."""
    a, b = p.km, q.km
    ma, mb = p.mention, q.mention
    days = p.days if p.days > q.days else q.days  # the longer interval's
    threshold = _threshold(days)
    if ma.topics != mb.topics and not (ma.topics & mb.topics):
        return None
    if _vague_apart(p, q):
        return None
    if ma.fingerprint == mb.fingerprint and a.source != b.source:
        return 1.0  # the same sentence with the same date: syndicated or copied
    if a.source == b.source and _continues(ma, mb) and not _different_actors(p, q):
        return max(score, threshold)
    if a.source != b.source and _same_span(ma, mb):
        return max(score, threshold)
    if a.source == b.source:
        if (ma.value, ma.mod, ma.start, ma.end) != (mb.value, mb.mod, mb.start, mb.end):
            return None
        if not _share_what(p, q, keywords=False):
            return None
        # An article repeating its date phrase about the same subject ("meetings next week"
        # twice) means one happening; otherwise its sentences must say nearly the same thing.
        repeated = ma.expression.strip().lower() == mb.expression.strip().lower()
        if score < THRESHOLD_SAME_SOURCE and not repeated:
            return None
        # Two people of one article doing the same thing on one day are two happenings.
        return None if _different_actors(p, q) else score
    # Most compared pairs score low and have different dates: cheap checks first.
    equal = ma.start == mb.start and ma.end == mb.end
    if not equal and score < threshold:
        return None
    if equal and _dated_topic_word(ma, mb, p.heads, q.heads):
        return score
    if score < threshold:
        return None
    if _different_actors(p, q):
        return None
    if days <= WIDE_DAYS:
        # The vaguer interval is a month or less (not a season, a quarter, a year, a span).
        # Within a month, a topic word beside the same names and date is evidence ("the
        # Writers Guild of America walked out in May" / "the Writers Guild of America
        # strike, which began on May 2").
        return score if _share_what(p, q, keywords=False) else None
    # "2023" holds many happenings: a topic keyword and a common word are no evidence.
    if not _share_what(p, q):
        return None
    return score if _share_event_word(ma, mb, p.event, q.event) else None


def _share_event_word(a: EventMention, b: EventMention, ha: frozenset[str], hb: frozenset[str]) -> bool:
    """Whether the word one date is attached to (date_heads) is next to the other's date too,
    and is neither a name (who) nor a topic keyword (every mention of the topic has those):
    "crane operators went on strike last year" and "last year's dockworkers' and crane
    operators' strike" share "crane operators"; "went on strike last year at the terminals"
    and "terminal revenue fell in 2022" share only a word near the date, not what it dates."""
    shared = (ha & (b.focus | hb)) | ((a.focus | ha) & hb)
    return bool(shared - a.names - b.names - a.keywords - b.keywords - ASPECT_WORDS)


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


# (similarity, linked) of two mentions given by their places (either order); NaN when the
# pair was never compared (then it shares no term: similarity 0.0, and no link).
Lookup = Callable[[int, int], tuple[float, bool]]
# One cluster joining another: the link's place in the run (or when it was tried), the
# cluster kept (the one holding the earlier mention) and the one absorbed.
Join = tuple[int, int, int]


def merge(mentions: Sequence[KeyedMention]) -> list[MergedEvent]:
    """Events from mentions; the result depends only on the set of mentions, not their order.

    Rule: mentions are linked when `same_event` holds (topics overlap or both empty,
    intervals equal or nested, and either the same topic word attached to equal dates or a
    shared word beyond names and topic keywords with a content similarity -- overlap of
    content terms, see _similarity -- over a threshold that depends on how precise the
    dates are; wider than a month, the words the dates are attached to must agree;
    same-article pairs need equal intervals and a high score; a vague date -- "about 2009",
    "eighteen months ago", see is_vague -- only with one of the very same period). Whether two mentions link,
    and how similar they are, depends on the two alone.
    Links are applied best first (score, then the keys, so ties are canonical), and two
    clusters join only if every cross pair has nested intervals, no two sentences of one
    article are forced together, and the average cross similarity is at least half the
    threshold: a vague mention ("in 2024") cannot chain February and late March together.
    Events come out sorted by (start, end, id).
    """
    preps = [Prepared(km) for km in _dedupe(mentions)]
    typos = Typos()
    for p in preps:
        typos.add(p.long)
    sims, link_i, link_j, link_score = _compare_all(preps, typos.near)
    lookup = sims.lookup
    members, _ = _agglomerate(preps, link_i, link_j, link_score, lookup)
    events = [_event(preps, group, lookup) for group in members.values()]
    return sorted(events, key=lambda e: (e.start, e.end, e.id))


Links = tuple["_PairTable", "array[int]", "array[int]", "array[float]"]


def _compare_all(
    preps: Sequence[Prepared], near: Mapping[str, set[str]], book: PairBook | None = None, remember: bool = False
) -> Links:
    """Compare the pairs that can matter (_pairs_to_compare): their similarities, and the
    links (i < j, in (i, j) order) with their scores. With a `book`, pairs it compared
    already are read from it, and the others added to it if `remember` (a region's pairs
    are many: then they are not)."""
    # Similarities of the nested pairs that can matter: those sharing a term (or a typo).
    # Any other nested pair scores exactly 0.0 (nothing shared), and _link can join it only
    # as a syndicated copy, a continuing sentence of one article or the same span; those
    # pairs are visited too. Unvisited nested pairs read as 0.0 (_pair_or_zero).
    sims = _PairTable(len(preps))
    # The links, in (i, j) order: parallel arrays, 16 bytes a link (a dict took over 100).
    link_i, link_j, link_score = array("i"), array("i"), array("d")
    row_i = -1
    row_js, row_values, row_links = array("i"), array("d"), array("d")
    # The book's pairs of the row's earlier mention (compared pairs here nest: never NaN).
    known_sims: dict[Prepared, float] = {}
    known_links: dict[Prepared, float] = {}
    if not preps:
        return sims, link_i, link_j, link_score
    p = preps[0]
    for i, j in _pairs_to_compare(preps, near):
        if i != row_i:
            row_i = i
            row_js, row_values, row_links = sims.js[i], sims.values[i], sims.links[i]
            p = preps[i]
            if book is not None:
                known_sims, known_links = book.row(p, add=remember)
        q = preps[j]
        sim = known_sims.get(q)
        if sim is None:
            sim = _similarity(p, q, near)
            s = _link(p, q, sim)
            score = math.nan if s is None else s
            if remember:
                known_sims[q] = sim
                known_links[q] = score
        else:
            score = known_links[q]
        row_js.append(j)
        row_values.append(sim)
        row_links.append(score)
        if score == score:
            link_i.append(i)
            link_j.append(j)
            link_score.append(score)
    return sims, link_i, link_j, link_score


def _pairs_to_compare(preps: Sequence[Prepared], near: Mapping[str, set[str]]) -> Iterable[tuple[int, int]]:
    """The pairs (i < j, in that order) of mentions in canonical order that merge compares:
    nested intervals, and a shared term, a typo or a special pair (_special_pairs). Every
    other pair scores 0.0 and cannot link."""
    starts = [p.mention.start for p in preps]
    postings: dict[str, list[int]] = {}
    for index, p in enumerate(preps):
        for t in p.mention.terms:
            postings.setdefault(t, []).append(index)  # ascending: indices come in order
    extra = _special_pairs(preps)
    for i, p in enumerate(preps):
        mention = p.mention
        # Sorted by start: a mention that starts after this one ends cannot nest with it.
        stop = bisect_right(starts, mention.end, lo=i + 1)
        candidates: set[int] = set(extra.get(i, ()))
        for t in mention.terms:
            posting = postings[t]
            candidates.update(posting[bisect_right(posting, i) : bisect_left(posting, stop)])
        if near:
            for u in p.long:
                for v in near.get(u, ()):
                    posting = postings.get(v, [])
                    candidates.update(posting[bisect_right(posting, i) : bisect_left(posting, stop)])
        start, end, span = p.start, p.end, p.span
        for j in sorted(candidates):
            q = preps[j]
            # _compatible, inline: most candidates fail it.
            if q.span == span and ((start <= q.start and q.end <= end) or (q.start <= start and end <= q.end)):
                yield i, j


def _agglomerate(
    preps: Sequence[Prepared], link_i: Sequence[int], link_j: Sequence[int], link_score: Sequence[float], lookup: Lookup
) -> tuple[dict[int, list[int]], list[Join]]:
    """The clusters (by the place of their first mention, members in the order they joined)
    and the joins that made them, in the order they happened."""
    n = len(preps)
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
    joins: list[Join] = []
    for k in order:
        i, j = link_i[k], link_j[k]
        ci, cj = cluster_of[i], cluster_of[j]
        if ci == cj:
            continue
        key = (ci, version[ci], cj, version[cj])
        verdict = checked.get(key)
        if verdict is None:
            verdict = checked[key] = _join_check(preps, members[ci], members[cj], lookup)
        possible, similar_enough = verdict
        # A link within one article is the article's own word that both are one happening.
        same_article = preps[i].source == preps[j].source
        if not possible or not (same_article or similar_enough):
            continue
        keep, gone = min(ci, cj), max(ci, cj)
        members[keep].extend(members.pop(gone))
        version[keep] += 1
        for member in members[keep]:
            cluster_of[member] = keep
        joins.append((k, keep, gone))
    return members, joins


def _special_pairs(unique: Sequence[Prepared]) -> dict[int, list[int]]:
    """For each i, the later mentions it may link with while sharing no term: the same
    sentence in another article, another sentence of its own article, the same span."""
    groups: dict[object, list[int]] = {}
    for index, p in enumerate(unique):
        m = p.mention
        groups.setdefault(("fingerprint", m.fingerprint), []).append(index)
        groups.setdefault(("source", p.source), []).append(index)
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


def _join_check(preps: Sequence[Prepared], left: Sequence[int], right: Sequence[int], lookup: Lookup) -> tuple[bool, bool]:
    """Whether two clusters may join at all (every cross pair nested, no two sentences of
    one article forced together), and whether they are similar enough on average."""
    total = 0.0
    needed = 0.0
    others = [(j, preps[j]) for j in right]
    # spans_nest, _vague_apart and _threshold inline: this runs for every cross pair of
    # every pair of clusters a link tries to join.
    for i in left:
        pi = preps[i]
        mi = pi.mention
        start, end, span, vague, days, source, heads = pi.start, pi.end, pi.span, pi.vague, pi.days, pi.source, pi.heads
        for j, pj in others:
            s, e = pj.start, pj.end
            if pj.span != span or not ((start <= s and e <= end) or (s <= start and end <= e)):
                return False, False
            if (vague or pj.vague) and (start != s or end != e):
                return False, False
            sim, linked = lookup(i, j) if i < j else lookup(j, i)
            if sim != sim:
                sim = 0.0  # nested, sharing no term: not visited, similarity 0.0
            same_source = source == pj.source
            if same_source and not linked:
                return False, False
            longer = days if days > pj.days else pj.days
            threshold = THRESHOLD_DAY if longer <= 1 else THRESHOLD_WEEK if longer <= 7 else THRESHOLD_WIDER
            # Evidence beyond shared words ("strikes last year" / "went on strike last year")
            # counts as a pair at the threshold, or such events could never grow.
            if linked and _strong(mi, pj.mention, same_source, heads, pj.heads):
                total += max(sim, threshold)
            else:
                total += sim
            needed += threshold * LINKAGE_FACTOR
    return True, total >= needed


# -- for the store: merging a region of the timeline on its own -----------------------------


class PairBook:
    """Pairs of prepared mentions, compared on demand and each once, exactly as merge()
    compares them (the same functions of the two mentions). Add every mention before
    comparing it, so that typos between any two added mentions are seen."""

    def __init__(self) -> None:
        self.typos = Typos()
        # Per earlier mention, per later one: the similarity (NaN: intervals not nested)
        # and the link score (NaN: no link). Floats in nested dicts, not a tuple key and a
        # tuple value a pair: a region compares tens of thousands of pairs, and that many
        # tracked tuples made the cyclic collector scan the whole process again and again.
        self._sims: dict[Prepared, dict[Prepared, float]] = {}
        self._links: dict[Prepared, dict[Prepared, float]] = {}

    def add(self, preps: Iterable[Prepared]) -> None:
        for p in preps:
            self.typos.add(p.long)

    def pair(self, p: Prepared, q: Prepared) -> tuple[float, float | None] | None:
        """(similarity, link score or None) of two mentions; None when their intervals do not nest."""
        if q.order < p.order:
            p, q = q, p
        sims = self._sims.get(p)
        if sims is None:
            sims = self._sims[p] = {}
            self._links[p] = {}
        sim = sims.get(q)
        if sim is None:
            if p.span == q.span and (
                (p.start <= q.start and q.end <= p.end) or (q.start <= p.start and p.end <= q.end)
            ):  # _compatible
                sim = _similarity(p, q, self.typos.near)
                s = _link(p, q, sim)
                sims[q] = sim
                self._links[p][q] = math.nan if s is None else s
                return sim, s
            sims[q] = math.nan
            return None
        if sim != sim:
            return None
        s = self._links[p][q]
        return sim, None if s != s else s

    def row(self, p: Prepared, *, add: bool) -> tuple[dict[Prepared, float], dict[Prepared, float]]:
        """The pairs of p with the mentions after it: similarities and link scores, as
        pair() keeps them (NaN: not nested, not linked); to read in bulk, and with `add`
        to add to (else, for a p with none, two empty dicts not to be written to: a merge
        of the whole store reads the book for every mention and adds nothing)."""
        sims = self._sims.get(p)
        if sims is None:
            if not add:
                return {}, {}
            sims = self._sims[p] = {}
            self._links[p] = {}
        return sims, self._links[p]

    def lookup(self, p: Prepared, q: Prepared) -> tuple[float, bool]:
        got = self.pair(p, q)
        if got is None:
            return math.nan, False
        return got[0], got[1] is not None

    def may_join(self, cluster: Sequence[Prepared], q: Prepared) -> bool:
        """False when no cluster holding q can join `cluster`: an interval of it does not
        nest with q's, or one of its sentences is from q's article and not linked to q."""
        for p in cluster:
            got = self.pair(p, q)
            if got is None or (p.source == q.source and got[1] is None):
                return False
        return True

    def join_check(self, left: Sequence[Prepared], right: Sequence[Prepared]) -> tuple[bool, bool]:
        """For a link tried while its earlier end's cluster is `left` and the other's
        `right`, as merge() checks it: whether the two may join at all, and whether they
        are similar enough on average (a link within one article needs only the first)."""
        both = [*left, *right]

        def lookup(i: int, j: int) -> tuple[float, bool]:
            return self.lookup(both[i], both[j])

        return _join_check(both, range(len(left)), range(len(left), len(both)), lookup)


class Clusters:
    """merge() of a set of prepared mentions, and how its clusters formed: the store merges
    a region of the timeline this way and checks the region's links to the rest."""

    def __init__(self, preps: Iterable[Prepared], book: PairBook, *, remember: bool = False) -> None:
        """`remember`: keep the pairs compared in the book (for a small set that will be
        merged again as part of a larger one)."""
        self.preps = sorted(preps, key=lambda p: p.order)
        self.book = book
        book.add(self.preps)
        self.place = {p: i for i, p in enumerate(self.preps)}
        self._sims, link_i, link_j, link_score = _compare_all(self.preps, book.typos.near, book, remember)
        self._lookup = self._sims.lookup
        self.members, joins = _agglomerate(self.preps, link_i, link_j, link_score, self._lookup)
        # Each join with when it happened (the LinkOrder of its link) and the members of the
        # cluster it made, in their order.
        self._history: dict[int, list[tuple[LinkOrder, int, int, tuple[Prepared, ...]]]] = {}
        final = {i: root for root, group in self.members.items() for i in group}
        sizes: dict[int, list[int]] = {}
        for k, keep, gone in joins:
            when = (-link_score[k], self.preps[link_i[k]].order, self.preps[link_j[k]].order)
            grown = sizes.pop(keep, [keep]) + sizes.pop(gone, [gone])
            sizes[keep] = grown
            self._history.setdefault(final[keep], []).append(
                (when, keep, gone, tuple(self.preps[i] for i in grown))
            )
        self._final = final
        self._timelines: dict[Prepared, list[tuple[LinkOrder, int, int, tuple[Prepared, ...]]]] = {}

    def events(self) -> list[MergedEvent]:
        """As merge() gives them (before sorting)."""
        return [_event(self.preps, group, self._lookup) for group in self.members.values()]

    def groups(self) -> list[list[Prepared]]:
        return [[self.preps[i] for i in group] for group in self.members.values()]

    def final(self, p: Prepared) -> set[Prepared]:
        """The members of p's final cluster."""
        return {self.preps[i] for i in self.members[self._final[self.place[p]]]}

    def cluster_before(self, p: Prepared, when: LinkOrder) -> list[Prepared]:
        """The members of p's cluster just before the link `when` is tried (p must be here)."""
        members: tuple[Prepared, ...] = (p,)
        for at, _, _, grown in self.timeline(p):
            if at >= when:
                break
            members = grown
        return list(members)

    def timeline(self, p: Prepared) -> list[tuple[LinkOrder, int, int, tuple[Prepared, ...]]]:
        """The joins that grew p's cluster, in order (p alone before the first), each with
        the members after it (the history's own entries: no tuple made per member per join)."""
        got = self._timelines.get(p)
        if got is None:
            index = self.place[p]
            root = index
            got = []
            for step in self._history.get(self._final[index], ()):
                if root == step[1] or root == step[2]:
                    root = step[1]
                    got.append(step)
            self._timelines[p] = got
        return got

    def first_difference(self, p: Prepared, other: Clusters) -> LinkOrder | None:
        """The first join after which p's cluster here and in `other` differ (the same
        prepared mentions in the same order, or not); None when they never do."""
        mine, theirs = self.timeline(p), other.timeline(p)
        states: dict[LinkOrder, list[tuple[Prepared, ...] | None]] = {}
        for side, changes in enumerate((mine, theirs)):
            for at, _, _, grown in changes:
                states.setdefault(at, [None, None])[side] = grown
        here: tuple[Prepared, ...] = (p,)
        there = here
        for at in sorted(states):
            grown_here, grown_there = states[at]
            here = grown_here or here
            there = grown_there or there
            if here != there:
                return at
        return None


# -- events ---------------------------------------------------------------------------------


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


def _centrality(index: Sequence[int], lookup: Lookup) -> list[float]:
    """How typical each mention is of its event: its mean similarity to the others."""
    if len(index) < 2:
        return [0.0] * len(index)
    out = []
    for a in index:
        # sum() as before: it must add the same floats the same way.
        total = sum(_pair_or_zero(lookup, a, b) for b in index if b != a)
        out.append(total / (len(index) - 1))
    return out


def _pair_or_zero(lookup: Lookup, a: int, b: int) -> float:
    sim, _ = lookup(a, b) if a < b else lookup(b, a)
    return 0.0 if sim != sim else sim


def _event(preps: Sequence[Prepared], index: Sequence[int], lookup: Lookup) -> MergedEvent:
    group = [preps[i].km for i in index]
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
    central = dict(zip((km.key for km in group), _centrality(index, lookup)))
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


def assign_ids(
    events: Sequence[MergedEvent], previous: Mapping[MentionKey, str], taken: Collection[str] = ()
) -> list[MergedEvent]:
    """Carry ids over from a previous merge: each event keeps the old id most of its mentions had.

    `previous` maps mention keys (or (source, fingerprint) tuples) to the event id they
    belonged to. Claims are settled largest first, ties by id then the event's smallest
    mention key; an old event split in two keeps its id for the larger part. Events with
    no claim keep their derived id, re-hashed if an old event or one of `taken` (ids that
    other events hold) already used it.
    """
    claims: list[tuple[int, str, tuple[MentionKey, ...], int]] = []
    for index, event in enumerate(events):
        votes = Counter(previous[k] for k in event.mention_keys if k in previous)
        for old_id, count in votes.items():
            claims.append((-count, old_id, event.mention_keys, index))
    claims.sort()
    chosen: dict[int, str] = {}
    claimed: set[str] = set()
    for _, old_id, _, index in claims:
        if index in chosen or old_id in claimed:
            continue
        chosen[index] = old_id
        claimed.add(old_id)
    reserved = claimed | set(previous.values()) | set(taken)
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
