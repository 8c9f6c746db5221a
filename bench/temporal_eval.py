"""Score tracker's temporal tagger and dateparser's search_dates on TimeML files, TempEval-3 style."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import date, datetime, time as dtime
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Run from a checkout without installing: the repository root holds the tracker package.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from _timeml import (  # noqa: E402
    Counts,
    DocResult,
    Document,
    Scores,
    Timex,
    load_dir,
    score_document,
    scores,
)

Tagger = Callable[[str, date | datetime | None], list[Timex]]


# --------------------------------------------------------------------------- systems


def tracker_tagger() -> Tagger:
    """tracker.temporal.extract adapted to Timex; raises ImportError while it does not exist."""
    from tracker.temporal import extract

    def tag(text: str, published: date | datetime | None) -> list[Timex]:
        out: list[Timex] = []
        for m in extract(text, published):
            out.append(
                Timex(
                    start=m.start,
                    end=m.end,
                    text=m.text,
                    type=m.type,
                    value=m.value,
                    interval=tuple(m.interval) if m.interval is not None else None,  # type: ignore[arg-type]
                )
            )
        return out

    return tag


def locate_in_order(text: str, found: Sequence[str]) -> list[tuple[int, int]]:
    """Spans of returned substrings, searched left to right so repeats map to later copies."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sub in found:
        i = text.find(sub, cursor)
        if i < 0:
            # search_dates occasionally reports out of order; fall back to the first copy.
            i = text.find(sub)
        if i < 0:
            continue
        spans.append((i, i + len(sub)))
        cursor = i + len(sub)
    return spans


def dateparser_tagger() -> Tagger:
    """dateparser.search.search_dates alone: type DATE, value at day precision."""
    from dateparser.search import search_dates

    def tag(text: str, published: date | datetime | None) -> list[Timex]:
        settings: dict[str, object] = {}
        if published is not None:
            base = published if isinstance(published, datetime) else datetime.combine(published, dtime())
            settings["RELATIVE_BASE"] = base
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = search_dates(text, languages=["en"], settings=settings) or []  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - a crash on one text scores as "found nothing"
            return []
        spans = locate_in_order(text, [s for s, _ in found])
        out: list[Timex] = []
        for (start, end), (sub, dt) in zip(spans, found):
            d = dt.date()
            out.append(Timex(start, end, sub, "DATE", d.isoformat(), (d, d)))
        return out

    return tag


# --------------------------------------------------------------------------- running


def run(
    docs: Sequence[Document], tag: Tagger
) -> tuple[Counts, list[tuple[Document, DocResult]], float, int]:
    """Tag and score every document; returns totals, per-doc results, seconds and crashes."""
    total = Counts()
    per_doc: list[tuple[Document, DocResult]] = []
    crashes = 0
    elapsed = 0.0
    for doc in docs:
        t0 = time.perf_counter()
        try:
            system = tag(doc.text, doc.dct)
        except Exception as exc:  # noqa: BLE001 - keep scoring; a crash is reported, not fatal
            crashes += 1
            print(f"warning: {doc.name}: tagger raised {exc!r}", file=sys.stderr)
            system = []
        elapsed += time.perf_counter() - t0
        res = score_document(doc.gold, system, doc.text)
        total.add(res.counts)
        per_doc.append((doc, res))
    return total, per_doc, elapsed, crashes


_COLUMNS: list[tuple[str, str]] = [
    ("relaxed_p", "rel P"),
    ("relaxed_r", "rel R"),
    ("relaxed_f1", "rel F1"),
    ("strict_p", "str P"),
    ("strict_r", "str R"),
    ("strict_f1", "str F1"),
    ("type_f1", "type F1"),
    ("value_f1", "val F1"),
    ("value_accuracy", "val acc"),
    ("in_period", "in period"),
]


def format_table(rows: Sequence[tuple[str, Scores, float]]) -> str:
    """The figures as a fixed-width table, plus a tracker/dateparser ratio row when both ran."""
    head = f"{'system':<22}{'sys':>6}{'gold':>6}" + "".join(f"{h:>10}" for _, h in _COLUMNS)
    head += f"{'seconds':>9}"
    lines = [head, "-" * len(head)]
    for name, s, secs in rows:
        line = f"{name:<22}{s.n_sys:>6}{s.n_gold:>6}"
        line += "".join(f"{getattr(s, k):>10.3f}" for k, _ in _COLUMNS)
        line += f"{secs:>9.2f}"
        lines.append(line)
    if len(rows) == 2:
        (_, a, ta), (_, b, tb) = rows
        line = f"{'ratio tracker/dp':<22}{'':>6}{'':>6}"
        for k, _ in _COLUMNS:
            den = getattr(b, k)
            line += f"{getattr(a, k) / den:>10.2f}" if den else f"{'-':>10}"
        line += f"{ta / tb:>9.2f}" if tb else f"{'-':>9}"
        lines.append(line)
    return "\n".join(lines)


def _context(text: str, start: int, end: int, width: int = 50) -> str:
    left = text[max(0, start - width) : start]
    right = text[end : end + width]
    snippet = f"{left}[[{text[start:end]}]]{right}"
    return " ".join(snippet.split())


def _fmt(t: Timex) -> str:
    if t.interval is not None:
        iv = f" {t.interval[0]}..{t.interval[1]}"
    else:
        # Worth seeing: a DATE/TIME without an interval can never be inside the gold period.
        iv = " (no interval)" if t.type in ("DATE", "TIME") else ""
    return f"{t.start}-{t.end} {t.text!r} {t.type} {t.value}{iv}"


