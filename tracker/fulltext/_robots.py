"""robots.txt: what an answer allows (urllib.robotparser), cached per origin with a lifetime."""

from __future__ import annotations

import threading
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass

from tracker.errors import PageError

# RFC 9309 asks crawlers to read at least 500 KiB; past that the file is cut.
MAX_ROBOTS_BYTES = 500 * 1024
# An unreachable robots.txt (network error, 5xx, 429) disallows everything, but only
# for this long: the server is asked again soon rather than after the full lifetime.
RETRY_UNREACHABLE = 300.0
# A Crawl-delay above this is honoured only up to this: a page queue must move.
MAX_CRAWL_DELAY = 30.0


@dataclass(frozen=True)
class RobotRules:
    """What one origin's robots.txt says: all allowed, all disallowed, or parsed rules."""

    allow_all: bool = False
    disallow_all: bool = False
    parser: urllib.robotparser.RobotFileParser | None = None
    # Why everything is disallowed, for the refusal message.
    reason: str = ""

    def allows(self, url: str, user_agent: str) -> bool:
        if self.disallow_all:
            return False
        if self.allow_all or self.parser is None:
            return True
        return self.parser.can_fetch(user_agent, url)

    def crawl_delay(self, user_agent: str) -> float:
        """The Crawl-delay for `user_agent` in seconds (0 without one), at most MAX_CRAWL_DELAY."""
        if self.parser is None:
            return 0.0
        try:
            delay = self.parser.crawl_delay(user_agent)
        except (TypeError, ValueError):
            return 0.0
        if delay is None:
            return 0.0
        try:
            seconds = float(delay)
        except (TypeError, ValueError):
            return 0.0
        return min(max(seconds, 0.0), MAX_CRAWL_DELAY)


ALLOW_ALL = RobotRules(allow_all=True)


def rules_from_body(body: bytes) -> RobotRules:
    """The rules of a robots.txt that was found (2xx), cut at MAX_ROBOTS_BYTES."""
    if len(body) > MAX_ROBOTS_BYTES:
        # Cut at a line end, so no rule is half read.
        body = body[:MAX_ROBOTS_BYTES].rpartition(b"\n")[0]
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(text.splitlines())
    return RobotRules(parser=parser)


def rules_for_status(status: int | None) -> tuple[RobotRules, bool]:
    """(rules, lasting) for a robots.txt that could not be read: `status` is the HTTP
    status, None for a network error. `lasting` is False when the answer should be
    asked again after RETRY_UNREACHABLE rather than after the full lifetime.

    The usual convention (RFC 9309, and what the big crawlers do): 401 and 403 forbid
    everything, other 4xx (404, 410...) mean there are no rules, and a server that
    cannot answer (5xx, 429, network) is taken to forbid everything for a while.
    """
    if status in (401, 403):
        return RobotRules(disallow_all=True, reason=f"robots.txt answered HTTP {status}"), True
    if status is not None and 400 <= status < 500 and status != 429:
        return ALLOW_ALL, True
    why = f"HTTP {status}" if status is not None else "unreachable"
    return RobotRules(disallow_all=True, reason=f"robots.txt {why}"), False


class RobotsCache:
    """Rules per origin (scheme://host:port), each loaded once and kept for its lifetime.

    Thread-safe: threads asking for one origin while its robots.txt is being fetched
    wait for that fetch rather than starting their own.
    """

    def __init__(self, ttl: float, monotonic: Callable[[], float]) -> None:
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[RobotRules, float]] = {}  # origin -> (rules, expires)
        self._loading: dict[str, threading.Lock] = {}

    def get(self, origin: str, load: Callable[[], tuple[RobotRules, bool]], wait: float | None) -> RobotRules:
        """The rules of `origin`, calling `load` (-> rules, lasting) when none are fresh.

        `wait`: seconds to wait at most for another thread's load of the same origin.
        """
        cached = self._fresh(origin)
        if cached is not None:
            return cached
        with self._lock:
            gate = self._loading.setdefault(origin, threading.Lock())
        if not gate.acquire(timeout=-1 if wait is None else max(wait, 0.0)):
            raise PageError(f"gave up waiting for the robots.txt of {origin}")
        try:
            cached = self._fresh(origin)
            if cached is not None:
                return cached
            rules, lasting = load()
            lifetime = self._ttl if lasting else min(self._ttl, RETRY_UNREACHABLE)
            with self._lock:
                self._entries[origin] = (rules, self._monotonic() + lifetime)
                self._prune()
            return rules
        finally:
            gate.release()

    def _fresh(self, origin: str) -> RobotRules | None:
        with self._lock:
            entry = self._entries.get(origin)
        if entry is not None and self._monotonic() < entry[1]:
            return entry[0]
        return None

    def _prune(self) -> None:
        # Called under the lock; a long-running daemon meets many hosts.
        if len(self._entries) < 4096:
            return
        now = self._monotonic()
        for origin in [o for o, (_, expires) in self._entries.items() if expires <= now]:
            del self._entries[origin]
            lock = self._loading.get(origin)
            if lock is not None and not lock.locked():
                del self._loading[origin]
