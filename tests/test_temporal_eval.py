"""The TempEval-3-style scorer of bench/temporal_eval.py on hand-made TimeML with known figures."""

from __future__ import annotations

import io
import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import temporal_eval  # noqa: E402
from _timeml import (  # noqa: E402
    Timex,
    gold_period,
    match_pairs,
    parse_timeml,
    score_document,
    scores,
)

TML = """<?xml version="1.0" ?>
<TimeML>
<DOCID>T1</DOCID>
<DCT><TIMEX3 tid="t0" type="DATE" value="1998-01-09" temporalFunction="false" functionInDocument="CREATION_TIME">19980109</TIMEX3></DCT>
<TEXT>On <TIMEX3 tid="t1" type="DATE" value="1998-01-08">Thursday</TIMEX3> &amp; <TIMEX3 tid="t2" type="DURATION" value="P3M">the past <EVENT eid="e1">three</EVENT> months</TIMEX3> and <TIMEX3 tid="t3" type="DATE" value="1997-10">October</TIMEX3>.</TEXT>
</TimeML>
"""


def test_parse_offsets_on_plain_text_and_dct_excluded() -> None:
    doc = parse_timeml(TML, "t1.tml")
    assert doc.text == "On Thursday & the past three months and October."
    assert doc.dct == date(1998, 1, 9)
    assert [(g.start, g.end, g.text, g.type, g.value) for g in doc.gold] == [
        (3, 11, "Thursday", "DATE", "1998-01-08"),
        (14, 35, "the past three months", "DURATION", "P3M"),
        (40, 47, "October", "DATE", "1997-10"),
    ]
    assert all(doc.text[g.start : g.end] == g.text for g in doc.gold)


def test_known_precision_recall_f1() -> None:
    doc = parse_timeml(TML)
    system = [
        Timex(0, 2, "On", "DATE", "1998-01-09", (date(1998, 1, 9), date(1998, 1, 9))),  # FP
        Timex(3, 11, "Thursday", "DATE", "1998-01-08", (date(1998, 1, 8), date(1998, 1, 8))),
        Timex(23, 35, "three months", "DURATION", "P3M"),  # relaxed only
        Timex(40, 47, "October", "DATE", "1998-10", (date(1998, 10, 1), date(1998, 10, 31))),
    ]
    res = score_document(doc.gold, system, doc.text)
    s = scores(res.counts)
    assert (s.n_sys, s.n_gold) == (4, 3)
    assert s.relaxed_p == pytest.approx(3 / 4)
    assert s.relaxed_r == pytest.approx(1.0)
    assert s.relaxed_f1 == pytest.approx(6 / 7)
    assert s.strict_p == pytest.approx(2 / 4)
    assert s.strict_r == pytest.approx(2 / 3)
    assert s.strict_f1 == pytest.approx(4 / 7)
    assert s.type_f1 == pytest.approx(6 / 7)
    # Value: 2 correct; P = 2/4, R = 2/3, F1 = 4/7 = value accuracy (2/3) * relaxed F1 (6/7).
    assert s.value_f1 == pytest.approx(4 / 7)
    assert s.value_f1 == pytest.approx(s.value_accuracy * s.relaxed_f1)
    assert s.in_period == pytest.approx(1 / 2)
    assert [t.text for t in res.false_positives] == ["On"]
    assert res.false_negatives == []
    assert [(g.text, t.text) for g, t in res.extent_mismatches] == [
        ("the past three months", "three months")
    ]
    assert [(g.value, t.value) for g, t in res.value_mismatches] == [("1997-10", "1998-10")]


def test_empty_system_and_empty_gold() -> None:
    doc = parse_timeml(TML)
    s = scores(score_document(doc.gold, [], doc.text).counts)
    assert (s.relaxed_p, s.relaxed_r, s.relaxed_f1, s.value_f1) == (0.0, 0.0, 0.0, 0.0)
    s = scores(score_document([], [Timex(0, 2, "On", "DATE", "x")]).counts)
    assert (s.relaxed_p, s.relaxed_r) == (0.0, 0.0)


