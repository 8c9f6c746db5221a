"""Hostile feeds, each beside two healthy feeds in one real `tracker poll`: bounded time and memory.

Usage: python bench/hostile.py [--fast] [--only NAME[,NAME]] [--json OUT] [--list] [--strict]
                               [--kill-after S] [--kill-rss MB] [--budget S] [--baseline-runs N]
                               [--drip-timeout S] [--keep DIR]

Issue 17 point 5 and issue 18 point 10. A loopback HTTP server of raw sockets (a thread of
this process) serves every case: entity bombs in six encodings, nested and single
compression bombs, a 5 MB entry, dripped headers and bodies, an endless body, a server that
never answers, redirect chains, loops and escapes (file://, a public-looking host to
127.0.0.1), 50,000 entries, a 1 MB entry, 200 entries sharing one guid, a FIFO as a file
feed (--list names them). For each case one `tracker poll` runs as a subprocess (`python -m
tracker`, a fresh feeds.yaml and SQLite database in a temp folder, the bench's topics so
extraction and merging run, `allow_private_networks: true` when config.py knows the key)
over the hostile feed and TWO control feeds (a few on-topic dated articles each).

Printed per case: verdict; bound; wall time and its ratio to the baseline; CPU time; the
adjusted time the bound is checked on; peak RSS and its ratio to the baseline; the control
feeds' stored entries against the served count (from the SQLite file, opened read-only);
the hostile feed's stored entries (after each poll); its status line from the poll's output.

- Peak RSS: the poll is forked by a small wrapper interpreter that reports wait4's
  ru_maxrss (the poll and its reaped workers); the bench also sums RSS over the poll's
  session from /proc every 50 ms (workers alive at once). The larger is printed.
- Time: other work on the machine makes a poll wait for a CPU. The bench reads each of
  the poll's threads' schedstat (time on a CPU, time runnable but waiting for one) from
  /proc while it runs; 'adj s' is the wall time less the poll's CPU seconds times that
  slowdown (never below wall / slowdown): the time it would take on an idle machine. Waits
  for the network or a deadline are not CPU waits and are never taken off. Without
  schedstat, the baseline's wall over CPU time stands in (the baseline, the same poll over
  the two control feeds alone in the same run, median of --baseline-runs, is CPU-bound).
  --strict checks the raw wall time instead.

A case PASSes when the poll ends by itself within its bound (10 s and 300 MB unless the
case says otherwise), both control feeds are stored in full, no traceback is printed, the
hostile feed has a status line, and the case's own check holds (a feed that cannot
complete ends in an error, refused redirects store and fetch nothing, a shared guid does
not grow the store). A poll past its kill limits (adjusted time max(3 x bound, bound + 30 s),
4 GB; with --fast bound + 2 s and max(2 x bound, bound + 300 MB)) is killed, its whole
session, and FAILs; its figures are then lower bounds. The script exits 1 when a case FAILs.

--fast runs a subset meant to take under 40 s once the bounds hold (entity bombs in three
encodings, nested gzip, the 5 MB entry, header drip with a 3 s deadline, the FIFO, the
shared guid), two cases side by side (--jobs). The feed timeout of the drip-like cases (drips, endless body, silent server,
FIFO) is 2 s, 1 s with --fast; the fetch deadline is DEADLINE_FACTOR (tracker/poll.py) times
the timeout, and those cases' bound is max(10 s, deadline + 5 s). The redirect to a private
address is tested through HTTP_PROXY (httpx honours it) and SKIPs when the request does not
reach the loopback proxy.
"""

from __future__ import annotations

import argparse
import dataclasses
import ctypes
import functools
import gzip
import json
import os
import random
import select
import signal
import socket
import socketserver
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _newsgen import _DATES, _ON_TOPIC, TOPICS, article, feed_document  # noqa: E402

MiB = 2**20
PAGE = os.sysconf("SC_PAGE_SIZE")
HOSTILE = "hostile"
CONTROLS = (("control-a", 1, 5), ("control-b", 2, 4))  # name, generator index, entries


# --- compression bombs ---------------------------------------------------------------
# Built from one deflate block of 1 MiB of zeros ended by a full flush: every such block
# is byte-identical, so GiBs of input cost a multiplication, and the CRC of n MiB of zeros
# comes from zlib's crc32_combine (GF(2) matrices) by doubling.


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, row) for row in matrix]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A+B from crc(A), crc(B) and len(B) (zlib's algorithm)."""
    if len2 == 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def crc32_of_zeros(mebibytes: int) -> int:
    result, power, power_crc = 0, 1, zlib.crc32(b"\0" * MiB)
    n = mebibytes
    while n:
        if n & 1:
            result = crc32_combine(result, power_crc, power * MiB)
        n >>= 1
        if n:
            power_crc = crc32_combine(power_crc, power_crc, power * MiB)
            power *= 2
    return result


@functools.cache
def _zero_block() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(b"\0" * MiB) + compressor.flush(zlib.Z_FULL_FLUSH)


_FINAL_EMPTY_BLOCK = b"\x03\x00"


@functools.cache
def gzip_zeros(mebibytes: int) -> bytes:
    """A valid gzip member inflating to `mebibytes` MiB of zeros."""
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc32_of_zeros(mebibytes), (mebibytes * MiB) & 0xFFFFFFFF)
    return header + _zero_block() * mebibytes + _FINAL_EMPTY_BLOCK + trailer


@functools.cache
def zlib_zeros(mebibytes: int) -> bytes:
    """A valid zlib stream (HTTP's "deflate") inflating to `mebibytes` MiB of zeros."""
    adler = (((mebibytes * MiB) % 65521) << 16) | 1  # Adler-32 of n zero bytes
    return b"\x78\xda" + _zero_block() * mebibytes + _FINAL_EMPTY_BLOCK + struct.pack(">I", adler)


