"""Fetching from hostile servers and files, on real loopback sockets and real special files.

Each fetch that could hang runs in a watched thread (`within`), so a regression fails
the test instead of stalling the suite.
"""

from __future__ import annotations

import gzip
import os
import socket
import stat
import sys
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from feedserver import FeedServer, Reply
from tracker.errors import FetchError
from tracker.fetch import Fetcher, _is_private_address

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Sample</title><link>https://example.com/</link>
<item><title>One</title><link>https://example.com/1</link></item>
</channel></rss>"""

Serve = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """A loopback TCP server that hands each connection to `serve`, in its own thread."""

    def __init__(self, serve: Serve) -> None:
        self.stopping = threading.Event()
        self._serve = serve
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, scheme: str = "http", path: str = "/feed.xml") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                self._serve(conn, self.stopping)
            except OSError:
                pass  # the client hung up, as it should

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._thread.join(timeout=2)
        self._listener.close()


def drip_headers(conn: socket.socket, stopping: threading.Event) -> None:
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    # A byte every 0.2 s: far inside any read timeout, and the header line never ends.
    while not stopping.wait(0.2):
        conn.sendall(b"X")


def drip_body(conn: socket.socket, stopping: threading.Event) -> None:
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n")
    while not stopping.wait(0.2):
        conn.sendall(b"<")


def silent(conn: socket.socket, stopping: threading.Event) -> None:
    conn.recv(65536)
    stopping.wait()


def drip_tls(conn: socket.socket, stopping: threading.Event) -> None:
    conn.recv(65536)  # the ClientHello
    # A TLS handshake record announcing 16 KiB, then its bytes one by one.
    conn.sendall(b"\x16\x03\x03\x40\x00")
    while not stopping.wait(0.2):
        conn.sendall(b"\0")


def within(seconds: float, action: Callable[[], object]) -> tuple[BaseException | None, float]:
    """Run `action` in a thread; its exception (or None) and how long it took.

    Fails the test if it is still running after `seconds`.
    """
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # reported to the test below
            outcome.append(exc)
        else:
            outcome.append(None)

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    elapsed = time.monotonic() - started
    if worker.is_alive():
        pytest.fail(f"the fetch was still running after {seconds}s")
    return outcome[0], elapsed


def one_line_fetch_error(exc: BaseException | None) -> str:
    assert isinstance(exc, FetchError), repr(exc)
    message = str(exc)
    assert "\n" not in message
    return message


@pytest.fixture(scope="module")
def own() -> Iterator[Fetcher]:
    """A fetcher on its own client (the guarded network layer), shared: per-fetch options vary."""
    with Fetcher(timeout=2.0, deadline=5.0) as fetcher:
        yield fetcher


# --- 1. the deadline covers the whole fetch ----------------------------------------


def test_headers_dripped_end_at_the_deadline() -> None:
    with RawServer(drip_headers) as server, Fetcher(timeout=1.0, deadline=2.0) as fetcher:
        exc, elapsed = within(5.0, lambda: fetcher.fetch(server.url()))
    assert one_line_fetch_error(exc) == "gave up after 2s (deadline) fetching from 127.0.0.1"
    assert 1.9 <= elapsed < 2.5


def test_silent_server_ends_at_the_deadline_not_the_timeout() -> None:
    with RawServer(silent) as server, Fetcher(timeout=5.0, deadline=1.0) as fetcher:
        exc, elapsed = within(4.0, lambda: fetcher.fetch(server.url()))
    assert one_line_fetch_error(exc) == "gave up after 1s (deadline) fetching from 127.0.0.1"
    assert elapsed < 1.5


def test_body_dripped_ends_at_the_deadline() -> None:
    with RawServer(drip_body) as server, Fetcher(timeout=1.0, deadline=2.0) as fetcher:
        url = server.url()
        exc, elapsed = within(5.0, lambda: fetcher.fetch(url))
    message = one_line_fetch_error(exc)
    assert message.startswith(f"gave up after 2s (deadline) reading {url}: ")
    assert message.endswith("bytes received so far")
    assert 1.9 <= elapsed < 2.5


def test_tls_handshake_dripped_ends_at_the_deadline() -> None:
    with RawServer(drip_tls) as server, Fetcher(timeout=5.0, deadline=1.0) as fetcher:
        exc, elapsed = within(4.0, lambda: fetcher.fetch(server.url("https")))
    assert one_line_fetch_error(exc) == "gave up after 1s (deadline) fetching from 127.0.0.1"
    assert elapsed < 1.5


def test_deadline_spans_redirect_hops(feed_server: FeedServer) -> None:
    # 0.8 s spent on the first hop leaves 1.2 s for the dripping second one.
    with RawServer(drip_headers) as server, Fetcher(timeout=1.0, deadline=2.0) as fetcher:
        feed_server.route("/start", Reply(status=302, headers={"Location": server.url()}, delay=0.8))
        exc, elapsed = within(5.0, lambda: fetcher.fetch(feed_server.url("/start")))
    assert one_line_fetch_error(exc) == "gave up after 2s (deadline) fetching from 127.0.0.1"
    assert 1.9 <= elapsed < 2.5


def test_own_client_still_serves_after_a_deadline(feed_server: FeedServer) -> None:
    url = feed_server.feed("/feed.xml", RSS)
    with RawServer(drip_headers) as server, Fetcher(timeout=1.0, deadline=0.5) as fetcher:
        exc, _ = within(3.0, lambda: fetcher.fetch(server.url()))
        assert isinstance(exc, FetchError)
        assert fetcher.fetch(url, deadline=5.0).body == RSS


# --- 2. every content-coding layer counts against the cap -----------------------------


def zeros_gzip(mib: int) -> bytes:
    """One gzip member holding `mib` MiB of zeros, built in milliseconds.

    After a full flush the compressor forgets its history, so every further MiB
    compresses to the same bytes. There is no trailer: nothing that reads it is meant to
    get that far.
    """
    block = bytes(2**20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    head = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    segment = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    return head + segment * (mib - 1)


def test_nested_gzip_bomb_stops_at_the_cap_in_little_memory(feed_server: FeedServer) -> None:
    # gzip inside gzip: 256 MiB in well under 1 KiB on the wire.
    bomb = gzip.compress(zeros_gzip(256))
    assert len(bomb) < 2**10
    url = feed_server.route("/bomb.xml", Reply(body=bomb, headers={"Content-Encoding": "gzip, gzip"}))
    with Fetcher(max_bytes=2**20, timeout=2, deadline=5) as fetcher:
        tracemalloc.start()
        try:
            exc, elapsed = within(5.0, lambda: fetcher.fetch(url))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert one_line_fetch_error(exc) == f"response larger than 1 MiB from {url}"
    assert elapsed < 1.0
    # A slice per layer past the cap, never a whole layer.
    assert peak < 8 * 2**20


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
        ("deflate, x-gzip", lambda data: gzip.compress(zlib.compress(data))),
        ("gzip, deflate", lambda data: zlib.compress(gzip.compress(data))),
        ("identity, gzip, identity", gzip.compress),
        ("gzip,deflate,gzip", lambda data: gzip.compress(zlib.compress(gzip.compress(data)))),
    ],
)
def test_nested_codings_of_a_feed_are_decoded(
    feed_server: FeedServer, own: Fetcher, encoding: str, encode: Callable[[bytes], bytes]
) -> None:
    body = RSS * 200
    url = feed_server.route("/feed.xml", Reply(body=encode(body), headers={"Content-Encoding": encoding}))
    assert own.fetch(url).body == body


def test_nested_layers_count_decoded_bytes_exactly(feed_server: FeedServer) -> None:
    body = b"x" * (2**20 + 1)
    url = feed_server.route(
        "/feed.xml", Reply(body=gzip.compress(gzip.compress(body)), headers={"Content-Encoding": "gzip, gzip"})
    )
    with Fetcher(max_bytes=2**20 + 1, timeout=2, deadline=5) as fetcher:
        assert fetcher.fetch(url).body == body
    with Fetcher(max_bytes=2**20, timeout=2, deadline=5) as fetcher:
        with pytest.raises(FetchError, match=r"response larger than 1 MiB"):
            fetcher.fetch(url)


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br", "compress"])
def test_unknown_coding_is_a_one_line_error(feed_server: FeedServer, own: Fetcher, encoding: str) -> None:
    url = feed_server.route("/feed.xml", Reply(body=b"\x0b\x02\x80hello", headers={"Content-Encoding": encoding}))
    exc, _ = within(3.0, lambda: own.fetch(url))
    message = one_line_fetch_error(exc)
    assert message.startswith("could not decode the response from 127.0.0.1: unsupported content-encoding")


def test_more_than_three_layers_are_refused(feed_server: FeedServer, own: Fetcher) -> None:
    body = RSS
    for _ in range(4):
        body = gzip.compress(body)
    url = feed_server.route("/feed.xml", Reply(body=body, headers={"Content-Encoding": "gzip, gzip, gzip, gzip"}))
    exc, _ = within(3.0, lambda: own.fetch(url))
    assert one_line_fetch_error(exc) == (
        "could not decode the response from 127.0.0.1: 4 layers of content-encoding (at most 3)"
    )


def test_corrupt_inner_layer_is_a_one_line_error(feed_server: FeedServer, own: Fetcher) -> None:
    url = feed_server.route(
        "/feed.xml", Reply(body=gzip.compress(b"not gzip inside"), headers={"Content-Encoding": "gzip, gzip"})
    )
    exc, _ = within(3.0, lambda: own.fetch(url))
    assert one_line_fetch_error(exc).startswith("could not decode the gzip, gzip response from 127.0.0.1: ")
    assert exc is not None and isinstance(exc.__cause__, zlib.error)


# --- 3. files are bounded like URLs -------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path, own: Fetcher) -> None:
    fifo = tmp_path / "feed.xml"
    os.mkfifo(fifo)
    for where in (str(fifo), fifo.as_uri()):
        exc, elapsed = within(2.0, lambda: own.fetch(where))
        assert one_line_fetch_error(exc) == f"not a regular file (a named pipe), not a feed file: {fifo}"
        assert elapsed < 1.0


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_device_is_refused(own: Fetcher) -> None:
    exc, elapsed = within(2.0, lambda: own.fetch("/dev/zero"))
    assert one_line_fetch_error(exc) == "not a regular file (a device), not a feed file: /dev/zero"
    assert elapsed < 1.0


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets here")
def test_socket_file_is_refused(tmp_path: Path, own: Fetcher, monkeypatch: pytest.MonkeyPatch) -> None:
    # A relative name: the full temporary path may be longer than a socket address allows.
    monkeypatch.chdir(tmp_path)
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind("feed.sock")
        assert stat.S_ISSOCK(os.stat("feed.sock").st_mode)
        exc, _ = within(2.0, lambda: own.fetch(str(tmp_path / "feed.sock")))
    assert one_line_fetch_error(exc) == f"not a regular file (a socket), not a feed file: {tmp_path / 'feed.sock'}"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_to_a_regular_file_is_read(tmp_path: Path, own: Fetcher) -> None:
    (tmp_path / "real.xml").write_bytes(RSS)
    (tmp_path / "link.xml").symlink_to(tmp_path / "real.xml")
    assert own.fetch(str(tmp_path / "link.xml")).body == RSS


def test_file_over_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    with big.open("wb") as handle:
        handle.truncate(64 * 2**20)  # sparse: nothing to read unless we try
    with Fetcher(max_bytes=2**20) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match=r"^file larger than 1 MiB: "):
                fetcher.fetch(str(big))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 2**20


# --- 4. redirects stay public ----------------------------------------------------------


@pytest.fixture
def target() -> Iterator[FeedServer]:
    """A second loopback server, reached under other host names than the configured one."""
    with FeedServer() as server:
        server.feed("/feed.xml", RSS)
        yield server


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("localhost", "127.0.0.1"),  # a name: judged by what it resolves to
        ("127.0.0.2", "127.0.0.2"),
        ("[::1]", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("0.0.0.0", "0.0.0.0"),
    ],
)
def test_redirect_to_another_private_host_is_refused(
    feed_server: FeedServer, target: FeedServer, own: Fetcher, host: str, address: str
) -> None:
    port = target.url().rsplit(":", 1)[1]
    feed_server.redirect("/start", f"http://{host}:{port}/feed.xml", 302)
    # trust_private_origin=False: the configured URL counts as public, as loopback cannot be.
    exc, _ = within(3.0, lambda: own.fetch(feed_server.url("/start"), trust_private_origin=False))
    named = "" if host.strip("[]") == address else f" ({host.strip('[]')})"
    assert one_line_fetch_error(exc) == (
        f"refused redirect to private address {address}{named}: set allow_private_networks: true to allow"
    )
    assert target.requests == []
    assert target.connections == 0


def test_redirect_back_to_the_configured_host_is_followed(feed_server: FeedServer, own: Fetcher) -> None:
    feed_server.feed("/new.xml", RSS)
    feed_server.redirect("/old.xml", "/new.xml", 301)
    result = own.fetch(feed_server.url("/old.xml"), trust_private_origin=False)
    assert result.body == RSS
    assert result.permanent_redirect == feed_server.url("/new.xml")


def test_private_configured_host_vouches_for_its_redirects(
    feed_server: FeedServer, target: FeedServer, own: Fetcher
) -> None:
    port = target.url().rsplit(":", 1)[1]
    feed_server.redirect("/start", f"http://localhost:{port}/feed.xml", 302)
    assert own.fetch(feed_server.url("/start")).body == RSS


def test_allow_private_networks_follows_any_redirect(feed_server: FeedServer, target: FeedServer) -> None:
    port = target.url().rsplit(":", 1)[1]
    feed_server.redirect("/start", f"http://localhost:{port}/feed.xml", 302)
    with Fetcher(timeout=2, deadline=5, allow_private_networks=True) as fetcher:
        assert fetcher.fetch(feed_server.url("/start"), trust_private_origin=False).body == RSS


def test_kept_alive_connection_is_checked_again(feed_server: FeedServer, own: Fetcher) -> None:
    # A connection opened for a feed configured on 127.0.0.1 stays in the pool; a
    # redirect from another host to 127.0.0.1 would reuse it without connecting anew.
    with FeedServer(keep_alive=True) as private:
        inside = private.feed("/secret.xml", RSS)
        assert own.fetch(inside).body == RSS
        feed_server.redirect("/start", inside, 302)
        public = feed_server.url("/start").replace("127.0.0.1", "localhost")
        exc, _ = within(3.0, lambda: own.fetch(public, trust_private_origin=False))
        assert one_line_fetch_error(exc).startswith("refused redirect to private address 127.0.0.1:")
        assert len(private.requests_to("/secret.xml")) == 1
        # The refused request never reached the server, and the next legitimate one works.
        assert own.fetch(inside).body == RSS
        assert private.connections <= 2


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "127.255.0.9", "169.254.169.254",
        "0.0.0.0", "100.64.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.2.1",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "2001:db8::1",
        "::ffff:10.0.0.1", "::ffff:127.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1", "not an address",
    ],
)
def test_private_addresses(address: str) -> None:
    assert _is_private_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert not _is_private_address(address)


# --- proxies named by the environment --------------------------------------------------


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Sets HTTP_PROXY to the given URL, with loopback exempt (NO_PROXY), for Fetchers made after."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)

    def use(proxy: str) -> None:
        for name in ("HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, proxy)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, "127.0.0.1,localhost")

    return use


def test_proxied_public_feed_redirecting_to_loopback_is_refused(
    feed_server: FeedServer, target: FeedServer, proxy_env: Callable[[str], None]
) -> None:
    # feed_server plays the proxy: it sees the absolute URL as the path.
    proxy_env(feed_server.base_url)
    feed_server.redirect("http://news.example.com/feed.xml", target.url("/feed.xml"), 302)
    feed_server.feed("http://news.example.com/plain.xml", RSS)
    with Fetcher(timeout=2, deadline=5) as fetcher:
        assert fetcher.fetch("http://news.example.com/plain.xml").body == RSS
        exc, _ = within(3.0, lambda: fetcher.fetch("http://news.example.com/feed.xml"))
    assert one_line_fetch_error(exc) == (
        "refused redirect to private address 127.0.0.1: set allow_private_networks: true to allow"
    )
    assert target.requests == []
    with Fetcher(timeout=2, deadline=5, allow_private_networks=True) as fetcher:
        assert fetcher.fetch("http://news.example.com/feed.xml").body == RSS


def test_proxy_dripping_headers_ends_at_the_deadline(proxy_env: Callable[[str], None]) -> None:
    with RawServer(drip_headers) as proxy:
        proxy_env(proxy.url(path=""))
        with Fetcher(timeout=1.0, deadline=1.5) as fetcher:
            exc, elapsed = within(4.0, lambda: fetcher.fetch("http://news.example.com/feed.xml"))
    assert one_line_fetch_error(exc) == "gave up after 1.5s (deadline) fetching from news.example.com"
    assert elapsed < 2.0
