"""Per-host politeness: at most N requests at once to a host, starts at least a delay apart."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tracker.errors import PageError


@dataclass
class _Host:
    active: int = 0  # requests holding a slot (waiting for their start time or running)
    next_start: float = 0.0  # monotonic time before which no request may start


class HostLimiter:
    """Slots per host name, shared by every thread of one PageFetcher.

    A request first takes one of `per_host` slots (waiting while all are taken), then
    books the next start time, `delay` after the previous booking, and sleeps until
    then. Booking under the lock spaces the starts across threads; sleeping outside it
    lets other hosts proceed.
    """

    def __init__(self, per_host: int, sleep: Callable[[float], None], monotonic: Callable[[], float]) -> None:
        if per_host < 1:
            raise ValueError(f"per_host must be at least 1, not {per_host}")
        self._per_host = per_host
        self._sleep = sleep
        self._monotonic = monotonic
        self._changed = threading.Condition()
        self._hosts: dict[str, _Host] = {}

    @contextlib.contextmanager
    def slot(self, host: str, *, delay: float, until: float | None) -> Iterator[None]:
        """Hold a slot for one request to `host` (a lower-case host name) while inside.

        `until`: the monotonic time by which the request must have started; PageError
        when the slot or the start time would come later.
        """
        start = self._book(host, delay, until)
        try:
            wait = start - self._monotonic()
            if wait > 0:
                self._sleep(wait)
            yield
        finally:
            with self._changed:
                state = self._hosts[host]
                state.active -= 1
                self._changed.notify_all()

    def _book(self, host: str, delay: float, until: float | None) -> float:
        with self._changed:
            state = self._hosts.setdefault(host, _Host())
            while state.active >= self._per_host:
                left = None if until is None else until - self._monotonic()
                if left is not None and left <= 0:
                    raise PageError(f"gave up waiting for a free connection to {host} (deadline)")
                self._changed.wait(left)
            now = self._monotonic()
            start = max(now, state.next_start)
            if until is not None and start >= until:
                raise PageError(
                    f"gave up: the next turn at {host} comes after the deadline ({start - now:.3g}s from now)"
                )
            state.next_start = start + delay
            state.active += 1
            self._prune(now)
            return start

    def _prune(self, now: float) -> None:
        # Under the lock. Idle hosts whose delay has passed hold nothing worth keeping.
        if len(self._hosts) < 1024:
            return
        for name in [n for n, s in self._hosts.items() if s.active == 0 and s.next_start <= now]:
            del self._hosts[name]
