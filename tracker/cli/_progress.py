"""A one-line progress count ("polled 12/40 feeds") on stderr, only when stderr is a terminal."""

from __future__ import annotations

import sys
from typing import TextIO

import click


class Progress:
    """Rewrites one line of stderr with `\\r`; does nothing at all on a pipe or a file.

    Lines the command prints meanwhile go through echo(), which clears the count first
    so the two never share a line on a terminal.
    """

    def __init__(self, verb: str, noun: str, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.verb, self.noun, self.total = verb, noun, total
        self.active = enabled and total > 0 and _is_terminal(self.stream)
        self._shown = ""
        self._done = 0

    def update(self, done: int) -> None:
        self._done = done
        if self.active:
            self._draw(f"{self.verb} {done}/{self.total} {self.noun}")

    def echo(self, line: str, *, err: bool = False) -> None:
        """click.echo(line) without tearing the progress line: cleared, printed, redrawn."""
        self.clear()
        click.echo(line, err=err)
        self.update(self._done)

    def clear(self) -> None:
        # Spaces rather than an ANSI erase: every terminal understands them.
        if self.active and self._shown:
            self.stream.write("\r" + " " * len(self._shown) + "\r")
            self.stream.flush()
            self._shown = ""

    def _draw(self, text: str) -> None:
        pad = " " * max(0, len(self._shown) - len(text))
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._shown = text


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