def test_one_system_span_over_two_gold_counts_both_for_recall_but_pairs_once() -> None:
    gold = [Timex(0, 4, "2009", "DATE", "2009"), Timex(5, 9, "2010", "DATE", "2010")]
    system = [Timex(0, 9, "2009-2010", "DATE", "2009")]
    res = score_document(gold, system)
    s = scores(res.counts)
    assert (res.counts.relaxed_gold, res.counts.relaxed_sys) == (2, 1)
    assert s.relaxed_r == 1.0 and s.relaxed_p == 1.0
    assert res.counts.pairs == 1 and res.counts.value_ok == 1
    assert match_pairs(gold, system) == [(0, 0)]


def test_strict_ignores_edge_whitespace() -> None:
    text = "in 1998 ok"
    gold = [Timex(3, 7, "1998", "DATE", "1998")]
    system = [Timex(2, 7, " 1998", "DATE", "1998")]
    assert scores(score_document(gold, system, text).counts).strict_f1 == 1.0


@pytest.mark.parametrize(
    ("value", "period"),
    [
        ("1998-01-08", (date(1998, 1, 8), date(1998, 1, 8))),
        ("1998-01-20TEV", (date(1998, 1, 20), date(1998, 1, 20))),
        ("1998-02", (date(1998, 2, 1), date(1998, 2, 28))),
        ("1998", (date(1998, 1, 1), date(1998, 12, 31))),
        ("199", (date(1990, 1, 1), date(1999, 12, 31))),
        ("19", (date(1900, 1, 1), date(1999, 12, 31))),
        ("1998-W02", (date(1998, 1, 5), date(1998, 1, 11))),
        ("1998-W02-WE", (date(1998, 1, 10), date(1998, 1, 11))),
        ("1998-Q3", (date(1998, 7, 1), date(1998, 9, 30))),
        ("1998-H1", (date(1998, 1, 1), date(1998, 6, 30))),
        ("1998-SU", (date(1998, 6, 1), date(1998, 8, 31))),
        ("1998-WI", (date(1998, 12, 1), date(1999, 2, 28))),
        ("PRESENT_REF", None),
        ("P3M", None),
        ("1998-XX-XX", None),
        ("1998-13", None),
    ],
)
def test_gold_period(value: str, period: tuple[date, date] | None) -> None:
    assert gold_period(value) == period


def test_locate_in_order_maps_repeats_to_later_copies() -> None:
    text = "now and now, then now"
    assert temporal_eval.locate_in_order(text, ["now", "now", "now"]) == [(0, 3), (8, 11), (18, 21)]


def test_error_dump_is_readable() -> None:
    doc = parse_timeml(TML, "t1.tml")
    system = [
        Timex(0, 2, "On", "DATE", "1998-01-09"),
        Timex(40, 47, "October", "DATE", "1998-10", (date(1998, 10, 1), date(1998, 10, 31))),
    ]
    res = score_document(doc.gold, system, doc.text)
    out = io.StringIO()
    temporal_eval.write_errors(out, [(doc, res)])
    dump = out.getvalue()
    assert "=== t1.tml  DCT 1998-01-09" in dump
    assert "FP     sys  0-2 'On'" in dump
    assert "FN     gold 3-11 'Thursday' DATE 1998-01-08" in dump
    assert "  VALUE+PERIOD\n         gold 40-47 'October' DATE 1997-10" in dump
    assert "totals: FN 2, FP 1, EXTENT 0, TYPE 0, VALUE 1, PERIOD 1" in dump
    assert "[[October]]" in dump


def test_table_has_ratio_row() -> None:
    doc = parse_timeml(TML)
    s = scores(score_document(doc.gold, list(doc.gold), doc.text).counts)
    table = temporal_eval.format_table([("tracker", s, 1.0), ("dateparser search_dates", s, 2.0)])
    assert "ratio tracker/dp" in table.splitlines()[-1]
    assert table.splitlines()[-1].rstrip().endswith("0.50")


def test_by_type_breakdown() -> None:
    doc = parse_timeml(TML)
    system = [Timex(3, 11, "Thursday", "DATE", "1998-01-08"), Timex(40, 47, "October", "DATE", "1998-10")]
    table = temporal_eval.format_by_type([(doc, score_document(doc.gold, system, doc.text))])
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[1:]}
    assert rows == {"DATE": ["2", "1.000", "0.500"], "DURATION": ["1", "0.000", "0.000"]}
