"""Pure: how much an event matters, as a score from 0 to 100 with its breakdown.

The score adds parts, each a share in [0, 1] times its weight in points; the weights add
up to 100, so the score runs from 0 to 100. Six parts are the event's own:

- outlets: independent outlets that report it, log-scaled (a happening several newsrooms
  chose to cover, not one outlet's many follow-ups);
- articles: distinct articles (sources), log-scaled;
- concentration: how much reporting came out around the event's date, log-scaled
  (a happening many articles reported that day and the next). It counts articles, it is
  not a share: an anchor of the story that articles refer back to for months keeps the
  burst it had on its day;
- later references: distinct articles published LATER_AFTER_DAYS or more after the event
  that still refer to it, log-scaled, not decaying with time, times the precision share
  (a vague "last year" mentioned in passing is no referring back): a happening the story
  keeps coming back to weeks later is a key development (DATEWISE's strongest signal);
- precision: day > week > month > season/quarter > half > year > decade, ranges
  below the period of their length (wide spans must not dominate);
- recency: a small boost for an event first seen or updated lately, so a fresh
  development edges out an equal old one; small enough not to reorder a historical story.

Three more parts judge the event's day, among the events read together (a timeline, the
candidates of a --top), and go only to the day's lead: the best-scoring day-precise event
of that day (lead_bonus, day_leads). Given to every event of a busy day they would fill
--top with that day's minor events; given to its lead, a busy day still contributes one
key development:

- day references: distinct articles that refer to the day (any event dated that day);
- day later references: those published LATER_AFTER_DAYS or more after the day;
- day burst: articles published on the day or the next that the events read cite.

An event read alone (or an event that is not its day's lead) scores its own parts only, at
most OWN_MAX. The weights were tuned on four Timeline17 topics, leave one topic out
(bench/timeline_eval.py): Date-F1 0.537 -> 0.587 (held-out topics 0.580).

Every weight below is a named constant so that bench/timeline_eval.py can tune them;
breakdown() shows what each part gave an event.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple
from urllib.parse import urlsplit

# --- weights: points each part gives at its full share; they add up to 100 ----------------
# Tune freely, but keep them >= 0: upper_bound (--top over big stories) relies on it.

# Independent outlets: the main signal of an event's own importance.
OUTLETS_WEIGHT = 17.0
# Distinct articles: more coverage, but follow-ups by one outlet are not independent.
ARTICLES_WEIGHT = 15.5
# Reporting concentrated around the event's date.
CONCENTRATION_WEIGHT = 6.0
# Articles still referring to the event LATER_AFTER_DAYS or more after it.
LATER_WEIGHT = 6.0
# Date precision.
PRECISION_WEIGHT = 8.5
# Recently first seen or updated: kept small on purpose (see RECENCY_HALF_LIFE_DAYS).
RECENCY_WEIGHT = 2.0
# Given only to the lead of a day (see lead_bonus): articles referring to the day ...
DAY_REFERENCES_WEIGHT = 11.0
# ... those published LATER_AFTER_DAYS or more after it ...
DAY_LATER_WEIGHT = 23.0
# ... and the articles published on the day or the next.
DAY_BURST_WEIGHT = 11.0

# --- shapes of the parts -------------------------------------------------------------------

# Counts are log-scaled, log(1 + n) / log(1 + FULL), and saturate at FULL: the
# difference between 1 and 3 outlets matters more than between 30 and 50.
OUTLETS_FULL = 20
ARTICLES_FULL = 50

# Reports around the date at which concentration is full (log-scaled below it).
CONCENTRATION_FULL = 20
# What an outlet's second and later articles around the date add to the burst.
FOLLOW_UP_SHARE = 0.25
# An article counts fully for concentration when published from this many days before
# the event's start ("tomorrow" previews, time zones) ...
CONCENTRATION_BEFORE_DAYS = 1.0
# ... to this many days after the end of the event's first days: "that day and the next".
CONCENTRATION_AFTER_DAYS = 2.0
# How many days of a longer event count as its date: a month or a year is not "reported
# on the day" just because an article falls somewhere inside it.
CONCENTRATION_SPAN_CAP_DAYS = 7
# Outside that window an article's weight decays by e every this many days: a week late
# counts about a third, a month late almost nothing.
CONCENTRATION_DECAY_DAYS = 7.0

# The share of the precision weight each granularity earns.
PRECISION = {
    "day": 1.0,
    "week": 0.8,
    "month": 0.6,
    "season": 0.4,
    "quarter": 0.4,
    "half": 0.3,
    "year": 0.2,
    "decade": 0.05,
}
# A span ("from May to September") or an unknown granularity is judged by its length in
# days: the first row it fits in.
PRECISION_BY_LENGTH = ((1, "day"), (7, "week"), (31, "month"), (92, "quarter"), (184, "half"), (366, "year"))
# A span earns this fraction of what a period of its length would: its ends are vaguer.
RANGE_FACTOR = 0.5
# Modifiers that make the date vaguer; "early", "mid", "late" narrow it and cost nothing.
MOD_FACTOR = {"APPROX": 0.8, "BEFORE": 0.5, "AFTER": 0.5, "ON_OR_BEFORE": 0.5, "ON_OR_AFTER": 0.5}

# An article refers to an event "later" when published this many days or more after the
# event's last day (the day's own reporting and the next day's follow-ups are not later).
LATER_AFTER_DAYS = 3
# Later references at which the part is full (log-scaled below it).
LATER_FULL = 20
# Day references, later day references and day burst at which each is full (log-scaled).
DAY_FULL = 50

# The recency boost halves every this many days (whole days) since the event was last updated.
RECENCY_HALF_LIFE_DAYS = 7.0

# What an event's own parts give at most: the score of an event that is not a day's lead.
OWN_MAX = OUTLETS_WEIGHT + ARTICLES_WEIGHT + CONCENTRATION_WEIGHT + LATER_WEIGHT + PRECISION_WEIGHT + RECENCY_WEIGHT
DAY_MAX = DAY_REFERENCES_WEIGHT + DAY_LATER_WEIGHT + DAY_BURST_WEIGHT
MAX_SCORE = OWN_MAX + DAY_MAX

# Hosts that name a version of a site rather than a different site.
_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")


class MentionFeatures(NamedTuple):
    """What ranking needs of one mention: when its article came out (aware UTC), and where.

    A named tuple: the timeline builds thousands of these per read.
    """

    published: datetime
    feed: str
    # The article: its URL, else anything that identifies it (an entry id, feed + title).
    article: str
    # The article's site (site_of its URL), None without a URL.
    site: str | None


@dataclass(frozen=True)
class EventFeatures:
    """What ranking needs of one event."""

    granularity: str
    start: date
    end: date
    mod: str | None
    first_seen: datetime
    updated: datetime
    mentions: tuple[MentionFeatures, ...]


@dataclass(frozen=True)
class Breakdown:
    """A score and its parts, in points; for debugging and tuning."""

    outlets: int
    articles: int
    # Shares in [0, 1] before weighting.
    concentration_share: float
    precision_share: float
    recency_share: float
    # Points.
    outlets_points: float
    articles_points: float
    concentration_points: float
    precision_points: float
    recency_points: float
    # Articles referring to the event LATER_AFTER_DAYS or more after it, and their points.
    later: int = 0
    later_points: float = 0.0
    # What the event's day gives it as the day's lead (lead_bonus); 0 otherwise.
    day_points: float = 0.0

    @property
    def own(self) -> float:
        """The event's own parts, without the day's: from 0 to OWN_MAX."""
        return (
            self.outlets_points
            + self.articles_points
            + self.concentration_points
            + self.later_points
            + self.precision_points
            + self.recency_points
        )

    @property
    def score(self) -> float:
        """The sum of the parts, from 0 to MAX_SCORE (100)."""
        return self.own + self.day_points


@functools.lru_cache(maxsize=1 << 16)
def site_of(url: str | None) -> str | None:
    """The site an article URL belongs to: its host without www./m., cut to the registrable
    part by a rule of thumb (news.bbc.co.uk -> bbc.co.uk, edition.cnn.com -> cnn.com)."""
    if not url:
        return None
    try:
        host = (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return None
    if not host:
        return None
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
            break
    labels = host.split(".")
    if len(labels) <= 2 or all(label.isdigit() for label in labels):
        return host
    # Without the public suffix list: a two-letter country code under a short second
    # level (co.uk, com.au, org.br) keeps three labels, anything else two.
    keep = 3 if len(labels[-1]) == 2 and len(labels[-2]) <= 3 else 2
    return ".".join(labels[-keep:])


def _articles(mentions: Iterable[MentionFeatures]) -> list[MentionFeatures]:
    """One mention per article, the earliest published (an article is one source); the
    order is fixed whatever order the mentions come in, so the score is too."""
    first: dict[str, MentionFeatures] = {}
    for m in sorted(mentions, key=lambda m: (m.published, m.feed, m.article)):
        first.setdefault(m.article, m)
    return list(first.values())


def outlet_keys(mentions: Iterable[MentionFeatures]) -> dict[str, str]:
    """Each article's outlet: its feed, except that a feed whose articles here come from
    several sites (an aggregator) counts each site as an outlet.

    An article maps to exactly one outlet, so there are never more outlets than articles.
    """
    return _outlet_keys(_articles(mentions))


def _outlet_keys(articles: Sequence[MentionFeatures]) -> dict[str, str]:
    sites: dict[str, set[str]] = {}
    for a in articles:
        if a.site:
            sites.setdefault(a.feed, set()).add(a.site)
    out = {}
    for a in articles:
        if a.site and len(sites.get(a.feed, ())) > 1:
            out[a.article] = "site\x00" + a.site
        else:
            out[a.article] = "feed\x00" + a.feed
    return out


def count_outlets(mentions: Iterable[MentionFeatures]) -> int:
    """Distinct outlets (see outlet_keys)."""
    return len(set(outlet_keys(mentions).values()))


def _log_share(n: int, full: int) -> float:
    return min(1.0, math.log1p(max(0, n)) / math.log1p(full)) if n > 0 else 0.0


# Concentration works in POSIX seconds: a story's --top scores thousands of events, and
# float arithmetic is several times cheaper than building datetimes and timedeltas.
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_SECONDS = 86400.0
_DAY = timedelta(days=1)


def closeness(start: date, end: date, published: Sequence[datetime]) -> list[float]:
    """Each article's weight for concentration: 1 inside the window around the event's
    first days, decaying by e every CONCENTRATION_DECAY_DAYS outside it."""
    days = min((end - start).days, CONCENTRATION_SPAN_CAP_DAYS)
    first = (start.toordinal() - _EPOCH_ORDINAL) * _DAY_SECONDS
    lo = first - CONCENTRATION_BEFORE_DAYS * _DAY_SECONDS
    hi = first + (days + 1 + CONCENTRATION_AFTER_DAYS) * _DAY_SECONDS
    decay = CONCENTRATION_DECAY_DAYS * _DAY_SECONDS
    out = []
    for p in published:
        t = p.timestamp()
        lag = lo - t if t < lo else t - hi if t > hi else 0.0
        out.append(math.exp(-lag / decay))
    return out


def concentration(start: date, end: date, published: Sequence[datetime]) -> float:
    """The mean closeness of the articles (see closeness); 0 without articles."""
    weights = closeness(start, end, published)
    return sum(weights) / len(weights) if weights else 0.0


def burst(weights: Sequence[float], outlets: Sequence[str]) -> float:
    """How much reporting came out around the date: each outlet's closest article counts
    fully, its other articles FOLLOW_UP_SHARE each (one newsroom's follow-ups are not
    independent reports)."""
    best: dict[str, float] = {}
    for w, outlet in zip(weights, outlets):
        best[outlet] = max(best.get(outlet, 0.0), w)
    lead = sum(best.values())
    return lead + FOLLOW_UP_SHARE * (sum(weights) - lead)


def _by_length(days: int) -> float:
    for limit, granularity in PRECISION_BY_LENGTH:
        if days <= limit:
            return PRECISION[granularity]
    return PRECISION["decade"]


def precision(granularity: str, start: date, end: date, mod: str | None) -> float:
    """The share of the precision weight a date earns (see PRECISION, RANGE_FACTOR, MOD_FACTOR)."""
    days = (end - start).days + 1
    if granularity == "range":
        share = _by_length(days) * RANGE_FACTOR
    else:
        share = PRECISION.get(granularity, _by_length(days))
    return share * MOD_FACTOR.get((mod or "").upper(), 1.0)


def recency(updated: datetime, first_seen: datetime, now: datetime | None) -> float:
    """1 for an event updated (or first seen) within the last day, halving every
    RECENCY_HALF_LIFE_DAYS; 0 when now is None (a story read long after).

    Age counts in whole days, so two reads in a row give the same scores (a score that
    moved with the second hand would make every export differ from the last).
    """
    if now is None:
        return 0.0
    age = (now - max(updated, first_seen)) // _DAY
    return math.pow(0.5, max(0, age) / RECENCY_HALF_LIFE_DAYS)


def breakdown(features: EventFeatures, now: datetime | None) -> Breakdown:
    """The score of an event and its parts; now=None leaves recency out."""
    articles = _articles(features.mentions)
    keys = _outlet_keys(articles)
    outlets = len(set(keys.values()))
    around = burst(
        closeness(features.start, features.end, [a.published for a in articles]), [keys[a.article] for a in articles]
    )
    conc = min(1.0, math.log1p(around) / math.log1p(CONCENTRATION_FULL))
    prec = precision(features.granularity, features.start, features.end, features.mod)
    rec = recency(features.updated, features.first_seen, now)
    later = later_references(features.end, [a.published for a in articles])
    return Breakdown(
        outlets=outlets,
        articles=len(articles),
        concentration_share=conc,
        precision_share=prec,
        recency_share=rec,
        outlets_points=OUTLETS_WEIGHT * _log_share(outlets, OUTLETS_FULL),
        articles_points=ARTICLES_WEIGHT * _log_share(len(articles), ARTICLES_FULL),
        concentration_points=CONCENTRATION_WEIGHT * conc,
        precision_points=PRECISION_WEIGHT * prec,
        recency_points=RECENCY_WEIGHT * rec,
        later=later,
        later_points=LATER_WEIGHT * _log_share(later, LATER_FULL) * prec,
    )


def _is_later(published: datetime, day: date) -> bool:
    return (published.date() - day).days >= LATER_AFTER_DAYS


def later_references(end: date, published: Iterable[datetime]) -> int:
    """How many of the articles (their publication times, one per article) came out
    LATER_AFTER_DAYS or more after the event's last day."""
    return sum(1 for p in published if _is_later(p, end))


