"""Time tracker's temporal tagger against dateparser's search_dates on the same texts, same run."""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time as dtime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# Run from a checkout without installing: the repository root holds the tracker package.
sys.path.insert(1, str(HERE.parent))

from _timeml import parse_timeml  # noqa: E402

DEFAULT_DIR = HERE.parent.parent / "shared" / "data" / "timeml" / "timebank"
Published = date | datetime | None
Run = Callable[[str, Published], object]


@dataclass(frozen=True)
class Text:
    """One input: its text and the publication date relative expressions resolve against."""

    name: str
    text: str
    published: Published


def load_texts(folder: Path, limit: int | None) -> list[Text]:
    """TimeML files (TEXT content, DCT) and plain .txt files (no date) under a folder."""
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".tml", ".txt") and p.is_file())
    if limit is not None:
        files = files[:limit]
    out: list[Text] = []
    for f in files:
        raw = f.read_text(encoding="utf-8", errors="replace")
        if f.suffix == ".tml":
            doc = parse_timeml(raw, f.name)
            out.append(Text(f.name, doc.text, doc.dct))
        else:
            out.append(Text(f.name, raw, None))
    return out


def tracker_run() -> Run:
    """tracker.temporal.extract; raises ImportError while the tagger does not exist."""
    from tracker.temporal import extract

    def run(text: str, published: Published) -> object:
        return extract(text, published)

    return run


def dateparser_run() -> Run:
    """search_dates alone, configured as in bench/temporal_eval.py."""
    from dateparser.search import search_dates

    def run(text: str, published: Published) -> object:
        settings: dict[str, object] = {}
        if published is not None:
            base = published if isinstance(published, datetime) else datetime.combine(published, dtime())
            settings["RELATIVE_BASE"] = base
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return search_dates(text, languages=["en"], settings=settings)  # type: ignore[arg-type]

    return run


def time_all(run: Run, texts: Sequence[Text]) -> float:
    """Seconds to process every text once; collection is paused so GC timing does not skew it."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for t in texts:
            run(t.text, t.published)
        return time.perf_counter() - t0
    finally:
        gc.enable()


def paragraphs(texts: Sequence[Text]) -> list[str]:
    """Non-trivial paragraphs of the corpus, the material for the long texts."""
    out: list[str] = []
    for t in texts:
        out.extend(p.strip() for p in t.text.split("\n\n") if len(p.strip()) > 80)
    return out


def build_text(paras: Sequence[str], size: int) -> str:
    """About `size` characters of paragraphs, cycled in order, joined by blank lines."""
    parts: list[str] = []
    total = 0
    i = 0
    while total < size:
        p = paras[i % len(paras)]
        parts.append(p)
        total += len(p) + 2
        i += 1
    return "\n\n".join(parts)[:size]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog="example: .venv/bin/python bench/temporal_speed.py ../shared/data/timeml/timebank",
    )
    parser.add_argument(
        "dirs",
        nargs="*",
        type=Path,
        help=f"folders of .tml or .txt files, each timed as one set (default: {DEFAULT_DIR})",
    )
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per set (default 5)")
    parser.add_argument("--limit", type=int, default=None, help="at most N files per folder")
    parser.add_argument(
        "--sizes",
        default="10,100,1000",
        help="linearity check text sizes in KB, comma-separated (default 10,100,1000)",
    )
    args = parser.parse_args(argv)
    dirs: list[Path] = args.dirs or [DEFAULT_DIR]
    for d in dirs:
        if not d.is_dir():
            parser.error(f"{d}: not a folder")

    try:
        tracker = tracker_run()
    except ImportError as exc:
        print(f"tracker.temporal is not available yet: {exc}", file=sys.stderr)
        return 1
    baseline = dateparser_run()
    # The first calls load language data and compile patterns; that is start-up, not throughput.
    for run in (tracker, baseline):
        run("The meeting was held on Tuesday, March 3, 2024.", date(2024, 3, 5))

    status = 0
    all_texts: list[Text] = []
    print(f"{'set':<28}{'docs':>6}{'KB':>8}{'tracker s':>11}{'search_dates s':>16}{'ratio':>8}")
    for d in dirs:
        texts = load_texts(d, args.limit)
        if not texts:
            print(f"{d.name:<28} no .tml or .txt files")
            continue
        all_texts.extend(texts)
        ours: list[float] = []
        theirs: list[float] = []
        # Interleaved repetitions: drift in machine load hits both systems alike.
        for _ in range(args.repeat):
            ours.append(time_all(tracker, texts))
            theirs.append(time_all(baseline, texts))
        mo, mt = statistics.median(ours), statistics.median(theirs)
        ratio = mo / mt if mt else float("inf")
        kb = sum(len(t.text.encode("utf-8")) for t in texts) / 1024
        verdict = "" if ratio <= 1.0 else "  SLOWER than search_dates"
        print(f"{d.name:<28}{len(texts):>6}{kb:>8.0f}{mo:>11.3f}{mt:>16.3f}{ratio:>8.2f}{verdict}")
        if ratio > 1.0:
            status = 1
    print(f"(median of {args.repeat} runs; ratio = tracker time / search_dates time, must be <= 1.0)")

    paras = paragraphs(all_texts)
    if not paras:
        print("no paragraphs for the linearity check", file=sys.stderr)
        return status
    print()
    print(f"{'linearity':<28}{'chars':>10}{'mentions':>10}{'seconds':>10}{'ms/KB':>9}")
    per_kb: list[float] = []
    for size_kb in (int(s) for s in args.sizes.split(",") if s.strip()):
        text = build_text(paras, size_kb * 1024)
        published = date(1998, 1, 8)
        reps = 3 if size_kb <= 100 else 1
        secs: list[float] = []
        found = 0
        for _ in range(reps):
            gc.collect()
            t0 = time.perf_counter()
            result = tracker(text, published)
            secs.append(time.perf_counter() - t0)
            found = len(result) if isinstance(result, list) else 0
        s = statistics.median(secs)
        per_kb.append(s * 1000 / size_kb)
        print(f"{f'{size_kb} KB':<28}{len(text):>10}{found:>10}{s:>10.3f}{per_kb[-1]:>9.3f}")
    if len(per_kb) >= 2 and per_kb[0] > 0:
        growth = per_kb[-1] / per_kb[0]
        # Per-KB cost should stay flat; a factor above 2 means something superlinear.
        note = "linear" if growth <= 2.0 else "NOT linear"
        print(f"per-KB cost, largest / smallest: {growth:.2f} ({note})")
        if growth > 2.0:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
