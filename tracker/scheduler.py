"""APScheduler wiring: poll each feed when due, reload config, stop cleanly."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import queue
import random
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

# APScheduler 3.x ships no type information.
from apscheduler.events import (  # type: ignore[import-untyped]
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.base import JobLookupError  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy import select

from tracker._terminal import one_line_cut
from tracker.clock import isoformat_z, to_aware_utc, to_naive_utc
from tracker.config import Config, FeedConfig, load_config
from tracker.errors import ConfigError, StoreError, TrackerError
from tracker.policy import MAX_DELAY, MAX_START_SPREAD, START_SPACING, next_poll, resume_due
from tracker.poll import DEADLINE_FACTOR
from tracker.store import Feed
from tracker.store.db import FileIdentity, backend, display_url, guard_database_file, sqlite_file
from tracker.store.leases import (
    GONE,
    HELD,
    LEASE_MARGIN,
    LEASE_RENEW_EVERY,
    Claim,
    claim_feed,
    lease_length,
    owner_id,
    peek_feed,
    release_feed,
    renew_feeds,
    retry_at,
)

if TYPE_CHECKING:
    from tracker.app import Tracker
    from tracker.poll import PollResult

log = logging.getLogger(__name__)

JOB_PREFIX = "feed:"
# Polls are I/O bound; beyond this they mostly queue on the SQLite write lock.
MAX_WORKERS = 16
# A run happens however late it is (APScheduler: None), in the order the runs came due.
# With a grace period, runs that waited in a busy pool past it were dropped and re-spread
# behind feeds coming due again, so under overload the most overdue feeds kept moving back
# (bench/scale.py). After a suspend every overdue feed is due at once, but the pool's
# MAX_WORKERS threads still bound how many polls run together.
MISFIRE_GRACE_S: int | None = None
# Every run reschedules its own job to the feed's next due time. The trigger is only a
# safety net for a run that could not do so: the feed is still polled within a day.
SAFETY_NET = MAX_DELAY
# How long a stop waits for polls in flight beyond the longest feed timeout, and at most.
STOP_MARGIN_S = 3.0
MAX_STOP_WAIT_S = 25.0
DEFAULT_CHECK_CONFIG_EVERY = 60.0
# How often the daemon looks for digests that are due without a new poll.
DEFAULT_DIGEST_CHECK_EVERY = 30.0
DIGEST_JOB = "digest"
# Alerts (tracker.alerts): retries and digest-mode targets are looked at on this timer too.
ALERTS_JOB = "alerts"
RETRY_JOB = "retry-pending"
PAGES_JOB = "pages"
# The page queue (full text) looks for pages to read this often, in its own thread, so a
# slow or hostile page never holds up a feed's poll.
PAGES_EVERY_S = 10.0
RETRY_PENDING_FIRST_S = 30.0
RETRY_PENDING_EVERY_S = 600.0
# A job fires at the due time it was given; a database due time later than this says
# someone else polled the feed meanwhile.
DUE_SLACK = timedelta(seconds=1)
# The first digest waits for the feeds due at start (within the start spread plus this).
ROUND_SLACK = timedelta(seconds=1)
# ... but no longer than each such feed's due time plus its longest possible fetch
# (DEADLINE_FACTOR x timeout) plus this, for parsing and storing.
ROUND_MARGIN = timedelta(seconds=15)
ROUND_JOB = "first-round"
# How often the main loop makes sure the database and lock files are still the ones it
# opened (polls and writes check for themselves as well).
WATCH_EVERY_S = 1.0
# A reload error is logged as one line, cut to this many characters.
MAX_RELOAD_ERROR = 200
# Several daemons on one database (tracker.store.leases): the leases of polls in flight
# are renewed on this timer, in a thread of its own (a full poll pool must not delay it).
LEASE_JOB = "leases"


class DaemonError(TrackerError):
    """The daemon cannot start (another one holds the database)."""


PollFn = Callable[["Tracker", FeedConfig], "PollResult"]
AfterPollFn = Callable[[list["PollResult"]], None]
SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


# -- the single-daemon lock -----------------------------------------------------------


def lock_path(database_url: str) -> Path | None:
    """The lock file beside a SQLite database file; None for other databases and :memory:."""
    db = sqlite_file(database_url)
    return db.with_name(db.name + ".lock") if db is not None else None


class DaemonLock:
    """An exclusive flock held for the daemon's life; the kernel drops it if we die.

    The database itself is not locked: the CLI keeps reading (and `tracker poll` writing)
    beside a running daemon; only a second scheduler is refused.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        # The file locked, for the daemon to notice when the path stops naming it.
        self.identity: FileIdentity | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DaemonError(f"cannot create the lock file {self.path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise DaemonError(f"cannot lock {self.path}: {exc.strerror}") from exc
            who = f" (pid {holder})" if holder else ""
            raise DaemonError(
                f"another tracker daemon{who} is already running on this database; "
                f"stop it first (it holds {self.path})"
            ) from None
        try:
            _write_pid(fd)
            identity = FileIdentity.of_fd(self.path, fd)
        except OSError as exc:
            # A full disk, a quota, a read-only remount...: one line, as for any other
            # start-up problem (closing the file releases the flock).
            os.close(fd)
            raise DaemonError(f"cannot write the lock file {self.path}: {exc.strerror or exc}") from exc
        self._fd = fd
        self.identity = identity

    def release(self) -> None:
        if self._fd is not None:
            # The file stays: unlinking it would let a third daemon lock a fresh inode.
            # Emptied while still locked, so it never names a process that has gone.
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass  # the lock itself must still go
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _write_pid(fd: int) -> None:
    """Put our pid in the lock file in place of what it held.

    Written first and cut to length after, so that when the file cannot take the bytes
    (ENOSPC and the like) that is the error reported; a half-written pid never reads
    as one (see _read_pid).
    """
    data = f"{os.getpid()}\n".encode()
    written = os.pwrite(fd, data, 0)
    if written != len(data):
        raise OSError(errno.ENOSPC, f"wrote {written} of {len(data)} bytes")
    os.ftruncate(fd, len(data))


def lock_holder(path: Path | None) -> str | None:
    """Whether a daemon holds the lock file `path` (lock_path): its pid as the file gives it
    ("" when unreadable), or None when no daemon holds it (or there is no such file). A
    shared lock tried without waiting, so a daemon starting at that moment is not kept out
    for longer than the try."""
    if path is None or not path.is_file():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return None
            return _read_pid(fd) or ""
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> str | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return text if text.isdigit() else None


# -- watching feeds.yaml ----------------------------------------------------------------


@dataclass(frozen=True)
class FileSignature:
    """What says a file changed: mtime and size are cheap, the hash catches same-size edits."""

    mtime_ns: int
    size: int
    sha256: str


def file_signature(path: Path) -> FileSignature | None:
    """The file's signature, or None while it is missing, unreadable (mid-replace) or not a
    regular file (reading a FIFO or a device would block or never end)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return None
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return FileSignature(st.st_mtime_ns, st.st_size, digest)


# -- the first round of polls ------------------------------------------------------------


def initial_round(
    due: dict[str, datetime | None],
    timeouts: dict[str, timedelta],
    *,
    now: datetime,
    horizon: timedelta,
) -> tuple[frozenset[str], datetime | None]:
    """The feeds the first digest waits for, and until when at most.

    They are the feeds due within `horizon` of the start (the overdue and new ones, which
    the start spreads out). The wait ends when each has been polled once, or at the
    latest due time plus that feed's longest possible fetch and ROUND_MARGIN: a feed that
    hangs or keeps failing must not hold digests back for ever.
    """
    members = frozenset(name for name, when in due.items() if when is not None and when <= now + horizon)
    if not members:
        return members, None
    deadline = max(
        max(due[n] or now, now) + timeouts.get(n, timedelta(0)) * DEADLINE_FACTOR for n in members
    ) + ROUND_MARGIN
    return members, deadline


# -- the daemon -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Watched:
    """A file the daemon stops for once its path no longer names it (see Daemon._files_lost)."""

    identity: FileIdentity
    what: str  # "database file"
    why: str  # what stopping prevents, for the error
    error: type[TrackerError]


class Daemon:
    """Polls each configured feed when the database says it is due, until stopped.

    One APScheduler job per feed (id `feed:NAME`, max_instances=1, coalesced). Each run
    polls, logs one line, calls the digest hook if events changed, and moves its own job
    to the next due time the poll wrote (policy.next_poll: interval, jitter, server
    hints, backoff, Retry-After). Due times therefore live in the database and a restart
    resumes them (policy.resume_due). The digest hook is held until the feeds due at
    start have each been polled once (bounded: see initial_round), so the first digest
    carries all of them rather than whichever feed answered first.
    """

    def __init__(
        self,
        tracker: Tracker,
        *,
        config_path: Path | None = None,
        check_config_every: float = DEFAULT_CHECK_CONFIG_EVERY,
        digest_check_every: float = DEFAULT_DIGEST_CHECK_EVERY,
        poll: PollFn | None = None,
        after_poll: AfterPollFn | None = None,
        stop_wait: float | None = None,
        rng: random.Random | None = None,
        before_exit: Callable[[], None] | None = None,
        lock: DaemonLock | None = None,
        owner: str | None = None,
    ) -> None:
        """`before_exit` runs when run() ends the process at once because polls are still in
        flight (no unwinding after that: release what must be released). `lock`: the
        acquired lock, whose file is watched like the database's (see _files_lost).
        `owner`: who this daemon is in feed leases (default: host:pid:random)."""
        from tracker.poll import poll_feed

        self.tracker = tracker
        self.config_path = config_path or tracker.config.path
        self.check_config_every = check_config_every
        self.digest_check_every = digest_check_every
        self._poll = poll or poll_feed
        self._after_poll = after_poll or tracker.after_poll
        self._stop_wait = stop_wait
        self._rng = rng or random.Random()
        self._feeds: dict[str, FeedConfig] = {f.name: f for f in tracker.config.feeds}
        self._signature = file_signature(self.config_path)
        # Errors that poll_feed could not record (database down, a bug): backed off here.
        self._unrecorded: dict[str, int] = {}
        # Feeds whose job was moved to look again while another daemon held them: that run
        # is no due time of its own, so it claims without DUE_SLACK (else it could poll up
        # to DUE_SLACK before the due time the holder just wrote).
        self._rechecks: set[str] = set()
        self._requests: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._stopping = False
        self._inflight = 0
        self._digest_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._before_exit = before_exit
        # Feed leases: each poll is claimed first, so that several daemons sharing a
        # PostgreSQL database poll each due feed once (tracker.store.leases). On SQLite the
        # lock file keeps a second daemon out; the claims cost little and change nothing.
        self.owner = owner or owner_id()
        self._shared = backend(tracker.store.engine) != "sqlite"
        self._leased: dict[str, FeedConfig] = {}
        self._leased_lock = threading.Lock()
        # Alerts: each channel sends in a thread of its own (tracker.alerts.Dispatcher).
        from tracker.alerts import Dispatcher

        self._alerts = Dispatcher(tracker)
        # Why the daemon stops on its own (a lost database or lock file): run() raises it.
        self._fatal: TrackerError | None = None
        self._watched = self._files_to_watch(lock)
        # The first round: feeds not yet polled since start, and what the digest hook was
        # asked meanwhile (None: never asked).
        self._round_lock = threading.Lock()
        self._round: set[str] = set()
        self._round_deadline: datetime | None = None
        self._held: list[PollResult] | None = None
        self.scheduler = BackgroundScheduler(
            timezone=timezone.utc,
            executors={
                "default": ThreadPoolExecutor(MAX_WORKERS, pool_kwargs={"thread_name_prefix": "poll"}),
                PAGES_JOB: ThreadPoolExecutor(1, pool_kwargs={"thread_name_prefix": "pages"}),
                LEASE_JOB: ThreadPoolExecutor(1, pool_kwargs={"thread_name_prefix": "leases"}),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_S},
        )
        self.scheduler.add_listener(self._on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)

    # -- the files it must not lose -----------------------------------------------------

    def _files_to_watch(self, lock: DaemonLock | None) -> list[_Watched]:
        watched: list[_Watched] = []
        db = sqlite_file(self.tracker.store.url)
        if db is not None:
            try:
                identity = FileIdentity.of_path(db)
            except OSError as exc:
                raise StoreError(f"cannot find the database file {db}: {exc.strerror or exc}") from exc
            # Between two of the daemon's checks, a deletion must still not let a write
            # commit into the unlinked file: every transaction checks too.
            guard_database_file(self.tracker.store.engine, identity)
            watched.append(_Watched(identity, "database file", "so that nothing is written into a lost file", StoreError))
        if lock is not None and lock.identity is not None:
            watched.append(_Watched(
                lock.identity, "lock file", "as a second daemon could now start on the same database", DaemonError
            ))
        return watched

    def _files_lost(self) -> bool:
        """True once the database or the lock file was deleted or replaced (same path, another
        inode); the first time, the daemon is told to stop and run() to raise why.

        The open files would keep working: without this the daemon would poll on into a
        file nobody can see, lost when it exits, while a new database (or a second
        daemon's lock) takes the path. One stat per file.
        """
        if self._fatal is not None:
            return True
        for watched in self._watched:
            change = watched.identity.change()
            if change is not None:
                self._fail(
                    watched.error(
                        f"the {watched.what} {watched.identity.path} {change} while the daemon ran; "
                        f"stopped {watched.why}"
                    ),
                    f"{watched.what} lost",
                )
                return True
        return False

    def _fail(self, exc: TrackerError, why: str) -> None:
        with self._cond:
            if self._fatal is not None:
                return
            self._fatal = exc
        self._requests.put(f"stop:{why}")

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Start the scheduler and give every live feed a job at its due time."""
        self.scheduler.start()
        with self._round_lock:
            # Provisional: a job may run while the others are still being scheduled.
            self._round = set(self._feeds)
        for cfg in self._feeds.values():
            self._schedule_feed(cfg)
        self._begin_round()
        # Developments held back by digest.min_interval, and digests waiting for a retry,
        # must go out when due even if no later poll changes anything.
        self.scheduler.add_job(
            self._digest_timer, "interval", seconds=self.digest_check_every, id=DIGEST_JOB, max_instances=1
        )
        # Alert retries, digest-mode targets held back by min_interval, and a message an
        # earlier run left half-sent: looked at on the same timer as digests.
        self.scheduler.add_job(
            self._alerts_timer, "interval", seconds=self.digest_check_every, id=ALERTS_JOB, max_instances=1,
            next_run_time=datetime.now(timezone.utc) + timedelta(seconds=min(1.0, self.digest_check_every)),
        )
        # Articles stored but not merged (a crash or a bug between the two steps) are
        # extracted again: soon after start, then now and then.
        self.scheduler.add_job(
            self._retry_pending, "interval", seconds=RETRY_PENDING_EVERY_S, id=RETRY_JOB, max_instances=1,
            next_run_time=datetime.now(timezone.utc) + timedelta(seconds=RETRY_PENDING_FIRST_S),
        )
        # Article pages (full text) from their own queue and thread: see PAGES_EVERY_S.
        self.scheduler.add_job(
            self._read_pages, "interval", seconds=PAGES_EVERY_S, id=PAGES_JOB, max_instances=1, executor=PAGES_JOB,
            next_run_time=datetime.now(timezone.utc) + timedelta(seconds=1),
        )
        if self._shared:  # alone on SQLite the daemon holds no leases (peek_feed)
            self.scheduler.add_job(
                self._renew_leases, "interval", seconds=LEASE_RENEW_EVERY.total_seconds(), id=LEASE_JOB,
                max_instances=1, executor=LEASE_JOB,
            )

    def _begin_round(self) -> None:
        members, deadline = initial_round(
            dict(self.scheduled()),
            {name: cfg.timeout for name, cfg in self._feeds.items()},
            now=self.tracker.clock(),
            horizon=self._start_spread() + ROUND_SLACK,
        )
        with self._round_lock:
            self._round &= members
            self._round_deadline = deadline
            waiting = len(self._round)
            held = None if waiting else self._end_round()
        if waiting and deadline is not None:
            log.log(logging.INFO if self.tracker.config.digest is not None else logging.DEBUG,
                    "the first digest waits for the first polls of %d feeds (until %s at most)",
                    waiting, isoformat_z(deadline))
            self.scheduler.add_job(self._round_timed_out, "date", run_date=deadline, id=ROUND_JOB)
        if held is not None:
            self._digest_step(held)

    def _end_round(self) -> list[PollResult] | None:
        """Called with _round_lock held: the round is over; what the digest hook was given."""
        self._round = set()
        held, self._held = self._held, None
        return held

    def _round_member_done(self, name: str) -> None:
        """A feed of the first round was polled (or skipped, or removed); the last one
        releases the digest hook."""
        with self._round_lock:
            if name not in self._round:
                return
            self._round.discard(name)
            if self._round:
                return
            held = self._end_round()
        log.debug("first round of polls done")
        try:
            self.scheduler.remove_job(ROUND_JOB)
        except JobLookupError:
            pass
        if held is not None:
            self._digest_step(held)

    def _round_timed_out(self) -> None:
        with self._round_lock:
            left = sorted(self._round)
            held = self._end_round()
        if left:
            log.warning("digests no longer wait for the first poll of %s (not done in time)", _names(left))
        if held is not None:
            self._digest_step(held)

    def _retry_pending(self) -> None:
        if self._stopping or self._files_lost():
            return
        from tracker.reprocess import reprocess

        try:
            result = reprocess(self.tracker, pending_only=True)
        except TrackerError as exc:
            log.error("retrying pending extraction failed: %s", exc)
            return
        if result.entries or result.failed:
            log.info("extracted %d pending entries: %d events changed, %d failed",
                     result.entries, result.events_changed, result.failed)
        if result.events_changed:
            self.call_after_poll([])

    def _read_pages(self) -> None:
        """A turn of the page queue: read the due article pages of all feeds (PAGES_PER_RUN
        at most), re-extract what they changed, and hand new developments to the digest."""
        if self._stopping or self._files_lost():
            return
        from tracker.pages import read_pages

        try:
            outcome = read_pages(self.tracker, list(self._feeds.values()), use_workers=self.tracker.processes > 0)
        except Exception:
            # read_pages never raises for a page or the database; this is a bug, shown in full.
            log.exception("reading article pages crashed")
            return
        for name in outcome.feeds():
            (log.warning if outcome.failed.get(name) else log.info)("%s", outcome.line(name))
        if outcome.merge is not None and outcome.merge.events:
            self.call_after_poll([])

    def _digest_timer(self) -> None:
        if self.tracker.config.digest is None or self._stopping or self._files_lost():
            return
        from tracker.digest import next_due

        try:
            due = next_due(self.tracker)
        except TrackerError as exc:
            log.error("digest check failed: %s", exc)
            return
        if due is not None and due <= self.tracker.clock():
            self.call_after_poll([])

    def _alerts_timer(self) -> None:
        if not self.tracker.config.alerts or self._stopping or self._files_lost():
            return
        self._alerts.kick(due_only=True)

    def kick_alerts(self) -> None:
        """Instant alerts: after a poll or page turn that changed events, every channel
        sends what it should hear of, in threads of their own (never waits, never raises)."""
        if not self.tracker.config.alerts or self._stopping:
            return
        try:
            self._alerts.kick()
        except Exception:
            log.exception("alerts step crashed")

    def run(self) -> int:
        """Run until SIGTERM/SIGINT (or request_stop); SIGHUP reloads. Returns the exit code.

        Raises the error that made the daemon stop on its own (a lost database or lock file).
        """
        previous = self._install_signals()
        try:
            self.start()
            log.info(
                "daemon started: %d feeds, config %s, checked every %gs (pid %d)",
                len(self._feeds), self.config_path, self.check_config_every, os.getpid(),
            )
            self._main_loop()
        finally:
            finished = self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if not finished:
            # Worker threads would keep the interpreter alive until their fetch gives up;
            # the unfinished transactions roll back when the process ends, as promised.
            if self._before_exit is not None:
                self._before_exit()
            code = 0
            if self._fatal is not None:
                # No unwinding from here: the CLI would not get to print the error.
                from tracker._terminal import error_line

                print(error_line(str(self._fatal)), file=sys.stderr, flush=True)
                code = self._fatal.exit_code
            logging.shutdown()
            os._exit(code)
        if self._fatal is not None:
            raise self._fatal
        return 0

    def request_stop(self) -> None:
        self._requests.put("stop")

    def request_reload(self) -> None:
        self._requests.put("reload")

    def _install_signals(self) -> dict[signal.Signals, SignalHandler]:
        # SimpleQueue.put is reentrant, so it is safe inside a signal handler; the main
        # loop does the work outside the handler.
        def on_stop(signum: int, _frame: FrameType | None) -> None:
            self._requests.put(f"stop:{signal.Signals(signum).name}")

        def on_hup(_signum: int, _frame: FrameType | None) -> None:
            self._requests.put("reload")

        previous: dict[signal.Signals, SignalHandler] = {}
        for signum, handler in ((signal.SIGTERM, on_stop), (signal.SIGINT, on_stop), (signal.SIGHUP, on_hup)):
            previous[signum] = signal.signal(signum, handler)
        return previous

    def _main_loop(self) -> None:
        next_check = time.monotonic() + self.check_config_every
        next_watch = time.monotonic() + WATCH_EVERY_S
        while True:
            wake = min(next_check, next_watch)
            try:
                request = self._requests.get(timeout=max(0.0, wake - time.monotonic()))
            except queue.Empty:
                request = None
            if request is not None and request.startswith("stop"):
                why = request.partition(":")[2] or "request"
                log.info("stopping (%s)", why)
                return
            if time.monotonic() >= next_watch:
                # Also when no poll is due for hours: a lost lock file lets a second daemon in now.
                next_watch = time.monotonic() + WATCH_EVERY_S
                if self._files_lost():
                    continue  # its stop request is next in the queue
            if request == "reload":
                self.reload("SIGHUP")
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + self.check_config_every
                self.check_config_file()

    def stop(self) -> bool:
        """Stop scheduling, let polls in flight finish (bounded). True if all finished.

        Runs queued but not started are dropped (they would only delay the exit); each
        poll is one transaction, so one cut short by the exit leaves nothing half-written.
        """
        with self._cond:
            if self._stopping:
                return self._inflight == 0
            self._stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        wait = self._stop_wait
        if wait is None:
            longest = max((f.timeout.total_seconds() for f in self._feeds.values()), default=0.0)
            wait = min(longest + STOP_MARGIN_S, MAX_STOP_WAIT_S)
        deadline = time.monotonic() + wait
        with self._cond:
            if self._inflight:
                log.info("waiting up to %.0fs for %d poll(s) in flight", wait, self._inflight)
            while self._inflight and time.monotonic() < deadline:
                self._cond.wait(timeout=deadline - time.monotonic())
            left = self._inflight
        # Alerts being delivered get the time left, or their timeout (bounded): one cut short
        # is re-sent unchanged at the next start.
        alert_wait = min(
            max((t.timeout.total_seconds() for t in self.tracker.config.alerts), default=0.0) + STOP_MARGIN_S,
            MAX_STOP_WAIT_S,
        )
        if not self._alerts.stop(max(deadline - time.monotonic(), deadline - wait + alert_wait - time.monotonic(), 0.0)):
            log.warning("exiting with alerts still being delivered; they are re-sent at the next start")
        if left:
            log.warning("exiting with %d poll(s) unfinished after %.0fs; their writes roll back", left, wait)
            return False
        log.info("stopped")
        return True

    # -- scheduling -----------------------------------------------------------------

    def _schedule_feed(self, cfg: FeedConfig) -> None:
        """Create or move the feed's job to when the database says it is due (none if gone)."""
        job_id = JOB_PREFIX + cfg.name
        now = self.tracker.clock()
        due: datetime | None
        try:
            with self.tracker.store.write() as s:
                row = s.scalars(select(Feed).where(Feed.name == cfg.name)).one()
                if row.gone:
                    due = None
                else:
                    due = resume_due(
                        now=now,
                        interval=cfg.interval,
                        next_due=to_aware_utc(row.next_due) if row.next_due else None,
                        last_poll=to_aware_utc(row.last_poll) if row.last_poll else None,
                        backoff_reason=row.backoff_reason,
                        max_spread=self._start_spread(),
                        rng=self._rng,
                    )
                    # `tracker feeds` shows what the daemon will do, not a stale guess.
                    if row.next_due != to_naive_utc(due):
                        row.next_due = to_naive_utc(due)
        except TrackerError as exc:
            # Schedule anyway: the poll will meet the database problem and report it.
            log.error("%s: could not read its schedule: %s", cfg.name, exc)
            due = resume_due(now=now, interval=cfg.interval, next_due=None, last_poll=None, backoff_reason=None,
                             max_spread=self._start_spread(), rng=self._rng)
        if due is None:
            self._remove_job(job_id)
            log.info("%s: gone (410); not scheduled until its URL changes", cfg.name)
            return
        log.debug("%s: next poll %s", cfg.name, isoformat_z(due))
        self.scheduler.add_job(
            self._run_feed,
            trigger=IntervalTrigger(seconds=(SAFETY_NET + cfg.interval).total_seconds(), timezone=timezone.utc),
            args=[cfg.name],
            id=job_id,
            name=cfg.name,
            next_run_time=due,
            replace_existing=True,
        )

    def _start_spread(self) -> timedelta:
        # About two feeds a second: quick for a few feeds, gentle for hundreds.
        return min(START_SPACING * len(self._feeds), MAX_START_SPREAD)

    def _move_job(self, name: str, due: datetime) -> None:
        # At least a moment ahead: the instance that calls this is still counted as running.
        due = max(due, datetime.now(timezone.utc) + timedelta(seconds=0.5))
        with self._cond:
            if self._stopping:
                return
        try:
            self.scheduler.modify_job(JOB_PREFIX + name, next_run_time=due)
        except JobLookupError:
            pass  # removed by a reload meanwhile

    def _remove_job(self, job_id: str) -> None:
        try:
            self.scheduler.remove_job(job_id)
        except JobLookupError:
            pass

    @contextmanager
    def _in_flight(self) -> Iterator[bool]:
        """Counts a running poll; yields False when stopping, so nothing new starts."""
        with self._cond:
            go = not self._stopping
            if go:
                self._inflight += 1
        if not go:
            yield False
            return
        try:
            yield True
        finally:
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()

    def _run_feed(self, name: str) -> None:
        """One scheduled run: poll, log, digest hook, reschedule. Never raises."""
        try:
            self._run_feed_once(name)
        finally:
            # Polled, failed, skipped or gone: either way the first digest stops waiting for it.
            self._round_member_done(name)

    def _run_feed_once(self, name: str) -> None:
        cfg = self._feeds.get(name)
        if cfg is None:
            return  # removed by a reload after this run was queued
        with self._in_flight() as go:
            if not go or self._files_lost() or not self._claim(cfg):
                return
            try:
                result = self._poll(self.tracker, cfg)
            except Exception as exc:
                # poll_feed records its own failures; reaching here is a bug, shown in full.
                log.exception("%s: poll crashed", name)
                from tracker.poll import PollResult

                result = PollResult(name, "error", error=f"internal error: {exc.__class__.__name__}: {exc}")
            finally:
                with self._leased_lock:
                    self._leased.pop(name, None)
            self._release(cfg, result)
            due = self._log_and_plan(cfg, result)
            if self._files_lost():
                return  # stopping: no digest from a lost database, no next run
            if result.events_changed > 0:
                self.call_after_poll([result])
        current = self._feeds.get(name)
        if current is None:
            return
        if current != cfg:
            # The config changed while we polled: the reload's plan (from the database) wins.
            self._schedule_feed(current)
        elif due is None:
            self._remove_job(JOB_PREFIX + name)
        else:
            self._move_job(name, due)

    def _lease(self, cfg: FeedConfig) -> timedelta:
        """How long a claim of this feed holds: its longest fetch plus LEASE_MARGIN."""
        return lease_length(cfg.timeout * DEADLINE_FACTOR, LEASE_MARGIN)

    def _claim(self, cfg: FeedConfig) -> bool:
        """Claim the feed for this poll (tracker.store.leases); True: poll it now.

        Otherwise the job moves: to the feed's due time when it was polled meanwhile
        (by another daemon, or `tracker poll`), or to when the daemon holding it should be
        done; a feed gone (410) loses its job.
        """
        name = cfg.name
        try:
            if self._shared:
                recheck = name in self._rechecks
                self._rechecks.discard(name)
                claim = claim_feed(
                    self.tracker.store, name, me=self.owner, clock=self.tracker.clock, lease=self._lease(cfg),
                    slack=timedelta(0) if recheck else DUE_SLACK,
                )
            else:
                claim = peek_feed(self.tracker.store, name, me=self.owner, clock=self.tracker.clock, slack=DUE_SLACK)
        except TrackerError as exc:
            if not self._shared:
                return True  # alone on the database: let the poll meet (and record) the problem
            # Another daemon may be polling it: never poll unclaimed; back off in memory.
            count = self._unrecorded[name] = self._unrecorded.get(name, 0) + 1
            due = next_poll(now=self.tracker.clock(), interval=cfg.interval, consecutive_errors=count,
                            rng=self._rng).next_due
            log.error("%s: could not claim the feed for a poll: %s; next try %s", name, exc, isoformat_z(due))
            self._move_job(name, due)
            return False
        if claim.won:
            if self._shared:
                with self._leased_lock:
                    self._leased[name] = cfg
            return True
        self._not_claimed(cfg, claim)
        return False

    def _not_claimed(self, cfg: FeedConfig, claim: Claim) -> None:
        if claim.status == GONE:
            self._remove_job(JOB_PREFIX + cfg.name)
            return
        when = retry_at(claim, self.tracker.clock(), cfg.interval)
        if claim.owner is not None and claim.owner != self.owner and claim.status == HELD:
            self._rechecks.add(cfg.name)
            log.debug("%s: being polled by %s; looking again at %s", cfg.name, claim.owner, isoformat_z(when))
        else:
            log.debug("%s: not due until %s (polled meanwhile); waiting", cfg.name, isoformat_z(when))
        self._move_job(cfg.name, when)

    def _release(self, cfg: FeedConfig, result: PollResult) -> None:
        """After the poll: its next due time is written, the lease goes. A poll that could not
        record anything keeps the lease until it expires (no other daemon polls the feed
        at once meanwhile)."""
        if not self._shared or (result.next_due is None and result.status != "gone"):
            return  # alone on SQLite: nothing was written to give back (peek_feed)
        try:
            release_feed(self.tracker.store, cfg.name, me=self.owner)
        except TrackerError as exc:
            log.warning("%s: could not release its lease (it expires by itself): %s", cfg.name, exc)

    def _renew_leases(self) -> None:
        """Extend the leases of the polls in flight, so a slow poll keeps its feed."""
        with self._leased_lock:
            feeds = dict(self._leased)
        if not feeds or self._files_lost():
            return
        now = self.tracker.clock()
        try:
            lost = renew_feeds(self.tracker.store, lambda n: now + self._lease(feeds[n]), list(feeds), me=self.owner)
        except TrackerError as exc:
            log.warning("could not renew the leases of %d poll(s) in flight: %s", len(feeds), exc)
            return
        with self._leased_lock:
            lost = [n for n in lost if n in self._leased]
        if lost:
            log.warning("lost the lease of %s while polling (it expired): another daemon may poll it too",
                        _names(sorted(lost)))

    def _log_and_plan(self, cfg: FeedConfig, result: PollResult) -> datetime | None:
        """Log the poll's one line and decide the next run (None: never again, 410 Gone)."""
        if result.status == "gone":
            log.warning("%s; not polled again until its URL changes", result.line())
            return None
        due = result.next_due
        if due is None:
            # Nothing reached the database (it was busy or broken): back off in memory.
            count = self._unrecorded[cfg.name] = self._unrecorded.get(cfg.name, 0) + 1
            due = next_poll(now=self.tracker.clock(), interval=cfg.interval, consecutive_errors=count, rng=self._rng).next_due
        else:
            self._unrecorded.pop(cfg.name, None)
        line = f"{result.line()}; next {isoformat_z(due)}"
        if result.failed:
            log.warning("%s", line)
        else:
            log.info("%s", line)
        return due

    def call_after_poll(self, results: list[PollResult]) -> None:
        """The digest step, one at a time (two polls may finish together); never raises.

        While the first round of polls runs it is only remembered, and taken when the
        round ends (all polled once, or its deadline). Alerts are not held: instant means
        within the poll cycle.
        """
        self.kick_alerts()
        with self._round_lock:
            if self._round and self._round_deadline is not None and self.tracker.clock() >= self._round_deadline:
                # The deadline job is late (a busy pool): do not wait for it.
                results = [*(self._end_round() or []), *results]
            if self._round:
                self._held = [*(self._held or []), *results]
                return
        self._digest_step(results)

    def _digest_step(self, results: list[PollResult]) -> None:
        try:
            with self._digest_lock:
                self._after_poll(results)
        except TrackerError as exc:
            log.error("digest step failed: %s", exc)
        except Exception:
            log.exception("digest step crashed")

    def _on_job_event(self, event: JobEvent) -> None:
        """Keep a feed whose run was skipped or crashed on schedule (not on the 24 h net)."""
        if not event.job_id.startswith(JOB_PREFIX):
            return
        name = event.job_id[len(JOB_PREFIX):]
        cfg = self._feeds.get(name)
        if cfg is None:
            return
        if event.code == EVENT_JOB_MISSED:
            log.info("%s: run missed (the daemon was suspended or busy); rescheduling", name)
            soon = resume_due(
                now=datetime.now(timezone.utc), interval=cfg.interval, next_due=None, last_poll=None,
                backoff_reason=None, max_spread=self._start_spread(), rng=self._rng,
            )
            self._move_job(name, soon)
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            # Only when a reload replaced the job while its last run was finishing.
            self._move_job(name, datetime.now(timezone.utc) + timedelta(seconds=2))
        elif event.code == EVENT_JOB_ERROR:
            self._move_job(name, datetime.now(timezone.utc) + cfg.interval)

    # -- config reload --------------------------------------------------------------

    def check_config_file(self) -> bool:
        """Reload when feeds.yaml changed since it was last read; True if it was reloaded."""
        signature = file_signature(self.config_path)
        if signature is None or signature == self._signature:
            return False
        previous = self._signature
        self._signature = signature
        if previous is not None and previous.sha256 == signature.sha256:
            return False  # touched, not changed
        return self.reload("file changed")

    def reload(self, why: str) -> bool:
        """Load feeds.yaml again and apply it; whatever goes wrong, the running config stays
        and one line says why."""
        if self._files_lost():
            return False  # stopping, and the database would refuse the new rows anyway
        with self._reload_lock:
            try:
                self._apply(self._load_config())
            except Exception as exc:
                # Nothing read from a file may stop the daemon: besides ConfigError and the
                # database refusing the new rows, whatever the file provokes (RecursionError,
                # MemoryError, a bug). KeyboardInterrupt and SystemExit are not Exceptions.
                log.error("config not reloaded (%s), keeping the previous one: %s", why, _one_line(exc))
                log.debug("the failed reload", exc_info=True)
                return False
            return True

    def _load_config(self) -> Config:
        try:
            mode = self.config_path.stat().st_mode
        except OSError:
            mode = None  # load_config says what is wrong with it
        if mode is not None and not stat.S_ISREG(mode):
            # Reading a FIFO would block the main loop (and with it every signal), a device
            # such as /dev/zero would never end.
            kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a special file"
            raise ConfigError(f"{self.config_path}: cannot read: not a regular file but {kind}")
        return load_config(self.config_path)

    def _apply(self, new: Config) -> None:
        old = self.tracker.config
        if new.database_url != old.database_url:
            raise ConfigError(
                f"{new.path.name}: database: changing the database needs a restart of the daemon"
            )
        old_feeds = self._feeds
        try:
            self.tracker.reconfigure(new)
            added, removed, changed = self._switch_feeds({f.name: f for f in new.feeds})
        except StoreError:
            # Only the feed rows' transaction, reconfigure's first step, lets one out (the
            # jobs report their own): rolled back, nothing changed, nothing to undo.
            raise
        except Exception:
            self._restore(old, old_feeds)
            raise
        log.info(
            "config reloaded: %d feeds (added: %s; removed: %s; changed: %s)",
            len(self._feeds), _names(added), _names(removed), _names(changed),
        )

    def _switch_feeds(self, feeds: dict[str, FeedConfig]) -> tuple[list[str], list[str], list[str]]:
        """Make `feeds` the running ones and move the jobs to match; the names added,
        removed and changed."""
        current = self._feeds
        added = [n for n in feeds if n not in current]
        removed = [n for n in current if n not in feeds]
        changed = [n for n in feeds if n in current and feeds[n] != current[n]]
        self._feeds = feeds
        for name in removed:
            self._remove_job(JOB_PREFIX + name)
            self._unrecorded.pop(name, None)
            self._round_member_done(name)
        for name in added + changed:
            # Timeouts and topics are read at each run; interval and URL change the plan.
            self._schedule_feed(feeds[name])
        return added, removed, changed

    def _restore(self, old: Config, old_feeds: dict[str, FeedConfig]) -> None:
        """Undo a reload that failed half-way: the feed rows (a changed URL), the matcher
        and the jobs as the running config had them."""
        try:
            self.tracker.reconfigure(old)
            self._switch_feeds(old_feeds)
        except Exception as exc:
            log.error("could not fully restore the running config after the failed reload: %s", _one_line(exc))

    # -- introspection (tests, `tracker feeds` needs none of it) ----------------------

    def scheduled(self) -> dict[str, datetime | None]:
        """Feed name -> next run time of its job."""
        return {
            job.id[len(JOB_PREFIX):]: job.next_run_time
            for job in self.scheduler.get_jobs()
            if job.id.startswith(JOB_PREFIX)
        }


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) or "none"


def _one_line(exc: BaseException) -> str:
    """An error as one log line of at most MAX_RELOAD_ERROR characters; errors other than
    tracker's own name their class (a bare MemoryError says nothing else)."""
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not turn a logged error into a crash
        text = ""
    if not isinstance(exc, TrackerError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return one_line_cut(text, MAX_RELOAD_ERROR)


def run_daemon(
    config: Config,
    *,
    check_config_every: float = DEFAULT_CHECK_CONFIG_EVERY,
    digest_check_every: float = DEFAULT_DIGEST_CHECK_EVERY,
) -> int:
    """`tracker daemon`: lock the database, build the Tracker, run until stopped."""
    from tracker.app import make_tracker

    if config.digest is not None:
        from tracker.digest import make_sender

        make_sender(config.digest.smtp)  # a missing password is a config error: refuse to start
    if config.alerts:
        from tracker.alerts import check

        check(config)  # an unset ${NAME} or a URL apprise does not know: refuse to start
    path = lock_path(config.database_url)
    lock = DaemonLock(path) if path else None
    if lock is not None:
        lock.acquire()
    elif backend(config.database_url) == "sqlite":
        log.warning("no lock for %s: make sure only one daemon uses this database", display_url(config.database_url))
    else:
        log.info("%s: other daemons may share this database; each due feed is claimed by one of them",
                 display_url(config.database_url))
    try:
        tracker = make_tracker(config)
        try:
            return Daemon(
                tracker, check_config_every=check_config_every, digest_check_every=digest_check_every,
                before_exit=lock.release if lock is not None else None, lock=lock,
            ).run()
        finally:
            tracker.close()
    finally:
        if lock is not None:
            lock.release()
