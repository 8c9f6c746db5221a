"""A real loopback HTTP server for tests, with routes configured per test."""

from __future__ import annotations

import functools
import gzip
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass
class Reply:
    """How a route answers.

    `etag`/`last_modified` make the route answer 304 to a matching conditional request.
    `stream` replaces `body` with chunks sent without a Content-Length, `chunk_delay`
    apart; `delay` holds back the whole response.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    stream: Callable[[], Iterable[bytes]] | None = None
    chunk_delay: float = 0.0
    gzip: bool = False


@dataclass(frozen=True)
class Request:
    """One request as the server saw it; header names lower-case."""

    method: str
    path: str
    headers: dict[str, str]


Route = Reply | Callable[[Request], Reply]


@functools.cache
def gzip_bomb(size: int = 10 * 2**20) -> bytes:
    """`size` zero bytes, gzip-compressed (10 MiB shrinks to about 10 KiB)."""
    return gzip.compress(b"\0" * size, compresslevel=9)


def endless(chunk: bytes = b" ") -> Callable[[], Iterator[bytes]]:
    """A stream that never ends (stopped by the client hanging up or the server stopping)."""
    return lambda: itertools.repeat(chunk)


class FeedServer:
    """A threaded http.server on 127.0.0.1 with a free port.

    Unknown paths answer 404. Every request is logged in `requests`, every accepted
    connection counted in `connections`. `keep_alive` answers in HTTP/1.1 and keeps
    connections open between requests (streamed replies still end with the connection).
    """

    def __init__(self, *, keep_alive: bool = False) -> None:
        self.keep_alive = keep_alive
        self.connections = 0
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def route(self, path: str, reply: Route) -> str:
        """Serve `reply` (or call it per request) at `path`; returns the full URL."""
        with self._lock:
            self.routes[path] = reply
        return self.url(path)

    def feed(self, path: str, body: bytes | str, **options: object) -> str:
        """Serve a static document at `path`."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.route(path, Reply(body=data, **options))  # type: ignore[arg-type]

    def redirect(self, path: str, to: str, status: int = 301) -> str:
        """Redirect `path` to `to` (a path on this server or a full URL)."""
        target = to if "://" in to else self.url(to)
        return self.route(path, Reply(status=status, headers={"Location": target}, content_type=None))

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # Used by the handler.
    def _connected(self) -> None:
        with self._lock:
            self.connections += 1

    def _record(self, request: Request) -> Route | None:
        with self._lock:
            self.requests.append(request)
            return self.routes.get(request.path) or self.routes.get(request.path.split("?")[0])

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False when it is."""
        return not self._stopping.wait(seconds) if seconds > 0 else not self._stopping.is_set()


def _make_handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0 unless keep_alive: one request per connection, and a streamed body
        # simply ends at close.
        protocol_version = "HTTP/1.1" if server.keep_alive else "HTTP/1.0"

        def setup(self) -> None:
            super().setup()
            server._connected()

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            request = Request("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
            route = server._record(request)
            if route is None:
                self._send(Reply(status=404, body=b"not here", content_type="text/plain"))
                return
            reply = route(request) if callable(route) else route
            if reply.delay and not server._sleep(reply.delay):
                return
            if _not_modified(reply, request):
                extra = {"ETag": reply.etag} if reply.etag else {}
                self._send(Reply(status=304, headers={**reply.headers, **extra}, content_type=None))
                return
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            try:
                self.send_response(reply.status)
                headers = dict(reply.headers)
                if reply.content_type:
                    headers.setdefault("Content-Type", reply.content_type)
                if reply.etag:
                    headers.setdefault("ETag", reply.etag)
                if reply.last_modified:
                    headers.setdefault("Last-Modified", reply.last_modified)
                body = reply.body
                if reply.gzip:
                    body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
                if reply.stream is None and reply.status != 304:
                    headers.setdefault("Content-Length", str(len(body)))
                elif reply.stream is not None and server.keep_alive:
                    # Without a length, only the end of the connection ends the body.
                    headers.setdefault("Connection", "close")
                    self.close_connection = True
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if reply.status == 304:
                    return
                if reply.stream is None:
                    self.wfile.write(body)
                    return
                for chunk in reply.stream():
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    if not server._sleep(reply.chunk_delay):
                        return
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up, as clients enforcing limits should

    return Handler


def _not_modified(reply: Reply, request: Request) -> bool:
    if reply.status != 200:
        return False
    if reply.etag and "if-none-match" in request.headers:
        tags = [t.strip() for t in request.headers["if-none-match"].split(",")]
        return reply.etag in tags or "*" in tags
    if reply.last_modified and "if-modified-since" in request.headers:
        return request.headers["if-modified-since"] == reply.last_modified
    return False


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll `predicate` until it holds or `timeout` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
