"""Alerts: new developments pushed to chat and phones through apprise, via an outbox that loses nothing.

Each URL of each target under `alerts:` is a channel with its own outbox rows, marks and
retry backoff, so a service that is down delays no other. A channel hears of a
development once: the message is recorded with its developments before apprise is
called, marks move only when the service took it, and a failed delivery is retried with
backoff (1 min doubling to 1 h), re-sent as it was recorded.

Thresholds (docs/interface.md, "Alerts"): with none, every development (new event, new
source, changed date) is sent. With `key_only` and/or `min_outlets`, an event is sent when
it meets them and did not when the channel last accounted for it: a new event that meets
them at once, or an update that lifts it over them ("crosses"); updates of an event that
met them already are not sent. Key developments: among the `key_top` (12) highest-scoring
events of one of its topics, as `timeline --topic T --top 12` ranks them now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from tracker.alerts._apprise import AlertError, AlertNotSent, Outgoing, Service, resolve_url
from tracker.alerts._outbox import (
    INSTANT_BURST,
    AlertBusy,
    Channel,
    ChannelOutbox,
    ChannelResult,
    Delivered,
    Planned,
    backoff,
    channel_key,
    channels_of,
    describe,
)
from tracker.alerts._render import NEW, UPDATED, Development, Source, headline, render_list, render_one, render_test
from tracker.config import Config
from tracker.errors import ConfigError, TrackerError

if TYPE_CHECKING:
    from tracker.parts import Parts

log = logging.getLogger(__name__)

ServiceFactory = Callable[[Channel], Service]


def require_alerts(config: Config) -> None:
    """A ConfigError saying how to add targets when there are none."""
    if not config.alerts:
        raise ConfigError(
            f"{config.path.name}: alerts: missing: add an 'alerts' list of targets with name and urls "
            "(see `tracker alerts --help`)"
        )


def outbox(tracker: Parts, channel: Channel, service: ServiceFactory | None = None) -> ChannelOutbox:
    return ChannelOutbox(tracker.store, tracker.config, channel, clock=tracker.clock, service=service)


def _load(channel: Channel) -> Service:
    return Service(channel.template, where=channel.where, timeout=channel.target.timeout.total_seconds())


def check(config: Config) -> None:
    """Every alert URL resolved and loaded by apprise (nothing sent): a ConfigError for the
    first that cannot be used (an unset ${NAME}, a scheme apprise does not know)."""
    for channel in channels_of(config):
        _load(channel)


def preview(tracker: Parts, names: Sequence[str] = ()) -> list[Planned]:
    """The messages `alerts send` would send now, channel by channel; writes nothing."""
    return [p for ch in channels_of(tracker.config, names) for p in outbox(tracker, ch).preview()]


def send(
    tracker: Parts, names: Sequence[str] = (), *, automatic: bool = False, service: ServiceFactory | None = None
) -> list[ChannelResult]:
    """Send what is pending to every channel (or the named targets') now, each in its own
    thread: a slow or unreachable service delays no other. Failures are in the results
    (recorded first: nothing is lost); a busy channel (another process sending) too."""
    chans = channels_of(tracker.config, names)
    if not chans:
        return []
    # Every URL loaded first: an unset ${NAME} or an unknown service is one error (exit 2)
    # before anything is sent to anyone.
    factory = service or _load
    services = {channel.key: factory(channel) for channel in chans}

    def one(channel: Channel) -> ChannelResult:
        try:
            return outbox(tracker, channel, lambda ch: services[ch.key]).send(automatic=automatic)
        except AlertBusy as exc:
            return ChannelResult(channel.label, error=str(exc), busy=True)

    with ThreadPoolExecutor(max_workers=min(16, len(chans)), thread_name_prefix="alerts") as pool:
        return list(pool.map(one, chans))


def send_test(config: Config, name: str, *, service: ServiceFactory | None = None) -> list[tuple[str, str | None]]:
    """`alerts test TARGET`: a test message to each of the target's URLs, not recorded in the
    outbox (no database needed); (channel label, error or None) per URL."""
    target = config.alert_target(name)
    titles = {n: t.display for n, t in config.topics.items()}
    message = render_test(target.name, describe(target, titles))
    factory = service or _load
    out: list[tuple[str, str | None]] = []
    for channel in channels_of(config, [name]):
        svc = factory(channel)
        try:
            svc.send(message)
        except AlertNotSent as exc:
            out.append((f"{channel.label} ({svc.shown})", str(exc)))
            continue
        out.append((f"{channel.label} ({svc.shown})", None))
    return out


class Dispatcher:
    """The daemon's alert step: every channel sends in a thread of its own, one run at a time
    per channel; a kick during a run makes it run once more. Never raises."""

    def __init__(self, tracker: Parts, *, service: ServiceFactory | None = None) -> None:
        self.tracker = tracker
        self.service = service
        self._lock = threading.Lock()
        self._running: dict[str, threading.Thread] = {}
        self._again: set[str] = set()
        self._stopping = False

    def kick(self, *, due_only: bool = False) -> None:
        """Send what is pending to every channel now (due_only: only to channels whose
        next_due has come: the timer's call)."""
        if self._stopping:
            return
        for channel in channels_of(self.tracker.config):
            with self._lock:
                if self._stopping:
                    return
                if channel.key in self._running:
                    if not due_only:
                        self._again.add(channel.key)
                    continue
                thread = threading.Thread(
                    target=self._run, args=(channel, due_only), name=f"alerts-{channel.label}", daemon=True
                )
                self._running[channel.key] = thread
            thread.start()

    def _run(self, channel: Channel, due_only: bool) -> None:
        try:
            while True:
                self._run_once(channel, due_only)
                due_only = False
                with self._lock:
                    if channel.key in self._again and not self._stopping:
                        self._again.discard(channel.key)
                        continue
                    del self._running[channel.key]
                    return
        except BaseException:
            with self._lock:
                self._running.pop(channel.key, None)
            raise

    def _run_once(self, channel: Channel, due_only: bool) -> None:
        try:
            box = outbox(self.tracker, channel, self.service)
            if due_only:
                due = box.next_due()
                if due is None or due > self.tracker.clock():
                    return
            result = box.send(automatic=True)
        except TrackerError as exc:
            log.error("alerts to %s: %s", channel.label, exc)
            return
        except Exception:
            log.exception("alerts to %s crashed", channel.label)
            return
        for d in result.delivered:
            log.info("alert %s %s to %s: %s", d.uid, "re-sent" if d.resend else "sent", d.channel, d.title)
        if result.error:
            log.error("alert %s", result.error)

    def busy(self) -> int:
        with self._lock:
            return len(self._running)

    def stop(self, wait: float) -> bool:
        """No new runs; wait up to `wait` seconds for runs in flight (a delivery cut short
        is re-sent unchanged by the next start). True if none is left."""
        with self._lock:
            self._stopping = True
            threads = list(self._running.values())
        deadline = time.monotonic() + wait
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)


__all__ = [
    "INSTANT_BURST",
    "NEW",
    "UPDATED",
    "AlertBusy",
    "AlertError",
    "AlertNotSent",
    "Channel",
    "ChannelOutbox",
    "ChannelResult",
    "Delivered",
    "Development",
    "Dispatcher",
    "Outgoing",
    "Planned",
    "Service",
    "Source",
    "backoff",
    "channel_key",
    "channels_of",
    "check",
    "describe",
    "headline",
    "outbox",
    "preview",
    "render_list",
    "render_one",
    "render_test",
    "require_alerts",
    "resolve_url",
    "send",
    "send_test",
]
