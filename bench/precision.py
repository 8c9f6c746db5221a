"""Event precision against a labelled set: how many of the events tracker produces are right.

Usage:
  python bench/precision.py [--data DIR] [--tracker PATH] [--set FILE] [--work DIR [--no-poll]] [--runs N] [--list] [--json OUT]
  python bench/precision.py draw --out SHEET.jsonl [--tracker PATH]   # once: a sample to label
  python bench/precision.py build SHEET.jsonl                         # the labelled sheet -> the set

Scoring polls the sources of bench/_precision_sources.py (the shared real feeds with no
topics, Timeline17 with its four topics) with the tracker under test in a temporary
folder, reads every event (`tracker timeline --format json`) and matches each one to the
labelled set through its mentions: the same feed source and article, the same sentence
(hash of the quote as printed) with the same or a nested expression, or else the same
expression with the same four words either side (hash). An event matched to a labelled
item is correct when the item is a real happening and the event's date is the item's
gold value (or one of its `also` values); otherwise it is false, under the item's failure
class, or `date-changed` when a correct item now has another date. A merged item (mentions
of different happenings in one event) stays false while its parts stay together; an event
holding only its main part is judged as that happening, one holding only the other part
is "split off" (counted, not scored). Events that match no item are unlabelled (counted,
listed with --list, not scored); items no event matches any more are dropped. Run against
the code the set was labelled with, the precision is the share of items labelled correct.
Polling all sources takes about four minutes on two cores.

`draw` polls the sources with the frozen tracker and writes a fixed-seed stratified
sample, with the quotes, to a worksheet outside the repository; `build` turns the
labelled worksheet into bench/precision_set.jsonl, which keeps only identities (feed
source, article link, sentence and context hashes, expression, value), never sentences.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _precision_sources as src  # noqa: E402

ROOT = src.ROOT
DEFAULT_SET = ROOT / "bench" / "precision_set.jsonl"

RULE = """\
An event is CORRECT when (i) and (ii) both hold; otherwise it is FALSE.
(i) Its date is right: the happening it describes took place, or is scheduled, within the
period the event names (its date at its granularity). Relative and partial expressions
("on Monday", "yesterday", "last year", "in May") are read against the publication date
of the article they come from, but the date must be true: where a feed's date is later
than the text it carries (a re-filed article, a live blog that went on), a weekday read
against it is wrong (stale-pubdate). A period coarser than the text gives is still right
(the finer date is then listed under `also`); a wrong day, week, month or year is not, nor
is one end of a span ("from March to May") standing for the whole (span-cut).
(ii) It is a real happening of the topic: something that happened or is set to happen at
that time (an act, incident, release, publication, decision, ruling, vote, death, game,
meeting, launch, episode, a plan or expectation for a stated time...). The happening is
the one the date expression dates in the mentions' sentences ("since 2017" dates the
start); the wording of the summary is not judged. Not a happening: a year or date inside a
name or title (year-in-a-name); a name of a show, product, band or person read as a time
(show-name-as-time); a number, clock time or measure read as a year (number-as-year); a
figurative, generic or habitual time word (figurative); a citation, URL, reference list,
copyright, byline, dateline, credit, comment or tweet attribution, or a timestamp header
(citation); the date on which something was said, told, reported or written, to the press,
in a statement, interview, briefing or news conference, when the date belongs to the saying
(report-date: "said on Monday", "according to a report Saturday") - whereas testimony,
rulings and statements in a court or a hearing are happenings of the proceeding, and so
are acts performed by speaking (a declaration, order, pledge, rebuke, apology, a launch or
deal announcement); something negated (negated) or only wished for, hoped for, asked about
or counterfactual (hypothetical); fiction (fiction); a state, description, caption or
cut-off date with no happening (not-a-happening); a sentence that does not state the
happening at all (a fragment cut off by the sentence splitter, a bare "That was ...")
(fragment). An event whose mentions describe different happenings is false
(merged-unrelated; year-absorbs-unrelated when the event is a year or wider) unless all but
at most one in four of its mentions describe the happening its summary states.
THE TOPIC: the real feeds are polled with no topics configured, so every dated sentence is
a candidate and the topic is the article's own subject: any real happening the article
reports counts. Timeline17 events must belong to the story of their topic (the 2010 BP oil
spill, the 2010 Haiti earthquake, Michael Jackson's death in 2009 and what followed, the
2011 Libyan war), including responses to it and its direct consequences; background from
before or beside the story is not of the topic (off-topic).
Events that cannot be judged (a language the labeller cannot read with confidence, text
too garbled to tell) are marked usable: false and are not scored.
HOW IT IS STORED: `happening` says whether (ii) holds for the happening the summary states,
`gold` is that happening's right date (null when the text does not tell it), `also` other
right values; for a merged item each mention's `part` is "main" (the summary's happening)
or "other". correct = happening and the event's date in [gold] + also and not merged.
"""

CLASSES = {
    "year-in-a-name": "a year or date inside a name or title (Game of the Year 2010, Wrestlemania 2000)",
    "show-name-as-time": "a name of a show, product, band or person read as a time (Fox News Tonight)",
    "number-as-year": "a number, clock time or measure read as a year (2000 Hz, 20:12)",
    "figurative": "a time word used figuratively, generically or habitually (of yesterday)",
    "citation": "a citation, URL, reference, byline, dateline, credit, comment or tweet attribution, timestamp header",
    "report-date": "the date of a report or statement to the press, not of what it reports",
    "negated": "a negated happening (it's not April Fool's Day)",
    "hypothetical": "a happening only wished for, hoped for, asked about or counterfactual",
    "fiction": "a happening in fiction",
    "not-a-happening": "a state, description, caption or cut-off date with no happening",
    "fragment": "the mention's sentence does not state the happening (split sentence, bare anaphor)",
    "off-topic": "a Timeline17 happening from before or beside the topic's story",
    "year-absorbs-unrelated": "a year-level (or wider) event merging mentions of different happenings",
    "merged-unrelated": "an event merging mentions of different happenings (finer than a year)",
    "unanchored-relative": "a relative date (two days later) resolved against the publication date, not the date it follows",
    "wrong-year": "a bare month, day or season resolved into the wrong year",
    "wrong-resolution": "a weekday, week or relative expression resolved to the wrong day or period",
    "stale-pubdate": "a weekday read against a feed date later than the text it carries",
    "span-cut": "one end of a span standing for the whole span",
    "wrong-date": "another date of the sentence taken for the happening's (a superseded date)",
}
DATE_CLASSES = frozenset({"unanchored-relative", "wrong-year", "wrong-resolution", "stale-pubdate", "span-cut", "wrong-date"})
MERGE_CLASSES = frozenset({"merged-unrelated", "year-absorbs-unrelated"})


# --- the set --------------------------------------------------------------------------


@dataclass
class Item:
    """One labelled event: its label and the identities of its mentions."""

    n: int
    group: str
    stratum: str
    correct: bool
    happening: bool
    gold: str | None
    also: list[str]
    why: str | None
    usable: bool
    frozen: dict[str, Any]
    mentions: list[dict[str, Any]]

    @property
    def merged(self) -> bool:
        return self.why in MERGE_CLASSES

    def right_date(self, value: str) -> bool:
        return self.gold is not None and (value == self.gold or value in self.also)

    def judge(self, value: str, parts: set[str]) -> bool:
        """The rule applied to an event with `parts` of this item's mentions and date `value`.

        An event that still mixes the parts of a merged item stays false; one holding only
        its main part is judged as that happening.
        """
        if self.merged and parts != {"main"}:
            return False
        return self.happening and self.right_date(value)


def load_set(path: Path) -> tuple[dict[str, Any], list[Item]]:
    header: dict[str, Any] = {}
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("kind") == "header":
            header = row
            continue
        items.append(
            Item(
                n=row["n"], group=row["group"], stratum=row["stratum"], correct=row["correct"],
                happening=row["happening"], gold=row.get("gold"), also=list(row.get("also") or []),
                why=row.get("why"), usable=row.get("usable", True), frozen=row["frozen"], mentions=row["mentions"],
            )
        )
    return header, items


# --- matching -----------------------------------------------------------------------------


def _nested(a: str, b: str) -> bool:
    a, b = src.normalize(a), src.normalize(b)
    return bool(a) and bool(b) and (a in b or b in a)


class Matcher:
    """Finds the labelled mentions an output mention is, by identity (never by text)."""

    def __init__(self, items: Sequence[Item]) -> None:
        Key = tuple[str, str, str]
        self.by_sentence: dict[Key, list[tuple[int, str, str]]] = defaultdict(list)
        self.by_context: dict[Key, list[tuple[int, str, str]]] = defaultdict(list)
        self.articles: set[tuple[str, str]] = set()
        for item in items:
            for m in item.mentions:
                entry = (item.n, m["expr"], m.get("part", "main"))
                self.by_sentence[(m["feed"], m["entry"], m["sent"])].append(entry)
                if m.get("ctx"):
                    self.by_context[(m["feed"], m["entry"], m["ctx"])].append(entry)
                self.articles.add((m["feed"], m["entry"]))

    def parts_of(self, feed: str, mention: src.Mention) -> set[tuple[int, str]]:
        """(item, part) of every labelled mention this output mention is.

        The same sentence of the same article with the same or a nested expression ("Monday"
        / "on Monday, March 25"); else, for a re-cut sentence, the same expression with the
        same words around it.
        """
        entry = src.entry_identity(mention)
        quote, expr = str(mention.get("quote") or ""), str(mention.get("expression") or "")
        found = {(n, part) for n, e, part in self.by_sentence.get((feed, entry, src.sentence_hash(quote)), []) if _nested(e, expr)}
        if not found:
            ctx = src.context_hash(quote, expr)
            if ctx is not None:
                found = {
                    (n, part) for n, e, part in self.by_context.get((feed, entry, ctx), [])
                    if src.normalize(e) == src.normalize(expr)
                }
        return found

    def in_sampled_article(self, feed: str, mention: src.Mention) -> bool:
        return (feed, src.entry_identity(mention)) in self.articles


@dataclass
class Verdict:
    """One output event matched to a labelled item."""

    event: src.Event
    group: str
    item: Item
    shared: int
    correct: bool
    cls: str | None  # failure class when false


@dataclass
class Score:
    verdicts: list[Verdict] = field(default_factory=list)
    unlabelled: list[tuple[str, src.Event]] = field(default_factory=list)
    # Events holding only the "other" part of a merged item: split off, not judged.
    split_off: list[tuple[str, src.Event]] = field(default_factory=list)
    in_sampled: int = 0
    output_events: int = 0
    dropped: list[Item] = field(default_factory=list)
    absorbed: list[Item] = field(default_factory=list)  # mentions present, but in an event matched to another item


def score(items: Sequence[Item], groups: Sequence[src.Group], events: dict[str, list[src.Event]]) -> Score:
    usable = [i for i in items if i.usable]
    by_n = {i.n: i for i in usable}
    matcher = Matcher(usable)
    out = Score()
    seen_items: set[int] = set()
    for group in groups:
        for event in events[group.name]:
            out.output_events += 1
            counts: Counter[int] = Counter()
            parts: dict[int, set[str]] = defaultdict(set)
            sampled = False
            for m in event["mentions"]:
                feed = group.source(str(m.get("feed")))
                for n, part in matcher.parts_of(feed, m):
                    counts[n] += 1
                    parts[n].add(part)
                sampled = sampled or matcher.in_sampled_article(feed, m)
            if not sampled:
                continue
            out.in_sampled += 1
            seen_items.update(counts)
            if not counts:
                out.unlabelled.append((group.name, event))
                continue
            # The item most of its mentions come from; ties: the one whose date it kept, then the first.
            best = min(counts, key=lambda n: (-counts[n], by_n[n].frozen["date"] != event["date"], n))
            item = by_n[best]
            if item.merged and parts[best] == {"other"}:
                out.split_off.append((group.name, event))
                continue
            ok = item.judge(event["date"], parts[best])
            cls = None
            if not ok:
                if not item.correct:
                    # A merged item split to its main part is judged as that happening.
                    cls = item.why if parts[best] != {"main"} or not item.merged else _main_failure(item)
                else:
                    cls = "date-changed"
            out.verdicts.append(Verdict(event, group.name, item, counts[best], ok, cls))
    matched = {v.item.n for v in out.verdicts}
    for item in usable:
        if item.n in matched:
            continue
        (out.absorbed if item.n in seen_items else out.dropped).append(item)
    return out


def _main_failure(item: Item) -> str:
    return "date-changed" if item.happening else "not-a-happening"


# --- report ---------------------------------------------------------------------------------


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (c - h, c + h)


def report(
    header: dict[str, Any], items: Sequence[Item], result: Score, runs: dict[str, list[src.PollRun]], listing: bool
) -> dict[str, Any]:
    usable = [i for i in items if i.usable]
    base_k = sum(i.correct for i in usable)
    strata = header.get("strata", {})
    print(f"labelled set: {len(items)} events drawn, {len(usable)} usable ({len(items) - len(usable)} not judged), rule in the header")
    for group, count in sorted(Counter(i.group for i in usable).items()):
        n_strata = len({i.stratum for i in usable if i.group == group})
        print(f"  {group:10} {count:4} events from {n_strata} strata")
    per_feed = Counter(i.stratum for i in usable if i.group == "real")
    t17 = sum(i.group != "real" for i in usable)
    if per_feed and usable:
        print(f"  strata: {len(per_feed)} real feed files, at most {max(per_feed.values())} events each "
              f"(cap {strata.get('cap', '?')}); Timeline17 {t17} = {t17 / len(usable):.0%} of the set, by topic")
    lo, hi = wilson(base_k, len(usable))
    print(f"baseline (the labelled set, frozen {header.get('frozen', {}).get('commit', '?')}): "
          f"{base_k}/{len(usable)} = {base_k / len(usable):.3f} correct (95% {lo:.2f}-{hi:.2f})")
    print()

    if runs:
        count = max(len(r) for r in runs.values())
        print(f"poll time per source group (median of {count} run{'s' if count != 1 else ''}; per feed: the median "
              "of the poll lines, which include waiting for the poll's merges):")
    for name, group_runs in runs.items():
        walls = [r.seconds for r in group_runs]
        feed_times = [t for r in group_runs for t in r.feed_seconds.values()]
        spread = f" ({min(walls):.1f}-{max(walls):.1f})" if len(walls) > 1 else ""
        med = statistics.median(feed_times) if feed_times else float("nan")
        first = group_runs[0]
        extra = f", {len(first.failed)} files are no feeds" if first.failed else ""
        retried = sum(len(r.retried) for r in group_runs)
        extra += f", {retried} feeds re-polled alone after a lock" if retried else ""
        print(f"  {name:10} {statistics.median(walls):7.1f}s{spread}, per feed {med:.2f}s over {len(first.feed_seconds)} feeds{extra}")
    print()

    verdicts = result.verdicts
    k = sum(v.correct for v in verdicts)
    n = len(verdicts)
    lo, hi = wilson(k, n)
    precision = k / n if n else float("nan")
    coverage = n / result.in_sampled if result.in_sampled else float("nan")
    print(f"precision on matched events: {k}/{n} = {precision:.3f} (95% {lo:.2f}-{hi:.2f}); "
          f"baseline ratio {precision / (base_k / len(usable)):.3f}")
    print(f"coverage: {n}/{result.in_sampled} = {coverage:.3f} of the output events with a mention in a sampled "
          f"article ({result.output_events} output events in all); unlabelled: {len(result.unlabelled)}")
    by_group: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for v in verdicts:
        by_group[v.group][0] += v.correct
        by_group[v.group][1] += 1
    for group, (gk, gn) in sorted(by_group.items()):
        print(f"  {group:10} {gk}/{gn} = {gk / gn:.3f}")
    classes = Counter(v.cls for v in verdicts if not v.correct)
    print("false events by class:" + ("" if classes else " none"))
    for cls, count in classes.most_common():
        print(f"  {count:4}  {cls}")
    fixed = sum(1 for v in verdicts if v.correct and not v.item.correct)
    broken = sum(1 for v in verdicts if not v.correct and v.item.correct)
    print(f"changed verdicts: {fixed} false items now correct, {broken} correct items now false")
    d_false = sum(not i.correct for i in result.dropped)
    d_true = sum(i.correct for i in result.dropped)
    print(f"dropped (no event has their mentions any more): {len(result.dropped)}: {d_false} false (good), "
          f"{d_true} correct (recall loss)")
    a_false = sum(not i.correct for i in result.absorbed)
    print(f"absorbed (their mentions joined an event matched to another item): {len(result.absorbed)}: "
          f"{a_false} false, {len(result.absorbed) - a_false} correct")
    print(f"split off (events holding only the unrelated part of a merged item, not judged): {len(result.split_off)}")
    dropped_classes = Counter(i.why for i in result.dropped if not i.correct)
    if dropped_classes:
        print("  false dropped by class: " + ", ".join(f"{c} {k}" for c, k in dropped_classes.most_common()))

    if listing:
        print("\nverdicts (item, group, stratum, output id and date, gold, class):")
        for v in sorted(verdicts, key=lambda v: v.item.n):
            mark = "ok " if v.correct else "FALSE"
            print(f"  {mark} #{v.item.n:<4} {v.group:10} {v.event['id']} {v.event['date']:<22} gold {v.item.gold} "
                  f"{v.cls or ''}  [{v.item.stratum}]")
        print("\nunlabelled events in sampled articles:")
        for group, event in result.unlabelled:
            first = event["mentions"][0] if event["mentions"] else {}
            print(f"  {group:10} {event['id']} {event['date']:<22} {first.get('expression', '')!r}: {event['summary'][:90]}")
        print("\ndropped items:")
        for item in result.dropped:
            print(f"  #{item.n:<4} {'correct' if item.correct else item.why} frozen {item.frozen['date']} [{item.stratum}]")

    return {
        "set_size": len(items),
        "usable": len(usable),
        "baseline": base_k / len(usable),
        "precision": precision,
        "matched": n,
        "correct": k,
        "coverage": coverage,
        "in_sampled": result.in_sampled,
        "unlabelled": len(result.unlabelled),
        "false_classes": dict(classes),
        "dropped_false": d_false,
        "dropped_correct": d_true,
        "absorbed": len(result.absorbed),
        "poll_seconds_median": {name: statistics.median(r.seconds for r in rs) for name, rs in runs.items()},
        "poll_seconds": {name: [r.seconds for r in rs] for name, rs in runs.items()},
    }


# --- running ---------------------------------------------------------------------------------


def tracker_command(path: str | None) -> list[str]:
    if path:
        return [str(Path(path).expanduser().resolve())] if "/" in path else [path]
    local = ROOT / ".venv" / "bin" / "tracker"
    return [str(local)] if local.exists() else [sys.executable, "-m", "tracker"]


def tracker_commit(command: Sequence[str]) -> str:
    """The git commit of the checkout a .venv/bin/tracker belongs to, if it is one."""
    path = Path(command[0])
    for parent in path.parents:
        if (parent / ".git").exists():
            proc = subprocess.run(["git", "-C", str(parent), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
            dirty = subprocess.run(["git", "-C", str(parent), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, check=False).stdout.strip()
            return proc.stdout.strip() + ("+changes" if dirty else "") if proc.returncode == 0 else "?"
    return "?"


def poll_and_read(
    tracker: Sequence[str], data: Path, work: Path, *, reuse: bool = False, repeat: int = 1
) -> tuple[list[src.Group], dict[str, list[src.PollRun]], dict[str, list[src.Event]]]:
    """Poll every group (or, with reuse, read what was polled into `work` before) and read its events.

    With repeat > 1 each group is polled that many times into fresh databases, for the
    timing; the events come from the first run, and a run that ends with another number
    of events is reported.
    """
    groups = src.write_groups(data, work, write=not reuse)
    runs: dict[str, list[src.PollRun]] = defaultdict(list)
    events: dict[str, list[src.Event]] = {}
    for group in groups:
        if not reuse:
            runs[group.name].append(src.poll(tracker, group))
            print(f"  polled {group.name}: {runs[group.name][-1].seconds:.1f}s", file=sys.stderr)
        events[group.name] = src.events(tracker, group)
    for i in range(1, repeat if not reuse else 1):
        again = src.write_groups(data, work / f"repeat{i}")
        for group in again:
            runs[group.name].append(src.poll(tracker, group))
            count = len(src.events(tracker, group))
            if count != len(events[group.name]):
                print(f"  repeat {i} of {group.name}: {count} events, not {len(events[group.name])}", file=sys.stderr)
    return groups, dict(runs), events


# --- draw and build (labelling, once) -----------------------------------------------------------


def _primary(group: src.Group, event: src.Event) -> str:
    """The source most of the event's mentions come from; ties: the first by name."""
    counts = Counter(group.source(str(m.get("feed"))) for m in event["mentions"])
    return min(counts, key=lambda s: (-counts[s], s))


