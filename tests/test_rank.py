"""tracker.events.rank: the score of an event, pure (no database, no clock)."""

from __future__ import annotations

import math

from datetime import date, datetime, timedelta, timezone

import pytest

from tracker.events import rank
from tracker.events.rank import EventFeatures, MentionFeatures, breakdown, score_event

UTC = timezone.utc
DAY = date(2024, 3, 25)
NOW = datetime(2024, 3, 28, 12, 0, tzinfo=UTC)


def at(d: date, hours: float = 10) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(hours=hours)


def mention(feed: str, n: int, published: datetime, host: str | None = None) -> MentionFeatures:
    url = f"https://www.{host or feed}.example/story-{n}"
    return MentionFeatures(published=published, feed=feed, article=url, site=rank.site_of(url))


def event(
    mentions: list[MentionFeatures],
    *,
    granularity: str = "day",
    start: date = DAY,
    end: date | None = None,
    mod: str | None = None,
    updated: datetime | None = None,
) -> EventFeatures:
    seen = updated or at(DAY, 12)
    return EventFeatures(
        granularity=granularity, start=start, end=end or start, mod=mod,
        first_seen=seen, updated=seen, mentions=tuple(mentions),
    )


def test_more_outlets_beat_more_articles_from_one_outlet() -> None:
    three_outlets = event([mention(f"outlet{i}", 1, at(DAY)) for i in range(3)])
    one_outlet = event([mention("outlet0", i, at(DAY)) for i in range(3)])
    assert score_event(three_outlets, NOW) > score_event(one_outlet, NOW)
    # Even twice the articles from one outlet do not outweigh a second outlet.
    two_outlets = event([mention("a", 1, at(DAY)), mention("b", 1, at(DAY))])
    one_busy = event([mention("a", i, at(DAY)) for i in range(4)])
    assert score_event(two_outlets, NOW) > score_event(one_busy, NOW)
    b = breakdown(three_outlets, NOW)
    assert (b.outlets, b.articles) == (3, 3)
    assert breakdown(one_outlet, NOW).outlets == 1


def test_a_burst_on_the_day_and_references_months_later_both_count() -> None:
    burst = event([mention(f"o{i}", 1, at(DAY + timedelta(days=i % 2))) for i in range(4)])
    later = event([mention(f"o{i}", 1, at(DAY + timedelta(days=120 + i))) for i in range(4)])
    # Four outlets on the day: a burst of four reports, log-scaled.
    expected = math.log1p(4) / math.log1p(rank.CONCENTRATION_FULL)
    assert breakdown(burst, NOW).concentration_share == pytest.approx(expected)
    assert breakdown(burst, NOW).later == 0
    # Four outlets still referring to it four months on: later references, no burst.
    assert breakdown(later, NOW).concentration_share < 0.01
    assert breakdown(later, NOW).later == 4
    assert breakdown(later, NOW).later_points == pytest.approx(rank.LATER_WEIGHT * math.log1p(4) / math.log1p(rank.LATER_FULL))
    # The day after is not "later"; an event with both beats either.
    assert breakdown(event([mention("o", 1, at(DAY + timedelta(days=rank.LATER_AFTER_DAYS - 1)))]), NOW).later == 0
    both = event([mention(f"o{i}", 1, at(DAY)) for i in range(4)] + [mention(f"o{i}", 2, at(DAY + timedelta(days=60))) for i in range(4)])
    assert score_event(both, NOW) > max(score_event(burst, NOW), score_event(later, NOW))


def test_the_day_part_goes_to_the_lead_of_the_day_only() -> None:
    """Three events of one busy day and one of a quiet day: the busy day's references and
    burst raise its best event only, so a --top keeps one event of that day."""
    main = event([mention(f"o{i}", 1, at(DAY)) for i in range(3)] + [mention(f"o{i}", 2, at(DAY + timedelta(days=40))) for i in range(3)])
    minor = [event([mention(f"m{j}", 1, at(DAY))]) for j in range(2)]
    quiet_day = DAY + timedelta(days=5)
    quiet = event([mention(f"q{i}", 1, at(quiet_day)) for i in range(3)], start=quiet_day)
    vague = event([mention("v", 1, at(DAY))], granularity="month", start=date(2024, 3, 1), end=date(2024, 3, 31))
    everything = [main, *minor, quiet, vague]
    stats = rank.day_stats(everything, rank.published_articles(everything))
    assert stats[DAY] == rank.DayStats(references=8, later=3, burst=6)  # the month's article was published that day
    assert stats[quiet_day] == rank.DayStats(references=3, later=0, burst=3)
    assert date(2024, 3, 1) not in stats
    ids = ["main", "minor0", "minor1", "quiet", "vague"]
    leads = rank.day_leads(((i, f, breakdown(f, NOW)) for i, f in zip(ids, everything)), stats)
    assert set(leads) == {"main", "quiet"}
    assert leads["main"] == pytest.approx(rank.lead_bonus(stats[DAY])) and leads["main"] > leads["quiet"] > 0
    assert rank.lead_bonus(rank.DayStats(10**6, 10**6, 10**6)) == pytest.approx(rank.DAY_MAX)
    assert rank.with_day(breakdown(main, NOW), leads["main"]).score == pytest.approx(score_event(main, NOW) + leads["main"])


