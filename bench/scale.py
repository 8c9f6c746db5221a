"""Scale: 5,000 loopback feeds polled by `tracker daemon` processes, 1, 2 and 4 on one
PostgreSQL database and 1 on SQLite, against a bare httpx loop on the same schedule.

Usage: python bench/scale.py [--feeds 5000] [--seconds 120] [--interval 60] [--configs bare,sqlite1,pg1,pg2,pg4]
                             [--new-share 0.05] [--articles 5] [--on-topic 0.03] [--delay 0-0] [--first-round-timeout 600]

Quick check: python bench/scale.py --feeds 200 --seconds 30 --interval 10
Where a daemon's time goes: python bench/scale.py --configs pg1 --profile /tmp/prof, then
python -c "import pstats; pstats.Stats('/tmp/prof/pg1-0.prof').sort_stats('tottime').print_stats(30)"

The server: one process (ThreadingHTTPServer, HTTP/1.1 keep-alive) serving /feed/<i>, a
small RSS feed (--articles generated articles, --on-topic of them about the story) with
an ETag per version; on --new-share of the requests the feed first gains one new article
(a new version: a 200 with the new ETag), otherwise a conditional request gets a 304. It
logs every request: arrival time, feed, status.

Each configuration gets a fresh database (a SQLite file, or a new database on one
throwaway PostgreSQL 18 server, bench/_pg.py) and a generated feeds.yaml (every feed at
--interval, timeout 10 s, full_text never, the story's topics), then starts its daemons
as real subprocesses (`python -m tracker --config feeds.yaml daemon`, stderr to a log,
TZ=UTC) at once, waits for the first round (every feed requested once: all cold 200s),
measures the steady window of --seconds that follows, and stops them with SIGTERM.
Several daemons on one PostgreSQL database rely on the daemon's feed leases to poll each
feed once; the bench uses nothing but the CLI and the documented log line.

Figures, over the steady window only:
  - polls/s: server requests in the window / its length (the offered load, feeds /
    interval, is printed beside it);
  - lag behind the due time, p50 and p95: for each request of a feed (not its first),
    its arrival time at the server minus the due time that the previous poll of that
    feed set. The due time is the "next <time>" of the latest daemon log line for that
    feed written before the request ("NAME: ...; next 2024-03-25T14:15:41Z": the next due
    time the poll wrote to the database, whichever daemon polls next). The log gives
    whole seconds (truncated), so the due time is taken as that second + 0.5 s: each lag
    is within +-0.5 s;
  - duplicate polls: requests of a feed less than half its interval after the previous
    request of that feed (the policy's jitter is +-10%, so a single poller never does
    this): with feed leases working, 0;
  - peak memory: VmHWM of each daemon process and of each of its child processes,
    sampled from /proc every 2 s (VmHWM is the peak since the process started);
  - the first round: how long until every feed had been requested once (cold: every
    entry new, parsed, extracted, merged).
The baseline, in the same run and on the same server: `bare`, this file run as a
subprocess in --bare-client mode: 16 threads (the daemon's MAX_WORKERS) and one httpx
client fetching every feed at the same schedule (start spread, interval +-10% jitter,
ETags), no parsing, no database; it writes the same log line, so its lag is measured
exactly as the daemons' is. Ratios are printed against it.

The machine is small and shared: figures move between runs; the bench prints medians.
"""

from __future__ import annotations

import argparse
import heapq
import multiprocessing
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone, UTC
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

WORKERS = 16  # tracker.scheduler.MAX_WORKERS, for the bare loop
LOG_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ tracker\.scheduler: (f\d+): .*; next (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$"
)


# --- the server (its own process) --------------------------------------------------