@functools.cache
def nested_gzip(mebibytes: int) -> bytes:
    """gzip(gzip(zeros)): about 24 KB on the wire for 10 GiB."""
    return gzip.compress(gzip_zeros(mebibytes), 9)


# --- documents -----------------------------------------------------------------------

RSS_HEAD = (
    '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
    "<title>{title}</title><link>https://{host}.example.test/</link><description>{title}</description>"
)
BASE_DATE = datetime(2024, 3, 23, 10, 0, tzinfo=timezone.utc)


def rss(title: str, items: Iterable[str], host: str = "hostile", prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> str:
    return prolog + RSS_HEAD.format(title=title, host=host) + "".join(items) + "</channel></rss>\n"


@functools.cache
def control_feed(index: int, entries: int) -> bytes:
    return feed_document(index, entries, on_topic_share=1.0, seed=17)


@functools.cache
def entity_bomb_text(prolog: str) -> str:
    """Quadratic blowup: one 100,000-character entity referenced 23,000 times (170 KB, 2.3 G characters)."""
    value = "Sora " * 20_000
    return (
        f"{prolog}\n<!DOCTYPE rss [<!ENTITY a \"{value}\">]>\n"
        + RSS_HEAD.format(title="Entities", host="bomb")
        + "<item><title>OpenAI Brings Sora to Hollywood</title><guid>bomb-1</guid>"
        f"<pubDate>{format_datetime(BASE_DATE)}</pubDate><description>"
        + "&a;" * 23_000
        + "</description></item></channel></rss>\n"
    )


def entity_bomb(codec: str, declared: str) -> bytes:
    return entity_bomb_text(f'<?xml version="1.0" encoding="{declared}"?>').encode(codec)


@functools.cache
def on_topic_text(size: int, seed: int) -> str:
    """News paragraphs about the story (dated sentences, topic words) up to `size` bytes."""
    rng = random.Random(seed)
    paragraphs: list[str] = []
    total = 0
    while total < size:
        _, body = article(rng, True)
        paragraphs.append(body)
        total += len(body) + 1
    return "\n".join(paragraphs)


@functools.cache
def big_entry(size: int) -> bytes:
    text = on_topic_text(size, size)
    item = (
        "<item><title>Sora and the studios: the long read</title><link>https://hostile.example.test/long</link>"
        f"<guid>long-1</guid><pubDate>{format_datetime(BASE_DATE)}</pubDate>"
        f"<content:encoded><![CDATA[{text}]]></content:encoded></item>"
    )
    return rss("Long read", [item]).encode()


@functools.cache
def many_entries(count: int) -> bytes:
    """`count` short on-topic entries (one dated sentence each), about 10 MB for 50,000."""
    rng = random.Random(50)
    items = []
    for n in range(count):
        sentence = rng.choice(_ON_TOPIC).format(d=rng.choice(_DATES))
        items.append(
            f"<item><title>Sora update {n}</title><guid>m{n}</guid>"
            f"<pubDate>{format_datetime(BASE_DATE - timedelta(minutes=n))}</pubDate>"
            f"<description>{escape(sentence)}</description></item>"
        )
    return rss("Dense story", items).encode()


def shared_guid_feed(version: int) -> bytes:
    """200 items under one guid, each with its own link and title; the text changes per version."""
    rng = random.Random(200)
    items = []
    for n in range(200):
        sentence = rng.choice(_ON_TOPIC).format(d=rng.choice(_DATES))
        items.append(
            f"<item><title>Sora story {n}</title><link>https://hostile.example.test/story/{n}</link>"
            f'<guid isPermaLink="false">same-guid</guid>'
            f"<pubDate>{format_datetime(BASE_DATE - timedelta(hours=n))}</pubDate>"
            f"<description>{escape(sentence)} (revision {version}.)</description></item>"
        )
    return rss("One guid", items).encode()


def small_feed(title: str, host: str, sentence: str = "") -> bytes:
    item = (
        f"<item><title>{escape(title)}</title><link>https://{host}.example.test/1</link><guid>{host}-1</guid>"
        f"<pubDate>{format_datetime(BASE_DATE)}</pubDate>"
        f"<description>{escape(sentence or 'OpenAI showed Sora to Hollywood studio executives on March 25.')}</description></item>"
    )
    return rss(title, [item], host=host).encode()


# --- the loopback server (raw sockets) ------------------------------------------------


class Conn:
    """One request on the raw server: what was asked, and ways to answer (or not)."""

    def __init__(self, sock: socket.socket, target: str, headers: dict[str, str], stopping: threading.Event) -> None:
        self.sock = sock
        self.target = target
        self.path = urlsplit(target).path if "://" in target else target.split("?", 1)[0]
        self.headers = headers
        self.stopping = stopping

    def send(self, status: str, headers: dict[str, str], body: bytes = b"") -> None:
        head = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items())]
        if "Content-Length" not in headers and body is not None:
            head.append(f"Content-Length: {len(body)}")
        head.append("Connection: close")
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def feed(self, body: bytes, content_type: str = "application/rss+xml; charset=utf-8", **extra: str) -> None:
        self.send("200 OK", {"Content-Type": content_type, **extra}, body)

    def redirect(self, location: str, status: str = "302 Found") -> None:
        self.send(status, {"Location": location})

    def wait(self, seconds: float) -> bool:
        """Sleep, but stop early (False) when the server stops or the client hangs up."""
        end = time.monotonic() + seconds
        while not self.stopping.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return True
            readable, _, _ = select.select([self.sock], [], [], min(left, 0.25))
            if readable:
                try:
                    if not self.sock.recv(4096, socket.MSG_PEEK):
                        return False
                    self.sock.recv(4096)  # a pipelined request: ignore it
                except OSError:
                    return False
        return False

    def drip(self, data: Iterable[bytes], interval: float) -> None:
        for byte in data:
            self.sock.sendall(byte)
            if not self.wait(interval):
                return

    def stream(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            if self.stopping.is_set():
                return
            self.sock.sendall(chunk)


Route = Callable[[Conn], None]


class RawServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _RawHandler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def route(self, path: str, handler: Route) -> str:
        with self.lock:
            self.routes[path] = handler
        return self.base + path

    def static(self, path: str, body: bytes, content_type: str = "application/rss+xml; charset=utf-8", **extra: str) -> str:
        return self.route(path, lambda c: c.feed(body, content_type, **extra))

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class _RawHandler(socketserver.BaseRequestHandler):
    server: RawServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(10)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) < 2:
            return
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        conn = Conn(sock, parts[1], headers, self.server.stopping)
        with self.server.lock:
            self.server.hits[conn.path] += 1
            handler = self.server.routes.get(conn.path)
        sock.settimeout(None)
        try:
            if handler is None:
                conn.send("404 Not Found", {"Content-Type": "text/plain"}, b"not here")
            else:
                handler(conn)
        except OSError:
            pass  # the client hung up, as a client enforcing its limits should