def upper_bound(granularity: str, start: date, end: date, mod: str | None, articles: int) -> float:
    """No event with these dates and at most this many articles scores higher: what a
    `--top` over thousands of events uses to skip reading the mentions of most of them.

    The bound is of the event's own parts (Breakdown.own): the day's part, for a day's
    lead only, comes on top (lead_bonus).

    Holds because outlets and later references <= articles, each part grows with its count, concentration and
    recency are at most 1, and every weight is >= 0.
    """
    if articles <= 0:
        return PRECISION_WEIGHT * precision(granularity, start, end, mod) + RECENCY_WEIGHT
    return (
        OUTLETS_WEIGHT * _log_share(articles, OUTLETS_FULL)
        + ARTICLES_WEIGHT * _log_share(articles, ARTICLES_FULL)
        + LATER_WEIGHT * _log_share(articles, LATER_FULL) * precision(granularity, start, end, mod)
        + CONCENTRATION_WEIGHT
        + PRECISION_WEIGHT * precision(granularity, start, end, mod)
        + RECENCY_WEIGHT
    )


def score_event(features: EventFeatures, now: datetime | None) -> float:
    """How much the event matters, from 0 to 100 (MAX_SCORE); see the module docstring."""
    return breakdown(features, now).score


def rank_key(score: float, outlets: int, start: date, end: date, event_id: str) -> tuple[float, int, date, date, str]:
    """Sort key, best first: the score as shown (2 decimals), then more outlets, the
    earlier date, the id; deterministic whatever order events come in."""
    return (-round(score, 2), -outlets, start, end, event_id)