def write_errors(out: TextIO, per_doc: Sequence[tuple[Document, DocResult]]) -> None:
    """A readable per-document dump of misses, spurious finds and attribute mismatches.

    Each entry is a header line (kind, then gold and/or system timex) followed by a context
    line starting with "|", so `grep -A2 VALUE` pulls out one kind.
    """
    kinds = {"FN": 0, "FP": 0, "EXTENT": 0, "TYPE": 0, "VALUE": 0, "PERIOD": 0}
    body: list[str] = []
    for doc, res in per_doc:
        entries: list[tuple[int, str]] = []
        for g in res.false_negatives:
            kinds["FN"] += 1
            entries.append((g.start, f"  FN     gold {_fmt(g)}\n         | {_context(doc.text, g.start, g.end)}"))
        for s in res.false_positives:
            kinds["FP"] += 1
            entries.append((s.start, f"  FP     sys  {_fmt(s)}\n         | {_context(doc.text, s.start, s.end)}"))
        # One entry per matched pair, naming every way it differs, instead of one per kind.
        labels: dict[tuple[int, int], list[str]] = {}
        for label, pairs in (
            ("EXTENT", res.extent_mismatches),
            ("TYPE", res.type_mismatches),
            ("VALUE", res.value_mismatches),
            ("PERIOD", res.period_misses),
        ):
            for g, s in pairs:
                kinds[label] += 1
                labels.setdefault((g.start, s.start), []).append(label)
        for g, s in res.matched:
            found = labels.get((g.start, s.start))
            if not found:
                continue
            lo, hi = min(g.start, s.start), max(g.end, s.end)
            entries.append(
                (
                    g.start,
                    f"  {'+'.join(found)}\n         gold {_fmt(g)}\n         sys  {_fmt(s)}\n"
                    f"         | {_context(doc.text, lo, hi)}",
                )
            )
        if not entries:
            continue
        entries.sort(key=lambda e: e[0])
        body.append(f"=== {doc.name}  DCT {doc.dct_value}  gold {res.counts.n_gold}  sys {res.counts.n_sys}\n")
        body.extend(e + "\n" for _, e in entries)
        body.append("\n")
    # The totals go first so a tuning run shows at a glance which kind of error dominates.
    out.write("totals: " + ", ".join(f"{k} {v}" for k, v in kinds.items()) + "\n")
    out.write(
        "FN = gold missed; FP = system timex overlapping no gold; EXTENT/TYPE/VALUE = matched pair "
        "differing there; PERIOD = DATE/TIME pair whose system interval is not inside the gold "
        "value's period. [[...]] marks the span (the union of both spans for pairs).\n\n"
    )
    out.writelines(body)


def format_by_type(per_doc: Sequence[tuple[Document, DocResult]]) -> str:
    """Per gold type: how many, how many found (relaxed), and value accuracy on the found."""
    gold_n: dict[str, int] = {}
    missed: dict[str, int] = {}
    paired: dict[str, int] = {}
    value_ok: dict[str, int] = {}
    for doc, res in per_doc:
        for g in doc.gold:
            gold_n[g.type] = gold_n.get(g.type, 0) + 1
        for g in res.false_negatives:
            missed[g.type] = missed.get(g.type, 0) + 1
        for g, s in res.matched:
            paired[g.type] = paired.get(g.type, 0) + 1
            value_ok[g.type] = value_ok.get(g.type, 0) + (g.value == s.value)
    lines = [f"{'gold type':<22}{'gold':>6}{'rel R':>10}{'val acc':>10}"]
    for t in sorted(gold_n):
        n = gold_n[t]
        recall = (n - missed.get(t, 0)) / n
        acc = value_ok.get(t, 0) / paired[t] if paired.get(t) else 0.0
        lines.append(f"{t:<22}{n:>6}{recall:>10.3f}{acc:>10.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog="example: .venv/bin/python bench/temporal_eval.py ../shared/data/timeml/timebank "
        "--errors /tmp/timex-errors.txt",
    )
    parser.add_argument("dirs", nargs="+", type=Path, help="folders (or files) of .tml files")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N files")
    parser.add_argument("--errors", type=Path, default=None, help="write tracker's errors here")
    parser.add_argument(
        "--no-dateparser", action="store_true", help="skip the search_dates baseline (faster)"
    )
    args = parser.parse_args(argv)

    docs = load_dir(args.dirs, args.limit)
    if not docs:
        parser.error("no .tml files found")
    n_gold = sum(len(d.gold) for d in docs)
    print(f"{len(docs)} documents, {n_gold} gold TIMEX3 (DCT excluded)")

    rows: list[tuple[str, Scores, float]] = []
    by_type = ""
    status = 0
    try:
        tag = tracker_tagger()
    except ImportError as exc:
        print(f"tracker.temporal not available yet ({exc}); scoring the baseline only", file=sys.stderr)
        status = 1
    else:
        total, per_doc, secs, crashes = run(docs, tag)
        rows.append(("tracker", scores(total), secs))
        by_type = format_by_type(per_doc)
        if crashes:
            status = 1
            print(f"tracker's tagger raised on {crashes} documents", file=sys.stderr)
        if args.errors is not None:
            with args.errors.open("w", encoding="utf-8") as fh:
                write_errors(fh, per_doc)
            print(f"errors written to {args.errors}")
    if not args.no_dateparser:
        total, _, secs, _ = run(docs, dateparser_tagger())
        rows.append(("dateparser search_dates", scores(total), secs))
    print(format_table(rows))
    if by_type:
        print()
        print("tracker by gold type")
        print(by_type)
    return status


if __name__ == "__main__":
    sys.exit(main())