# --- hostile routes --------------------------------------------------------------------


def drip_headers(interval: float) -> Route:
    def handle(c: Conn) -> None:
        def data() -> Iterator[bytes]:
            for b in b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nX-Drip: ":
                yield bytes([b])
            while True:
                yield b"a"

        c.drip(data(), interval)

    return handle


def drip_body(interval: float) -> Route:
    body = small_feed("Dripped", "drip")

    def handle(c: Conn) -> None:
        c.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
                       + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
        c.drip((bytes([b]) for b in body), interval)

    return handle


def endless_body(c: Conn) -> None:
    c.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\nConnection: close\r\n\r\n")
    item = ("<item><title>Sora without end</title><description>OpenAI showed Sora to Hollywood studio "
            "executives on March 25.</description></item>").encode()
    head = ('<?xml version="1.0" encoding="UTF-8"?>' + RSS_HEAD.format(title="Endless", host="endless")).encode()

    def chunks() -> Iterator[bytes]:
        yield head
        block = item * (65536 // len(item))
        while True:
            yield block

    c.stream(chunks())


def silent(c: Conn) -> None:
    c.wait(3600)


def compressed(body: bytes, encoding: str) -> Route:
    return lambda c: c.feed(body, "application/rss+xml", **{"Content-Encoding": encoding})


def shared_guid(server: RawServer, path: str) -> Route:
    def handle(c: Conn) -> None:
        with server.lock:
            version = server.hits[path]
        c.feed(shared_guid_feed(version))

    return handle


# --- cases ----------------------------------------------------------------------------


@dataclass
class Env:
    """What a case's setup may use."""

    server: RawServer
    folder: Path
    drip_timeout: float
    deadline_factor: float


@dataclass
class Setup:
    url: str
    timeout: float = 10.0
    private_networks: bool = True  # write allow_private_networks: true when the key exists
    proxy: bool = False


Check = Callable[["CaseRun", Env], list[str]]


@dataclass
class Case:
    name: str
    what: str
    setup: Callable[[Env], Setup]
    bound_s: float | Callable[[Env], float] = 10.0
    bound_mb: float = 300.0
    polls: int = 1
    fast: bool = False
    hostile_error: bool = False  # the hostile feed cannot succeed: its status must be an error
    check: Check | None = None

    def seconds(self, env: Env) -> float:
        return self.bound_s(env) if callable(self.bound_s) else self.bound_s


def deadline_bound(env: Env) -> float:
    return max(10.0, env.drip_timeout * env.deadline_factor + 5.0)


ENCODINGS = (
    # name, Python codec, declared name (XML declaration and HTTP charset), fast
    ("utf8", "utf-8", "UTF-8", False),
    ("utf16le-nobom", "utf-16-le", "UTF-16LE", True),
    ("utf16-bom", "utf-16", "UTF-16", False),
    ("utf32", "utf-32", "UTF-32", False),
    ("utf7", "utf-7", "UTF-7", True),
    ("ebcdic", "cp037", "IBM037", True),
)


def _entity_case(name: str, codec: str, declared: str, fast: bool) -> Case:
    def setup(env: Env) -> Setup:
        body = entity_bomb(codec, declared)
        return Setup(env.server.static(f"/entities-{name}.xml", body, f"application/rss+xml; charset={declared}"))

    return Case(f"entity-{name}", f"quadratic entity blowup, 170 KB of text, declared {declared}", setup, fast=fast)


def _no_stored_hostile(run: CaseRun, env: Env) -> list[str]:
    return [f"{run.hostile_stored} entries stored from the forbidden target"] if run.hostile_stored else []


def _redirect_to(location: str) -> Route:
    return lambda c: c.redirect(location)


def _redirect_chain(env: Env) -> Setup:
    for n in range(20, 0, -1):
        target = f"/chain/{n - 1}" if n > 1 else "/chain/end.xml"
        env.server.route(f"/chain/{n}", _redirect_to(env.server.base + target))
    env.server.static("/chain/end.xml", small_feed("End of the chain", "chain"))
    return Setup(env.server.base + "/chain/20")


def _redirect_loop(env: Env) -> Setup:
    env.server.route("/loop/a", lambda c: c.redirect(env.server.base + "/loop/b"))
    env.server.route("/loop/b", lambda c: c.redirect(env.server.base + "/loop/a"))
    return Setup(env.server.base + "/loop/a")


def _redirect_file(env: Env) -> Setup:
    return Setup(env.server.route("/to-file", lambda c: c.redirect("file:///etc/passwd")))


def _fifo(env: Env) -> Setup:
    path = env.folder / "feed.fifo"
    if not path.exists():
        os.mkfifo(path)
    return Setup(path.as_uri(), timeout=env.drip_timeout)


PRIVATE_PATH = "/private/internal.xml"
PUBLIC_PATH = "/pub/feed.xml"


def _redirect_private(env: Env) -> Setup:
    # The feed's URL names a public-looking host; HTTP_PROXY (httpx trusts the environment)
    # sends that request to this server, whose answer redirects to a loopback address.
    env.server.static(PRIVATE_PATH, small_feed("Internal only", "internal", "Internal memo: Sora budget for March 25."))
    env.server.route(PUBLIC_PATH, lambda c: c.redirect(env.server.base + PRIVATE_PATH))
    return Setup("http://news.example.com" + PUBLIC_PATH, private_networks=False, proxy=True)


def _check_private(run: CaseRun, env: Env) -> list[str]:
    if env.server.hits[PUBLIC_PATH] == 0:
        run.skip = "the public-looking URL never reached the loopback proxy (HTTP_PROXY not used?): untestable here"
        return []
    problems = _no_stored_hostile(run, env)
    if env.server.hits[PRIVATE_PATH]:
        problems.append(f"the private redirect target was fetched ({env.server.hits[PRIVATE_PATH]}x)")
    return problems


def _check_shared_guid(run: CaseRun, env: Env) -> list[str]:
    counts = [c for c in run.hostile_counts if c is not None]
    if not counts or len(counts) != len(run.hostile_counts):
        return ["stored entries unreadable"]
    problems = []
    if max(counts) > 200:
        problems.append(f"stored {max(counts)} entries for 200 items")
    if counts[-1] != counts[0]:
        problems.append("the store grew across polls: " + " -> ".join(map(str, counts)))
    return problems


def build_cases() -> list[Case]:
    cases = [_entity_case(*e) for e in ENCODINGS]
    cases += [
        Case("gzip-nested", "Content-Encoding: gzip, gzip: ~24 KB inflating to 10 GiB",
             lambda env: Setup(env.server.route("/nested.xml", compressed(nested_gzip(10 * 1024), "gzip, gzip"))), fast=True),
        Case("gzip-bomb", "gzip bomb: 2 MB inflating to 2 GiB",
             lambda env: Setup(env.server.route("/gzip.xml", compressed(gzip_zeros(2048), "gzip")))),
        Case("deflate-bomb", "deflate (zlib) bomb: 2 MB inflating to 2 GiB",
             lambda env: Setup(env.server.route("/deflate.xml", compressed(zlib_zeros(2048), "deflate")))),
        Case("entry-5mb", "one on-topic entry of 5 MB",
             lambda env: Setup(env.server.static("/big5.xml", big_entry(5 * MiB))), fast=True),
        Case("drip-headers", "status line and headers dripped a byte at a time, never ending",
             lambda env: Setup(env.server.route("/drip-headers", drip_headers(min(1.0, env.drip_timeout / 2))),
                               timeout=env.drip_timeout),
             bound_s=deadline_bound, fast=True, hostile_error=True),
        Case("drip-body", "a small feed's body dripped a byte at a time",
             lambda env: Setup(env.server.route("/drip-body", drip_body(min(1.0, env.drip_timeout / 2))),
                               timeout=env.drip_timeout),
             bound_s=deadline_bound, hostile_error=True),
        Case("endless-body", "a body that never ends, as fast as the client reads",
             lambda env: Setup(env.server.route("/endless", endless_body), timeout=env.drip_timeout),
             bound_s=deadline_bound, hostile_error=True),
        Case("silent", "accepts the connection and never answers",
             lambda env: Setup(env.server.route("/silent", silent), timeout=env.drip_timeout),
             bound_s=deadline_bound, hostile_error=True),
        Case("redirect-chain-20", "a chain of 20 redirects to a valid feed", _redirect_chain),
        Case("redirect-loop", "two URLs redirecting to each other", _redirect_loop, hostile_error=True),
        Case("redirect-file", "a redirect to file:///etc/passwd", _redirect_file, hostile_error=True,
             check=_no_stored_hostile),
        Case("entries-50k", "50,000 on-topic entries in one feed (~10 MB)",
             lambda env: Setup(env.server.static("/many.xml", many_entries(50_000))), bound_s=60.0, bound_mb=500.0),
        Case("entry-1mb", "one on-topic entry of 1 MB",
             lambda env: Setup(env.server.static("/big1.xml", big_entry(MiB))), bound_s=60.0, bound_mb=500.0),
        Case("shared-guid", "200 entries under one guid, text changing on each poll; 3 polls",
             lambda env: Setup(env.server.route("/shared-guid.xml", shared_guid(env.server, "/shared-guid.xml"))),
             polls=3, fast=True, check=_check_shared_guid),
        Case("fifo", "url: file:///.../feed.fifo (a FIFO nobody writes)", _fifo,
             bound_s=deadline_bound, fast=True, hostile_error=True),
        Case("redirect-private", "a public-looking host (via HTTP_PROXY) redirecting to 127.0.0.1",
             _redirect_private, check=_check_private),
    ]
    return cases


# --- running one poll ----------------------------------------------------------------


@dataclass
class PollRun:
    wall: float
    peak_mb: float
    cpu: float  # user + system seconds of the poll and its reaped children
    returncode: int | None
    output: str
    killed: str | None = None
    contention: float | None = None  # (time on a CPU + waiting for one) / time on a CPU, its threads summed


@dataclass
class CaseRun:
    name: str
    bound_s: float
    bound_mb: float
    polls: list[PollRun] = field(default_factory=list)
    controls: dict[str, tuple[int | None, int]] = field(default_factory=dict)
    hostile_counts: list[int | None] = field(default_factory=list)
    status: str = ""
    problems: list[str] = field(default_factory=list)
    skip: str | None = None

    @property
    def wall(self) -> float:
        return max((p.wall for p in self.polls), default=0.0)

    @property
    def peak_mb(self) -> float:
        return max((p.peak_mb for p in self.polls), default=0.0)

    @property
    def cpu(self) -> float:
        return max((p.cpu for p in self.polls), default=0.0)

    @property
    def hostile_stored(self) -> int | None:
        return self.hostile_counts[-1] if self.hostile_counts else None

    @property
    def verdict(self) -> str:
        if self.problems:
            return "FAIL"
        return "SKIP" if self.skip else "PASS"


TICK = os.sysconf("SC_CLK_TCK")


def _session_usage(session: int, tasks: dict[tuple[str, str], tuple[int, int]]) -> tuple[float, float]:
    """(resident MB, CPU seconds) summed over one session's processes but its leader (the wrapper).

    CPU counts each process's own time and that of its reaped children (utime, stime,
    cutime, cstime), so workers that already exited are still in it. `tasks` gets the
    latest (ns on a CPU, ns waiting for one) of every thread, from /proc/PID/task/TID/schedstat."""
    pages = ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == session:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 21 and int(fields[3]) == session:
            pages += int(fields[21])
            ticks += sum(int(f) for f in fields[11:15])
            try:
                threads = os.listdir(f"/proc/{entry}/task")
            except OSError:
                continue
            for tid in threads:
                try:
                    with open(f"/proc/{entry}/task/{tid}/schedstat", "rb") as handle:
                        on_cpu, waiting = handle.read().split()[:2]
                except (OSError, ValueError):
                    continue
                tasks[(entry, tid)] = (int(on_cpu), int(waiting))
    return pages * PAGE / MiB, ticks / TICK


_PRCTL: Callable[..., int] | None
try:  # looked up here: the child of a threaded process should not load libraries
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None


def _die_with_parent() -> None:
    """In the wrapper's process: SIGKILL when the bench dies (PR_SET_PDEATHSIG)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)


_CURRENT: set[int] = set()


def _kill_session(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# Runs the poll and writes "ru_maxrss_KiB cpu_seconds" of it and its reaped children. A
# process's ru_maxrss includes its size before exec, so the poll is forked from this small
# interpreter (-I -S: a few MB) rather than from the bench, whose payload caches would
# count. The poll dies with the wrapper (PR_SET_PDEATHSIG).
WRAPPER = """\
import os, sys
try:
    import ctypes
    prctl = ctypes.CDLL(None).prctl
except Exception:
    prctl = None
pid = os.fork()
if pid == 0:
    if prctl is not None:
        prctl(1, 9)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_poll(config: Path, env: dict[str, str], kill_after: float, kill_rss: float, contention: float = 1.0,
             hard_after: float | None = None) -> PollRun:
    """One `python -m tracker --config CONFIG poll`, measured; killed past the kill limits.

    kill_after applies to the contention-adjusted time (see adjusted_seconds; `contention`
    until the poll's own is measured; 0: the raw wall time), hard_after to the wall time."""
    folder = config.parent
    stamp = time.monotonic_ns()
    out_path, report_path = folder / f"poll-{stamp}.out", folder / f"poll-{stamp}.usage"
    command = [sys.executable, "-I", "-S", "-c", WRAPPER, str(report_path),
               sys.executable, "-m", "tracker", "--config", str(config), "poll"]
    with open(out_path, "wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)
    _CURRENT.add(process.pid)
    done = threading.Event()
    sampled = [0.0, 0.0]
    killed: list[str] = []
    tasks: dict[tuple[str, str], tuple[int, int]] = {}

    def watch() -> None:
        while not done.wait(0.05):
            rss, cpu = _session_usage(process.pid, tasks)
            sampled[0] = max(sampled[0], rss)
            sampled[1] = max(sampled[1], cpu)
            elapsed = time.perf_counter() - started
            if killed:
                continue
            if rss > kill_rss:
                killed.append(f"killed at {rss:.0f} MB")
                _kill_session(process.pid)
            elif adjusted_seconds(elapsed, sampled[1], max(1.0, contention and (measured_contention(tasks) or contention))) \
                    > kill_after:
                killed.append(f"killed after {elapsed:.0f} s")
                _kill_session(process.pid)
            elif hard_after is not None and elapsed > hard_after:
                killed.append(f"killed after {elapsed:.0f} s (the --budget)")
                _kill_session(process.pid)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, _ = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    watcher.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    _kill_session(process.pid)  # worker processes left behind by the poll, if any
    _CURRENT.discard(process.pid)
    peak, cpu = sampled
    try:
        maxrss_kib, cpu_seconds = report_path.read_text().split()
        peak, cpu = max(peak, int(maxrss_kib) / 1024), max(cpu, float(cpu_seconds))
    except (OSError, ValueError):
        pass  # killed: the samples stand
    data = out_path.read_bytes()
    text = data[:200_000].decode("utf-8", "replace") + ("\n[...]\n" + data[-50_000:].decode("utf-8", "replace")
                                                       if len(data) > 250_000 else data[200_000:].decode("utf-8", "replace"))
    return PollRun(wall, peak, cpu, process.returncode, text, killed[0] if killed else None, measured_contention(tasks))


def measured_contention(tasks: dict[tuple[str, str], tuple[int, int]]) -> float | None:
    """How much longer the poll's threads took to get their CPU time: (on + waiting) / on."""
    on_cpu = sum(on for on, _ in tasks.values())
    waiting = sum(wait for _, wait in tasks.values())
    return (on_cpu + waiting) / on_cpu if on_cpu > 0.05e9 else None


def adjusted_seconds(wall: float, cpu: float, contention: float) -> float:
    """The wall time without the wait for a CPU held by other processes.

    `contention`: each CPU second of the poll cost that many wall seconds (measured on the
    poll's own threads from schedstat, else the baseline's wall over CPU time). The wait for
    the network, a deadline or a lock is not CPU time and is never taken off. Never less than
    wall / contention: CPU seconds of threads running side by side are not all waits."""
    return max(wall / contention, wall - cpu * (contention - 1.0))


def stored_counts(db: Path) -> dict[str, tuple[int, str | None, str | None]]:
    """Entries, last status and last error per feed name, from the SQLite file opened read-only."""
    if not db.exists():
        return {}
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return {}
    try:
        rows = con.execute(
            "SELECT f.name, COUNT(e.id), f.last_status, f.last_error FROM feeds f "
            "LEFT JOIN entries e ON e.feed_id = f.id GROUP BY f.id"
        ).fetchall()
    except sqlite3.Error:
        return {}
    finally:
        con.close()
    return {name: (count, status, error) for name, count, status, error in rows}


# --- configuration ---------------------------------------------------------------------


def _yaml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a YAML string


def topics_yaml() -> str:
    lines = ["topics:"]
    for name, topic in TOPICS.items():
        keywords = ", ".join(_yaml_str(k) for k in topic.keywords)
        lines.append(f"  {name}:")
        if topic.title:
            lines.append(f"    title: {_yaml_str(topic.title)}")
        lines.append(f"    keywords: [{keywords}]")
    return "\n".join(lines)


def private_networks_placement() -> str | None:
    """Where feeds.yaml takes `allow_private_networks` (None until tracker/config.py knows the key)."""
    source = (ROOT / "tracker" / "config.py").read_text(encoding="utf-8")
    if "allow_private_networks" not in source:
        return None
    from tracker.config import load_config
    from tracker.errors import TrackerError

    with tempfile.TemporaryDirectory() as tmp:
        for where, text in (
            ("top", "allow_private_networks: true\n"),
            ("defaults", "defaults:\n  allow_private_networks: true\n"),
            ("feed", ""),
        ):
            feed = "  - name: probe\n    url: http://127.0.0.1:9/x.xml\n"
            if where == "feed":
                feed += "    allow_private_networks: true\n"
            path = Path(tmp) / "probe.yaml"
            path.write_text(f"database: sqlite:///{tmp}/p.db\n{text}feeds:\n{feed}", encoding="utf-8")
            try:
                load_config(path)
            except (TrackerError, Exception):  # noqa: BLE001 - a placement it refuses
                continue
            return where
    return None


def write_config(folder: Path, feeds: list[tuple[str, str, float]], placement: str | None, private: bool) -> Path:
    lines = [f"database: {_yaml_str('sqlite:///' + str(folder / 'tracker.db'))}"]
    allow = private and placement is not None
    if allow and placement == "top":
        lines.append("allow_private_networks: true")
    if allow and placement == "defaults":
        lines.append("defaults:\n  allow_private_networks: true")
    lines.append(topics_yaml())
    lines.append("feeds:")
    for name, url, timeout in feeds:
        lines.append(f"  - name: {name}\n    url: {_yaml_str(url)}\n    timeout: {timeout:g}s")
        if allow and placement == "feed":
            lines.append("    allow_private_networks: true")
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def poll_environment(proxy_port: int | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.upper() not in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "TRACKER_DATABASE_URL",
                                "TRACKER_CONFIG", "PYTHONDONTWRITEBYTECODE")}
    # Compiled modules cached outside the repository: a poll's start-up is not recompiling.
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "tracker-hostile-pycache")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if proxy_port is not None:
        env["HTTP_PROXY"] = env["http_proxy"] = f"http://127.0.0.1:{proxy_port}"
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


