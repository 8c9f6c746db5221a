"""TimeML reading and TempEval-3-style TIMEX3 scoring, shared by the temporal benchmarks."""

from __future__ import annotations

import calendar
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Sequence

# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Timex:
    """One TIMEX3, gold or system: character span in the document's plain text plus attributes."""

    start: int
    end: int
    text: str
    type: str
    value: str
    interval: tuple[date, date] | None = None


@dataclass(frozen=True)
class Document:
    """A TimeML document: plain TEXT content, its creation time and the gold TIMEX3s in it."""

    name: str
    text: str
    dct: date | datetime | None
    dct_value: str | None
    gold: tuple[Timex, ...]


def _parse_dct(value: str | None) -> date | datetime | None:
    """The DCT value as a date (or datetime when it carries a time); None when unusable."""
    if not value:
        return None
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?", value.strip())
    if m is None:
        # Some corpora write DCTs as 19980108 or with a trailing zone; the date is what matters.
        m2 = re.match(r"(\d{4})-?(\d{2})-?(\d{2})", value.strip())
        if m2 is None:
            return None
        return date(int(m2[1]), int(m2[2]), int(m2[3]))
    y, mo, d = int(m[1]), int(m[2]), int(m[3])
    if m[4] is None:
        return date(y, mo, d)
    return datetime(y, mo, d, int(m[4]), int(m[5]), int(m[6] or 0))


def parse_timeml(source: str, name: str = "<string>") -> Document:
    """Parse a TimeML document given as a string.

    Offsets are computed on the character content of <TEXT> with every tag removed (entities
    decoded by the XML parser), which is exactly the text handed to a tagger. The DCT is the
    TIMEX3 with functionInDocument="CREATION_TIME"; it is not a gold mention, because
    TempEval-3 scores only the timexes inside TEXT.
    """
    root = ET.fromstring(source)
    dct_value: str | None = None
    for timex in root.iter("TIMEX3"):
        if timex.get("functionInDocument") == "CREATION_TIME":
            dct_value = timex.get("value")
            break
    text_el = root.find(".//TEXT")
    if text_el is None:
        raise ValueError(f"{name}: no <TEXT> element")

    parts: list[str] = []
    gold: list[Timex] = []
    pos = 0

    def walk(el: ET.Element) -> None:
        nonlocal pos
        start = pos
        if el.text:
            parts.append(el.text)
            pos += len(el.text)
        for child in el:
            walk(child)
            if child.tail:
                parts.append(child.tail)
                pos += len(child.tail)
        # A CREATION_TIME inside TEXT would still be the DCT, never a mention to find.
        if el.tag == "TIMEX3" and el.get("functionInDocument") != "CREATION_TIME":
            gold.append(
                Timex(
                    start=start,
                    end=pos,
                    text="",
                    type=el.get("type", ""),
                    value=el.get("value", ""),
                )
            )

    # The TEXT element's own tail belongs to the document, not to TEXT.
    if text_el.text:
        parts.append(text_el.text)
        pos += len(text_el.text)
    for child in text_el:
        walk(child)
        if child.tail:
            parts.append(child.tail)
            pos += len(child.tail)
    text = "".join(parts)
    with_text = [
        Timex(g.start, g.end, text[g.start : g.end], g.type, g.value, gold_period(g.value))
        for g in gold
    ]
    with_text.sort(key=lambda t: (t.start, t.end))
    return Document(
        name=name,
        text=text,
        dct=_parse_dct(dct_value),
        dct_value=dct_value,
        gold=tuple(with_text),
    )