def serve(conn: Connection, feeds: int, articles: int, share: float, new_share: float, delay: tuple[float, float]) -> None:
    """Serve /feed/<i> until told to stop; answer "log" with the request log so far."""
    from _loopback import FeedHandler, start, stop
    from _newsgen import feed_document

    version = [0] * feeds
    lock = threading.Lock()
    log: list[tuple[float, int, int]] = []
    rng = random.Random(11)

    class Handler(FeedHandler):
        def do_GET(self) -> None:
            arrived = time.time()
            try:
                i = int(self.path.rsplit("/", 1)[1])
                assert 0 <= i < feeds
            except (ValueError, AssertionError):
                self.send_error(404)
                return
            with lock:
                if rng.random() < new_share:
                    version[i] += 1
                v = version[i]
            if delay[1] > 0:
                time.sleep(random.uniform(*delay))
            etag = f'"v{v}-{i}"'
            status = 304 if self.headers.get("If-None-Match") == etag else 200
            self.send_feed(etag, lambda: feed_document(i, articles, on_topic_share=share, skip=v))
            log.append((arrived, i, status))

    server = start(Handler)
    conn.send(server.server_address[1])
    while True:
        command = conn.recv()
        if command == "log":
            conn.send(list(log))
        elif command == "clear":
            log.clear()
            conn.send("ok")
        else:
            break
    stop(server)


# --- the bare baseline (a subprocess: --bare-client) ----------------------------------


def bare_client(port: int, feeds: int, interval: float, log_path: Path) -> int:
    """Fetch every feed on the daemon's schedule with WORKERS threads; log like the daemon."""
    import httpx

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    rng = random.Random(5)
    now = time.time()
    spread = min(interval * 0.1, min(0.5 * feeds, 60.0))
    heap = [(now + rng.uniform(0, spread), i) for i in range(feeds)]
    heapq.heapify(heap)
    cond = threading.Condition()
    etags: dict[int, str] = {}
    out = log_path.open("a", encoding="utf-8", buffering=1)
    client = httpx.Client(limits=httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS), timeout=10)

    def worker() -> None:
        while not stopping.is_set():
            with cond:
                if not heap:
                    cond.wait(0.5)
                    continue
                due, i = heap[0]
                wait = due - time.time()
                if wait > 0:
                    cond.wait(min(wait, 0.5))
                    continue
                heapq.heappop(heap)
            headers = {"If-None-Match": etags[i]} if i in etags else {}
            status = "error"
            try:
                response = client.get(f"http://127.0.0.1:{port}/feed/{i}", headers=headers)
                if response.status_code == 200:
                    etags[i] = response.headers["etag"]
                status = "ok" if response.status_code == 200 else "not modified"
            except httpx.HTTPError:
                pass
            end = time.time()
            nxt = end + interval + rng.uniform(-0.1, 0.1) * interval
            stamp = datetime.fromtimestamp(end, UTC)
            out.write(f"{stamp:%Y-%m-%d %H:%M:%S},{stamp.microsecond // 1000:03d} INFO tracker.scheduler: "
                      f"f{i:05d}: {status}; next {datetime.fromtimestamp(nxt, UTC):%Y-%m-%dT%H:%M:%SZ}\n")
            with cond:
                heapq.heappush(heap, (nxt, i))
                cond.notify()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    print("daemon started", file=out, flush=True)
    while not stopping.is_set():
        stopping.wait(0.5)
    for t in threads:
        t.join(15)
    client.close()
    return 0


# --- a profiled daemon (a subprocess: --profiled-daemon) -------------------------------


def profiled_daemon(out: Path, argv: list[str]) -> int:
    """`tracker ARGV` with cProfile in every thread (the daemon polls in APScheduler's
    threads, which a plain `python -m cProfile` does not see); the merged stats go to OUT
    when it exits (SIGTERM)."""
    import cProfile
    import pstats

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def hook(frame, event, arg):  # type: ignore[no-untyped-def]
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()  # replaces this hook in the new thread

    threading.setprofile(hook)
    main_profile = cProfile.Profile()
    profiles.append(main_profile)
    from tracker.cli import main as tracker_main

    main_profile.enable()
    code = 0
    try:
        tracker_main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        main_profile.disable()
        stats = None
        for profile in profiles:
            try:
                profile.create_stats()
                stats = pstats.Stats(profile) if stats is None else stats.add(profile)
            except Exception:
                continue
        if stats is not None:
            stats.dump_stats(str(out))
    return code


