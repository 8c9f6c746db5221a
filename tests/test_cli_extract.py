"""`tracker extract`: single-text JSON and the JSON-lines batch contract of interface.md."""

from __future__ import annotations

import io
import json
import selectors
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.cli.extract import BATCH_LINES, SERIAL_LINES, TASKS_PER_WORKER, parse_published, run_batch
from tracker.temporal import extract

ROOT = Path(__file__).resolve().parent.parent
TEXT = "He left yesterday and returns on March 22, 2024, officials said."
MENTION_KEYS = {"start", "end", "text", "type", "value"}


def _invoke(args: list[str], input: str | bytes | None = None) -> Any:
    return CliRunner().invoke(cli, args, input=input, catch_exceptions=False)


def _check_mentions(text: str, mentions: list[dict[str, Any]]) -> None:
    for m in mentions:
        assert MENTION_KEYS <= m.keys()
        assert text[m["start"] : m["end"]] == m["text"]
        assert m["type"] in {"DATE", "TIME", "DURATION", "SET"}


def _expected(text: str, published: date | datetime | None) -> list[dict[str, Any]]:
    # Round-trip through JSON so tuples and dates compare as the CLI prints them.
    return json.loads(json.dumps([m.to_dict() for m in extract(text, published)]))


def _by_text(mentions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["text"]: m for m in mentions}


# --------------------------------------------------------------------------- one text


def test_file_with_published_date(tmp_path: Path) -> None:
    path = tmp_path / "article.txt"
    path.write_text(TEXT, encoding="utf-8")
    result = _invoke(["extract", "--published", "2024-03-23", str(path)])
    assert result.exit_code == 0, result.output
    mentions = json.loads(result.output)
    _check_mentions(TEXT, mentions)
    found = _by_text(mentions)
    assert found["March 22, 2024"]["value"] == "2024-03-22"
    assert found["yesterday"]["value"] == "2024-03-22"
    assert mentions == _expected(TEXT, date(2024, 3, 23))
    # Indented, for people.
    assert result.output.startswith("[\n  {")


def test_stdin_default_and_dash_with_published_datetime() -> None:
    for args in (["extract"], ["extract", "-"]):
        result = _invoke([*args, "--published", "2024-03-23T09:30:00Z"], input=TEXT)
        assert result.exit_code == 0, result.output
        mentions = json.loads(result.output)
        _check_mentions(TEXT, mentions)
        assert _by_text(mentions)["yesterday"]["value"] == "2024-03-22"
        assert mentions == _expected(TEXT, datetime(2024, 3, 23, 9, 30, tzinfo=timezone.utc))


def test_without_published_still_finds_absolute_dates() -> None:
    result = _invoke(["extract"], input=TEXT)
    assert result.exit_code == 0, result.output
    assert _by_text(json.loads(result.output))["March 22, 2024"]["value"] == "2024-03-22"


def test_offsets_count_characters_not_bytes_and_ignore_a_bom(tmp_path: Path) -> None:
    text = "Zürich – “Déjà vu” on March 22, 2024."
    path = tmp_path / "utf8.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = _invoke(["extract", "--published", "2024-03-23", str(path)])
    assert result.exit_code == 0, result.output
    m = _by_text(json.loads(result.output))["March 22, 2024"]
    assert (m["start"], m["end"]) == (text.index("March"), text.index("March") + 14)


def test_empty_text_prints_an_empty_list() -> None:
    result = _invoke(["extract"], input="")
    assert result.exit_code == 0
    assert json.loads(result.output) == []


@pytest.mark.parametrize("bad", ["2024-13-01", "yesterday", "23/03/2024", "", "2024-03-23T25:00"])
def test_bad_published_is_a_usage_error(bad: str) -> None:
    result = CliRunner().invoke(cli, ["extract", "--published", bad], input=TEXT)
    assert result.exit_code == 2
    assert "--published" in result.output
    assert "Traceback" not in result.output


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["extract", str(tmp_path / "nope.txt")])
    assert result.exit_code == 2