def test_a_day_beats_a_year_with_the_same_sources() -> None:
    sources = [mention(f"o{i}", 1, at(date(2024, 1, 2))) for i in range(3)]
    day = event(sources, start=date(2024, 1, 1))
    year = event(sources, granularity="year", start=date(2024, 1, 1), end=date(2024, 12, 31))
    assert score_event(day, NOW) > score_event(year, NOW)
    shares = [
        rank.precision(g, s, e, None)
        for g, s, e in (
            ("day", DAY, DAY),
            ("week", date(2024, 3, 25), date(2024, 3, 31)),
            ("month", date(2024, 3, 1), date(2024, 3, 31)),
            ("quarter", date(2024, 1, 1), date(2024, 3, 31)),
            ("year", date(2024, 1, 1), date(2024, 12, 31)),
            ("range", date(2023, 5, 1), date(2023, 9, 30)),
        )
    ]
    assert shares == sorted(shares, reverse=True) and len(set(shares)) == len(shares)
    # "Around" and open-ended dates are vaguer than the plain date.
    assert rank.precision("day", DAY, DAY, "APPROX") < rank.precision("day", DAY, DAY, None)
    assert rank.precision("month", date(2024, 3, 1), date(2024, 3, 31), "BEFORE") < rank.precision(
        "month", date(2024, 3, 1), date(2024, 3, 31), "MID"
    )


def test_a_year_mentioned_by_many_in_passing_does_not_dominate() -> None:
    # "last year" in ten outlets' pieces over the months, against a happening that four
    # outlets covered on the day: the happening leads.
    passing = event(
        [mention(f"o{i}", 1, at(date(2024, 2 + i % 6, 10))) for i in range(10)],
        granularity="year", start=date(2023, 1, 1), end=date(2023, 12, 31),
    )
    happening = event([mention(f"o{i}", 1, at(DAY)) for i in range(4)])
    assert score_event(happening, NOW) > score_event(passing, NOW)


def test_recency_is_mild() -> None:
    sources = [mention("a", 1, at(DAY)), mention("b", 1, at(DAY))]
    fresh = event(sources, updated=NOW)
    old = event(sources, updated=NOW - timedelta(days=400))
    gain = score_event(fresh, NOW) - score_event(old, NOW)
    assert 0 < gain <= rank.RECENCY_WEIGHT <= 5
    assert breakdown(fresh, None).recency_share == 0.0  # now unknown: no boost at all
    # A fresh event with one outlet fewer stays behind an old one.
    three = event([mention(f"o{i}", 1, at(DAY)) for i in range(3)], updated=NOW - timedelta(days=400))
    assert score_event(three, NOW) > score_event(fresh, NOW)
    # Whole days: the score holds still within a day, then halves every week.
    assert rank.recency(NOW - timedelta(hours=23), NOW - timedelta(days=9), NOW) == 1.0
    assert rank.recency(NOW - timedelta(days=7, hours=1), NOW - timedelta(days=9), NOW) == pytest.approx(0.5)
    # An updated time after now (a clock set back) is no bigger than now.
    assert breakdown(event(sources, updated=NOW + timedelta(days=3)), NOW).recency_share == 1.0


def test_range_breakdown_and_determinism() -> None:
    assert rank.MAX_SCORE == pytest.approx(100.0)
    empty = event([])
    assert score_event(empty, NOW) == pytest.approx(rank.PRECISION_WEIGHT + breakdown(empty, NOW).recency_points)
    many = [mention(f"o{i}", j, at(DAY)) for i in range(40) for j in range(3)]
    many += [mention(f"o{i}", 10 + j, at(DAY + timedelta(days=30))) for i in range(10) for j in range(2)]
    b = breakdown(event(many, updated=NOW), NOW)
    # An event's own parts are full; the day's part (for a day's lead) makes up the rest.
    assert b.score == pytest.approx(rank.OWN_MAX)
    assert rank.with_day(b, rank.DAY_MAX).score == pytest.approx(100.0)
    assert b.score == pytest.approx(
        b.outlets_points + b.articles_points + b.concentration_points + b.later_points + b.precision_points
        + b.recency_points
    )
    # The order mentions come in changes nothing, ties of published times included.
    mixed = [mention("a", 1, at(DAY)), mention("b", 1, at(DAY), host="a"), mention("c", 2, at(DAY, 30))]
    assert score_event(event(mixed), NOW) == score_event(event(mixed[::-1]), NOW)
    # Extreme dates do not crash.
    assert score_event(event([mention("a", 1, at(DAY))], start=date.min), NOW) >= 0
    assert score_event(event([mention("a", 1, at(DAY))], start=date.max), NOW) >= 0


