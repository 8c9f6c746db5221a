"""HTTP and local-file fetching with limits and conditional GET."""

from __future__ import annotations

import email.utils
import socket
import threading
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tracker import __version__
from tracker.clock import Clock, system_clock
from tracker.errors import FeedGone, FetchError

DEFAULT_USER_AGENT = f"tracker/{__version__} (+https://github.com/tracker)"
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
_PERMANENT = frozenset({301, 308})
_FILE_CHUNK = 64 * 1024
_FILE_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml", ".rdf": "application/rdf+xml"}


@dataclass(frozen=True)
class Validators:
    """What a server gave us to make the next request conditional."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """A fetched document, or the news that it has not changed (status 304)."""

    url: str
    status: int
    body: bytes | None
    headers: Mapping[str, str]
    validators: Validators
    permanent_redirect: str | None
    max_age: float | None
    elapsed: float
    # Each redirect hop taken: (status, target URL).
    redirects: tuple[tuple[int, str], ...] = field(default=())

    @property
    def not_modified(self) -> bool:
        """True when the server answered 304 and there is nothing to parse."""
        return self.status == 304


class Fetcher:
    """Fetches feeds over HTTP(S) or from disk under one set of limits.

    Thread-safe: it keeps no per-request state, and httpx.Client is safe to share.
    """

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        max_bytes: int = 15 * 2**20,
        timeout: float = 20.0,
        deadline: float = 60.0,
        max_redirects: int = 10,
        base_dir: Path | None = None,
        clock: Clock = system_clock,
        max_connections: int = 20,
    ) -> None:
        """`max_connections`: the size of the connection pool of the client made here
        (an injected client keeps its own); give it the number of polling threads, so
        that no thread waits for a connection and kept-alive ones are reused."""
        self._owns_client = client is None
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = client if client is not None else httpx.Client(limits=limits)
        self.user_agent = user_agent
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.deadline = deadline
        self.max_redirects = max_redirects
        self.base_dir = base_dir
        self._clock = clock

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client if this fetcher created it (an injected one is the caller's)."""
        if self._owns_client:
            self._client.close()

    def fetch(
        self,
        url: str,
        validators: Validators = Validators(),
        *,
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> FetchResult:
        """Fetch `url` (http, https, file, or a path relative to base_dir).

        Raises FeedGone on 410 and FetchError on anything else that yields no usable
        document: network errors, timeouts, the deadline, non-2xx statuses, a body over
        max_bytes, a missing file.
        """
        started = time.monotonic()
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme in ("http", "https"):
            return self._fetch_http(
                url,
                validators,
                timeout if timeout is not None else self.timeout,
                deadline if deadline is not None else self.deadline,
                started,
            )
        # A one-letter "scheme" is a Windows drive letter, i.e. a path.
        if scheme == "file" or scheme == "" or len(scheme) == 1:
            return self._fetch_file(url, validators, started)
        raise FetchError(f"unsupported URL scheme {scheme!r} in {url} (use http, https or file)")

    # --- local files ---------------------------------------------------------------

    def _fetch_file(self, url: str, validators: Validators, started: float) -> FetchResult:
        path = self._local_path(url)
        # Modification time and size play the part of an ETag: an unchanged file is
        # "not modified" and costs no parsing, as a 304 does.
        try:
            stat = path.stat()
        except FileNotFoundError as exc:
            raise FetchError(f"file not found: {path}") from exc
        except OSError as exc:
            raise FetchError(f"could not read {path}: {exc.strerror or exc}") from exc
        tag = f'"file-{stat.st_mtime_ns}-{stat.st_size}"'
        headers = {
            # Lets the parser resolve relative links against the file's own location.
            "content-location": path.absolute().as_uri(),
            # A file has no HTTP content type; without one feedparser flags every local
            # feed as "non-XML". It still sniffs HTML and reads the XML declaration.
            "content-type": _FILE_TYPES.get(path.suffix.lower(), "application/xml"),
        }
        if validators.etag == tag:
            return FetchResult(
                url=url, status=304, body=None, headers=headers, validators=validators,
                permanent_redirect=None, max_age=None, elapsed=time.monotonic() - started,
            )
        chunks: list[bytes] = []
        size = 0
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(_FILE_CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(f"file larger than {_format_size(self.max_bytes)}: {path}")
                    chunks.append(chunk)
        except FileNotFoundError as exc:
            raise FetchError(f"file not found: {path}") from exc
        except IsADirectoryError as exc:
            raise FetchError(f"is a directory, not a feed file: {path}") from exc
        except PermissionError as exc:
            raise FetchError(f"permission denied reading {path}") from exc
        except OSError as exc:
            raise FetchError(f"could not read {path}: {exc.strerror or exc}") from exc
        return FetchResult(
            url=url,
            status=200,
            body=b"".join(chunks),
            headers=headers,
            validators=Validators(etag=tag),
            permanent_redirect=None,
            max_age=None,
            elapsed=time.monotonic() - started,
        )

    def _local_path(self, url: str) -> Path:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() == "file":
            if parts.netloc not in ("", "localhost"):
                raise FetchError(f"file URL names another host ({parts.netloc}): {url}")
            path = Path(urllib.request.url2pathname(parts.path))
        else:
            path = Path(url).expanduser()
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return path

    # --- HTTP ----------------------------------------------------------------------

    def _fetch_http(
        self, url: str, validators: Validators, timeout: float, deadline: float, started: float
    ) -> FetchResult:
        # Only encodings decoded here with bounded memory (see _decoded).
        headers = {"User-Agent": self.user_agent, "Accept": _ACCEPT, "Accept-Encoding": "gzip, deflate"}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        host = urllib.parse.urlsplit(url).hostname or url
        try:
            request = self._client.build_request("GET", url, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            raise FetchError(f"invalid URL {url}: {exc}") from exc

        redirects: list[tuple[int, str]] = []
        # Redirects are followed here rather than by httpx so that the limit holds for
        # any injected client and the deadline shrinks each hop's timeout.
        while True:
            remaining = deadline - (time.monotonic() - started)
            if remaining <= 0:
                raise FetchError(f"gave up after {_format_seconds(deadline)} (deadline) fetching {url}")
            effective = min(timeout, remaining)
            request.extensions = {**request.extensions, "timeout": httpx.Timeout(effective).as_dict()}
            host = request.url.host or host
            try:
                response = self._client.send(request, stream=True, follow_redirects=False)
            except httpx.TimeoutException as exc:
                raise self._timeout_error(exc, host, timeout, deadline, started) from exc
            except httpx.HTTPError as exc:
                raise _transport_error(exc, host) from exc
            try:
                next_request = response.next_request
                if next_request is not None:
                    if len(redirects) >= self.max_redirects:
                        raise FetchError(
                            f"too many redirects (more than {self.max_redirects}) starting at {url}"
                        )
                    redirects.append((response.status_code, str(next_request.url)))
                    request = next_request
                    continue
                return self._finish(response, validators, redirects, deadline, started)
            except httpx.TimeoutException as exc:
                raise self._timeout_error(exc, host, timeout, deadline, started) from exc
            except httpx.HTTPError as exc:
                raise _transport_error(exc, host) from exc
            finally:
                response.close()

    def _finish(
        self,
        response: httpx.Response,
        old: Validators,
        redirects: list[tuple[int, str]],
        deadline: float,
        started: float,
    ) -> FetchResult:
        status = response.status_code
        headers = {key.lower(): value for key, value in response.headers.items()}
        final_url = str(response.url)
        if status == 410:
            raise FeedGone(f"HTTP 410 Gone: the feed at {final_url} was removed for good", status=410)
        if status != 304 and not 200 <= status < 300:
            retry_after = _retry_after(headers, self._clock)
            reason = response.reason_phrase or ""
            message = f"HTTP {status} {reason}".rstrip()
            if 300 <= status < 400:
                message += " without a Location header"
            if retry_after is not None:
                message += f" (retry after {_format_seconds(retry_after)})"
            raise FetchError(message, status=status, retry_after=retry_after)

        body: bytes | None = None
        if status != 304:
            body = self._read_body(response, headers, final_url, deadline, started)
        # The parser resolves relative links against this; a relative Content-Location is
        # relative to the URL we fetched.
        headers["content-location"] = urllib.parse.urljoin(final_url, headers.get("content-location", ""))

        validators = Validators(
            etag=headers.get("etag") or (old.etag if status == 304 else None),
            last_modified=headers.get("last-modified") or (old.last_modified if status == 304 else None),
        )
        return FetchResult(
            url=final_url,
            status=status,
            body=body,
            headers=headers,
            validators=validators,
            permanent_redirect=_permanent_target(redirects),
            max_age=_max_age(headers, self._clock),
            elapsed=time.monotonic() - started,
            redirects=tuple(redirects),
        )

    def _read_body(
        self,
        response: httpx.Response,
        headers: Mapping[str, str],
        url: str,
        deadline: float,
        started: float,
    ) -> bytes:
        limit = self.max_bytes
        too_large = f"response larger than {_format_size(limit)} from {url}"
        declared = headers.get("content-length", "")
        # Without content-encoding the declared length is the decoded length: refuse early.
        if declared.isdigit() and int(declared) > limit and not headers.get("content-encoding"):
            raise FetchError(too_large)
        chunks: list[bytes] = []
        size = 0

        def past_deadline() -> FetchError:
            return FetchError(
                f"gave up after {_format_seconds(deadline)} (deadline) reading {url}: "
                f"{_format_size(size)} received so far"
            )

        watchdog = _Watchdog(response, deadline - (time.monotonic() - started))
        try:
            # The cap applies to decoded bytes, counted as they are produced, so a
            # compression bomb stops a slice past the limit instead of being inflated whole.
            for chunk in _decoded(response, headers.get("content-encoding", ""), url):
                size += len(chunk)
                if size > limit:
                    raise FetchError(too_large)
                chunks.append(chunk)
                # A server trickling bytes never trips the read timeout; the deadline does.
                if time.monotonic() - started > deadline:
                    raise past_deadline()
        except httpx.HTTPError as exc:
            if watchdog.fired:
                raise past_deadline() from exc
            raise
        finally:
            watchdog.cancel()
        # A close-delimited body just looks complete when the watchdog cut it short.
        if watchdog.fired:
            raise past_deadline()
        return b"".join(chunks)

    def _timeout_error(
        self,
        exc: httpx.TimeoutException,
        host: str,
        timeout: float,
        deadline: float,
        started: float,
    ) -> FetchError:
        if time.monotonic() - started >= deadline - 0.05:
            return FetchError(f"gave up after {_format_seconds(deadline)} (deadline) fetching from {host}")
        doing = {
            httpx.ConnectTimeout: "connecting to",
            httpx.ReadTimeout: "waiting for",
            httpx.WriteTimeout: "sending to",
            httpx.PoolTimeout: "waiting for a free connection to",
        }.get(type(exc), "talking to")
        return FetchError(f"timed out after {_format_seconds(timeout)} {doing} {host}")


class _Watchdog:
    """Cuts the connection under a response when the deadline passes.

    The per-chunk deadline check cannot interrupt a read that is already waiting, and
    httpcore fixes a body's read timeout when the body starts, so a server sending a
    byte just before each read timeout would otherwise overrun the deadline by up to one
    timeout. Shutting the socket down wakes the blocked read at once.
    """

    def __init__(self, response: httpx.Response, seconds: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._done = False
        self._timer: threading.Timer | None = None
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        # Other transports (mocks, HTTP/2) give no socket: the per-chunk check remains.
        if isinstance(sock, socket.socket):
            self._timer = threading.Timer(max(0.0, seconds), self._fire, args=(sock,))
            self._timer.daemon = True
            self._timer.start()

    def _fire(self, sock: socket.socket) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            try:
                # The base-class method: SSLSocket.shutdown would also drop its SSL
                # object under the reading thread's feet.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self) -> None:
        with self._lock:
            self._done = True
        if self._timer is not None:
            self._timer.cancel()


# zlib output per step: small enough that one network chunk of a gzip bomb (64 KiB can
# inflate to 64 MiB) never materialises at once.
_INFLATE_STEP = 256 * 1024


def _decoded(response: httpx.Response, content_encoding: str, url: str) -> Iterator[bytes]:
    """The response body, decoded from gzip/deflate in bounded slices."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        yield from response.iter_raw()
        return
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        # Not something we asked for; httpx decodes what it can (unbounded per chunk,
        # but only a misbehaving server gets here).
        yield from response.iter_bytes()
        return
    inflater = _Inflater(codings[0])
    try:
        for raw in response.iter_raw():
            yield from inflater.feed(raw)
        yield from inflater.feed(b"")
    except zlib.error as exc:
        host = urllib.parse.urlsplit(url).hostname or url
        raise FetchError(f"could not decode the {codings[0]} response from {host}: {exc}") from exc


class _Inflater:
    """Incremental gzip/deflate decoding with bounded output per step."""

    def __init__(self, coding: str) -> None:
        self._gzip = coding != "deflate"
        self._started = False
        self._pending = b""
        self._inflate = self._new(raw_deflate=False)

    def _new(self, *, raw_deflate: bool) -> Any:
        if self._gzip:
            return zlib.decompressobj(zlib.MAX_WBITS | 16)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self._started and not self._gzip:
            # "deflate" is zlib-wrapped by the spec and raw by common misuse: decide on
            # the first bytes, as browsers do.
            self._pending += data
            if len(self._pending) < 2 and data:
                return
            data, self._pending = self._pending, b""
            try:
                zlib.decompressobj().decompress(data[:2])
            except zlib.error:
                self._inflate = self._new(raw_deflate=True)
        self._started = True
        while True:
            out = self._inflate.decompress(data, _INFLATE_STEP)
            data = self._inflate.unconsumed_tail
            if out:
                yield out
            if self._inflate.eof:
                rest = self._inflate.unused_data
                # Concatenated gzip members are one body; anything after a deflate
                # stream is junk and ignored, as httpx does.
                if not (self._gzip and rest.strip(b"\0")):
                    return
                self._inflate = self._new(raw_deflate=False)
                data = rest
                continue
            # A full slice may leave more output pending inside zlib even when the
            # input is used up.
            if not data and len(out) < _INFLATE_STEP:
                return


def _transport_error(exc: httpx.HTTPError, host: str) -> FetchError:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return FetchError(f"could not connect to {host}: {detail}")
    if isinstance(exc, httpx.DecodingError):
        return FetchError(f"could not decode the response from {host}: {detail}")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return FetchError(f"unsupported redirect target from {host}: {detail}")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return FetchError(f"connection to {host} failed: {detail}")
    return FetchError(f"request to {host} failed: {type(exc).__name__}: {detail}")


def _permanent_target(redirects: list[tuple[int, str]]) -> str | None:
    """Where the permanent part of a redirect chain leads.

    Only the leading run of 301/308 hops is permanent: after 301 to A and 302 from A to
    B, the feed has moved to A, and B is merely where A points today.
    """
    target: str | None = None
    for status, location in redirects:
        if status not in _PERMANENT:
            break
        target = location
    return target


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _retry_after(headers: Mapping[str, str], clock: Clock) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    when = _http_date(value)
    if when is None:
        return None
    # Measure against the server's own clock when it tells us, so skew does not matter.
    reference = _http_date(headers.get("date")) or clock()
    return max(0.0, (when - reference).total_seconds())


def _max_age(headers: Mapping[str, str], clock: Clock) -> float | None:
    """How long the response stays fresh, per Cache-Control or Expires."""
    directives: dict[str, str | None] = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            directives[name.strip().lower()] = value.strip().strip('"') if value else None
    if "no-cache" in directives or "no-store" in directives:
        return None
    # max-age is addressed to every cache, us included; s-maxage to shared caches only,
    # but it still says how often the publisher expects the document to change.
    for name in ("max-age", "s-maxage"):
        seconds = directives.get(name)
        if seconds is not None and seconds.isdigit():
            return float(seconds)
    if "expires" not in headers:
        return None
    expires = _http_date(headers["expires"])
    if expires is None:
        # RFC 9111: an invalid Expires (such as "0") means already expired.
        return 0.0
    reference = _http_date(headers.get("date")) or clock()
    return max(0.0, (expires - reference).total_seconds())


def _format_seconds(seconds: float) -> str:
    return f"{seconds:g}s"


def _format_size(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            amount = size / scale
            return f"{amount:g} {unit}" if amount == int(amount) else f"{amount:.1f} {unit}"
    return f"{size} bytes"