def test_non_utf8_file_fails_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Caf\xe9 on March 22, 2024".encode("latin-1"))
    result = CliRunner().invoke(cli, ["extract", str(path)])
    assert result.exit_code == 1
    assert "not UTF-8" in result.output


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("2024-03-23", date(2024, 3, 23)),
        ("2024-03-23T09:30:00", datetime(2024, 3, 23, 9, 30)),
        ("2024-03-23T09:30:00Z", datetime(2024, 3, 23, 9, 30, tzinfo=timezone.utc)),
        (" 2024-03-23T09:30+02:00 ", datetime.fromisoformat("2024-03-23T09:30+02:00")),
    ],
)
def test_parse_published(value: str, parsed: date | datetime) -> None:
    got = parse_published(value)
    assert got == parsed and type(got) is type(parsed)


# --------------------------------------------------------------------------- batch


def _lines(n: int) -> list[dict[str, Any]]:
    texts = [
        "Shares fell 3% yesterday after the report.",
        "The summit is on March 22, 2024 in Geneva.",
        "Nothing temporal here at all.",
        "Talks resumed today; a vote is due 2024-04-15.",
    ]
    return [
        {"id": f"a{i}", "text": f"{texts[i % len(texts)]} Item {i}.", "published": "2024-04-01"}
        for i in range(n)
    ]


@pytest.mark.parametrize("workers", ["0", "2"])
def test_jsonl_keeps_order_for_2000_lines(workers: str) -> None:
    records = _lines(2000)
    data = "".join(json.dumps(r) + "\n" for r in records)
    result = _invoke(["extract", "--jsonl", "--workers", workers], input=data)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o["id"] for o in out] == [r["id"] for r in records]
    for rec, o in zip(records, out):
        assert o["mentions"] == _expected(rec["text"], date(2024, 4, 1))
    # Compact: one record per line, no pretty-printing.
    assert all(": " not in line[:12] for line in result.output.splitlines())


def test_jsonl_bad_lines_become_error_records_and_exit_1() -> None:
    data = "\n".join(
        [
            json.dumps({"id": 1, "text": "Signed yesterday.", "published": "2024-04-01"}),
            "",
            "this is not json",
            json.dumps({"id": "no-text"}),
            json.dumps({"id": 3, "text": 42}),
            json.dumps({"id": 4, "text": "Due today.", "published": "April first"}),
            json.dumps(["a", "list"]),
            "   ",
            json.dumps({"id": 5, "text": "Signed yesterday."}),
        ]
    )
    result = CliRunner().invoke(
        cli, ["extract", "--jsonl", "--published", "2024-03-23"], input=data + "\n"
    )
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, None, "no-text", 3, 4, None, 5]
    assert "mentions" in out[0] and "error" not in out[0]
    assert "line 3" in out[1]["error"] and "JSON" in out[1]["error"]
    assert "text" in out[2]["error"]
    assert "text" in out[3]["error"]
    assert "published" in out[4]["error"]
    assert "error" in out[5]
    # The line's own "published" wins; without one, --published is the default.
    assert out[0]["mentions"] == _expected("Signed yesterday.", date(2024, 4, 1))
    assert out[6]["mentions"] == _expected("Signed yesterday.", date(2024, 3, 23))
    assert "5 input line(s) failed" in result.stderr


def test_jsonl_invalid_utf8_line_is_an_error_record() -> None:
    data = b'{"id": 1, "text": "caf\xe9"}\n' + json.dumps({"id": 2, "text": "x"}).encode() + b"\n"
    result = CliRunner().invoke(cli, ["extract", "--jsonl"], input=data)
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert "UTF-8" in out[0]["error"] and out[1]["id"] == 2


