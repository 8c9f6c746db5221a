"""Polling at scale: 1,000 feeds from a loopback server, against a bare httpx fetch loop.

Usage: python bench/poll.py [--feeds 1000] [--articles 20] [--on-topic 0.03] [--delay 50-100] [--workers N] [--runs 3]

A separate process serves the feeds on 127.0.0.1 (ThreadingHTTPServer, HTTP/1.1
keep-alive) with a delay of 50-100 ms before each response and an ETag per version; it
stops by itself after --lifetime seconds. The tracker polls all feeds with Tracker.poll in
three kinds of cycle: cold (every entry new), changed (every feed has one new article and
a new ETag) and not modified (every feed answers 304). The baseline, in the same run, is a
bare httpx fetch loop with the same number of threads and the same conditional headers,
with no parsing and no database. Peak RSS is ru_maxrss of this process (the server runs
in its own process) and VmHWM of each worker process.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import random
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _loopback import FeedHandler, start, stop  # noqa: E402
from _newsgen import TOPICS, feed_document  # noqa: E402
from tracker.app import MAX_CONCURRENT_POLLS, make_tracker  # noqa: E402
from tracker.config import Config, FeedConfig  # noqa: E402


# --- the server (its own process) --------------------------------------------------


def serve(conn: Connection, feeds: int, articles: int, share: float, delay: tuple[float, float], lifetime: float) -> None:
    """Serve /feed/<i> until told to stop or `lifetime` passes; versions change on request."""
    # Version v of feed i has `articles + v` items: the same ones as before and one more.
    version = [0]
    documents = [feed_document(i, articles, on_topic_share=share) for i in range(feeds)]

    def document(i: int) -> bytes:
        return documents[i]

    class Handler(FeedHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            rng = random.Random(hash((self.path, version[0], time.monotonic_ns())))
            time.sleep(rng.uniform(*delay))
            try:
                i = int(self.path.rsplit("/", 1)[1])
            except ValueError:
                self.send_error(404)
                return
            self.send_feed(f'"v{version[0]}-{i}"', lambda: document(i))

    server = start(Handler)
    conn.send(server.server_address[1])
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        if conn.poll(1.0):
            command = conn.recv()
            if command == "next":
                version[0] += 1
                documents = [feed_document(i, articles + version[0], on_topic_share=share) for i in range(feeds)]
                conn.send("ok")
            else:
                break
    stop(server)


# --- the measurements --------------------------------------------------------------


def bare_fetch(port: int, feeds: int, workers: int, etags: dict[int, str]) -> float:
    """GET every feed with the same concurrency and conditional headers; no parsing, no database."""
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    with httpx.Client(limits=limits, timeout=20) as client:
        def one(i: int) -> None:
            headers = {"If-None-Match": etags[i]} if i in etags else {}
            response = client.get(f"http://127.0.0.1:{port}/feed/{i}", headers=headers)
            if response.status_code == 200:
                etags[i] = response.headers["etag"]

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, range(feeds)))
        return time.perf_counter() - started


def worker_peaks(tracker: object) -> list[int]:
    """VmHWM (peak RSS, KiB) of each live worker process of the tracker."""
    pool = getattr(tracker, "_pool", None)
    peaks = []
    for process in (getattr(pool, "_processes", None) or {}).values():
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    return peaks


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--articles", type=int, default=20, help="articles per feed (default 20)")
    ap.add_argument("--on-topic", type=float, default=0.03, help="share of articles about the story (default 0.03)")
    ap.add_argument("--delay", default="50-100", help="server delay per response in ms, e.g. 50-100")
    ap.add_argument("--workers", type=int, default=MAX_CONCURRENT_POLLS, help="polling threads (Tracker.poll workers)")
    ap.add_argument("--runs", type=int, default=3, help="changed and not-modified cycles (default 3 each)")
    ap.add_argument("--processes", type=int, help="worker processes (default: the tracker's own choice)")
    ap.add_argument("--lifetime", type=float, default=900, help="the server stops by itself after this (s)")
    ap.add_argument("-v", action="store_true", help="log each poll's phases (tracker.app debug log)")
    args = ap.parse_args()
    if args.v:
        logging.basicConfig(format="  %(message)s")
        logging.getLogger("tracker.app").setLevel(logging.DEBUG)
    low, high = (float(x) / 1000 for x in args.delay.split("-"))

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=serve, args=(child, args.feeds, args.articles, args.on_topic, (low, high), args.lifetime), daemon=True)
    server.start()
    port = parent.recv()

    def next_version() -> None:
        parent.send("next")
        parent.recv()

    rows: dict[str, list[float]] = {"cold": [], "changed": [], "not-modified": [],
                                    "bare cold": [], "bare changed": [], "bare not-modified": []}
    try:
        with tempfile.TemporaryDirectory(prefix="tracker-pollbench-") as tmp:
            feeds = tuple(
                FeedConfig(name=f"f{i:04d}", url=f"http://127.0.0.1:{port}/feed/{i}",
                           interval=timedelta(minutes=30), timeout=timedelta(seconds=20),
                           full_text="never")  # feed polling alone: bench/fulltext.py measures pages
                for i in range(args.feeds)
            )
            config = Config(path=Path(tmp) / "feeds.yaml", database_url=f"sqlite:///{tmp}/poll.db", feeds=feeds, topics=TOPICS)
            tracker = make_tracker(config, processes=args.processes)
            etags: dict[int, str] = {}
            peaks: list[int] = []
            cpu_main: list[float] = []
            try:
                rows["bare cold"].append(bare_fetch(port, args.feeds, args.workers, etags))
                started = time.perf_counter()
                results = tracker.poll(workers=args.workers)
                rows["cold"].append(time.perf_counter() - started)
                failed = [r.line() for r in results if r.failed]
                print(f"cold: {rows['cold'][-1]:.2f} s ({sum(r.new for r in results)} entries, {len(failed)} failed)", flush=True)
                for failure in failed[:5]:
                    print("  ", failure)
                for run in range(args.runs):
                    next_version()
                    etags_before = dict(etags)
                    rows["bare changed"].append(bare_fetch(port, args.feeds, args.workers, etags))
                    started, cpu = time.perf_counter(), time.process_time()
                    results = tracker.poll(workers=args.workers)
                    rows["changed"].append(time.perf_counter() - started)
                    cpu_main.append(time.process_time() - cpu)
                    assert all(r.status == "ok" and r.new == 1 for r in results), [r.line() for r in results if r.new != 1][:3]
                    del etags_before
                    rows["bare not-modified"].append(bare_fetch(port, args.feeds, args.workers, etags))
                    started = time.perf_counter()
                    results = tracker.poll(workers=args.workers)
                    rows["not-modified"].append(time.perf_counter() - started)
                    assert all(r.status == "not-modified" for r in results), [r.line() for r in results][:3]
                    print(f"run {run + 1}: changed {rows['changed'][-1]:.2f} s (bare {rows['bare changed'][-1]:.2f} s), "
                          f"not modified {rows['not-modified'][-1]:.2f} s (bare {rows['bare not-modified'][-1]:.2f} s)", flush=True)
                peaks = worker_peaks(tracker)
                print(f"CPU time of this process (threads: HTTP, database, merge) in a changed cycle: "
                      f"median {statistics.median(cpu_main):.2f} s")
            finally:
                tracker.close()
    finally:
        parent.send("stop")
        server.join(10)
        if server.is_alive():
            server.terminate()

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print()
    print(f"{args.feeds} feeds x {args.articles} articles ({args.on_topic:.0%} about the story), server delay {args.delay} ms, {args.workers} polling threads, "
          f"worker processes: {len(peaks) or 'none'}")
    print(f"{'cycle':<14} {'tracker (s)':>11} {'bare httpx (s)':>15} {'ratio':>6}  target")
    for cycle, target in (("cold", "-"), ("changed", "<= 30 s"), ("not-modified", "<= 3 s")):
        mine, bare = statistics.median(rows[cycle]), statistics.median(rows[f"bare {cycle}"])
        print(f"{cycle:<14} {mine:>11.2f} {bare:>15.2f} {mine / bare:>5.2f}x  {target}")
    print(f"peak RSS: this process {rss / 1024:.0f} MB; worker processes "
          + (", ".join(f"{p / 1024:.0f} MB" for p in peaks) or "none") + " (target <= 300 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