def test_outlets_are_feeds_or_the_sites_of_an_aggregator() -> None:
    # One article seen in two feeds is one source and one outlet.
    same = [mention("a", 1, at(DAY)), MentionFeatures(at(DAY, 11), "b", "https://www.a.example/story-1", "a.example")]
    assert (breakdown(event(same), NOW).articles, rank.count_outlets(same)) == (1, 1)
    # A feed carrying several sites' articles counts each site.
    aggregator = [mention("news", i, at(DAY), host=f"site{i}") for i in range(3)]
    assert rank.count_outlets(aggregator) == 3
    # Feeds that share a host (sections, or the samples' one test host) stay apart.
    sections = [mention("tech", 1, at(DAY), host="paper"), mention("film", 2, at(DAY), host="paper")]
    assert rank.count_outlets(sections) == 2
    # Never more outlets than articles.
    for case in (same, aggregator, sections):
        assert rank.count_outlets(case) <= len({m.article for m in case})


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("https://www.nytimes.com/2024/03/25/a.html", "nytimes.com"),
        ("https://edition.cnn.com/x", "cnn.com"),
        ("https://news.bbc.co.uk/x", "bbc.co.uk"),
        ("https://m.example.org/x", "example.org"),
        ("HTTPS://WWW.Example.COM./x", "example.com"),
        ("https://example-outlet.test/techwire/x", "example-outlet.test"),
        ("http://127.0.0.1:8080/feed", "127.0.0.1"),
        (None, None),
        ("", None),
        ("not a url", None),
        ("http://[::1", None),
    ],
)
def test_site_of(url: str | None, site: str | None) -> None:
    assert rank.site_of(url) == site


def test_rank_key_orders_ties_deterministically() -> None:
    a = rank.rank_key(50.004, 2, date(2024, 3, 2), date(2024, 3, 2), "b")
    b = rank.rank_key(50.001, 3, date(2024, 3, 5), date(2024, 3, 5), "a")  # same shown score, more outlets
    c = rank.rank_key(50.0, 3, date(2024, 3, 1), date(2024, 3, 1), "z")  # ... and an earlier date
    d = rank.rank_key(50.0, 3, date(2024, 3, 1), date(2024, 3, 1), "y")  # ... and a smaller id
    assert sorted([a, b, c, d]) == [d, c, b, a]


def test_upper_bound_holds() -> None:
    import random

    rng = random.Random(3)
    for _ in range(500):
        granularity = rng.choice(("day", "week", "month", "quarter", "year", "range", "decade", "fortnight"))
        start = DAY - timedelta(days=rng.randrange(400))
        end = start + timedelta(days=rng.choice((0, 6, 30, 90, 364, 1000)))
        mentions = [
            mention(f"f{rng.randrange(4)}", rng.randrange(6), at(start + timedelta(days=rng.randrange(-3, 60))),
                    host=rng.choice((None, "a", "b")))
            for _ in range(rng.randrange(0, 9))
        ]
        features = event(mentions, granularity=granularity, start=start, end=end, mod=rng.choice((None, "APPROX", "MID")),
                         updated=NOW - timedelta(days=rng.randrange(20)))
        entries = len(mentions)  # at least the articles: what the store counts
        bound = rank.upper_bound(granularity, start, end, features.mod, entries)
        assert score_event(features, NOW) <= bound + 1e-9


def test_an_anchor_referred_back_to_for_months_keeps_its_burst() -> None:
    """Later references add articles; they never dilute the reporting the day had."""
    on_day = [mention(f"o{i}", 1, at(DAY)) for i in range(5)]
    anchor = event(on_day + [mention(f"o{i}", 2 + j, at(DAY + timedelta(days=30 + j))) for i in range(5) for j in range(4)])
    assert breakdown(anchor, NOW).concentration_share >= breakdown(event(on_day), NOW).concentration_share
    assert score_event(anchor, NOW) > score_event(event(on_day), NOW)


def test_follow_ups_of_one_outlet_add_less_to_the_burst_than_other_outlets() -> None:
    five_outlets = event([mention(f"o{i}", 1, at(DAY)) for i in range(5)])
    one_outlet = event([mention("o0", i, at(DAY)) for i in range(5)])
    assert breakdown(five_outlets, NOW).concentration_share > breakdown(one_outlet, NOW).concentration_share > 0