# --- the day's part: for the lead of each day, among the events read together -------------


class DayStats(NamedTuple):
    """What a day's part weighs (see the module docstring), in distinct articles."""

    references: int
    later: int
    burst: int


def published_articles(events: Iterable[EventFeatures]) -> dict[date, set[str]]:
    """The articles of the events' mentions by the day (UTC) they were published."""
    out: dict[date, set[str]] = {}
    for f in events:
        for m in f.mentions:
            out.setdefault(m.published.date(), set()).add(m.article)
    return out


def day_stats(events: Iterable[EventFeatures], published: dict[date, set[str]]) -> dict[date, DayStats]:
    """The stats of each day some day-precise event of `events` falls on: the articles that
    refer to the day, those LATER_AFTER_DAYS or more after it, and of `published` (the
    articles of all the events read, by publication day: published_articles) those
    published on the day or the next."""
    refs: dict[date, set[str]] = {}
    later: dict[date, set[str]] = {}
    for f in events:
        if f.granularity != "day":
            continue
        day_refs = refs.setdefault(f.start, set())
        day_later = later.setdefault(f.start, set())
        for m in f.mentions:
            day_refs.add(m.article)
            if _is_later(m.published, f.start):
                day_later.add(m.article)
    out = {}
    for day, articles in refs.items():
        burst = len(published.get(day, ()))
        if day < date.max:
            burst += len(published.get(day + _DAY, ()))
        out[day] = DayStats(len(articles), len(later[day]), burst)
    return out


