"""Bounded time and memory: huge documents through the pipeline, and a compressed day of the daemon.

Usage: python bench/bounded.py [--only big|daemon] [--on-topic 0.03] [--daemon-seconds 180] [--daemon-feeds 40]

Documents (each case in a fresh process, so peak RSS is its own): a feed of about 15 MB
(just under the fetch cap), a feed with 10,000 entries, and one article of 1 MB of text,
each polled through the whole pipeline (fetch from a file, parse, extract, merge, store).
The baseline in the same run is feedparser.parse on the same bytes. Printed per case:
seconds, peak RSS of the process (ru_maxrss) and tracemalloc's peak (a second run).

Daemon: tracker.scheduler.Daemon polls feeds at 1-2 s intervals against a loopback server
(its own process; a feed gains one article on one request in five, the rest are 304s) for
--daemon-seconds, sampling this process's RSS and open file descriptors (/proc/self/fd)
every few seconds. No growth means the last third of the samples is not above the first.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _loopback import FeedHandler, start, stop  # noqa: E402
from _newsgen import TOPICS, article, feed_document  # noqa: E402

MiB = 2**20


# --- documents -----------------------------------------------------------------------


def big_feed(limit: int, share: float) -> bytes:
    """Generated articles up to just under `limit` bytes, `share` of them about the story."""
    per_article = len(feed_document(0, 40, on_topic_share=share)) / 40
    count = int(limit / per_article)
    while True:
        body = feed_document(1, count, on_topic_share=share)
        if len(body) <= limit:
            return body
        count = int(count * 0.98)


def many_entries(count: int) -> bytes:
    """`count` short entries (a title and a one-sentence summary each), 3% about the story."""
    rng = random.Random(3)
    items = []
    for n in range(count):
        title, body = article(rng, rng.random() < 0.03)
        summary = body.split("</p>", 1)[0].removeprefix("<p>").split(". ", 1)[0]
        items.append(
            f"<item><title>{escape(title)} {n}</title><guid>many-{n}</guid>"
            f"<pubDate>Sat, 23 Mar 2024 {n % 24:02d}:{n % 60:02d}:00 +0000</pubDate>"
            f"<description>{summary} (item {n}).</description></item>"
        )
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>Many</title><link>https://many.example.test/</link>'
            + "".join(items) + "</channel></rss>").encode()


def one_megabyte_article() -> bytes:
    """One item whose text is about 1 MB of news paragraphs with dates and topic words."""
    rng = random.Random(5)
    paragraphs: list[str] = []
    size = 0
    while size < MiB:
        _, body = article(rng, rng.random() < 0.3)
        paragraphs.append(body)
        size += len(body)
    text = "\n".join(paragraphs)
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>Long read</title><link>https://long.example.test/</link><item><title>Sora and the studios: the long read</title>"
        f"<guid>long-1</guid><pubDate>{format_datetime(__import__('datetime').datetime(2024, 3, 23, 9, 0, tzinfo=__import__('datetime').timezone.utc))}</pubDate>"
        f"<content:encoded><![CDATA[{text}]]></content:encoded></item></channel></rss>"
    ).encode()


# --- one case in a fresh process ----------------------------------------------------


def run_case(conn: Connection, path: str, what: str, traced: bool) -> None:
    """Poll (or feedparser.parse) one file; send back (seconds, ru_maxrss KiB, rss before KiB, tracemalloc peak)."""
    import warnings

    import feedparser

    from tracker.app import make_tracker
    from tracker.config import Config, FeedConfig

    body = Path(path).read_bytes() if what == "feedparser" else b""
    with tempfile.TemporaryDirectory() as tmp:
        tracker = None
        if what == "pipeline":
            feed = FeedConfig(name="big", url=path, interval=timedelta(minutes=30), timeout=timedelta(seconds=60))
            config = Config(path=Path(tmp) / "f.yaml", database_url=f"sqlite:///{tmp}/b.db", feeds=(feed,), topics=TOPICS)
            tracker = make_tracker(config)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        detail = ""
        if tracker is not None:
            [result] = tracker.poll()
            detail = result.line()
            tracker.close()
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = feedparser.parse(body)
            detail = f"{len(parsed.entries)} entries"
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
        if traced:
            tracemalloc.stop()
    conn.send((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, before, peak, detail))


def measure(path: Path, what: str, traced: bool) -> tuple[float, int, int, int, str]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=run_case, args=(child, str(path), what, traced))
    process.start()
    result = parent.recv()
    process.join()
    return result  # type: ignore[no-any-return]


def big_documents(runs: int, share: float) -> None:
    with tempfile.TemporaryDirectory(prefix="tracker-bounded-") as tmp:
        cases = {
            "15 MB feed": big_feed(15 * MiB - 64 * 1024, share),
            "10,000 entries": many_entries(10_000),
            "1 MB article": one_megabyte_article(),
        }
        print(f"{'case':<16} {'size':>8}  {'side':<10} {'seconds':>8} {'peak RSS':>9} {'RSS before':>10} {'tracemalloc':>11}  result")
        for name, body in cases.items():
            path = Path(tmp) / (name.split()[0].replace(",", "") + ".xml")
            path.write_bytes(body)
            for what in ("feedparser", "pipeline"):
                times = []
                rss = before = 0
                detail = ""
                for _ in range(runs):
                    elapsed, rss, before, _, detail = measure(path, what, traced=False)
                    times.append(elapsed)
                _, _, _, peak, _ = measure(path, what, traced=True)
                print(f"{name:<16} {len(body) / MiB:>6.1f}MB  {what:<10} {statistics.median(times):>8.2f} "
                      f"{rss / 1024:>7.0f}MB {before / 1024:>8.0f}MB {peak / MiB:>9.0f}MB  {detail[:70]}", flush=True)


# --- a compressed day of the daemon -------------------------------------------------


def serve(conn: Connection, feeds: int, share: float, lifetime: float) -> None:
    """Feeds at /feed/<i>: one request in five brings a new version, the rest are 304s."""
    versions = [0] * feeds
    lock = threading.Lock()

    class Handler(FeedHandler):
        def do_GET(self) -> None:  # noqa: N802
            i = int(self.path.rsplit("/", 1)[1])
            time.sleep(random.uniform(0.02, 0.06))
            with lock:
                if random.random() < 0.2:
                    versions[i] += 1
                version = versions[i]
            # A rolling window of 20 articles: each version adds one and drops the oldest.
            self.send_feed(f'"{i}-{version}"', lambda: feed_document(i, 20, on_topic_share=share, skip=version))

    server = start(Handler)
    conn.send(server.server_address[1])
    conn.poll(lifetime)
    stop(server)


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def daemon_day(seconds: float, feeds: int, share: float) -> None:
    from tracker.app import make_tracker
    from tracker.config import Config, FeedConfig
    from sqlalchemy import text

    from tracker.scheduler import Daemon

    logging.basicConfig(level=logging.WARNING)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=serve, args=(child, feeds, share, seconds + 60), daemon=True)
    server.start()
    port = parent.recv()
    rng = random.Random(11)
    samples: list[tuple[float, int, int]] = []
    polls = 0
    with tempfile.TemporaryDirectory(prefix="tracker-daemon-") as tmp:
        config = Config(
            path=Path(tmp) / "feeds.yaml",
            database_url=f"sqlite:///{tmp}/daemon.db",
            feeds=tuple(
                FeedConfig(name=f"d{i:03d}", url=f"http://127.0.0.1:{port}/feed/{i}",
                           interval=timedelta(seconds=rng.uniform(1, 2)), timeout=timedelta(seconds=10))
                for i in range(feeds)
            ),
            topics=TOPICS,
        )
        (Path(tmp) / "feeds.yaml").write_text("# written by bench/bounded.py\n")
        tracker = make_tracker(config)
        counted = tracker.after_poll

        def after_poll(results: list[object]) -> None:
            counted(results)  # type: ignore[arg-type]

        from tracker.poll import poll_feed

        def poll(t: object, cfg: FeedConfig) -> object:
            nonlocal polls
            polls += 1
            return poll_feed(t, cfg)  # type: ignore[arg-type]

        daemon = Daemon(tracker, poll=poll, check_config_every=3600)  # type: ignore[arg-type]
        daemon.start()
        started = time.monotonic()
        try:
            while (elapsed := time.monotonic() - started) < seconds:
                samples.append((elapsed, rss_kib(), len(os.listdir("/proc/self/fd"))))
                time.sleep(max(1.0, seconds / 36))
        finally:
            daemon.stop()
            with tracker.store.read() as s:
                stored = (s.scalar(text("SELECT count(*) FROM entries")), s.scalar(text("SELECT count(*) FROM mentions")))
            tracker.close()
            parent.send("stop")
            server.join(10)
    third = max(1, len(samples) // 3)
    first, last = samples[:third], samples[-third:]
    print(f"daemon: {feeds} feeds at 1-2 s intervals for {seconds:.0f} s, {polls} polls "
          f"(a compressed day: {polls / feeds:.0f} polls per feed), {share:.0%} of articles about the story; "
          f"stored at the end: {stored[0]} entries, {stored[1]} mentions")
    print("  t(s)  RSS(MB)  open fds")
    for t, rss, fds in samples[:: max(1, len(samples) // 12)]:
        print(f"  {t:5.0f}  {rss / 1024:7.1f}  {fds:8d}")
    print(f"  first third: RSS median {statistics.median(s[1] for s in first) / 1024:.1f} MB, fds max {max(s[2] for s in first)}; "
          f"last third: RSS median {statistics.median(s[1] for s in last) / 1024:.1f} MB, fds max {max(s[2] for s in last)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("big", "daemon"))
    ap.add_argument("--runs", type=int, default=3, help="runs per document case (median)")
    ap.add_argument("--on-topic", type=float, default=0.03,
                    help="share of the 15 MB feed's articles about the story (default 0.03)")
    ap.add_argument("--daemon-seconds", type=float, default=180)
    ap.add_argument("--daemon-feeds", type=int, default=40)
    ap.add_argument("--daemon-on-topic", type=float, default=0.1, help="share of the daemon's articles about the story")
    args = ap.parse_args()
    if args.only in (None, "big"):
        big_documents(args.runs, args.on_topic)
    if args.only in (None, "daemon"):
        daemon_day(args.daemon_seconds, args.daemon_feeds, args.daemon_on_topic)
    return 0


if __name__ == "__main__":
    sys.exit(main())
