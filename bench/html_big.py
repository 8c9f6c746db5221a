"""Build a big story (1,500 articles, 3,000+ events) in a database and export it as HTML.

Usage: python bench/html_big.py [--articles 1500] [--events 3200] [--outlets 40] [--out PATH]

The story is generated, not real: 40 outlets report on a year of a story; a few dozen
happenings get a burst of coverage from many outlets on the day and the next, while most
events are dated in passing by one or two articles, some of them months or years back
("the 2019 agreement", "last summer"). Events and mentions are written straight into a
migrated SQLite database, as the merge step would leave them, so building takes seconds.

Then, through tracker's own code (the timeline query and renderer that `tracker timeline
--format html` runs) it times the query of every event with its mentions and score, the
HTML rendering, and `--top 12` over all events, each beside a baseline in the same run
(the same rows read with bare sqlite3), and prints the HTML's size. It also
writes a feeds.yaml beside the database so the page can be made with the CLI:

    tracker --config DIR/feeds.yaml timeline -o story.html

and checked in a headless browser (see the README's Performance section).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.render import render_timeline  # noqa: E402
from tracker.store import Store  # noqa: E402
from tracker.store.models import span_class  # noqa: E402
from tracker.store.timeline import TimelineQuery, timeline  # noqa: E402
from tracker.views import EventView  # noqa: E402

T = TypeVar("T")
FIRST_DAY = date(2023, 6, 1)
DAYS = 396  # to the end of June 2024
NOW = datetime(2024, 7, 1, 9, 0, tzinfo=timezone.utc)
TOPICS = {"sora": "OpenAI Sora", "hollywood-meetings": "Hollywood meetings", "strikes": "Writers' and actors' strikes"}

_ACTORS = (
    "OpenAI", "The Writers Guild", "SAG-AFTRA", "Paramount", "Warner Bros. Discovery", "Disney", "Netflix",
    "Lionsgate", "A group of independent filmmakers", "The studio alliance", "A California lawmaker", "Runway",
    "The Motion Picture Association", "Sony Pictures", "Universal", "A talent agency", "Google", "The union's board",
)
_ACTIONS = (
    "met with", "announced a deal with", "sued", "issued a statement about", "held talks with", "showed Sora to",
    "signed a licensing agreement with", "criticised", "paused work with", "reached a tentative agreement with",
    "published guidelines for", "hired executives from", "opened an office near", "questioned",
)
_OBJECTS = (
    "studio executives", "talent agencies", "visual-effects houses", "member actors", "the guild's negotiators",
    "independent producers", "lawmakers in Sacramento", "animation studios", "streaming services", "cinema owners",
    "background performers", "screenwriters", "a federal regulator", "music labels",
)
_WHERE = ("in Los Angeles", "in New York", "in Burbank", "at a press conference", "in a letter", "online", "in London", "")
_FILLER = (
    "People familiar with the talks described them as early.",
    "The company did not respond to a request for comment.",
    "Union leaders said they would keep pressing for protections.",
    "Analysts expect the move to shape next year's negotiations.",
    "Details could still change, a spokesperson said.",
)
# (granularity, weight) of events dated in passing
_GRANULARITIES = (("day", 50), ("week", 10), ("month", 18), ("quarter", 4), ("season", 4), ("year", 9), ("range", 5))


def _summary(rng: random.Random) -> str:
    return " ".join(p for p in (rng.choice(_ACTORS), rng.choice(_ACTIONS), rng.choice(_OBJECTS), rng.choice(_WHERE)) if p)


def _period(rng: random.Random, granularity: str, around: date) -> tuple[str, date, date]:
    """(TIMEX3 value, start, end) of a period of this granularity that holds `around`."""
    y, m = around.year, around.month
    if granularity == "day":
        return around.isoformat(), around, around
    if granularity == "week":
        monday = around - timedelta(days=around.weekday())
        iso = monday.isocalendar()
        return f"{iso.year}-W{iso.week:02d}", monday, monday + timedelta(days=6)
    if granularity == "month":
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        return f"{y}-{m:02d}", date(y, m, 1), nxt - timedelta(days=1)
    if granularity == "quarter":
        q = (m - 1) // 3
        nxt = date(y + (q == 3), (q * 3 + 3) % 12 + 1, 1)
        return f"{y}-Q{q + 1}", date(y, q * 3 + 1, 1), nxt - timedelta(days=1)
    if granularity == "season":
        starts = {12: "WI", 1: "WI", 2: "WI", 3: "SP", 4: "SP", 5: "SP", 6: "SU", 7: "SU", 8: "SU", 9: "FA", 10: "FA", 11: "FA"}
        first = {"WI": 12, "SP": 3, "SU": 6, "FA": 9}[starts[m]]
        sy = y - 1 if first == 12 and m != 12 else y
        start = date(sy, first, 1)
        end_month = (first + 2 - 1) % 12 + 1
        ey = sy + (end_month < first)
        end = date(ey + (end_month == 12), end_month % 12 + 1, 1) - timedelta(days=1)
        return f"{ey if starts[m] == 'WI' else sy}-{starts[m]}", start, end
    if granularity == "year":
        return str(y), date(y, 1, 1), date(y, 12, 31)
    # A span of two to five months: "from May to September".
    months = rng.randint(2, 5)
    ey, em = y + (m + months - 1 > 12), (m + months - 1 - 1) % 12 + 1
    end = date(ey + (em == 12), em % 12 + 1, 1) - timedelta(days=1)
    return f"{y}-{m:02d}/{ey}-{em:02d}", date(y, m, 1), end


def build(path: Path, articles: int, events: int, outlets: int, seed: int = 11) -> None:
    """The story as rows: feeds, entries, events, their topics, mentions and full text."""
    Store(f"sqlite:///{path}").close()
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    names = [f"outlet{i:02d}" for i in range(outlets)]
    con.executemany(
        "INSERT INTO feeds (id, name, url, config_url, created, consecutive_errors, redirect_count, gone) "
        "VALUES (?, ?, ?, ?, '2023-06-01 00:00:00', 0, 0, 0)",
        [(i + 1, n, f"https://www.{n}.example/feed", f"https://www.{n}.example/feed") for i, n in enumerate(names)],
    )
    # A few outlets write most of the articles, as in real coverage.
    outlet_weights = [1 / (i + 1) ** 0.8 for i in range(outlets)]

    # Happenings that many outlets cover on the day and the next.
    n_big = max(5, events // 120)
    big_days = sorted(FIRST_DAY + timedelta(days=rng.randrange(20, DAYS - 5)) for _ in range(n_big))
    burst_share = 0.4
    published: list[datetime] = []
    burst_of: list[int | None] = []
    for _ in range(articles):
        if rng.random() < burst_share:
            b = rng.randrange(n_big)
            day = big_days[b] + timedelta(days=rng.choice((0, 0, 0, 1, 1, 2)))
            burst_of.append(b)
        else:
            day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
            burst_of.append(None)
        published.append(datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(minutes=rng.randrange(6 * 60, 22 * 60)))
    feed_of = rng.choices(range(1, outlets + 1), outlet_weights, k=articles)
    by_day: dict[date, list[int]] = {}
    for a, p in enumerate(published):
        by_day.setdefault(p.date(), []).append(a)

    def naive(d: datetime) -> str:
        return d.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")

    con.executemany(
        "INSERT INTO entries (id, feed_id, key, link, title, text, published, published_fallback, content_hash, "
        "first_seen, last_changed, needs_extraction) VALUES (?, ?, ?, ?, ?, '', ?, 0, 'h', ?, ?, 0)",
        [
            (a + 1, feed_of[a], f"k{a}", f"https://www.{names[feed_of[a] - 1]}.example/{published[a]:%Y/%m/%d}/story-{a}",
             f"{_summary(rng)} ({published[a]:%b %d})", naive(published[a]), naive(published[a] + timedelta(minutes=20)),
             naive(published[a] + timedelta(minutes=20)))
            for a in range(articles)
        ],
    )

    def near(day: date, spread: int) -> int:
        """An article published within `spread` days after `day` (else any)."""
        for _ in range(8):
            d = day + timedelta(days=rng.randint(0, spread))
            if by_day.get(d):
                return rng.choice(by_day[d])
        return rng.randrange(articles)

    rows_events: list[tuple[object, ...]] = []
    rows_topics: list[tuple[object, ...]] = []
    rows_mentions: list[tuple[object, ...]] = []
    rows_fts: list[tuple[object, ...]] = []
    mention_id = 0
    topic_names = list(TOPICS)
    grans, gweights = [g for g, _ in _GRANULARITIES], [w for _, w in _GRANULARITIES]
    for pk in range(1, events + 1):
        if pk <= n_big:
            b = pk - 1
            value, start, end, granularity = big_days[b].isoformat(), big_days[b], big_days[b], "day"
            burst = [a for a, x in enumerate(burst_of) if x == b]
            cited = rng.sample(burst, k=max(1, int(len(burst) * rng.uniform(0.5, 0.9))))
            cited += [near(big_days[b] + timedelta(days=3), 120) for _ in range(rng.randint(3, 25))]
        else:
            granularity = rng.choices(grans, gweights)[0]
            article = rng.randrange(articles)
            when = published[article].date()
            if rng.random() < 0.25:
                # Dated in passing: months or years before the article.
                when -= timedelta(days=rng.randint(60, 365 * 6))
            else:
                when += timedelta(days=rng.randint(-14, 10))
            value, start, end = _period(rng, granularity, when)
            cited = [article]
            extra = min(30, int(rng.paretovariate(1.6)) - 1)
            cited += [near(start, 20) if rng.random() < 0.6 else rng.randrange(articles) for _ in range(extra)]
        cited = sorted(set(cited))
        summary = _summary(rng)
        topics = sorted(rng.sample(topic_names, k=rng.choice((1, 1, 1, 2))))
        cls = span_class(start, end)
        first = min(published[a] for a in cited) + timedelta(minutes=20)
        last = max(published[a] for a in cited) + timedelta(minutes=20)
        rows_events.append((pk, f"{pk * 2654435761 % 2**40:010x}", value, granularity, start.isoformat(), end.isoformat(), cls,
                            summary, " ".join(topics), len(cited), naive(first), naive(last)))
        rows_topics.extend((pk, t, cls, start.isoformat(), end.isoformat()) for t in topics)
        quotes = []
        for a in cited:
            mention_id += 1
            quote = f"{summary} {rng.choice(('on', 'in', 'by', 'since'))} {value}. {rng.choice(_FILLER)}"
            quotes.append(quote)
            rows_mentions.append((mention_id, a + 1, pk, f"fp{mention_id}", quote, summary, value, value, granularity,
                                  start.isoformat(), end.isoformat(), " ".join(topics)))
        rows_fts.append((pk, summary, "\n".join(quotes)))
    con.executemany(
        'INSERT INTO events (pk, id, value, mod, granularity, start, "end", span_class, summary, topics, sources, '
        "first_seen, updated, revision) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
        rows_events,
    )
    con.executemany('INSERT INTO event_topics (event_pk, topic, span_class, start, "end") VALUES (?, ?, ?, ?, ?)', rows_topics)
    con.executemany(
        "INSERT INTO mentions (id, entry_id, event_pk, fingerprint, sentence_index, quote, summary, expression, expr_start, "
        'expr_end, value, mod, granularity, start, "end", topics, context_topics, terms) '
        "VALUES (?, ?, ?, ?, 0, ?, ?, ?, 0, 9, ?, NULL, ?, ?, ?, ?, 0, '')",
        rows_mentions,
    )
    con.executemany("INSERT INTO events_fts (rowid, summary, quotes) VALUES (?, ?, ?)", rows_fts)
    con.commit()
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    config = path.parent / "feeds.yaml"
    lines = [f"database: sqlite:///{path.name}", "topics:"]
    lines += [f"  {name}: {{title: \"{title}\", keywords: [{name}]}}" for name, title in TOPICS.items()]
    lines += ["feeds:"] + [f"  - {{name: {n}, url: \"https://www.{n}.example/feed\"}}" for n in names]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=1500)
    ap.add_argument("--events", type=int, default=3200)
    ap.add_argument("--outlets", type=int, default=40)
    ap.add_argument("--out", type=Path, help="the HTML file (default: story.html beside the database)")
    ap.add_argument("--dir", type=Path, help="folder for the database and feeds.yaml (default: a new temporary one)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each step; the median is printed")
    args = ap.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="tracker-html-big-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "story.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    t = time.perf_counter()
    build(db, args.articles, args.events, args.outlets)
    print(f"built {db} ({args.articles:,} articles, {args.events:,} events) in {time.perf_counter() - t:.1f} s")

    def bare() -> None:
        """The baseline: the same rows (every event, every mention with its article and
        feed) read with sqlite3 alone, no views, no scores."""
        con = sqlite3.connect(db)
        con.execute('SELECT * FROM events ORDER BY start, "end", id').fetchall()
        con.execute(
            "SELECT m.event_pk, m.expression, m.quote, e.link, e.title, e.published, f.name FROM mentions m "
            "JOIN entries e ON e.id = m.entry_id JOIN feeds f ON f.id = e.feed_id ORDER BY e.published, m.id"
        ).fetchall()
        con.close()

    store = Store(f"sqlite:///{db}")
    # Wall and CPU seconds of each step: on a shared machine the CPU time is the steadier figure.
    steps: dict[str, list[tuple[float, float]]] = {"bare": [], "query": [], "render": [], "top": []}
    page = ""
    events: list[EventView] = []

    def timed(step: str, fn: Callable[[], T]) -> T:
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        steps[step].append((time.perf_counter() - wall, time.process_time() - cpu))
        return result

    for _ in range(args.runs):
        timed("bare", bare)
        events = timed("query", lambda: timeline(store, TimelineQuery(), now=NOW))
        page = timed("render", lambda: render_timeline(
            events, "html", now=NOW, title="tracker timeline: a big story", topic_titles=TOPICS))
        top = timed("top", lambda: timeline(store, TimelineQuery(top=12), now=NOW))
        assert len(top) == 12
    store.close()
    out = args.out or folder / "story.html"
    out.write_text(page, encoding="utf-8")
    mentions = sum(len(e.mentions) for e in events)

    def med(step: str) -> tuple[float, float]:
        values = sorted(steps[step])
        return values[len(values) // 2]

    base = med("bare")
    print(f"{len(events):,} events, {mentions:,} mentions (medians of {args.runs} runs; wall / CPU seconds)")
    for step, label in (("bare", "baseline: the same rows with bare sqlite3"), ("query", "query: every event, mentions, scores"),
                        ("render", "render the HTML"), ("top", "--top 12 over all events")):
        wall, cpu = med(step)
        ratio = "" if step == "bare" else f"  ({wall / base[0]:.1f}x the baseline)"
        print(f"{label:<44} {wall:5.2f} / {cpu:5.2f}{ratio}")
    print(f"HTML: {out}  {len(page.encode('utf-8')) / 2**20:.2f} MiB")
    print(f"CLI:  tracker --config {folder / 'feeds.yaml'} timeline -o {folder / 'story-cli.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