def load_dir(paths: Iterable[Path], limit: int | None = None) -> list[Document]:
    """Every .tml file under the given files or folders, sorted by name, at most `limit`."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(p.rglob("*.tml")))
        else:
            files.append(p)
    if limit is not None:
        files = files[:limit]
    return [parse_timeml(f.read_text(encoding="utf-8"), f.name) for f in files]


# --------------------------------------------------------------------------- gold periods

_SEASONS = {
    # Meteorological seasons, northern hemisphere; winter runs into the next year.
    "SP": ((3, 1), (5, 31), 0),
    "SU": ((6, 1), (8, 31), 0),
    "FA": ((9, 1), (11, 30), 0),
    "AU": ((9, 1), (11, 30), 0),
    "WI": ((12, 1), (2, 28), 1),
}


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def gold_period(value: str) -> tuple[date, date] | None:
    """The calendar period a TIMEX3 value names, first and last day inclusive; None if none.

    Handles YYYY-MM-DD (with any THH:MM / TMO-style time part: the day), YYYY-MM, YYYY,
    YYY (decade), YY (century), YYYY-Www, YYYY-Www-WE, YYYY-Qn, YYYY-Hn, YYYY-SP/SU/FA/WI.
    Anything with X, REF values, durations and sets have no period.
    """
    v = value.strip()
    if not v or "X" in v or v.startswith("P") or v.endswith("_REF"):
        return None
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:T.*)?", v):
            d = date(int(m[1]), int(m[2]), int(m[3]))
            return d, d
        if m := re.fullmatch(r"(\d{4})-(\d{2})", v):
            y, mo = int(m[1]), int(m[2])
            return date(y, mo, 1), _month_end(y, mo)
        if m := re.fullmatch(r"(\d{4})-W(\d{2})(-WE)?", v):
            y, w = int(m[1]), int(m[2])
            monday = date.fromisocalendar(y, w, 1)
            if m[3]:
                return date.fromisocalendar(y, w, 6), date.fromisocalendar(y, w, 7)
            return monday, date.fromisocalendar(y, w, 7)
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", v):
            y, q = int(m[1]), int(m[2])
            return date(y, 3 * q - 2, 1), _month_end(y, 3 * q)
        if m := re.fullmatch(r"(\d{4})-H([12])", v):
            y, h = int(m[1]), int(m[2])
            return date(y, 6 * h - 5, 1), _month_end(y, 6 * h)
        if m := re.fullmatch(r"(\d{4})-(SP|SU|FA|AU|WI)", v):
            y = int(m[1])
            (m1, d1), (m2, _), carry = _SEASONS[m[2]]
            return date(y, m1, d1), _month_end(y + carry, m2)
        if m := re.fullmatch(r"(\d{4})", v):
            y = int(m[1])
            return date(y, 1, 1), date(y, 12, 31)
        if m := re.fullmatch(r"(\d{3})", v):
            y = int(m[1]) * 10
            return date(max(y, 1), 1, 1), date(y + 9, 12, 31)
        if m := re.fullmatch(r"(\d{2})", v):
            y = int(m[1]) * 100
            return date(max(y, 1), 1, 1), date(y + 99, 12, 31)
    except ValueError:
        return None
    return None


# --------------------------------------------------------------------------- scoring


@dataclass
class Counts:
    """Raw counts over one or more documents; the rates are derived from them."""

    n_sys: int = 0
    n_gold: int = 0
    # TempEval-3 counts matches separately on each side: a system timex is right (precision)
    # when it overlaps some gold timex, a gold timex is found (recall) when some system timex
    # overlaps it.
    relaxed_sys: int = 0
    relaxed_gold: int = 0
    strict_sys: int = 0
    strict_gold: int = 0
    # Attributes are compared on one-to-one matched pairs, so no timex is credited twice.
    pairs: int = 0
    type_ok: int = 0
    value_ok: int = 0
    period_pairs: int = 0
    period_ok: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Scores:
    """TempEval-3 TIMEX3 figures derived from Counts."""

    relaxed_p: float
    relaxed_r: float
    relaxed_f1: float
    strict_p: float
    strict_r: float
    strict_f1: float
    type_p: float
    type_r: float
    type_f1: float
    value_p: float
    value_r: float
    value_f1: float
    value_accuracy: float
    in_period: float
    n_sys: int
    n_gold: int


def scores(c: Counts) -> Scores:
    """Rates from counts, TempEval-3 style: attribute P = correct/system, R = correct/gold."""
    rp, rr = _ratio(c.relaxed_sys, c.n_sys), _ratio(c.relaxed_gold, c.n_gold)
    sp, sr = _ratio(c.strict_sys, c.n_sys), _ratio(c.strict_gold, c.n_gold)
    tp, tr = _ratio(c.type_ok, c.n_sys), _ratio(c.type_ok, c.n_gold)
    vp, vr = _ratio(c.value_ok, c.n_sys), _ratio(c.value_ok, c.n_gold)
    return Scores(
        relaxed_p=rp,
        relaxed_r=rr,
        relaxed_f1=_f1(rp, rr),
        strict_p=sp,
        strict_r=sr,
        strict_f1=_f1(sp, sr),
        type_p=tp,
        type_r=tr,
        type_f1=_f1(tp, tr),
        value_p=vp,
        value_r=vr,
        value_f1=_f1(vp, vr),
        value_accuracy=_ratio(c.value_ok, c.pairs),
        in_period=_ratio(c.period_ok, c.period_pairs),
        n_sys=c.n_sys,
        n_gold=c.n_gold,
    )


def _overlap(a: Timex, b: Timex) -> int:
    return min(a.end, b.end) - max(a.start, b.start)


def _same_extent(a: Timex, b: Timex, text: str | None) -> bool:
    if (a.start, a.end) == (b.start, b.end):
        return True
    if text is None:
        return False
    # Whitespace at the edges is not part of an extent in TempEval-3's token-based scorer.
    return _trimmed(a, text) == _trimmed(b, text)


def _trimmed(t: Timex, text: str) -> tuple[int, int]:
    s, e = t.start, t.end
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def match_pairs(gold: Sequence[Timex], system: Sequence[Timex]) -> list[tuple[int, int]]:
    """One-to-one (gold index, system index) pairs among overlapping timexes.

    Exact extents pair first, then larger overlaps, then earlier positions, so the pairing is
    deterministic and each timex's attributes are compared with its best counterpart.
    """
    candidates: list[tuple[int, int, int, int, int]] = []
    for gi, g in enumerate(gold):
        for si, s in enumerate(system):
            if s.start >= g.end:
                break
            ov = _overlap(g, s)
            if ov > 0:
                exact = 0 if (g.start, g.end) == (s.start, s.end) else 1
                candidates.append((exact, -ov, g.start, gi, si))
    candidates.sort()
    used_g: set[int] = set()
    used_s: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, _, _, gi, si in candidates:
        if gi in used_g or si in used_s:
            continue
        used_g.add(gi)
        used_s.add(si)
        pairs.append((gi, si))
    pairs.sort()
    return pairs


def within(inner: tuple[date, date] | None, outer: tuple[date, date] | None) -> bool:
    """Whether inner lies inside outer (both inclusive day ranges)."""
    if inner is None or outer is None:
        return False
    return outer[0] <= inner[0] and inner[1] <= outer[1]


@dataclass
class DocResult:
    """One document's counts and the material for an error dump."""

    counts: Counts
    matched: list[tuple[Timex, Timex]] = field(default_factory=list)
    false_negatives: list[Timex] = field(default_factory=list)
    false_positives: list[Timex] = field(default_factory=list)
    extent_mismatches: list[tuple[Timex, Timex]] = field(default_factory=list)
    type_mismatches: list[tuple[Timex, Timex]] = field(default_factory=list)
    value_mismatches: list[tuple[Timex, Timex]] = field(default_factory=list)
    period_misses: list[tuple[Timex, Timex]] = field(default_factory=list)


