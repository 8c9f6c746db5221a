"""Alert test support: a loopback HTTP receiver for apprise's json:// and form:// and webhooks, configs, helpers."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml

from test_digest_support import FEEDS, FakeClock
from tracker.app import Tracker, make_tracker
from tracker.config import load_config


@dataclass
class Hit:
    """One request as the receiver saw it; `answered`: the status it sent (None: never answered)."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None = None
    # time.monotonic() when it arrived.
    at: float = field(default_factory=time.monotonic)

    @property
    def payload(self) -> dict[str, str]:
        """The notification's fields: json:// sends JSON, form:// a form."""
        if self.headers.get("content-type", "").startswith("application/json"):
            data = json.loads(self.body)
            assert isinstance(data, dict)
            return data
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}

    @property
    def title(self) -> str:
        return self.payload["title"]

    @property
    def message(self) -> str:
        return self.payload["message"]


@dataclass
class Answer:
    """How the receiver answers one request: a status, after `delay` seconds, or not until
    released (`stall`)."""

    status: int = 200
    delay: float = 0.0
    stall: bool = False


@dataclass
class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records every POST.

    `answers[path]` decides each answer from the request's number on that path (1-based);
    by default 200 at once. A stalled request waits until release() or stop().
    """

    hits: list[Hit] = field(default_factory=list)
    answers: dict[str, Callable[[int], Answer]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, scheme: str, path: str) -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def release(self) -> None:
        self._released.set()

    def to(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def delivered(self, path: str) -> list[Hit]:
        """What a sender was told was taken: answered 2xx."""
        return [h for h in self.to(path) if h.answered is not None and 200 <= h.answered < 300]

    # Used by the handler.
    def _take(self, hit: Hit) -> Answer:
        with self._lock:
            self.hits.append(hit)
            n = sum(1 for h in self.hits if h.path == hit.path)
            rule = self.answers.get(hit.path)
        return rule(n) if rule is not None else Answer()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            hit = Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            answer = receiver._take(hit)
            if answer.stall:
                receiver._released.wait(60)
            elif answer.delay:
                time.sleep(answer.delay)
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                hit.answered = answer.status
            except OSError:
                pass  # the sender gave up (a timeout) or died

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp_path: Path, targets: Sequence[Mapping[str, Any]], *, database: str | None = None,
                 feeds: Sequence[str] = FEEDS) -> Path:
    """feeds.yaml in tmp_path with the digest tests' topics and feeds, and these alert targets."""
    data = {
        "database": database or f"sqlite:///{tmp_path / 'tracker.db'}",
        "topics": {
            "sora": {"title": "OpenAI Sora", "keywords": ["Sora"]},
            "hollywood-meetings": {"title": "Hollywood meetings", "keywords": ["Hollywood"]},
            "strikes": {"keywords": ["strike*"]},
        },
        "feeds": [{"name": name, "url": f"{name}.xml"} for name in feeds],
        "alerts": [dict(t) for t in targets],
    }
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def open_tracker(config: Path, clock: FakeClock | None = None) -> Tracker:
    return make_tracker(load_config(config), clock=clock or FakeClock(), processes=0)


def titles(hits: Sequence[Hit]) -> list[str]:
    return [h.title for h in hits]
