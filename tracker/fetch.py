"""HTTP and local-file fetching with limits and conditional GET."""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import ipaddress
import os
import socket
import ssl
import stat
import threading
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

import httpcore
import httpx

from tracker import __version__
from tracker.clock import Clock, system_clock
from tracker.errors import FeedGone, FetchError

DEFAULT_USER_AGENT = f"tracker/{__version__} (+https://github.com/tracker)"
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
# What an article page asks for (Fetcher.fetch's `accept`).
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
_PERMANENT = frozenset({301, 308})
_FILE_CHUNK = 64 * 1024
_FILE_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml", ".rdf": "application/rdf+xml"}
# Content codings decoded here, in bounded slices (see _decoded); we only ask for these.
_DECODABLE = frozenset({"gzip", "x-gzip", "deflate"})
# Nobody compresses a feed three times over; more layers only multiply a bomb.
_MAX_CODINGS = 3
# A deadline this close counts as reached: socket timeouts fire a hair early or late.
_DEADLINE_SLACK = 0.05


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

    Thread-safe: per-request state lives in a context variable of the calling thread,
    and httpx.Client is safe to share.

    Limits hold fully only on the client made here: its network layer (_GuardedBackend)
    clamps every connect, TLS handshake, write and read to the time left before the
    fetch's deadline, and checks every address it connects to directly. Proxies named
    by the environment are honoured as httpx would; a request through one keeps the
    deadline, but its target's address is the proxy's business (the proxy resolves and
    connects). An injected client gets the redirect limit, the size cap and a watchdog
    on the body only.
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
        allow_private_networks: bool = False,
    ) -> None:
        """`max_connections`: the size of the connection pool of the client made here
        (an injected client keeps its own); give it the number of polling threads, so
        that no thread waits for a connection and kept-alive ones are reused.

        `allow_private_networks`: follow redirects to private addresses from any feed
        (see fetch for the rule that applies otherwise)."""
        self._owns_client = client is None
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = client if client is not None else _guarded_client(limits)
        self.user_agent = user_agent
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.deadline = deadline
        self.max_redirects = max_redirects
        self.base_dir = base_dir
        self.allow_private_networks = allow_private_networks
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
        trust_private_origin: bool = True,
        accept: str | None = None,
        vet_origin: bool = False,
        allow_private_networks: bool | None = None,
        content_types: Collection[str] | None = None,
    ) -> FetchResult:
        """Fetch `url` (http, https, file, or a path relative to base_dir).

        `timeout` bounds each connect, write and read; `deadline` the whole fetch: name
        resolution, connect, TLS, request, headers, every redirect and the body (a file
        is read under the same deadline and size cap; it must be a regular file).

        Private addresses (loopback, private, shared, link-local, unspecified,
        multicast, reserved; IPv4, IPv6 and IPv4 inside IPv6) are judged by the address
        each connection actually reaches, never by the name, so DNS rebinding gains
        nothing:
        - the configured URL's host may be anywhere, and so may every hop back to that
          same host name: the user chose it;
        - when that host reached a private address, the user pointed the feed into a
          private network, and its redirects may reach other private addresses too,
          unless `trust_private_origin` is False (the configured URL then counts as a
          public one, as for a URL the user did not choose);
        - any other hop that would reach a private address is refused, unless
          `allow_private_networks` was given;
        - with `vet_origin`, the URL's own host is held to that rule too, for a URL
          that came from a document rather than from the user (an article link).

        `allow_private_networks` overrides the fetcher's own setting for this fetch.
        `accept` replaces the feed types of the Accept header. `content_types`: the
        media types (lower case, without parameters) a 2xx answer may declare; any
        other raises UnexpectedContentType before the body is read (an answer without
        a Content-Type passes, for the caller to judge).

        Raises FeedGone on 410 and FetchError on anything else that yields no usable
        document: network errors, timeouts, the deadline, non-2xx statuses, a body over
        max_bytes, a refused redirect, a missing or special file.
        """
        started = time.monotonic()
        deadline = deadline if deadline is not None else self.deadline
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme in ("http", "https"):
            return self._fetch_http(
                url,
                validators,
                timeout if timeout is not None else self.timeout,
                deadline,
                started,
                _Rules(
                    accept=accept or _ACCEPT,
                    trust_private_origin=trust_private_origin,
                    vet_origin=vet_origin,
                    allow_private=(
                        self.allow_private_networks if allow_private_networks is None else allow_private_networks
                    ),
                    content_types=frozenset(content_types) if content_types is not None else None,
                ),
            )
        # A one-letter "scheme" is a Windows drive letter, i.e. a path.
        if scheme == "file" or scheme == "" or len(scheme) == 1:
            return self._fetch_file(url, validators, deadline, started)
        raise FetchError(f"unsupported URL scheme {scheme!r} in {url} (use http, https or file)")

    # --- local files ---------------------------------------------------------------

    def _fetch_file(self, url: str, validators: Validators, deadline: float, started: float) -> FetchResult:
        path = self._local_path(url)
        # Modification time and size play the part of an ETag: an unchanged file is
        # "not modified" and costs no parsing, as a 304 does.
        try:
            info = path.stat()
        except FileNotFoundError as exc:
            raise FetchError(f"file not found: {path}") from exc
        except OSError as exc:
            raise FetchError(f"could not read {path}: {exc.strerror or exc}") from exc
        # Judged before opening: opening a FIFO waits for a writer, forever if none comes,
        # and a device or socket never ends.
        _require_regular_file(info.st_mode, path)
        tag = f'"file-{info.st_mtime_ns}-{info.st_size}"'
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
        body = self._read_file(path, info.st_size, deadline, started)
        return FetchResult(
            url=url,
            status=200,
            body=body,
            headers=headers,
            validators=Validators(etag=tag),
            permanent_redirect=None,
            max_age=None,
            elapsed=time.monotonic() - started,
        )

    def _read_file(self, path: Path, size_seen: int, deadline: float, started: float) -> bytes:
        too_large = f"file larger than {_format_size(self.max_bytes)}: {path}"
        if size_seen > self.max_bytes:
            raise FetchError(too_large)
        # O_NONBLOCK: should the path be swapped for a FIFO after the stat, the open
        # still returns at once (regular files ignore the flag).
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        chunks: list[bytes] = []
        size = 0
        try:
            fd = os.open(path, flags)
            try:
                _require_regular_file(os.fstat(fd).st_mode, path)
                # The file may grow after the stat: the cap counts what is read.
                while chunk := os.read(fd, _FILE_CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(too_large)
                    chunks.append(chunk)
                    if time.monotonic() - started > deadline:
                        raise FetchError(
                            f"gave up after {_format_seconds(deadline)} (deadline) reading {path}: "
                            f"{_format_size(size)} read so far"
                        )
            finally:
                os.close(fd)
        except FileNotFoundError as exc:
            raise FetchError(f"file not found: {path}") from exc
        except IsADirectoryError as exc:
            raise FetchError(f"is a directory, not a feed file: {path}") from exc
        except PermissionError as exc:
            raise FetchError(f"permission denied reading {path}") from exc
        except OSError as exc:
            raise FetchError(f"could not read {path}: {exc.strerror or exc}") from exc
        return b"".join(chunks)

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
        self,
        url: str,
        validators: Validators,
        timeout: float,
        deadline: float,
        started: float,
        rules: _Rules,
    ) -> FetchResult:
        # Only encodings decoded here with bounded memory (see _decoded).
        headers = {"User-Agent": self.user_agent, "Accept": rules.accept, "Accept-Encoding": "gzip, deflate"}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        try:
            request = self._client.build_request("GET", url, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            raise FetchError(f"invalid URL {url}: {exc}") from exc
        scope = _Scope(
            expires=started + deadline,
            origin_host=request.url.host,
            allow_private=rules.allow_private,
            trust_private_origin=rules.trust_private_origin,
            vet_origin=rules.vet_origin,
        )
        token = _SCOPE.set(scope)
        try:
            return self._follow(request, url, validators, timeout, deadline, started, scope, rules.content_types)
        finally:
            _SCOPE.reset(token)

    def _follow(
        self,
        request: httpx.Request,
        url: str,
        validators: Validators,
        timeout: float,
        deadline: float,
        started: float,
        scope: _Scope,
        content_types: frozenset[str] | None,
    ) -> FetchResult:
        host = request.url.host or url
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
            scope.host = request.url.host
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
                return self._finish(response, validators, redirects, deadline, started, content_types)
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
        content_types: frozenset[str] | None = None,
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
        if status != 304 and content_types is not None:
            declared_type = headers.get("content-type", "").partition(";")[0].strip().lower()
            # Judged before the body is read: a refused PDF or video costs only its headers.
            if declared_type and declared_type not in content_types:
                raise UnexpectedContentType(declared_type, final_url)
        if status != 304:
            body = self._read_body(response, headers, final_url, deadline, started)
        # The parser resolves relative links against this; a relative Content-Location is
        # relative to the URL we fetched. Without the feed's credentials: article links are
        # stored and shown, and must not carry the password to every reader of the timeline.
        base = urllib.parse.urljoin(final_url, headers.get("content-location", ""))
        headers["content-location"] = _without_userinfo(base)

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

        # Our own streams clamp each read to the deadline already; others need the watchdog.
        guarded = isinstance(response.extensions.get("network_stream"), _GuardedStream)
        watchdog = _Watchdog(response, deadline - (time.monotonic() - started), enabled=not guarded)
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
            timed_out = isinstance(exc, httpx.TimeoutException) and _reached(deadline, started)
            if watchdog.fired or timed_out:
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
        if _reached(deadline, started):
            return FetchError(f"gave up after {_format_seconds(deadline)} (deadline) fetching from {host}")
        doing = {
            httpx.ConnectTimeout: "connecting to",
            httpx.ReadTimeout: "waiting for",
            httpx.WriteTimeout: "sending to",
            httpx.PoolTimeout: "waiting for a free connection to",
        }.get(type(exc), "talking to")
        return FetchError(f"timed out after {_format_seconds(timeout)} {doing} {host}")


def _reached(deadline: float, started: float) -> bool:
    return time.monotonic() - started >= deadline - _DEADLINE_SLACK


def _require_regular_file(mode: int, path: Path) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise FetchError(f"is a directory, not a feed file: {path}")
    kind = (
        "a named pipe" if stat.S_ISFIFO(mode)
        else "a socket" if stat.S_ISSOCK(mode)
        else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a special file"
    )
    raise FetchError(f"not a regular file ({kind}), not a feed file: {path}")


# --- the network layer of the Fetcher's own client -----------------------------------


class PrivateAddressRefused(FetchError):
    """A redirect (or, with vet_origin, the URL itself) would reach a private address
    (raised inside httpcore, passes through)."""

    def __init__(self, address: str, host: str, *, redirect: bool = True) -> None:
        named = "" if host == address else f" ({host})"
        what = "redirect to private address" if redirect else "private address"
        super().__init__(f"refused {what} {address}{named}: set allow_private_networks: true to allow")
        self.address = address
        self.redirect = redirect


class UnexpectedContentType(FetchError):
    """A 2xx answer declared a media type the caller did not ask for (Fetcher.fetch's
    `content_types`); `content_type` is that type, lower case, without parameters."""

    def __init__(self, content_type: str, url: str) -> None:
        super().__init__(f"unexpected content type {content_type[:80]} from {url}")
        self.content_type = content_type


@dataclass(frozen=True)
class _Rules:
    """The per-fetch options of Fetcher.fetch that shape the request and the address rule."""

    accept: str
    trust_private_origin: bool
    vet_origin: bool
    allow_private: bool
    content_types: frozenset[str] | None


@dataclass
class _Scope:
    """What the network layer must know about the fetch running in this thread."""

    expires: float  # time.monotonic() at the deadline
    origin_host: str  # the configured URL's host
    allow_private: bool
    trust_private_origin: bool
    vet_origin: bool = False  # the configured host is held to the rule too
    host: str = ""  # the host of the request being sent now
    origin_private: bool = False  # the configured host reached a private address

    def left(self) -> float:
        return self.expires - time.monotonic()

    def permits(self, address: str) -> bool:
        """Whether the current request may reach `address` (the rule is in Fetcher.fetch)."""
        if self.allow_private or not _is_private_address(address):
            return True
        if self.vet_origin:
            return False
        if self.host == self.origin_host:
            return True
        return self.origin_private and self.trust_private_origin

    def admit(self, address: str) -> None:
        """Called before sending on a connection to `address`, new or kept alive."""
        if not self.permits(address):
            raise PrivateAddressRefused(address, self.host, redirect=self.host != self.origin_host)
        if self.host == self.origin_host and _is_private_address(address):
            self.origin_private = True


_SCOPE: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("tracker_fetch_scope", default=None)

# NAT64 gateways reach the IPv4 address in the last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _is_private_address(address: str) -> bool:
    """True unless `address` is a globally routable unicast IP address."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    except ValueError:
        return True  # not provably public
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip.is_site_local:
            return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
    )


def _clamp(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    """`timeout`, cut to the time left before the current fetch's deadline."""
    scope = _SCOPE.get()
    if scope is None:
        return timeout
    left = scope.left()
    if left <= 0:
        raise expired("the fetch deadline has passed")
    return left if timeout is None else min(timeout, left)


def _resolve(host: str, port: int, seconds: float | None) -> list[str]:
    """The addresses of `host`, in the resolver's order, within `seconds`.

    getaddrinfo takes no timeout and a slow name server can hold it for tens of
    seconds, so it runs in a daemon thread that is left behind when time runs out.
    """
    if _is_ip(host):
        return [host]
    found: list[list[str]] = []
    failed: list[OSError] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            failed.append(exc)
            return
        found.append([str(info[4][0]) for info in infos])

    worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(seconds)
    if failed:
        raise httpcore.ConnectError(str(failed[0]))
    if not found:
        raise httpcore.ConnectTimeout(f"timed out resolving {host}")
    return list(dict.fromkeys(found[0]))


class _GuardedStream(httpcore.NetworkStream):
    """A connection whose every wait ends by the deadline and, when `vet`, whose every
    request is checked against the address rule."""

    def __init__(self, inner: httpcore.NetworkStream, *, vet: bool) -> None:
        self._inner = inner
        self._vet = vet
        peer = inner.get_extra_info("server_addr")
        self.address = str(peer[0]) if isinstance(peer, tuple) and peer else None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        scope = _SCOPE.get()
        # A kept-alive connection may serve a later request, one whose redirect the
        # check at connect never saw.
        if self._vet and scope is not None and self.address is not None:
            scope.admit(self.address)
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout))
        return _GuardedStream(tls, vet=self._vet)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, bounded by the current fetch's deadline and, when
    `vet_addresses` (not for a proxy's connections), by its address rule."""

    def __init__(self, *, vet_addresses: bool) -> None:
        self._sync = httpcore.SyncBackend()
        self._vet = vet_addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        scope = _SCOPE.get()
        if scope is None:
            # Someone used the client outside fetch(): nothing to enforce.
            stream = self._sync.connect_tcp(host, port, timeout, local_address, socket_options)
            return _GuardedStream(stream, vet=self._vet)
        # Resolved here, so that the addresses judged are the very ones connected to.
        addresses = _resolve(host, port, _clamp(timeout, httpcore.ConnectTimeout))
        failure: Exception | None = None
        for address in addresses:
            if self._vet and not scope.permits(address):
                continue
            try:
                stream = self._sync.connect_tcp(
                    address, port, _clamp(timeout, httpcore.ConnectTimeout), local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _GuardedStream(stream, vet=self._vet)
        if failure is not None:
            raise failure
        raise PrivateAddressRefused(addresses[0], host, redirect=host != scope.origin_host)


# httpcore's errors as httpx's, most specific first (as httpx.HTTPTransport maps them).
_HTTPCORE_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _HTTPCORE_ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class _GuardedTransport(httpx.BaseTransport):
    """httpx.HTTPTransport over an httpcore pool on _GuardedBackend, which httpx.HTTPTransport
    cannot take."""

    def __init__(self, pool: httpcore.ConnectionPool) -> None:
        self._pool = pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            core_response = self._pool.handle_request(core_request)
        assert isinstance(core_response.stream, Iterable)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def _guarded_client(limits: httpx.Limits) -> httpx.Client:
    """An HTTP/1.1 client like httpx.Client(limits=limits), on guarded transports."""
    ssl_context = httpx.create_ssl_context()
    direct = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_GuardedBackend(vet_addresses=True),
    )
    # httpx ignores the environment's proxies once given a transport: mount them here.
    return httpx.Client(transport=_GuardedTransport(direct), mounts=_environment_proxies(limits, ssl_context))


def _environment_proxies(limits: httpx.Limits, ssl_context: ssl.SSLContext) -> dict[str, httpx.BaseTransport | None]:
    """The proxies of HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY, mounted as
    httpx.Client mounts them by default (None: the direct transport)."""
    proxies = urllib.request.getproxies()
    mounts: dict[str, httpx.BaseTransport | None] = {}
    for scheme in ("http", "https", "all"):
        if url := proxies.get(scheme):
            mounts[f"{scheme}://"] = _proxy_transport(url if "://" in url else f"http://{url}", limits, ssl_context)
    for host in (name.strip() for name in proxies.get("no", "").split(",")):
        if host == "*":
            return {}
        if not host:
            continue
        if "://" in host:
            mounts[host] = None
        elif _is_ip(host.split("/")[0]):
            mounts[f"all://[{host}]" if ":" in host else f"all://{host}"] = None
        elif host.lower() == "localhost":
            mounts[f"all://{host}"] = None
        else:
            mounts[f"all://*{host}"] = None
    return mounts


def _proxy_transport(url: str, limits: httpx.Limits, ssl_context: ssl.SSLContext) -> httpx.BaseTransport:
    proxy = httpx.Proxy(url=url)
    if proxy.url.scheme not in ("http", "https"):
        # SOCKS: httpx's own transport; the body watchdog still bounds the body.
        return httpx.HTTPTransport(proxy=proxy, limits=limits)
    pool = httpcore.HTTPProxy(
        proxy_url=httpcore.URL(
            scheme=proxy.url.raw_scheme,
            host=proxy.url.raw_host,
            port=proxy.url.port,
            target=proxy.url.raw_path,
        ),
        proxy_auth=proxy.raw_auth,
        proxy_headers=proxy.headers.raw,
        ssl_context=ssl_context,
        proxy_ssl_context=proxy.ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        # The proxy is where we connect, not where the request goes: no address rule.
        network_backend=_GuardedBackend(vet_addresses=False),
    )
    return _GuardedTransport(pool)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class _Watchdog:
    """Cuts the connection under a response when the deadline passes.

    For clients other than our own (whose reads end by the deadline anyway): the
    per-chunk deadline check cannot interrupt a read that is already waiting, and
    httpcore fixes a body's read timeout when the body starts, so a server sending a
    byte just before each read timeout would otherwise overrun the deadline by up to one
    timeout. Shutting the socket down wakes the blocked read at once.
    """

    def __init__(self, response: httpx.Response, seconds: float, *, enabled: bool = True) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._done = False
        self._timer: threading.Timer | None = None
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None and enabled else None
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


# --- content codings -------------------------------------------------------------------

# zlib output per step: small enough that one network chunk of a gzip bomb (64 KiB can
# inflate to 64 MiB) never materialises at once.
_INFLATE_STEP = 256 * 1024


def _decoded(response: httpx.Response, content_encoding: str, url: str) -> Iterator[bytes]:
    """The response body, decoded from every gzip/deflate layer in bounded slices.

    The layers are chained lazily, so each holds at most one slice at a time and the
    caller counts the innermost output against the cap as it appears.
    """
    host = urllib.parse.urlsplit(url).hostname or url
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    for coding in codings:
        if coding not in _DECODABLE:
            # br, zstd and the like: never asked for, and httpx decodes them unbounded.
            raise FetchError(
                f"could not decode the response from {host}: unsupported content-encoding "
                f"{coding[:40]!r} (we accept gzip and deflate)"
            )
    if len(codings) > _MAX_CODINGS:
        raise FetchError(
            f"could not decode the response from {host}: {len(codings)} layers of "
            f"content-encoding (at most {_MAX_CODINGS})"
        )
    chunks: Iterator[bytes] = response.iter_raw()
    # The last coding listed was applied last, so it comes off first.
    for coding in reversed(codings):
        chunks = _Inflater(coding).decode(chunks)
    try:
        yield from chunks
    except zlib.error as exc:
        raise FetchError(f"could not decode the {', '.join(codings)} response from {host}: {exc}") from exc


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

    def decode(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """All of `chunks`, decoded, in slices of at most _INFLATE_STEP bytes."""
        for chunk in chunks:
            yield from self.feed(chunk)
        yield from self.feed(b"")

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


def _without_userinfo(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


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