def lead_bonus(stats: DayStats) -> float:
    """The points the lead of a day with these stats gets, from 0 to DAY_MAX."""
    return (
        DAY_REFERENCES_WEIGHT * _log_share(stats.references, DAY_FULL)
        + DAY_LATER_WEIGHT * _log_share(stats.later, DAY_FULL)
        + DAY_BURST_WEIGHT * _log_share(stats.burst, DAY_FULL)
    )


def day_leads(
    events: Iterable[tuple[str, EventFeatures, Breakdown]], stats: dict[date, DayStats]
) -> dict[str, float]:
    """The lead of each day, (event id -> its day points): of the day-precise events
    (id, features, breakdown of its own parts), the first by rank_key of its own parts."""
    best: dict[date, tuple[tuple[float, int, date, date, str], str]] = {}
    for event_id, f, b in events:
        if f.granularity != "day" or f.start not in stats:
            continue
        key = rank_key(b.own, b.outlets, f.start, f.end, event_id)
        if f.start not in best or key < best[f.start][0]:
            best[f.start] = (key, event_id)
    return {event_id: lead_bonus(stats[day]) for day, (_, event_id) in best.items()}


def with_day(b: Breakdown, points: float) -> Breakdown:
    """The breakdown with the day's part (0 for an event that is not its day's lead)."""
    return dataclasses.replace(b, day_points=points)
