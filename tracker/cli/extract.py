"""`tracker extract`: temporal expressions of one text as JSON, or a JSON-lines batch stream."""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date, datetime
from itertools import islice
from typing import IO, Any

import click

from tracker.cli import cli, echo_json

# Below this many lines the batch runs in-process: starting workers costs more than it saves,
# and a slow producer (someone typing, a tail -f) gets each answer at once.
SERIAL_LINES = 200
# Lines per task sent to a worker: large enough to amortize pickling, small enough to keep
# every worker busy and memory bounded.
BATCH_LINES = 64
# Tasks in flight per worker; bounds how far reading runs ahead of writing.
TASKS_PER_WORKER = 3


def parse_published(value: str) -> date | datetime:
    """An ISO 8601 date or datetime (a trailing Z means UTC); ValueError when it is neither."""
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(text)


class PublishedType(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click stubs
    """--published: an ISO 8601 date or datetime, else a usage error (exit 2)."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (date, datetime)):
            return value
        try:
            return parse_published(str(value))
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 date or datetime (e.g. 2024-03-23 or "
                "2024-03-23T09:30:00Z)",
                param,
                ctx,
            )


def _dumps(data: Any) -> str:
    line = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # JSON allows raw U+2028/U+2029, but line splitters (str.splitlines, JavaScript) treat them
    # as line ends; escaping keeps one record per line for every reader.
    return line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def process_line(
    number: int, raw: bytes, default_published: date | datetime | None
) -> tuple[bytes | None, str | None]:
    """One input line -> (output line, error message or None); None output for a blank line.

    Never raises: whatever is wrong with a line becomes that line's {"id", "error"} record.
    """
    from tracker.temporal import extract

    record_id: Any = None
    try:
        try:
            text_line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _LineError(f"not UTF-8 (byte {exc.start})") from None
        if not text_line.strip():
            return None, None
        try:
            obj = json.loads(text_line)
        except json.JSONDecodeError as exc:
            raise _LineError(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise _LineError(f"expected a JSON object, got {type(obj).__name__}")
        record_id = obj.get("id")
        text = obj.get("text")
        if text is None:
            raise _LineError('missing "text"')
        if not isinstance(text, str):
            raise _LineError(f'"text" must be a string, got {type(text).__name__}')
        published: date | datetime | None = default_published
        raw_published = obj.get("published")
        if raw_published is not None:
            if not isinstance(raw_published, str):
                raise _LineError('"published" must be an ISO 8601 string')
            try:
                published = parse_published(raw_published)
            except ValueError:
                raise _LineError(
                    f'"published" {raw_published!r} is not an ISO 8601 date or datetime'
                ) from None
        try:
            mentions = [m.to_dict() for m in extract(text, published)]
        except Exception as exc:  # noqa: BLE001 - a tagger bug must not stop the stream
            raise _LineError(f"extraction failed: {type(exc).__name__}: {exc}") from None
        out = _dumps({"id": record_id, "mentions": mentions})
        return (out + "\n").encode("utf-8"), None
    except _LineError as exc:
        message = f"line {number}: {exc}"
        try:
            out = _dumps({"id": record_id, "error": message})
        except (TypeError, ValueError):
            out = _dumps({"id": None, "error": message})
        return (out + "\n").encode("utf-8"), message


class _LineError(Exception):
    """Why one batch line has no mentions; becomes its error record."""


def process_batch(
    batch: list[tuple[int, bytes]], default_published: date | datetime | None
) -> list[tuple[bytes | None, str | None]]:
    """A worker task: process_line over consecutive lines, results in input order."""
    return [process_line(n, raw, default_published) for n, raw in batch]


def _warm_worker(parent: int) -> None:
    """Pool initializer: tie the worker's life to this command's, then load the tagger."""
    _end_with_parent(parent)
    # Import the tagger (and dateparser behind it) once per worker, before the first task.
    import tracker.temporal  # noqa: F401


def _end_with_parent(parent: int) -> None:
    """The worker ends when `parent` (this command, its parent process) does, kill -9 included.

    Nothing in multiprocessing does it: an idle worker whose parent was killed waits for
    tasks forever. On Linux the kernel sends SIGKILL (prctl PR_SET_PDEATHSIG); a thread
    watching the parent pid covers other systems, and a worker busy in a long C call.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)  # it died before the prctl: no signal will come
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    # An orphan is adopted by init (or a subreaper): its parent pid changes.
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_S)
    os._exit(1)


_PR_SET_PDEATHSIG = 1
_PARENT_CHECK_S = 0.5


def _pool_context() -> multiprocessing.context.BaseContext:
    # Workers must be this process's own children for _end_with_parent to watch it, and a
    # forkserver's workers are the server's: the platform's default method unless that is
    # the forkserver (Python 3.14 on Linux), then spawn.
    context = multiprocessing.get_context()
    return multiprocessing.get_context("spawn") if context.get_start_method() == "forkserver" else context