# --- the run ---------------------------------------------------------------------------


@dataclass
class Options:
    fast: bool
    kill_after: float | None
    kill_rss: float | None
    placement: str | None
    contention: float = 1.0  # the baseline's wall over CPU time: the fallback of adjusted_seconds
    strict: bool = False  # check the raw wall time

    def factor(self, poll: PollRun) -> float:
        """The contention a poll's time is adjusted for (1 when --strict)."""
        return 1.0 if self.strict else max(1.0, poll.contention or self.contention)

    def adjusted(self, poll: PollRun) -> float:
        return adjusted_seconds(poll.wall, poll.cpu, self.factor(poll))
    budget_end: float | None = None  # time.perf_counter() value past which no poll runs on


def control_urls(server: RawServer) -> list[tuple[str, str, float]]:
    return [(name, server.static(f"/control/{name}.xml", control_feed(index, count)), 10.0)
            for name, index, count in CONTROLS]


def limits(options: Options, bound_s: float, bound_mb: float) -> tuple[float, float, float | None]:
    """When to kill a poll: adjusted seconds, MB, and wall seconds left of the --budget."""
    if options.fast:
        kill_after, kill_rss = bound_s + 2.0, max(2 * bound_mb, bound_mb + 300)
    else:
        kill_after, kill_rss = max(3 * bound_s, bound_s + 30.0), 4096.0
    hard_after = None
    if options.budget_end is not None:
        hard_after = max(1.0, options.budget_end - time.perf_counter())
    return options.kill_after or kill_after, options.kill_rss or kill_rss, hard_after