def _round_robin(strata: dict[str, list[src.Event]], target: int, cap: int, rng: random.Random) -> list[tuple[str, src.Event]]:
    """Up to `target` events, one per stratum per round in a shuffled order, at most `cap` per stratum.

    The pools are ordered by event id before the seeded shuffle. Ids of events whose
    mentions are identical copies in several feeds depend on which copy was merged first,
    so a second draw on another poll can differ there; the set records what was drawn.
    """
    pools = {s: sorted(evs, key=lambda e: e["id"]) for s, evs in strata.items()}
    for pool in pools.values():
        rng.shuffle(pool)
    taken: list[tuple[str, src.Event]] = []
    for round_ in range(cap):
        order = sorted(pools)
        rng.shuffle(order)
        for s in order:
            if len(taken) >= target:
                return taken
            if round_ < len(pools[s]):
                taken.append((s, pools[s][round_]))
    return taken


def _mention_values(db: Path, event_id: str) -> list[dict[str, Any]]:
    """Each mention's own value and entry guid from the frozen database (labelling aid only)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT m.expression, m.value, m.quote, e.guid, e.link, e.published_fallback, e.published_raw "
            "FROM mentions m JOIN events v ON v.pk = m.event_pk JOIN entries e ON e.id = m.entry_id WHERE v.id = ?",
            (event_id,),
        ).fetchall()
    finally:
        con.close()
    return [
        {"expr": r[0], "value": r[1], "sent": src.sentence_hash(r[2]), "guid": r[3], "link": r[4], "fallback": bool(r[5]), "published_raw": r[6]}
        for r in rows
    ]


def draw(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    if ROOT in out.parents:
        print(f"precision.py: the worksheet holds article sentences; write it outside the repository, not {out}", file=sys.stderr)
        return 2
    tracker = tracker_command(args.tracker)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="precision-draw-")) if args.work is None else Path(args.work)
    started = datetime.now(timezone.utc)
    groups, runs, events = poll_and_read(tracker, Path(args.data), work)
    print(f"polled into {work}", file=sys.stderr)

    def dated(event: src.Event) -> bool:
        # An entry without a date is published "now": its relative dates would move each run.
        return all(datetime.fromisoformat(m["published"].replace("Z", "+00:00")) < started for m in event["mentions"])

    real = next(g for g in groups if g.name == "real")
    strata: dict[str, list[src.Event]] = defaultdict(list)
    for event in events["real"]:
        if dated(event):
            strata[_primary(real, event)].append(event)
    picked = [("real", s, e) for s, e in _round_robin(strata, args.real, args.cap, rng)]

    t17 = [g for g in groups if g.name.startswith("t17-")]
    per_topic = [args.t17 // len(t17) + (1 if i < args.t17 % len(t17) else 0) for i in range(len(t17))]
    for group, target in zip(t17, per_topic):
        folders: dict[str, list[src.Event]] = defaultdict(list)
        for event in events[group.name]:
            if dated(event):
                folders[_primary(group, event)].append(event)
        deepest = max((len(evs) for evs in folders.values()), default=0)
        picked += [(group.name, s, e) for s, e in _round_robin(folders, target, deepest, rng)]

    by_name = {g.name: g for g in groups}
    rows = []
    for n, (gname, stratum, event) in enumerate(picked, 1):
        group = by_name[gname]
        rows.append({
            "n": n,
            "group": gname,
            "stratum": stratum,
            "event": src.event(tracker, group, event["id"]),
            "identities": [src.mention_identity(group, m) for m in event["mentions"]],
            "db": _mention_values(group.config.parent / "tracker.db", event["id"]),
            "label": {"correct": None, "happening": None, "gold": None, "also": [], "why": None, "usable": True, "note": ""},
        })
    strata_counts = {
        "real_strata": len({s for g, s, _ in picked if g == "real"}),
        "cap": args.cap,
        "t17_topics": dict(Counter(g for g, _, _ in picked if g != "real")),
        "by_stratum": dict(sorted(Counter(f"{g}:{s}" for g, s, _ in picked).items())),
        "available_real_strata": len(strata),
    }
    head = {
        "kind": "header",
        "seed": args.seed,
        "frozen": {"commit": tracker_commit(tracker), "tracker": " ".join(tracker)},
        "drawn": str(started.replace(microsecond=0)),
        "strata": strata_counts,
        "events_available": {g: len(e) for g, e in events.items()},
        "poll_seconds": {name: [r.seconds for r in rs] for name, rs in runs.items()},
    }
    with out.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(head) + "\n")
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} events to {out}: {strata_counts['real_strata']} real strata, t17 {strata_counts['t17_topics']}")
    return 0


_MAX_EXPR = 60


def build(args: argparse.Namespace) -> int:
    lines = Path(args.sheet).read_text(encoding="utf-8").splitlines()
    head = json.loads(lines[0])
    problems = []
    items = []
    for line in lines[1:]:
        row = json.loads(line)
        label, event = row["label"], row["event"]
        n = row["n"]
        if label.get("usable", True):
            if label["correct"] is None or label["happening"] is None:
                problems.append(f"#{n}: not labelled")
                continue
            merged = label.get("why") in MERGE_CLASSES
            expected = bool(label["happening"]) and not merged and label["gold"] is not None and (
                event["date"] == label["gold"] or event["date"] in (label.get("also") or [])
            )
            if expected != bool(label["correct"]):
                problems.append(f"#{n}: correct={label['correct']} but happening={label['happening']}, gold={label['gold']}, date={event['date']}")
            if not label["correct"] and label.get("why") not in CLASSES:
                problems.append(f"#{n}: false with no known class ({label.get('why')!r})")
            if merged != ("parts" in label):
                problems.append(f"#{n}: a merged item needs parts, and only a merged item has them")
            if "parts" in label and (len(label["parts"]) != len(row["identities"]) or "main" not in label["parts"]):
                problems.append(f"#{n}: parts must name each mention, at least one main")
        for ident in row["identities"]:
            if len(ident["expr"]) > _MAX_EXPR:
                problems.append(f"#{n}: expression of {len(ident['expr'])} characters; the set stores no sentences")
        values = {(d["sent"], d["expr"]): d["value"] for d in row.get("db", [])}
        parts = label.get("parts") or ["main"] * len(row["identities"])
        mentions = [
            {**ident, "value": values.get((ident["sent"], ident["expr"])), **({"part": part} if "parts" in label else {})}
            for ident, part in zip(row["identities"], parts)
        ]
        items.append({
            "n": n,
            "group": row["group"],
            "stratum": row["stratum"],
            "correct": bool(label["correct"]) if label.get("usable", True) else None,
            "happening": bool(label["happening"]) if label.get("happening") is not None else None,
            "gold": label.get("gold"),
            "also": label.get("also") or [],
            "why": label.get("why") if not label.get("correct") else None,
            "usable": bool(label.get("usable", True)),
            "note": label.get("note", ""),
            "frozen": {k: event[k] for k in ("id", "date", "mod", "granularity", "start", "end")},
            "mentions": mentions,
        })
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    usable = [i for i in items if i["usable"]]
    header = {
        "kind": "header",
        "rule": RULE,
        "classes": CLASSES,
        "sources": {
            "real": src.REAL + " (every file but SOURCES.txt; no topics configured)",
            "t17": f"{src.T17}: {src.T17_PER_FOLDER} articles a folder chosen by sha1 of the path, one group per topic",
            "conversion": src.CONVERSION,
        },
        "seed": head["seed"],
        "frozen": head["frozen"],
        "drawn": head["drawn"],
        "strata": head["strata"],
        "size": len(items),
        "usable": len(usable),
        "correct": sum(i["correct"] for i in usable),
        "false_classes": dict(Counter(i["why"] for i in usable if not i["correct"]).most_common()),
        "identity": "per mention: feed = source path under the data root, entry = article link (else title: + hash), "
                    "sent = sha1[:16] of the quote NFKC-normalized, ellipses removed, whitespace collapsed, casefolded; "
                    "ctx = the same of four words, the expression, four words; expr and value as extracted",
    }
    out = Path(args.set)
    with out.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(header, ensure_ascii=False) + "\n")
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"wrote {out}: {len(items)} items, {len(usable)} usable, {header['correct']} correct")
    return 0


# --- main ---------------------------------------------------------------------------------------


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[2:6]))
    ap.add_argument("--data", default=str(src.DEFAULT_DATA), help="the shared data folder (default: ../shared/data beside the repository)")
    ap.add_argument("--tracker", help="the tracker executable to test (default: .venv/bin/tracker of this checkout, else python -m tracker)")
    ap.add_argument("--set", default=str(DEFAULT_SET), help="the labelled set (default: bench/precision_set.jsonl)")
    ap.add_argument("--work", help="poll into this folder and keep it (default: a temporary folder, removed)")
    ap.add_argument("--no-poll", action="store_true", help="read the databases already polled into --work")
    ap.add_argument("--runs", type=int, default=1, help="poll each group this many times for the timing (median; default 1)")
    ap.add_argument("--list", action="store_true", help="list every verdict, the unlabelled events and the dropped items")
    ap.add_argument("--json", help="also write the figures to this file")
    sub = ap.add_subparsers(dest="command")
    d = sub.add_parser("draw", help="poll with the frozen tracker and write a stratified sample to label")
    d.add_argument("--out", required=True, help="the worksheet (JSON lines, with quotes: outside the repository)")
    d.add_argument("--seed", type=int, default=12)
    d.add_argument("--real", type=int, default=110, help="events from the real feeds")
    d.add_argument("--t17", type=int, default=66, help="events from Timeline17, shared equally by its topics")
    d.add_argument("--cap", type=int, default=4, help="at most this many events per real feed file")
    b = sub.add_parser("build", help="turn the labelled worksheet into the set")
    b.add_argument("sheet")
    args = ap.parse_args(list(argv) if argv is not None else None)

    if args.command == "draw":
        return draw(args)
    if args.command == "build":
        return build(args)

    header, items = load_set(Path(args.set))
    tracker = tracker_command(args.tracker)
    print(f"tracker under test: {' '.join(tracker)} ({tracker_commit(tracker)})")
    if args.no_poll and not args.work:
        ap.error("--no-poll needs --work")
    if args.work:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        groups, runs, events = poll_and_read(tracker, Path(args.data), work, reuse=args.no_poll, repeat=args.runs)
        figures = report(header, items, score(items, groups, events), runs, args.list)
    else:
        with tempfile.TemporaryDirectory(prefix="precision-") as tmp:
            started = time.perf_counter()
            groups, runs, events = poll_and_read(tracker, Path(args.data), Path(tmp), repeat=args.runs)
            print(f"(polled and read in {time.perf_counter() - started:.0f}s)")
            figures = report(header, items, score(items, groups, events), runs, args.list)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
