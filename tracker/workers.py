"""Worker processes for parsing and extraction: a shared pool, lone workers for suspects, crash handling."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Generic, Literal, TypeVar

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class WorkersUnavailable(Exception):
    """No worker process can be had (none configured, or they cannot start here)."""


class WorkerCrashed(Exception):
    """The worker process running a task died: killed (the OOM killer), or a crash in C code."""


# A pipe whose write end only this process holds: a worker reading its read end sees EOF
# when this process is gone, however it ended (kill -9 included).
_lifeline_lock = threading.Lock()
_lifeline: tuple[Connection, Connection] | None = None


def _lifeline_reader() -> Connection:
    global _lifeline
    with _lifeline_lock:
        if _lifeline is None:
            _lifeline = multiprocessing.Pipe(duplex=False)
        return _lifeline[0]


def _forget_lifeline() -> None:
    # A forked child (tracker extract's workers, say) inherits the write end: holding it,
    # it would keep this process's workers alive after this process died.
    global _lifeline, _lifeline_lock
    _lifeline_lock = threading.Lock()
    if _lifeline is not None:
        for end in _lifeline:
            end.close()
        _lifeline = None


os.register_at_fork(after_in_child=_forget_lifeline)


def _worker_started(lifeline: Connection) -> None:
    """Pool initializer: the worker ends within moments of the tracker process that started it.

    With the forkserver a worker's parent is the fork server, not the tracker process, and
    nothing in multiprocessing stops a worker whose tracker process was killed: it waits
    for tasks forever. A thread here exits the worker when the lifeline reaches EOF.
    Belt and braces on Linux: the worker also lets go of the fork server's "alive" pipe,
    so the fork server ends with the tracker process, and asks for SIGKILL when it does;
    that works even while a long C call holds the interpreter.
    """
    threading.Thread(target=_exit_on_eof, args=(lifeline,), name="lifeline", daemon=True).start()
    try:
        server = multiprocessing.forkserver._forkserver
        alive = getattr(server, "_forkserver_alive_fd", None)
        if isinstance(alive, int):
            # Only used to start processes of its own, which a worker never does.
            os.close(alive)
            server._forkserver_alive_fd = None  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        pass
    _die_with_parent()


def _exit_on_eof(lifeline: Connection) -> None:
    try:
        while True:
            lifeline.recv_bytes()  # nothing is ever sent: this waits for EOF
    except (EOFError, OSError):
        pass
    os._exit(1)


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when its parent process ends."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


_PR_SET_PDEATHSIG = 1
_forkserver_lock = threading.Lock()


def _new_executor(max_workers: int) -> ProcessPoolExecutor:
    # Never fork a process that runs threads (the daemon, the poll threads): the forkserver
    # starts workers from a clean single-threaded process.
    context = multiprocessing.get_context("forkserver")
    with _forkserver_lock:
        context.set_forkserver_preload(["tracker.poll"])
        # The fork server runs `python -c ...`, which puts the current folder first on
        # sys.path, and it imports tracker.poll before any worker sets sys.path: a folder
        # holding a tracker/ of its own would be imported instead of the installed package.
        # PYTHONSAFEPATH (Python 3.11) leaves the current folder out. The variable is set
        # only while the fork server starts; it keeps running for later pools.
        saved = os.environ.get("PYTHONSAFEPATH")
        os.environ["PYTHONSAFEPATH"] = "1"
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            if saved is None:
                os.environ.pop("PYTHONSAFEPATH", None)
            else:
                os.environ["PYTHONSAFEPATH"] = saved
    return ProcessPoolExecutor(
        max_workers=max_workers, mp_context=context, initializer=_worker_started, initargs=(_lifeline_reader(),)
    )


def _probe() -> int:
    return os.getpid()


@dataclass(frozen=True)
class Job(Generic[_T]):
    """A task submitted to the shared workers, with the pool it went to."""

    executor: ProcessPoolExecutor
    future: Future[_T]


class LoneWorker:
    """One worker process that runs one task at a time: when it dies, the task was the cause."""

    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None

    def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """fn(*args) in the worker; WorkerCrashed when it died (the next task gets a new one)."""
        try:
            if self._executor is None:
                self._executor = _new_executor(1)
            future = self._executor.submit(fn, *args)
        except Exception as exc:
            # No process could be started (see WorkerPool.submit).
            self.close()
            raise WorkersUnavailable(f"{type(exc).__name__}: {exc}") from exc
        try:
            return future.result()
        except BrokenProcessPool as exc:
            self.close()
            raise WorkerCrashed(str(exc)) from exc

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


class WorkerPool:
    """A tracker's worker processes for parsing and extraction, shared by its polls.

    A worker that dies breaks the whole ProcessPoolExecutor (every task in it fails): the
    pool is replaced at once, and the tasks it took down are run again by their owners, one
    at a time in a LoneWorker, so that a task that kills its worker again costs only itself.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        # Lone workers are extra processes: at most as many at once as the pool has.
        self._lone = threading.BoundedSemaphore(max(1, processes))
        self._idle: list[LoneWorker] = []
        # "unusable": workers cannot start here at all; the work is done in-thread.
        self._state: Literal["unknown", "works", "unusable"] = "unknown"
        self._probe_lock = threading.Lock()
        self._state_lock = threading.Lock()

    @property
    def executor(self) -> ProcessPoolExecutor | None:
        """The current pool (None until first used, and after close)."""
        return self._executor

    def submit(self, fn: Callable[..., _T], *args: Any) -> Job[_T]:
        """Queue fn(*args) for a worker; WorkersUnavailable when there is none to be had."""
        if self.processes <= 0 or self._state == "unusable":
            raise WorkersUnavailable("no worker processes")
        for _ in range(2):
            try:
                with self._lock:
                    if self._executor is None:
                        self._executor = _new_executor(self.processes)
                    executor = self._executor
                # Starts a worker process when the pool has fewer than it may.
                return Job(executor, executor.submit(fn, *args))
            except BrokenProcessPool:
                # Broken by another task meanwhile: once more with the new pool.
                self._renew(executor)
            except RuntimeError as exc:
                # Shut down: the tracker is closing.
                raise WorkersUnavailable(str(exc)) from exc
            except Exception as exc:
                # No process could be started (no memory, no fds, the fork server died at
                # start): say so once, and work in-thread from now on.
                self._give_up(f"{type(exc).__name__}: {exc}")
                raise WorkersUnavailable(str(exc)) from exc
        raise WorkersUnavailable("the worker processes keep dying")

    def result(self, job: Job[_T]) -> _T:
        """The task's result; WorkerCrashed when a worker died meanwhile (the pool is replaced)."""
        try:
            value = job.future.result()
        except BrokenProcessPool as exc:
            self._renew(job.executor)
            if not self._usable():
                raise WorkersUnavailable(str(exc)) from exc
            raise WorkerCrashed(str(exc)) from exc
        self._state = "works"
        return value

    def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        return self.result(self.submit(fn, *args))

    @contextmanager
    def alone(self) -> Iterator[LoneWorker]:
        """A LoneWorker for suspect tasks. Its process is kept for the next suspects while
        it lives: most are bystanders of another task's crash, and a process start costs."""
        with self._lone:
            with self._lock:
                worker = self._idle.pop() if self._idle else LoneWorker()
            try:
                yield worker
            finally:
                with self._lock:
                    self._idle.append(worker)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
            idle, self._idle = self._idle, []
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        for worker in idle:
            worker.close()

    def _renew(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is not broken:
                return  # replaced already, by the first task that saw it broken
            self._executor = None
        log.warning("a worker process died; starting new ones (the tasks it took down run again one at a time)")
        broken.shutdown(wait=False, cancel_futures=True)

    def _usable(self) -> bool:
        """Whether workers work here at all; decided once, by a trivial task in a fresh one.

        A pool that breaks before any task finished may not start here at all (a broken
        installation): then the work is done in-thread, as without workers.
        """
        with self._probe_lock:
            if self._state == "unknown":
                worker = LoneWorker()
                try:
                    worker.run(_probe)
                    self._state = "works"
                except (WorkersUnavailable, WorkerCrashed) as exc:
                    self._give_up(str(exc))
                finally:
                    worker.close()
            return self._state == "works"

    def _give_up(self, why: str) -> None:
        with self._state_lock:
            if self._state == "unusable":
                return
            self._state = "unusable"
        log.warning("worker processes cannot run here (%s); parsing in the polling threads", why)