def run_case(case: Case, server: RawServer, folder: Path, options: Options, env: Env) -> CaseRun:
    folder.mkdir(parents=True)
    env = dataclasses.replace(env, folder=folder)
    setup = case.setup(env)
    bound_s = case.seconds(env)
    run = CaseRun(case.name, bound_s, case.bound_mb)
    feeds = [*control_urls(server), (HOSTILE, setup.url, setup.timeout)]
    config = write_config(folder, feeds, options.placement, setup.private_networks)
    environment = poll_environment(server.server_address[1] if setup.proxy else None)
    counts: dict[str, tuple[int, str | None, str | None]] = {}
    for _ in range(case.polls):
        if _STOPPING.is_set():
            run.problems = ["not run in full: stopped"]
            return run
        kill_after, kill_rss, hard_after = limits(options, bound_s, case.bound_mb)
        poll = run_poll(config, environment, kill_after, kill_rss, 0.0 if options.strict else options.contention, hard_after)
        run.polls.append(poll)
        counts = stored_counts(folder / "tracker.db")
        run.hostile_counts.append(counts[HOSTILE][0] if HOSTILE in counts else None)
    run.status = hostile_status(run, counts)
    for name, _, served in CONTROLS:
        run.controls[name] = (counts[name][0] if name in counts else None, served)
    run.problems = judge(case, run, counts, env, options)
    return run


