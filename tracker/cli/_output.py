"""Writing a command's output: to stdout, or to a file that is replaced only once the output is whole."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import click

from tracker.errors import TrackerError, UsageError

# Formats a file's extension implies when --format is not given.
FORMAT_BY_SUFFIX = {
    ".json": "json",
    ".csv": "csv",
    ".ics": "ics",
    ".atom": "atom",
    ".xml": "atom",
    ".html": "html",
    ".htm": "html",
    ".txt": "table",
}

# The path itself is unusable (a usage error, exit 2), as opposed to a write that failed midway.
_BAD_PATH = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENAMETOOLONG}


def format_for(path: str | None) -> str | None:
    """The format that `-o path` implies by its extension, or None."""
    if path is None or path == "-":
        return None
    return FORMAT_BY_SUFFIX.get(Path(path).suffix.lower())


def is_stdout(path: str | None) -> bool:
    return path is None or path == "-"


def write_output(path: str | None, text: str) -> None:
    """Write text to stdout ("-" or None) or to path.

    A file is written beside its target and renamed over it at the end, so a failure
    (or an error before anything was rendered) leaves an existing file untouched.
    Devices and FIFOs (`-o /dev/stderr`) are written through. Every OSError becomes one
    line naming the path.
    """
    if is_stdout(path):
        click.echo(text, nl=False)
        return
    assert path is not None
    try:
        _write_file(Path(os.path.realpath(path)), text)
    except OSError as exc:
        error: type[TrackerError] = UsageError if exc.errno in _BAD_PATH else TrackerError
        raise error(f"cannot write {path}: {exc.strerror or exc}") from exc


def _write_file(target: Path, text: str) -> None:
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8") as f:
            f.write(text)
        return
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