def score_document(gold: Sequence[Timex], system: Sequence[Timex], text: str | None = None) -> DocResult:
    """Score one document's system timexes against its gold timexes.

    Both sequences must be sorted by start. `text` (the document) lets strict matching ignore
    whitespace at span edges.
    """
    gold = sorted(gold, key=lambda t: (t.start, t.end))
    system = sorted(system, key=lambda t: (t.start, t.end))
    c = Counts(n_sys=len(system), n_gold=len(gold))
    res = DocResult(counts=c)

    g_relaxed = [False] * len(gold)
    s_relaxed = [False] * len(system)
    g_strict = [False] * len(gold)
    s_strict = [False] * len(system)
    for gi, g in enumerate(gold):
        for si, s in enumerate(system):
            if s.start >= g.end:
                break
            if _overlap(g, s) > 0:
                g_relaxed[gi] = s_relaxed[si] = True
                if _same_extent(g, s, text):
                    g_strict[gi] = s_strict[si] = True
    c.relaxed_gold, c.relaxed_sys = sum(g_relaxed), sum(s_relaxed)
    c.strict_gold, c.strict_sys = sum(g_strict), sum(s_strict)
    res.false_negatives = [g for g, ok in zip(gold, g_relaxed) if not ok]
    res.false_positives = [s for s, ok in zip(system, s_relaxed) if not ok]

    for gi, si in match_pairs(gold, system):
        g, s = gold[gi], system[si]
        c.pairs += 1
        res.matched.append((g, s))
        if not _same_extent(g, s, text):
            res.extent_mismatches.append((g, s))
        if g.type == s.type:
            c.type_ok += 1
        else:
            res.type_mismatches.append((g, s))
        if g.value == s.value:
            c.value_ok += 1
        else:
            res.value_mismatches.append((g, s))
        if g.type in ("DATE", "TIME") and g.interval is not None:
            c.period_pairs += 1
            if within(s.interval, g.interval):
                c.period_ok += 1
            else:
                res.period_misses.append((g, s))
    return res
