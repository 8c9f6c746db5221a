"""Date-F1 of tracker's timelines on Timeline17 topics, against the PUBCOUNT baseline in the same run.

Usage: python bench/timeline_eval.py [--data DIR] [--topics bpoil,haiti,mj,libya]
       [--workdir DIR [--reuse]] [--rank-by auto|score|sources|mentions|outlets]
       [--date-agg max|sum] [--input-window all|gold] [--layout lines|article]
       [--grid] [--json] [-v [TIMELINE]]

For each topic the articles under DATA/t17 (read in place, never copied) become one RSS
file per outlet folder (pubDate = the folder's day at noon UTC, the Penn-Treebank
tokenization undone), and a feeds.yaml with the topic's keywords; the real `tracker poll`
runs on it in a subprocess (timed: the cold ingest of the topic), then `tracker timeline
--format json` gives the events.

Scoring follows news-tls / tilse Date-F1: per gold timeline with k distinct dates, keep
the events of day granularity whose date lies within the gold timeline's first..last date,
rank those dates by an aggregate (--date-agg, default max) of their events' ranking values
(--rank-by: the event's `score` when the JSON has one, else its number of distinct
article URLs), take the top k, and score precision and recall of those dates against the
gold dates. Ties go to the earlier date (news-tls sorts a chronological collection
stably). F1 is averaged over the timelines (macro). PUBCOUNT, scored in the same run on
the same articles, ranks the days in the range by how many of the topic's articles (all
its outlets: news-tls's article collection) were published that day.

--input-window gold applies news-tls's input restriction to tracker as well: only
mentions from articles published within the gold range count (PUBCOUNT is the same
either way). The default, all, scores the timeline a reader of the database would see.

With --workdir DIR the feeds, configs and databases are kept in DIR/<topic>/ (DIR/<topic>.article/
for --layout article); with --reuse
a topic whose database was polled from identical feeds and config is not polled again
(its ingest time is the one recorded then), so a change to the ranking is re-scored
without polling (the timeline is still read through the CLI, so a change to `score` counts).
A change to extraction or merging needs a fresh poll: leave out --reuse (a reused poll that
predates edits under tracker/temporal, events, store, parse.py or poll.py is named in a note).

--grid adds the macro and median Date-F1 of every --rank-by x --date-agg; -v prints, per
timeline (or those whose outlet folder starts with -v's value, e.g. -v LibyaWar), the
selected days with hit or miss and their best event, the gold days left out and where
they ranked, and the days with the most events. Empty article files (19 in these four
topics) are left out of the feeds and of PUBCOUNT, and counted in the report.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _t17 import (  # noqa: E402
    TOPICS,
    Article,
    GoldTimeline,
    feeds_yaml,
    load_articles,
    load_gold,
    load_keywords,
    rss_document,
    topic_folders,
)

DEFAULT_DATA = ROOT.parent / "shared" / "data"
PUBLISHED = "published on all of Timeline17 (Ghalandari & Ifrim 2020): DATEWISE 0.544, PUBCOUNT 0.481, oracle 0.926"
TARGET = 0.65
RANK_BY = ("auto", "score", "sources", "mentions", "outlets")
DATE_AGG: dict[str, Callable[[Sequence[float]], float]] = {"max": max, "sum": sum}
DB_NAME = "tracker.db"


def say(*parts: object) -> None:
    """Progress and diagnostics: stderr, so --json keeps stdout clean."""
    print(*parts, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- topics and polling


@dataclass
class TopicRun:
    """One topic's articles, feeds, poll and timeline."""

    topic: str
    keywords: list[str]
    folders: list[str]
    articles: list[Article]  # non-empty articles, the ones written to the feeds
    empty: dict[str, int]  # outlet -> empty files left out
    poll_seconds: float | None = None
    poll_reused: bool = False
    poll_rc: int | None = None
    poll_lines: list[str] = field(default_factory=list)
    entries: dict[str, int] = field(default_factory=dict)  # feed name -> stored entries
    events: list[dict[str, Any]] = field(default_factory=list)
    stale_code: list[str] = field(default_factory=list)  # ingest files changed since a reused poll

    @property
    def per_article_ms(self) -> float | None:
        if self.poll_seconds is None or not self.articles:
            return None
        return 1000.0 * self.poll_seconds / len(self.articles)