def test_jsonl_line_separators_stay_escaped() -> None:
    data = json.dumps({"id": "a\u2028b", "text": "x\u2029y"}, ensure_ascii=False) + "\n"
    result = _invoke(["extract", "--jsonl"], input=data)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 1
    assert json.loads(result.stdout)["id"] == "a\u2028b"


def test_jsonl_empty_input() -> None:
    result = _invoke(["extract", "--jsonl"], input="")
    assert result.exit_code == 0 and result.output == ""


class _Recorder(io.BytesIO):
    """An output stream that notes how much input had been read at the first flush."""

    def __init__(self, consumed: list[int]) -> None:
        super().__init__()
        self.consumed = consumed
        self.at_first_flush: int | None = None

    def flush(self) -> None:
        if self.at_first_flush is None and self.getvalue():
            self.at_first_flush = self.consumed[0]
        super().flush()


@pytest.mark.parametrize("workers", [1, 2])
def test_batch_streams_instead_of_reading_everything(workers: int) -> None:
    consumed = [0]
    total = 5000

    def source() -> Iterator[bytes]:
        for rec in _lines(total):
            consumed[0] += 1
            yield (json.dumps(rec) + "\n").encode()

    out = _Recorder(consumed)
    sink = run_batch(source(), out, None, workers)
    assert sink.failed == 0
    assert out.at_first_flush == 1
    assert len(out.getvalue().splitlines()) == total


def test_pool_reads_a_bounded_window_ahead() -> None:
    consumed = [0]
    seen_at_write: list[int] = []

    class Out(io.BytesIO):
        def write(self, b: Any) -> int:
            seen_at_write.append(consumed[0])
            return super().write(b)

    def source() -> Iterator[bytes]:
        for rec in _lines(4000):
            consumed[0] += 1
            yield (json.dumps(rec) + "\n").encode()

    run_batch(source(), Out(), None, 2)
    # When line k is written, reading is at most a bounded window beyond it.
    window = BATCH_LINES * (2 * TASKS_PER_WORKER + 1)
    assert all(seen - k <= window for k, seen in enumerate(seen_at_write[SERIAL_LINES:], SERIAL_LINES + 1))


# --------------------------------------------------------------------------- real entry point


def _run(args: list[str], input: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracker", *args],
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        timeout=120,
    )


def test_entry_point_single_text() -> None:
    proc = _run(["extract", "--published", "2024-03-23"], TEXT)
    assert proc.returncode == 0, proc.stderr
    mentions = json.loads(proc.stdout)
    _check_mentions(TEXT, mentions)
    assert mentions == _expected(TEXT, date(2024, 3, 23))


def test_entry_point_bad_published_exit_2() -> None:
    proc = _run(["extract", "--published", "soon"], TEXT)
    assert proc.returncode == 2
    assert "--published" in proc.stderr and "Traceback" not in proc.stderr


def test_entry_point_jsonl_2000_lines_in_order_with_a_bad_line() -> None:
    records = _lines(2000)
    lines = [json.dumps(r) for r in records]
    lines.insert(1000, "{broken")
    proc = _run(["extract", "--jsonl"], "\n".join(lines) + "\n")
    assert proc.returncode == 1
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == 2001
    assert "error" in out[1000] and "line 1001" in out[1000]["error"]
    del out[1000]
    assert [o["id"] for o in out] == [r["id"] for r in records]
    assert out[-1]["mentions"] == _expected(records[-1]["text"], date(2024, 4, 1))
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("tracker: error:")


def test_entry_point_answers_each_line_before_input_ends() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker", "extract", "--jsonl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        for i in range(3):
            proc.stdin.write((json.dumps({"id": i, "text": "Signed yesterday."}) + "\n").encode())
            proc.stdin.flush()
            # stdin stays open: an answer now proves the command does not wait for EOF.
            assert sel.select(timeout=60), f"no answer to line {i + 1} while input is open"
            assert json.loads(proc.stdout.readline())["id"] == i
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0