def default_workers() -> int:
    """CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _Batch:
    """Writes results in order, flushes, and remembers failures for the exit code."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.failed = 0
        self.first_error: str | None = None

    def write(self, results: Iterable[tuple[bytes | None, str | None]]) -> None:
        for line, error in results:
            if line is not None:
                self.out.write(line)
            if error is not None:
                self.failed += 1
                if self.first_error is None:
                    self.first_error = error
        self.out.flush()


def run_batch(
    lines: Iterator[bytes],
    out: IO[bytes],
    default_published: date | datetime | None,
    workers: int,
) -> _Batch:
    """Stream the JSON-lines contract from `lines` to `out`, in order, reading lazily."""
    sink = _Batch(out)
    numbered = enumerate(lines, start=1)
    for number, raw in islice(numbered, SERIAL_LINES):
        sink.write([process_line(number, raw, default_published)])
    if workers <= 1:
        for number, raw in numbered:
            sink.write([process_line(number, raw, default_published)])
        return sink

    first = list(islice(numbered, BATCH_LINES))
    if not first:
        return sink
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=_pool_context(), initializer=_warm_worker, initargs=(os.getpid(),)
    ) as pool:
        try:
            pending: deque[Future[list[tuple[bytes | None, str | None]]]] = deque()
            pending.append(pool.submit(process_batch, first, default_published))
            exhausted = False
            while pending:
                # Keep a bounded number of tasks ahead so workers never idle and memory stays
                # flat; results are taken strictly in submission order, which is input order.
                while not exhausted and len(pending) < workers * TASKS_PER_WORKER:
                    batch = list(islice(numbered, BATCH_LINES))
                    if not batch:
                        exhausted = True
                        break
                    pending.append(pool.submit(process_batch, batch, default_published))
                sink.write(pending.popleft().result())
        except BaseException:
            # A closed pipe (| head) or Ctrl-C: drop queued work instead of finishing it.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return sink


class _TextSink:
    """Bytes written to a text stream that has no binary buffer (e.g. an io.StringIO stdout)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, data: bytes) -> int:
        return self.stream.write(data.decode("utf-8"))

    def flush(self) -> None:
        self.stream.flush()


def _stdout_bytes() -> IO[bytes]:
    # UTF-8 bytes whatever the locale says, so ids and texts survive any terminal encoding.
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        sys.stdout.flush()
        return buffer  # type: ignore[no-any-return]
    return _TextSink(sys.stdout)  # type: ignore[return-value]


@cli.command("extract")
@click.option(
    "--published",
    type=PublishedType(),
    default=None,
    help="Publication date or datetime (ISO 8601) that relative expressions resolve against; "
    'with --jsonl, the default for lines without "published".',
)
@click.option("--jsonl", is_flag=True, help="Batch mode: JSON lines in, JSON lines out.")
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Worker processes for --jsonl (default: one per CPU; 0 or 1: none).",
)
@click.argument("source", type=click.File("rb"), default="-")
@click.pass_context
def extract_command(
    ctx: click.Context,
    published: date | datetime | None,
    jsonl: bool,
    workers: int | None,
    source: IO[bytes],
) -> None:
    """Find the temporal expressions in a text and print them as JSON.

    SOURCE is a UTF-8 text file, or - (the default) for standard input. Each
    mention has start/end (character offsets, end exclusive), text, type
    (DATE, TIME, DURATION, SET), value (TIMEX3), mod, granularity and,
    when the value names a calendar period, interval.

    With --jsonl, each input line is {"id": ..., "text": ..., "published":
    "2024-04-01"} and each output line is {"id": ..., "mentions": [...]}, in
    input order, written as results come. A line that is not valid JSON or
    has no "text" gets {"id": ..., "error": "..."} instead; the stream goes
    on and the exit code is 1. Blank lines are skipped.

    \b
    Examples:
      tracker extract --published 2024-03-23 article.txt
      echo "Talks resume next Tuesday." | tracker extract --published 2024-03-23T09:30:00Z
      tracker extract --jsonl articles.jsonl > mentions.jsonl
      tracker extract --jsonl --published 2024-04-01 - < articles.jsonl
    """
    if not jsonl:
        from tracker.temporal import extract

        data = source.read()
        try:
            # utf-8-sig: a BOM written by an editor is not part of the text the offsets count.
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise click.FileError(
                getattr(source, "name", "-"), f"not UTF-8 text (byte {exc.start})"
            ) from None
        echo_json([m.to_dict() for m in extract(text, published)])
        return

    out = _stdout_bytes()
    result = run_batch(
        iter(source), out, published, default_workers() if workers is None else workers
    )
    if result.failed:
        click.echo(
            f"tracker: error: {result.failed} input line(s) failed (first: {result.first_error})",
            err=True,
        )
        ctx.exit(1)