def tracker_cmd(config: Path, *args: str) -> list[str]:
    """The real CLI, from this checkout (run with cwd=ROOT and ROOT on PYTHONPATH)."""
    return [sys.executable, "-m", "tracker", "--config", str(config), *args]


def tracker_env() -> dict[str, str]:
    env = dict(os.environ)
    # The config names the database; a variable from the caller's shell must not override it.
    env.pop("TRACKER_DATABASE_URL", None)
    env.pop("TRACKER_CONFIG", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


# What decides the stored mentions and events; a reused database predates edits to these.
INGEST_CODE = ("tracker/temporal", "tracker/events", "tracker/parse.py", "tracker/poll.py", "tracker/store")


def code_hashes() -> dict[str, str]:
    """sha1 of each ingest source file (relative path -> hex), to tell when a reused poll is stale."""
    out: dict[str, str] = {}
    for name in INGEST_CODE:
        path = ROOT / name
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            if f.is_file():
                out[str(f.relative_to(ROOT))] = hashlib.sha1(f.read_bytes()).hexdigest()
    return out


def run_tracker(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tracker_cmd(config, *args), cwd=ROOT, env=tracker_env(), capture_output=True, text=True)


def prepare_topic(t17: Path, topic: str, folder: Path, reuse: bool, layout: str) -> TopicRun:
    """Write the topic's feeds and feeds.yaml into `folder`, poll (unless reusable), read the timeline."""
    outlets = topic_folders(t17, topic)
    if not outlets:
        raise SystemExit(f"timeline_eval: no folders for topic {topic} under {t17}")
    keywords = load_keywords(t17, topic)
    run = TopicRun(topic, keywords, [p.name for p in outlets], [], {})
    documents: dict[str, bytes] = {}
    for outlet in outlets:
        loaded = load_articles(outlet)
        kept = [a for a in loaded if a.sentences]
        run.empty[outlet.name] = len(loaded) - len(kept)
        run.articles += kept
        documents[f"{outlet.name}.xml"] = rss_document(outlet.name, kept, layout)
    config_text = feeds_yaml(topic, keywords, {name[: -len(".xml")]: name for name in documents}, DB_NAME)

    digest = hashlib.sha256(config_text.encode())
    for name in sorted(documents):
        digest.update(name.encode() + b"\0" + hashlib.sha256(documents[name]).digest())
    stamp_path = folder / "poll.json"
    db = folder / DB_NAME
    config = folder / "feeds.yaml"
    stamp: dict[str, Any] = {}
    if reuse and db.exists() and stamp_path.exists():
        try:
            stamp = json.loads(stamp_path.read_text())
        except ValueError:
            stamp = {}
    if stamp.get("digest") == digest.hexdigest():
        run.poll_reused = True
        run.poll_seconds = stamp.get("seconds")
        run.poll_rc = stamp.get("rc")
        run.poll_lines = list(stamp.get("lines", []))
        polled_with = stamp.get("code")
        if isinstance(polled_with, dict):
            now = code_hashes()
            changed = sorted(f for f in set(now) | set(polled_with) if now.get(f) != polled_with.get(f))
            if changed:
                run.stale_code = changed
        else:
            run.stale_code = ["(not recorded)"]
    else:
        if reuse and db.exists():
            say(f"{topic}: feeds or config differ from the database's poll (or it never finished): polling afresh")
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal", ".lock"):
            (folder / (DB_NAME + suffix)).unlink(missing_ok=True)
        stamp_path.unlink(missing_ok=True)
        for name, body in documents.items():
            (folder / name).write_bytes(body)
        config.write_text(config_text, encoding="utf-8")
        say(f"{topic}: polling {len(documents)} feeds, {len(run.articles)} articles ...")
        code_before = code_hashes()
        t0 = time.perf_counter()
        proc = run_tracker(config, "poll")
        run.poll_seconds = time.perf_counter() - t0
        run.poll_rc = proc.returncode
        run.poll_lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        if proc.returncode != 0:
            say(f"{topic}: tracker poll exited {proc.returncode}:\n{proc.stderr.strip()}")
        if db.exists():
            stamp_path.write_text(
                json.dumps(
                    {"digest": digest.hexdigest(), "seconds": run.poll_seconds, "rc": proc.returncode,
                     "lines": run.poll_lines, "articles": len(run.articles), "code": code_before},
                    indent=1,
                )
            )
        else:
            raise SystemExit(f"timeline_eval: {topic}: no database after the poll:\n{proc.stderr.strip()}")

    if run.poll_reused and isinstance(stamp.get("entries"), dict):
        run.entries = {str(k): int(v) for k, v in stamp["entries"].items()}
    else:
        feeds = run_tracker(config, "feeds", "--format", "json")
        if feeds.returncode == 0:
            run.entries = {f["name"]: int(f["entries"]) for f in json.loads(feeds.stdout)}
            # Stored entries change only with a poll: recorded once, a re-score skips this call.
            recorded = json.loads(stamp_path.read_text())
            recorded["entries"] = run.entries
            stamp_path.write_text(json.dumps(recorded, indent=1))
        else:
            say(f"{topic}: tracker feeds exited {feeds.returncode}: {feeds.stderr.strip()}")
    t0 = time.perf_counter()
    timeline = run_tracker(config, "timeline", "--format", "json")
    if timeline.returncode != 0:
        raise SystemExit(f"timeline_eval: {topic}: tracker timeline exited {timeline.returncode}:\n{timeline.stderr.strip()}")
    run.events = json.loads(timeline.stdout)
    say(f"{topic}: {len(run.events)} events read in {time.perf_counter() - t0:.1f} s")
    return run


# --------------------------------------------------------------------------- ranking and scoring


def mention_source(m: dict[str, Any]) -> str:
    """What makes a mention's article distinct: its URL, else feed and title (as tracker counts)."""
    return m.get("url") or f"{m.get('feed')}\0{m.get('title')}"


def event_value(event: dict[str, Any], mentions: Sequence[dict[str, Any]], rank_by: str) -> float:
    """The event's ranking value, from `mentions` (the event's, possibly filtered by window)."""
    if rank_by == "score":
        return float(event["score"])
    if rank_by == "sources":
        return float(len({mention_source(m) for m in mentions}))
    if rank_by == "mentions":
        return float(len(mentions))
    if rank_by == "outlets":
        return float(len({m.get("feed") for m in mentions}))
    raise ValueError(rank_by)


def published_day(m: dict[str, Any]) -> date | None:
    value = m.get("published")
    return date.fromisoformat(value[:10]) if isinstance(value, str) and len(value) >= 10 else None


@dataclass(frozen=True)
class Candidate:
    """A day with day-granularity events in the gold range: its aggregate value and its events."""

    day: date
    value: float
    events: tuple[tuple[float, dict[str, Any]], ...]  # (value, event), best first


def candidates(
    events: Iterable[dict[str, Any]], first: date, last: date, rank_by: str, agg: str, window: str
) -> list[Candidate]:
    """Days in first..last with day events, ranked by aggregate value, ties to the earlier day."""
    per_day: dict[date, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
    for ev in events:
        if ev.get("granularity") != "day":
            continue
        day = date.fromisoformat(ev["start"])
        if not first <= day <= last:
            continue
        mentions = ev.get("mentions") or []
        if window == "gold":
            mentions = [m for m in mentions if (p := published_day(m)) is not None and first <= p <= last]
            if not mentions:
                continue
        per_day[day].append((event_value(ev, mentions, rank_by), ev))
    out = [
        Candidate(d, float(DATE_AGG[agg]([v for v, _ in evs])), tuple(sorted(evs, key=lambda x: -x[0])))
        for d, evs in per_day.items()
    ]
    out.sort(key=lambda c: (-c.value, c.day))
    return out


def pubcount(articles: Iterable[Article], first: date, last: date) -> list[tuple[date, int]]:
    """PUBCOUNT: days in first..last ranked by articles published, ties to the earlier day."""
    counts = Counter(a.day for a in articles if first <= a.day <= last)
    return sorted(counts.items(), key=lambda x: (-x[1], x[0]))


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float


def date_prf(predicted: Sequence[date], gold: Sequence[date]) -> PRF:
    """Date precision / recall / F1 as news-tls's evaluate_dates (0 precision when nothing is predicted)."""
    shared = len(set(predicted) & set(gold))
    p = shared / len(set(predicted)) if predicted else 0.0
    r = shared / len(set(gold))
    return PRF(p, r, 2 * p * r / (p + r) if p + r else 0.0)


def ties_at_cut(values: Sequence[float], k: int) -> tuple[int, int]:
    """(selected, all) dates sharing the k-th date's value: how arbitrary the cut is."""
    if len(values) <= k or k == 0:
        return (0, 0)
    at = values[k - 1]
    if values[k] != at:
        return (0, 0)
    return (sum(1 for v in values[:k] if v == at), sum(1 for v in values if v == at))


@dataclass
class TimelineResult:
    """Scores of one gold timeline."""

    topic: str
    outlet: str
    timeline: str
    k: int
    first: str
    last: str
    listed: int
    newest_first: bool
    gold_before_articles: int  # gold dates before the topic's first article day
    gold_after_articles: int
    gold_without_articles: int  # gold dates on which the topic published nothing
    day_events_in_range: int
    dates_in_range: int
    reach: float  # share of gold dates among the candidate days: the recall of a perfect ranking
    tracker: PRF
    pubcount: PRF
    pubcount_days: int
    ties: tuple[int, int]
    selected: list[str]
    missed: list[str]


def score_timeline(
    run: TopicRun, gold: GoldTimeline, rank_by: str, agg: str, window: str
) -> tuple[TimelineResult, list[Candidate], list[tuple[date, int]]]:
    k = len(gold.dates)
    cands = candidates(run.events, gold.first, gold.last, rank_by, agg, window)
    chosen = [c.day for c in cands[:k]]
    pub = pubcount(run.articles, gold.first, gold.last)
    article_days = {a.day for a in run.articles}
    cand_days = {c.day for c in cands}
    result = TimelineResult(
        topic=run.topic,
        outlet=gold.outlet,
        timeline=gold.name,
        k=k,
        first=gold.first.isoformat(),
        last=gold.last.isoformat(),
        listed=gold.listed,
        newest_first=gold.newest_first,
        gold_before_articles=sum(1 for d in gold.dates if d < min(article_days)),
        gold_after_articles=sum(1 for d in gold.dates if d > max(article_days)),
        gold_without_articles=sum(1 for d in gold.dates if d not in article_days),
        day_events_in_range=sum(len(c.events) for c in cands),
        dates_in_range=len(cands),
        reach=len(cand_days & set(gold.dates)) / k,
        tracker=date_prf(chosen, gold.dates),
        pubcount=date_prf([d for d, _ in pub[:k]], gold.dates),
        pubcount_days=len(pub),
        ties=ties_at_cut([c.value for c in cands], k),
        selected=[d.isoformat() for d in chosen],
        missed=[d.isoformat() for d in gold.dates if d not in set(chosen)],
    )
    return result, cands, pub


# --------------------------------------------------------------------------- printing


def fmt_value(v: float) -> str:
    return f"{v:.0f}" if v == int(v) else f"{v:.3g}"


def detail(result: TimelineResult, gold: GoldTimeline, cands: list[Candidate], pub: list[tuple[date, int]]) -> None:
    """Per-date hits and misses of one timeline: the selected days, then the gold days left out."""
    gold_set = set(gold.dates)
    rank = {c.day: i + 1 for i, c in enumerate(cands)}
    pub_n = dict(pub)
    pub_rank = {d: i + 1 for i, (d, _) in enumerate(pub)}
    print(f"\n--- {result.outlet} / {result.timeline}: k={result.k}, {result.first}..{result.last}, "
          f"tracker F1 {result.tracker.f1:.3f}, PUBCOUNT F1 {result.pubcount.f1:.3f}")
    print("selected days (rank, day, hit, value, events, articles that day, PUBCOUNT rank, best event):")
    for i, c in enumerate(cands[: result.k], 1):
        best_value, best = c.events[0]
        summary = " ".join(str(best.get("summary", "")).split())[:90]
        print(f"  {i:3d} {c.day} {'HIT ' if c.day in gold_set else 'miss'} {fmt_value(c.value):>5} "
              f"{len(c.events):4d} ev {pub_n.get(c.day, 0):3d} art  pub#{pub_rank.get(c.day, '-')!s:<4} "
              f"[{fmt_value(best_value)}] {summary}")
    chosen = {date.fromisoformat(s) for s in result.selected}
    missed = [d for d in gold.dates if d not in chosen]
    print(f"gold days not selected ({len(missed)}): rank among candidate days (of {len(cands)}), value, events, articles that day")
    by_day = {c.day: c for c in cands}
    for d in missed:
        found = by_day.get(d)
        if found is None:
            print(f"       {d}  no day event   {pub_n.get(d, 0):3d} art")
        else:
            summary = " ".join(str(found.events[0][1].get("summary", "")).split())[:80]
            print(f"  #{rank[d]:<4} {d} {fmt_value(found.value):>5} {len(found.events):4d} ev {pub_n.get(d, 0):3d} art  {summary}")
    busy = sorted(cands, key=lambda c: (-len(c.events), c.day))[:5]
    print("days with the most day events in range: " + ", ".join(f"{c.day} ({len(c.events)})" for c in busy))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder holding t17/ (default ../shared/data)")
    ap.add_argument("--topics", default=",".join(TOPICS), help=f"comma-separated, of {', '.join(TOPICS)} (default all)")
    ap.add_argument("--workdir", type=Path, help="keep feeds, configs and databases here (DIR/<topic>/) instead of a temporary folder")
    ap.add_argument("--reuse", action="store_true", help="with --workdir: skip the poll when the database came from the same feeds and config")
    ap.add_argument("--rank-by", choices=RANK_BY, default="auto",
                    help="event ranking value: score (the JSON field), sources (distinct article URLs), mentions, "
                         "outlets (distinct feeds); auto = score when every event has one, else sources")
    ap.add_argument("--date-agg", choices=tuple(DATE_AGG), default="max", help="how a day's events' values combine (default max)")
    ap.add_argument("--input-window", choices=("all", "gold"), default="all",
                    help="gold: count only mentions from articles published within the gold range, as news-tls limits its input")
    ap.add_argument("--layout", choices=("lines", "article"), default="lines",
                    help="article HTML: one <p> per source line (default), or the whole text as one paragraph")
    ap.add_argument("--grid", action="store_true", help="also the macro and median Date-F1 of every --rank-by x --date-agg")
    ap.add_argument("--json", action="store_true", help="print the results as JSON on stdout (progress stays on stderr)")
    ap.add_argument("-v", "--verbose", nargs="?", const="*", metavar="TIMELINE",
                    help="per-date hits and misses for timelines whose outlet folder starts with TIMELINE (all without a value)")
    args = ap.parse_args(argv)

    t17 = args.data / "t17"
    if not t17.is_dir():
        ap.error(f"no t17 folder under {args.data}")
    topics = [t.strip() for t in args.topics.split(",") if t.strip()]
    unknown = [t for t in topics if t not in TOPICS]
    if unknown or not topics:
        ap.error(f"unknown topics {unknown}; choose from {', '.join(TOPICS)}")
    if args.reuse and args.workdir is None:
        ap.error("--reuse needs --workdir")

    tmp: tempfile.TemporaryDirectory[str] | None = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="t17eval-")
        workdir = Path(tmp.name)
    else:
        workdir = args.workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)

    try:
        # Each layout keeps its own databases, so trying one never throws away the other's poll.
        runs = [
            prepare_topic(t17, topic, workdir / (topic if args.layout == "lines" else f"{topic}.{args.layout}"),
                          args.reuse, args.layout)
            for topic in topics
        ]
    finally:
        if tmp is not None:
            tmp.cleanup()

    all_events = [ev for run in runs for ev in run.events]
    rank_by = args.rank_by
    if rank_by == "auto":
        rank_by = "score" if all_events and all("score" in ev for ev in all_events) else "sources"
    elif rank_by == "score" and not all("score" in ev for ev in all_events):
        missing = sum(1 for ev in all_events if "score" not in ev)
        ap.error(f"--rank-by score: {missing} of {len(all_events)} events have no score field")
    notes: list[str] = []
    with_sources = [ev for ev in all_events if isinstance(ev.get("sources"), int)]
    if with_sources:
        differ = sum(1 for ev in with_sources if ev["sources"] != len({mention_source(m) for m in ev.get("mentions") or []}))
        if differ:
            notes.append(f"{differ} of {len(with_sources)} events have a JSON `sources` that differs from their distinct "
                         "mention URLs (--rank-by sources counts the URLs)")

    for run in runs:
        if run.stale_code:
            if run.stale_code == ["(not recorded)"]:
                what = "with tracker code this script did not record"
            else:
                shown = ", ".join(run.stale_code[:6])
                more = f" and {len(run.stale_code) - 6} more" if len(run.stale_code) > 6 else ""
                what = f"before edits to {shown}{more}"
            notes.append(f"{run.topic}: the reused database was polled {what}; "
                         "to score changed extraction or merging, poll afresh (drop --reuse)")

    golds = [
        (run, load_gold(path, folder))
        for run in runs
        for folder in run.folders
        for path in sorted((t17 / folder / "timelines").glob("*.txt"))
    ]
    if not golds:
        raise SystemExit(f"timeline_eval: no gold timelines under {t17}")
    results: list[TimelineResult] = []
    details: list[tuple[TimelineResult, GoldTimeline, list[Candidate], list[tuple[date, int]]]] = []
    for run, gold in golds:
        result, cands, pub = score_timeline(run, gold, rank_by, args.date_agg, args.input_window)
        results.append(result)
        if args.verbose and (args.verbose == "*" or gold.outlet.startswith(args.verbose)):
            details.append((result, gold, cands, pub))

    grid: dict[str, dict[str, tuple[float, float]]] = {}  # rank_by -> agg -> (mean F1, median F1)
    if args.grid:
        has_score = bool(all_events) and all("score" in ev for ev in all_events)
        for by in [b for b in RANK_BY[1:] if b != "score" or has_score]:
            for agg in DATE_AGG:
                f1s = [score_timeline(run, gold, by, agg, args.input_window)[0].tracker.f1 for run, gold in golds]
                grid.setdefault(by, {})[agg] = (statistics.fmean(f1s), statistics.median(f1s))

    mean_t = statistics.fmean(r.tracker.f1 for r in results)
    mean_p = statistics.fmean(r.pubcount.f1 for r in results)
    med_t = statistics.median(r.tracker.f1 for r in results)
    med_p = statistics.median(r.pubcount.f1 for r in results)

    def f_of_means(prfs: list[PRF]) -> float:
        p = statistics.fmean(x.precision for x in prfs)
        r = statistics.fmean(x.recall for x in prfs)
        return 2 * p * r / (p + r) if p + r else 0.0

    ingest = [run.per_article_ms for run in runs if run.per_article_ms is not None]
    settings = {"rank_by": rank_by, "date_agg": args.date_agg, "input_window": args.input_window, "layout": args.layout,
                "topics": topics, "data": str(args.data), "workdir": str(workdir) if tmp is None else None}

    if args.json:
        out = {
            "settings": settings,
            "topics": [
                {"topic": r.topic, "keywords": r.keywords, "feeds": r.folders, "articles": len(r.articles),
                 "empty_files": r.empty, "entries": r.entries, "events": len(r.events),
                 "granularity": dict(Counter(str(ev.get("granularity")) for ev in r.events)),
                 "poll_seconds": r.poll_seconds, "poll_reused": r.poll_reused, "poll_rc": r.poll_rc,
                 "ms_per_article": r.per_article_ms, "stale_code": r.stale_code}
                for r in runs
            ],
            "timelines": [asdict(r) for r in results],
            "summary": {"tracker_mean_f1": mean_t, "pubcount_mean_f1": mean_p, "ratio_mean": mean_t / mean_p if mean_p else None,
                        "tracker_median_f1": med_t, "pubcount_median_f1": med_p,
                        "ratio_median": med_t / med_p if med_p else None,
                        "tracker_f_of_mean_pr": f_of_means([r.tracker for r in results]),
                        "pubcount_f_of_mean_pr": f_of_means([r.pubcount for r in results]),
                        "median_ms_per_article": statistics.median(ingest) if ingest else None},
            "grid": {by: {agg: {"mean_f1": m, "median_f1": md} for agg, (m, md) in aggs.items()} for by, aggs in grid.items()},
            "notes": notes,
        }
        print(json.dumps(out, indent=1))
        return 0

    print(f"Timeline17 Date-F1: {', '.join(topics)}; rank days by {args.date_agg} of event {rank_by}"
          f"{' (mentions published in the gold range only)' if args.input_window == 'gold' else ''}; layout {args.layout}")
    print("\ntopic   feeds  articles (empty files left out)  entries stored  poll rc  events  by granularity")
    for run in runs:
        gran = Counter(str(ev.get("granularity")) for ev in run.events)
        empties = sum(run.empty.values())
        print(f"{run.topic:<7} {len(run.folders):5d}  {len(run.articles):8d} ({empties} empty)"
              f"{'':>16}{sum(run.entries.values()):8d}  {run.poll_rc!s:>7}  {len(run.events):6d}  "
              + ", ".join(f"{g} {n}" for g, n in gran.most_common()))
        for outlet in run.folders:
            n = sum(1 for a in run.articles if a.outlet == outlet)
            stored = run.entries.get(outlet)
            flag = "" if stored == n else "   <-- stored != written"
            print(f"          {outlet:<22} {n:4d} written, {stored!s:>4} stored, {run.empty[outlet]} empty{flag}")
        for line in run.poll_lines:
            print(f"          poll: {line}")

    print("\ntimeline                        k  gold range              reach  dayev  days   tracker P / R / F1     PUBCOUNT F1  tie@cut  notes")
    for r in results:
        notes_r = []
        if r.newest_first:
            notes_r.append("listed newest first")
        if r.listed != r.k:
            notes_r.append(f"{r.listed - r.k} duplicate dates")
        if r.gold_before_articles or r.gold_after_articles:
            notes_r.append(f"{r.gold_before_articles} before / {r.gold_after_articles} after the articles")
        if r.gold_without_articles:
            notes_r.append(f"{r.gold_without_articles} on days without articles")
        if r.dates_in_range < r.k:
            notes_r.append(f"only {r.dates_in_range} candidate days")
        tie = f"{r.ties[0]}/{r.ties[1]}" if r.ties[1] else "-"
        print(f"{r.topic:<6} {r.outlet:<22} {r.k:3d}  {r.first}..{r.last}  {r.reach:5.2f}  {r.day_events_in_range:5d}  {r.dates_in_range:4d}   "
              f"{r.tracker.precision:.3f} / {r.tracker.recall:.3f} / {r.tracker.f1:.3f}    {r.pubcount.f1:.3f}      {tie:>7}  "
              + "; ".join(notes_r))
    print("(reach: share of gold days among the days with a day event in range, the recall of a perfect ranking; "
          "dayev/days: day events and days with one in range; tie@cut: of the days sharing the k-th value, "
          "selected/all)")

    print(f"\nmacro Date-F1 over {len(results)} timelines: tracker {mean_t:.3f}, PUBCOUNT {mean_p:.3f}, "
          f"ratio {mean_t / mean_p if mean_p else float('nan'):.2f}x")
    print(f"median Date-F1:                  tracker {med_t:.3f}, PUBCOUNT {med_p:.3f}, "
          f"ratio {med_t / med_p if med_p else float('nan'):.2f}x")
    print(f"news-tls's average (F of mean P and mean R): tracker {f_of_means([r.tracker for r in results]):.3f}, "
          f"PUBCOUNT {f_of_means([r.pubcount for r in results]):.3f}")
    print(f"target: tracker >= {TARGET}; {PUBLISHED}")
    if grid:
        print(f"\nevery ranking (macro / median Date-F1, input window {args.input_window}; PUBCOUNT {mean_p:.3f} / {med_p:.3f}):")
        print("  rank by     " + "".join(f"{agg:>18}" for agg in DATE_AGG))
        for by, aggs in grid.items():
            print(f"  {by:<10} " + "".join(f"{aggs[agg][0]:>11.3f} / {aggs[agg][1]:.3f}" for agg in DATE_AGG))

    print("\ningest (cold `tracker poll` of the topic's feeds into a new database, wall time):")
    for run in runs:
        if run.poll_seconds is None:
            continue
        print(f"  {run.topic:<7} {len(run.articles):5d} articles  {run.poll_seconds:7.1f} s  {run.per_article_ms:6.1f} ms/article"
              f"{'  (recorded by the earlier poll, reused)' if run.poll_reused else ''}")
    if ingest:
        total_s = sum(r.poll_seconds or 0.0 for r in runs)
        total_a = sum(len(r.articles) for r in runs)
        print(f"  median over topics {statistics.median(ingest):.1f} ms/article; all: {total_a} articles in {total_s:.1f} s "
              f"= {1000 * total_s / total_a:.1f} ms/article (issue 12 quotes ~31 ms for one topic)")
    for note in notes:
        print(f"note: {note}")

    for result, gold, cands, pub in details:
        detail(result, gold, cands, pub)
    return 0


if __name__ == "__main__":
    sys.exit(main())