def hostile_status(run: CaseRun, counts: dict[str, tuple[int, str | None, str | None]]) -> str:
    lines = [line.strip() for line in run.polls[-1].output.splitlines() if line.startswith(HOSTILE + ":")]
    if lines:
        return lines[-1]
    if HOSTILE in counts and counts[HOSTILE][1]:
        _, status, error = counts[HOSTILE]
        return f"(no line printed; stored status {status}" + (f": {error})" if error else ")")
    return "(no status line)"


def judge(case: Case, run: CaseRun, counts: dict[str, tuple[int, str | None, str | None]], env: Env,
          options: Options) -> list[str]:
    problems: list[str] = []
    for i, poll in enumerate(run.polls, 1):
        which = f"poll {i}: " if len(run.polls) > 1 else ""
        if poll.killed:
            problems.append(which + poll.killed)
        elif poll.returncode is not None and (poll.returncode < 0 or poll.returncode >= 128):
            code = poll.returncode
            problems.append(f"{which}the poll died of signal {-code if code < 0 else code - 128}")
        elif options.adjusted(poll) > run.bound_s:
            adjusted = options.adjusted(poll)
            less = f" ({adjusted:.1f} s without contention)" if adjusted < poll.wall else ""
            problems.append(f"{which}{poll.wall:.1f} s{less} > {run.bound_s:g} s")
        if poll.peak_mb > run.bound_mb:
            problems.append(f"{which}{poll.peak_mb:.0f} MB > {run.bound_mb:g} MB")
        if "Traceback (most recent call last)" in poll.output:
            after = poll.output.rsplit("Traceback (most recent call last):", 1)[1].splitlines()
            raised = next((line for line in after if line.strip() and not line.startswith(" ")), "")
            problems.append(f"{which}a traceback in the output: {raised[:120]}")
    for name, (stored, served) in run.controls.items():
        if stored != served:
            problems.append(f"{name}: {stored if stored is not None else 'nothing'} stored of {served}")
    if run.status.startswith("(no"):
        problems.append("no status line for the hostile feed")
    elif case.hostile_error and not (run.status.startswith(f"{HOSTILE}: error") or run.status.startswith(f"{HOSTILE}: gone")):
        problems.append("the hostile feed did not end in an error")
    if case.check is not None:
        problems += case.check(run, env)
    return problems