# --- one configuration ----------------------------------------------------------------


def feeds_yaml(path: Path, database_url: str, port: int, feeds: int, interval: float) -> None:
    from _newsgen import TOPICS

    lines = [f"database: '{database_url}'", "defaults:", f"  interval: {interval:g}s", "  timeout: 10s",
             "  full_text: never", "topics:"]
    for name, topic in TOPICS.items():
        keywords = ", ".join(f'"{k}"' for k in topic.keywords)
        lines += [f"  {name}:", f'    title: "{topic.title}"', f"    keywords: [{keywords}]"]
    lines.append("feeds:")
    for i in range(feeds):
        lines += [f"  - name: f{i:05d}", f"    url: http://127.0.0.1:{port}/feed/{i}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _children(pid: int) -> list[int]:
    """Every descendant process of pid."""
    parents: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = _status(int(entry.name)).get("PPid")
            if ppid:
                parents[int(ppid)].append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _kib(status: dict[str, str], key: str) -> int:
    value = status.get(key, "0 kB").split()
    return int(value[0]) if value else 0


@dataclass
class Result:
    name: str
    daemons: int
    first_round: float | None
    window: float
    polls: int
    new: int
    lags: list[float]
    duplicates: int
    duplicates_all: int
    peaks: list[tuple[int, list[int]]]  # per daemon: its VmHWM, its children's (KiB)
    errors: int
    exit_codes: list[int | None]
    notes: list[str] = field(default_factory=list)


def run_config(name: str, daemons: int, database_url: str | None, args: argparse.Namespace, conn: Connection, port: int,
               folder: Path) -> Result:
    """Start the daemons (or the bare client), wait for the first round, measure, stop."""
    work = folder / name
    work.mkdir()
    config = work / "feeds.yaml"
    if database_url is not None:
        feeds_yaml(config, database_url, port, args.feeds, args.interval)
    conn.send("clear")
    conn.recv()
    env = {**os.environ, "TZ": "UTC", "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    files = []
    started = time.time()
    for k in range(daemons):
        log_path = work / f"daemon-{k}.log"
        logs.append(log_path)
        handle = log_path.open("wb")
        files.append(handle)
        if database_url is None:
            command = [sys.executable, __file__, "--bare-client", str(port), "--feeds", str(args.feeds),
                       "--interval", str(args.interval), "--bare-log", str(log_path)]
            procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=handle, cwd=work, env=env))
        else:
            command = [sys.executable, "-m", "tracker", "--config", str(config), "daemon", "--check-config-every", "3600"]
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                command[1:3] = [__file__, "--profiled-daemon", str(args.profile / f"{name}-{k}.prof"), "--"]
            procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=handle, cwd=work, env=env))
    peaks: dict[int, int] = {}
    child_peaks: dict[int, dict[int, int]] = {p.pid: {} for p in procs}

    def sample() -> None:
        for p in procs:
            peaks[p.pid] = max(peaks.get(p.pid, 0), _kib(_status(p.pid), "VmHWM"))
            for child in _children(p.pid):
                child_peaks[p.pid][child] = max(child_peaks[p.pid].get(child, 0), _kib(_status(child), "VmHWM"))

    notes: list[str] = []
    first_round = None
    window_start = None
    last_sample = 0.0
    try:
        deadline = started + args.first_round_timeout
        while time.time() < deadline:
            time.sleep(1.0)
            if time.time() - last_sample > 2:
                sample()
                last_sample = time.time()
            if any(p.poll() is not None for p in procs):
                notes.append("a daemon exited early: " + ", ".join(str(p.returncode) for p in procs))
                break
            conn.send("log")
            seen = {i for _, i, _ in conn.recv()}
            if len(seen) >= args.feeds:
                first_round = time.time() - started
                window_start = time.time()
                break
        if window_start is None:
            notes.append(f"first round not finished within {args.first_round_timeout:.0f} s: window starts now")
            window_start = time.time()
        print(f"  {name}: first round {first_round if first_round is not None else float('nan'):.1f} s; "
              f"measuring {args.seconds:.0f} s", flush=True)
        while time.time() < window_start + args.seconds:
            time.sleep(min(2.0, max(0.0, window_start + args.seconds - time.time())))
            sample()
        window_end = time.time()
        conn.send("log")
        requests = conn.recv()
        with (work / "requests.tsv").open("w", encoding="utf-8") as out:
            out.writelines(f"{arrived:.3f}\tf{i:05d}\t{status}\n" for arrived, i, status in requests)
    finally:
        sample()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes: list[int | None] = []
        for p in procs:
            try:
                codes.append(p.wait(timeout=60))
            except subprocess.TimeoutExpired:
                p.kill()
                codes.append(p.wait())
                notes.append(f"pid {p.pid} did not stop within 60 s of SIGTERM: killed")
        for handle in files:
            handle.close()

    # Due times from the log lines (all daemons), per feed, in log-time order.
    dues: dict[int, list[tuple[float, float]]] = defaultdict(list)
    errors = 0
    for log_path in logs:
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if "Traceback" in line or " ERROR " in line or (" WARNING " in line and ": error" in line):
                errors += 1
            m = LOG_LINE.match(line)
            if m:
                logged = datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC).timestamp()
                due = datetime.strptime(m[3], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp() + 0.5
                dues[int(m[2][1:])].append((logged, due))
    for values in dues.values():
        values.sort()
    by_feed: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for arrived, i, status in requests:
        by_feed[i].append((arrived, status))
    lags: list[float] = []
    polls = new = duplicates = duplicates_all = 0
    for i, reqs in by_feed.items():
        reqs.sort()
        logged = [t for t, _ in dues.get(i, [])]
        for k, (arrived, status) in enumerate(reqs):
            inside = window_start <= arrived < window_end
            duplicate = k > 0 and arrived - reqs[k - 1][0] < 0.5 * args.interval
            duplicates_all += duplicate
            if not inside:
                continue
            polls += 1
            new += status == 200
            duplicates += duplicate
            if k == 0:
                continue
            # The latest line logged before the request, skipping the line of this very
            # poll (a fast 304 may log within the same millisecond it arrived): its due
            # time is about an interval ahead of the request.
            j = _bisect(logged, arrived) - 1
            while j >= 0 and dues[i][j][1] > arrived + 0.5 * args.interval:
                j -= 1
            if j >= 0:
                lags.append(arrived - dues[i][j][1])
    result = Result(
        name=name, daemons=daemons, first_round=first_round, window=window_end - window_start, polls=polls, new=new,
        lags=lags, duplicates=duplicates, duplicates_all=duplicates_all,
        peaks=[(peaks.get(p.pid, 0), sorted(child_peaks[p.pid].values(), reverse=True)) for p in procs],
        errors=errors, exit_codes=codes, notes=notes,
    )
    return result


def _bisect(values: list[float], x: float) -> int:
    import bisect

    return bisect.bisect_left(values, x)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


CONFIGS = {"bare": ("bare", 1), "sqlite1": ("sqlite", 1), "pg1": ("postgresql", 1), "pg2": ("postgresql", 2),
           "pg4": ("postgresql", 4)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=120, help="the measured steady window, after the first round")
    ap.add_argument("--interval", type=float, default=60, help="every feed's interval in seconds (default 60)")
    ap.add_argument("--configs", default="bare,sqlite1,pg1,pg2,pg4", help="comma-separated: " + ",".join(CONFIGS))
    ap.add_argument("--new-share", type=float, default=0.05, help="share of requests on which a feed gains an article")
    ap.add_argument("--articles", type=int, default=5, help="articles per feed document")
    ap.add_argument("--on-topic", type=float, default=0.03, help="share of articles about the story")
    ap.add_argument("--delay", default="0-0", help="server delay per response in ms, e.g. 20-50")
    ap.add_argument("--first-round-timeout", type=float, default=600)
    ap.add_argument("--keep", type=Path, help="keep the feeds.yaml files and daemon logs in this folder")
    ap.add_argument("--profile", type=Path, metavar="DIR",
                    help="run each daemon under cProfile (all threads; slower: not for the figures); stats to DIR/CONFIG-K.prof")
    ap.add_argument("--profiled-daemon", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--bare-client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    ap.add_argument("--bare-log", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.profiled_daemon is not None:
        return profiled_daemon(args.profiled_daemon, args.rest)
    if args.bare_client is not None:
        return bare_client(args.bare_client, args.feeds, args.interval, args.bare_log)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown configuration(s): {', '.join(unknown)}")
    low, high = (float(x) / 1000 for x in args.delay.split("-"))

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=serve, args=(child, args.feeds, args.articles, args.on_topic, args.new_share, (low, high)),
                             daemon=True)
    server.start()
    port = parent.recv()
    results: list[Result] = []
    pg = None
    try:
        with tempfile.TemporaryDirectory(prefix="tracker-scale-") as tmp:
            folder = args.keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            leases = (ROOT / "tracker" / "store" / "leases.py").exists()
            print(f"{args.feeds} feeds at {args.interval:g} s (offered {args.feeds / args.interval:.1f} polls/s), "
                  f"{args.new_share:.0%} of requests with a new article, window {args.seconds:g} s; "
                  f"tracker/store/leases.py {'present' if leases else 'absent'}", flush=True)
            for name in configs:
                kind, n = CONFIGS[name]
                url: str | None
                if kind == "bare":
                    url = None
                elif kind == "sqlite":
                    url = f"sqlite:///{folder / name / 'tracker.db'}"
                else:
                    if pg is None:
                        from _pg import postgres

                        pg_context = postgres()
                        pg = pg_context.__enter__()
                    url = pg.url(pg.create_database())
                results.append(run_config(name, n, url, args, parent, port, folder))
    finally:
        if pg is not None:
            pg_context.__exit__(None, None, None)
        parent.send("stop")
        server.join(10)
        if server.is_alive():
            server.terminate()
    report(results, args)
    return 0


def report(results: list[Result], args: argparse.Namespace) -> None:
    base = next((r for r in results if r.name == "bare"), None)
    base_rate = base.polls / base.window if base and base.window else None
    print()
    print(f"{args.feeds} feeds, interval {args.interval:g} s (offered load {args.feeds / args.interval:.1f} polls/s), "
          f"steady window {args.seconds:g} s after the first round; lag = request time - due time (+-0.5 s)")
    print(f"{'config':<8} {'first round':>11} {'polls/s':>8} {'vs bare':>7} {'new':>5} {'lag p50':>8} {'lag p95':>8} "
          f"{'dup':>5} {'dup(all)':>8} {'errors':>6}  peak memory per process (VmHWM, MB; children in brackets)")
    for r in results:
        rate = r.polls / r.window if r.window else float("nan")
        ratio = f"{rate / base_rate:6.2f}x" if base_rate else "      -"
        first = f"{r.first_round:10.1f}s" if r.first_round is not None else "         -"
        memory = "; ".join(
            f"{main / 1024:.0f}" + (f" [{', '.join(f'{c / 1024:.0f}' for c in kids)}]" if kids else "") for main, kids in r.peaks
        )
        print(f"{r.name:<8} {first:>11} {rate:8.1f} {ratio:>7} {r.new:5d} {statistics.median(r.lags) if r.lags else float('nan'):7.2f}s "
              f"{pct(r.lags, 0.95):7.2f}s {r.duplicates:5d} {r.duplicates_all:8d} {r.errors:6d}  {memory}")
        for note in r.notes + ([f"exit codes {r.exit_codes}"] if any(c != 0 for c in r.exit_codes) else []):
            print(f"         note: {note}")


if __name__ == "__main__":
    sys.exit(main())
