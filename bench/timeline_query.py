"""Time timeline queries on a large database: 1,000,000 events and 3,000,000 mentions.

Usage: python bench/timeline_query.py [--events 1000000] [--db PATH] [--runs 30]

Builds the database once (Alembic schema, then bulk inserts; reuses --db if it is
already the requested size), then times through tracker's own query code:
  - a date-range + topic query returning 100 events with their mentions,
  - a full-text (FTS5) search returning 100 events,
  - as the baseline in the same run, a bare primary-key lookup of 100 events.
Prints p50 and p95 of each, the ratio to the baseline, and the file size.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.store import Store  # noqa: E402
from tracker.store.models import span_class  # noqa: E402
from tracker.store.timeline import TimelineQuery, timeline  # noqa: E402

TOPICS = [f"topic{i:02d}" for i in range(20)]
# A Zipf-distributed vocabulary of made-up words, like the words of real news text.
_SYLLABLES = "ka lo mi ne su ta ri po ve da fi go hu ja ke".split()
WORDS = sorted({a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in _SYLLABLES})[:4000]
random.Random(3).shuffle(WORDS)
WEIGHTS = [1 / (rank + 1) for rank in range(len(WORDS))]
# Searches use words of middling frequency (ranks 20-200), as people search for names.
SEARCH_WORDS = WORDS[20:200]
GRANULARITIES = [("day", 1, 0.6), ("week", 7, 0.15), ("month", 30, 0.15), ("quarter", 91, 0.04), ("year", 365, 0.06)]


def build(path: Path, n_events: int, seed: int = 7) -> None:
    store = Store(f"sqlite:///{path}")
    store.close()
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("INSERT INTO feeds (id, name, url, config_url, created, consecutive_errors, redirect_count, gone) "
                "VALUES (1, 'bench', 'https://bench.test/feed', 'https://bench.test/feed', '2024-01-01 00:00:00', 0, 0, 0)")
    base = date(2000, 1, 1)
    days = 365 * 25
    n_entries = n_events  # one article per event on average, three mentions per event
    batch = 50_000
    grans, weights = [g[:2] for g in GRANULARITIES], [g[2] for g in GRANULARITIES]
    for lo in range(0, n_entries, batch):
        con.executemany(
            "INSERT INTO entries (id, feed_id, key, title, text, published, published_fallback, content_hash, first_seen, last_changed, needs_extraction) "
            "VALUES (?, 1, ?, ?, '', '2024-01-01 00:00:00', 0, 'h', '2024-01-01 00:00:00', '2024-01-01 00:00:00', 0)",
            [(i + 1, f"k{i}", f"Article {i}") for i in range(lo, min(lo + batch, n_entries))],
        )
    mention_id = 0
    for lo in range(0, n_events, batch):
        events, topics, fts, mentions = [], [], [], []
        for pk in range(lo + 1, min(lo + batch, n_events) + 1):
            (gran, length), = rng.choices(grans, weights)
            start = base + timedelta(days=rng.randrange(days))
            end = start + timedelta(days=length - 1)
            summary = " ".join(rng.choices(WORDS, WEIGHTS, k=8))
            cls = span_class(start, end)
            ts = rng.sample(TOPICS, k=rng.choice((1, 1, 2)))
            events.append((pk, f"{pk:010x}", start.isoformat(), gran, start.isoformat(), end.isoformat(), cls, summary, " ".join(ts)))
            topics.extend((pk, t, cls, start.isoformat(), end.isoformat()) for t in ts)
            quotes = []
            for _ in range(3):
                mention_id += 1
                quote = f"{summary} " + " ".join(rng.choices(WORDS, WEIGHTS, k=12))
                quotes.append(quote)
                mentions.append((mention_id, rng.randrange(1, n_entries + 1), pk, f"fp{mention_id}", quote, summary,
                                 start.isoformat(), gran, start.isoformat(), end.isoformat(), " ".join(ts)))
            fts.append((pk, summary, "\n".join(quotes)))
        con.executemany(
            "INSERT INTO events (pk, id, value, mod, granularity, start, \"end\", span_class, summary, topics, sources, first_seen, updated, revision) "
            "VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, 3, '2024-01-01 00:00:00', '2024-01-01 00:00:00', 1)",
            events,
        )
        con.executemany("INSERT INTO event_topics (event_pk, topic, span_class, start, \"end\") VALUES (?, ?, ?, ?, ?)", topics)
        con.executemany(
            "INSERT INTO mentions (id, entry_id, event_pk, fingerprint, sentence_index, quote, summary, expression, expr_start, expr_end, "
            "value, mod, granularity, start, \"end\", topics, context_topics, terms) "
            "VALUES (?, ?, ?, ?, 0, ?, ?, 'last week', 0, 9, ?, NULL, ?, ?, ?, ?, 0, '')",
            mentions,
        )
        con.executemany("INSERT INTO events_fts (rowid, summary, quotes) VALUES (?, ?, ?)", fts)
        con.commit()
        print(f"  built {min(lo + batch, n_events):,} events", file=sys.stderr)
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.commit()
    con.close()


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    path = args.db or Path(tempfile.gettempdir()) / f"tracker-bench-{args.events}.db"
    need_build = True
    if path.exists():
        con = sqlite3.connect(path)
        try:
            need_build = con.execute("SELECT count(*) FROM events").fetchone()[0] != args.events
        except sqlite3.Error:
            pass
        con.close()
    if need_build:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        t = time.perf_counter()
        build(path, args.events)
        print(f"built {path} in {time.perf_counter() - t:.0f} s")
    store = Store(f"sqlite:///{path}")
    con = sqlite3.connect(path)
    n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    n_mentions = con.execute("SELECT count(*) FROM mentions").fetchone()[0]
    con.close()
    rng = random.Random(1)

    def range_topic() -> None:
        since = date(2000, 1, 1) + timedelta(days=rng.randrange(365 * 24))
        got = timeline(store, TimelineQuery(topics=(rng.choice(TOPICS),), since=since, until=since + timedelta(days=400), limit=100))
        assert len(got) == 100, len(got)

    def search() -> None:
        got = timeline(store, TimelineQuery(search=rng.choice(SEARCH_WORDS), limit=100))
        assert len(got) == 100, len(got)

    def baseline() -> None:
        from tracker.store.models import Event
        from sqlalchemy import select

        lo = rng.randrange(1, n_events - 200)
        with store.read() as s:
            rows = list(s.scalars(select(Event).where(Event.pk.between(lo, lo + 99))))
        assert len(rows) == 100

    for fn in (range_topic, search, baseline):
        fn()  # warm the page cache and the ORM
    results = {name: timed(fn, args.runs) for name, fn in
               (("range+topic (100 events, with mentions)", range_topic), ("FTS search (100 events, with mentions)", search),
                ("baseline: 100 events by primary key", baseline))}
    base = statistics.median(results["baseline: 100 events by primary key"])
    size = sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())
    print(f"database: {path}  {n_events:,} events, {n_mentions:,} mentions, {size / 2**20:.0f} MiB")
    for name, values in results.items():
        p50 = statistics.median(values)
        print(f"{name:<42} p50 {p50:7.1f} ms  p95 {pct(values, 0.95):7.1f} ms  ratio to baseline {p50 / base:5.1f}x")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