def baseline(server: RawServer, folder: Path, options: Options, runs: int) -> tuple[float, float, float, list[str]]:
    walls, peaks, cpus, problems = [], [], [], []
    for n in range(runs):
        sub = folder / f"baseline-{n}"
        sub.mkdir(parents=True)
        config = write_config(sub, control_urls(server), options.placement, True)
        poll = run_poll(config, poll_environment(None), 120.0, 4096.0)
        counts = stored_counts(sub / "tracker.db")
        for name, _, served in CONTROLS:
            if counts.get(name, (None,))[0] != served:
                problems.append(f"baseline {n}: {name} stored {counts.get(name, (None,))[0]} of {served}")
        if "Traceback (most recent call last)" in poll.output:
            problems.append(f"baseline {n}: a traceback in the output")
        walls.append(poll.wall)
        peaks.append(poll.peak_mb)
        cpus.append(poll.cpu)
    return statistics.median(walls), statistics.median(peaks), statistics.median(cpus), problems


def print_row(run: CaseRun, base_wall: float, base_mb: float, options: Options) -> None:
    if not run.polls:
        print(f"{run.verdict:<6} {run.name:<20} {'':>9} {'-':>7} {'':>6} {'':>6} {'':>6} {'-':>8} {'':>6}  "
              f"{'-':<9} {'-':>6}  ({run.problems[0] if run.problems else 'not run'})", flush=True)
        return
    controls = " ".join(f"{s if s is not None else '-'}/{n}" for s, n in run.controls.values())
    stored = "/".join("-" if c is None else str(c) for c in run.hostile_counts)
    killed = "+" if any(p.killed for p in run.polls) else " "
    bound = f"{run.bound_s:g}s/{run.bound_mb:g}M"
    adjusted = max(options.adjusted(p) for p in run.polls)
    print(f"{run.verdict:<6} {run.name:<20} {bound:>9} {run.wall:>6.1f}{killed} {run.wall / base_wall:>6.1f} "
          f"{run.cpu:>6.1f} {adjusted:>6.1f} {run.peak_mb:>8.0f} {run.peak_mb / base_mb:>6.1f}  {controls:<9} "
          f"{stored:>6}  {run.status[:100]}", flush=True)
    for problem in run.problems:
        print(f"{'':<6} {'':<20} - {problem}", flush=True)
    if run.skip:
        print(f"{'':<6} {'':<20} - skipped: {run.skip}", flush=True)


_STOPPING = threading.Event()


def _stop_current(signum: int, frame: object) -> None:
    _STOPPING.set()  # no case starts any more
    for pid in list(_CURRENT):
        _kill_session(pid)
    raise SystemExit(128 + signum)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="the quick subset (under 40 s once the bounds hold)")
    ap.add_argument("--only", help="comma-separated case names (see --list)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--kill-after", type=float, help="kill a poll after this many seconds "
                    "(default: max(3 x bound, bound + 30 s); with --fast, bound + 2 s)")
    ap.add_argument("--kill-rss", type=float, help="kill a poll above this many MB "
                    "(default 4096; with --fast, max(2 x bound, bound + 300))")
    ap.add_argument("--budget", type=float, help="end the run after about this many seconds: a poll still running "
                    "then is killed, and the cases not started FAIL as not run")
    ap.add_argument("--baseline-runs", type=int, help="baseline polls, median quoted (default 3; 1 with --fast)")
    ap.add_argument("--strict", action="store_true", help="check the raw wall time against the bounds, "
                    "not the time adjusted for CPU contention")
    ap.add_argument("--jobs", type=int, help="cases run side by side (default 1; 2 with --fast). Each poll's "
                    "time is adjusted for the CPU it waited for, the others' polls included")
    ap.add_argument("--keep", type=Path, help="keep each case's config, database and poll output under this folder")
    ap.add_argument("--drip-timeout", type=float, help="the hostile feed's timeout in the drip, silent, endless "
                    "and FIFO cases (default 2 s; 1 s with --fast)")
    args = ap.parse_args()

    cases = build_cases()
    if args.list:
        for case in cases:
            print(f"{case.name:<18} {'fast ' if case.fast else '     '}{case.what}")
        return 0
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in {c.name for c in cases}]
        if unknown:
            ap.error(f"unknown case {', '.join(unknown)} (see --list)")
        cases = [c for c in cases if c.name in wanted]
    elif args.fast:
        cases = [c for c in cases if c.fast]

    signal.signal(signal.SIGTERM, _stop_current)
    started = time.perf_counter()
    try:
        from tracker.poll import DEADLINE_FACTOR as factor
    except ImportError:
        factor = 3
    options = Options(args.fast, args.kill_after, args.kill_rss, private_networks_placement(),
                      budget_end=started + args.budget if args.budget is not None else None)
    drip_timeout = args.drip_timeout or (1.0 if args.fast else 2.0)
    runs = args.baseline_runs or (1 if args.fast else 3)
    jobs = max(1, args.jobs or (2 if args.fast else 1))
    server = RawServer()
    results: list[CaseRun] = []
    try:
        with tempfile.TemporaryDirectory(prefix="tracker-hostile-") as tmp:
            folder = Path(tmp)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                folder = Path(tempfile.mkdtemp(prefix="hostile-", dir=args.keep))
            print(f"allow_private_networks: {'set (' + options.placement + ')' if options.placement else 'not a config key yet: omitted'}; "
                  f"drip-like cases: feed timeout {drip_timeout:g} s, deadline {drip_timeout * factor:g} s "
                  f"(DEADLINE_FACTOR {factor:g})", flush=True)
            base_wall, base_mb, base_cpu, base_problems = baseline(server, folder, options, runs)
            # A poll of two small feeds is CPU-bound: the wall time beyond its CPU time is
            # time spent waiting for a CPU that other processes hold (other work on the
            # machine). The time bounds are checked without that wait (adjusted_seconds),
            # so that a loaded machine does not fail a sound case.
            options.contention = max(1.0, base_wall / base_cpu) if base_cpu > 0 else 1.0
            options.strict = args.strict
            print(f"baseline: the two control feeds alone, median of {runs}: {base_wall:.2f} s wall, "
                  f"{base_cpu:.2f} s CPU, {base_mb:.0f} MB", flush=True)
            print(f"bounds are checked on 'adj s': the wall time less the poll's wait for a CPU held by other work "
                  f"(its threads' schedstat; the baseline's wall was {options.contention:.2f} x its CPU time)"
                  + ("; --strict: raw wall time" if args.strict else ""), flush=True)
            for problem in base_problems:
                print(f"  baseline problem: {problem}", flush=True)
            print(f"\n{'result':<6} {'case':<20} {'bound':>9} {'wall s':>7} {'x base':>6} {'cpu s':>6} {'adj s':>6} "
                  f"{'peak MB':>8} {'x base':>6}  {'controls':<9} {'stored':>6}  hostile status", flush=True)
            env = Env(server, folder, drip_timeout, factor)

            def execute(case: Case) -> CaseRun:
                if _STOPPING.is_set():
                    return CaseRun(case.name, case.seconds(env), case.bound_mb, problems=["not run: stopped"])
                if args.budget is not None and time.perf_counter() - started > args.budget:
                    return CaseRun(case.name, case.seconds(env), case.bound_mb,
                                   problems=[f"not run: the --budget of {args.budget:g} s was spent"])
                return run_case(case, server, folder / case.name, options, env)

            with ThreadPoolExecutor(max_workers=jobs) as pool:
                # Cases of several polls start first; rows print in case order.
                futures = {case.name: pool.submit(execute, case) for case in sorted(cases, key=lambda c: -c.polls)}
                for case in cases:
                    run = futures[case.name].result()
                    results.append(run)
                    print_row(run, base_wall, base_mb, options)
            total = time.perf_counter() - started
            failed = [r for r in results if r.verdict == "FAIL"]
            print(f"\n{len(results) - len(failed)} of {len(results)} cases within bounds ({sum(r.verdict == 'SKIP' for r in results)} "
                  f"skipped); {total:.0f} s in all. '+' marks a poll killed at the limit (its figures are lower bounds).")
    finally:
        server.stop()
    if args.json:
        args.json.write_text(json.dumps({
            "baseline": {"wall": base_wall, "cpu": base_cpu, "peak_mb": base_mb, "runs": runs, "problems": base_problems},
            "contention": options.contention,
            "cases": [{
                "name": r.name, "verdict": r.verdict, "bound_s": r.bound_s, "bound_mb": r.bound_mb,
                "wall": r.wall, "cpu": r.cpu,
                "adjusted": max((options.adjusted(p) for p in r.polls), default=None),
                "peak_mb": r.peak_mb, "wall_ratio": r.wall / base_wall, "peak_ratio": r.peak_mb / base_mb,
                "polls": [{"wall": p.wall, "cpu": p.cpu, "contention": p.contention, "peak_mb": p.peak_mb, "returncode": p.returncode, "killed": p.killed} for p in r.polls],
                "controls": {k: {"stored": s, "served": n} for k, (s, n) in r.controls.items()},
                "hostile_stored": r.hostile_counts, "status": r.status, "problems": r.problems, "skip": r.skip,
            } for r in results],
        }, indent=2), encoding="utf-8")
    return 1 if failed or base_problems else 0


if __name__ == "__main__":
    sys.exit(main())
