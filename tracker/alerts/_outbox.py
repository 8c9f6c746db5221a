"""The alert outbox: which developments each channel should hear of, recording a message before sending it, and its outcome."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session

from tracker.alerts._apprise import AlertError, AlertNotSent, Outgoing, Service
from tracker.alerts._render import NEW, UPDATED, Development, Source, render_list, render_one
from tracker.clock import Clock, to_aware_utc, to_naive_utc
from tracker.config import AlertTarget, Config
from tracker.errors import ConfigError
from tracker.events import rank
from tracker.render import format_when
from tracker.store import Store
from tracker.store.models import (
    AlertChannel,
    AlertItem,
    AlertMark,
    AlertMessage,
    Entry,
    Event,
    EventTopic,
    Feed,
    Mention,
)
from tracker.store.timeline import _MATCHES, TimelineQuery, fts_query, timeline, tsquery
from tracker.views import MentionView, event_features

log = logging.getLogger(__name__)

PENDING, SENT = "pending", "sent"
# Retries after a failed delivery: 1 min, 2, 4, ... at most an hour apart (as digests).
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# An attempt by a process that may still be running (another host, or a live pid) is left
# alone this long: the larger of this and LEASE_TIMEOUTS times the target's timeout.
LEASE_MIN = timedelta(minutes=2)
LEASE_TIMEOUTS = 8
# More instant developments than this waiting at once (a first run, a target back after an
# outage, a burst of news) go out as one list instead of as many notifications.
INSTANT_BURST = 5
_CHUNK = 500


class AlertBusy(AlertError):
    """Another process is sending to this channel right now."""


def backoff(failures: int) -> timedelta:
    """Wait after `failures` failed attempts in a row (1-based): doubling from a minute, capped at an hour."""
    factor: int = 2 ** max(0, min(failures - 1, 20))
    return min(BACKOFF_MAX, BACKOFF_BASE * factor)


def channel_key(target: str, url: str) -> str:
    """A channel's stable key: the target's name and the URL as written (${NAME} unresolved)."""
    return hashlib.sha256(f"{target}\n{url}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Channel:
    """One URL of one target, delivered on its own (its own outbox rows, marks and backoff)."""

    target: AlertTarget
    index: int  # the target's position under alerts:
    url_index: int
    template: str
    key: str
    file: str

    @property
    def where(self) -> str:
        return f"{self.file}: alerts[{self.index}].urls[{self.url_index}]"

    @property
    def label(self) -> str:
        """How output names it: the target, with the URL's position when it has several."""
        return self.target.name if len(self.target.urls) == 1 else f"{self.target.name}[{self.url_index}]"

    @property
    def lease(self) -> timedelta:
        return max(LEASE_MIN, self.target.timeout * LEASE_TIMEOUTS)


def channels_of(config: Config, names: Sequence[str] = ()) -> list[Channel]:
    """The channels of every target (or of the named ones: a ConfigError for an unknown name)."""
    targets = [config.alert_target(n) for n in dict.fromkeys(names)] if names else list(config.alerts)
    file = Path(config.path).name
    out = []
    for target in targets:
        index = config.alerts.index(target)
        for i, url in enumerate(target.urls):
            out.append(Channel(target, index, i, url, channel_key(target.name, url), file))
    return out


def describe(target: AlertTarget, titles: Mapping[str, str]) -> str:
    """What a target hears of, in words (the test message, `alerts preview`)."""
    what = "key developments" if target.key_only else "developments"
    parts = [f"{'instant alerts' if target.mode == 'instant' else 'digests'} of {what}"]
    if target.topics:
        parts.append("of " + ", ".join(titles.get(t, t) for t in target.topics))
    if target.min_outlets is not None:
        parts.append(f"reported by at least {target.min_outlets} outlet{'s' if target.min_outlets != 1 else ''}")
    if target.match:
        parts.append(f'matching "{target.match}"')
    if target.mode == "digest":
        parts.append(f"at most every {_duration(target.min_interval)}")
    return " ".join(parts)


def _duration(value: timedelta) -> str:
    from tracker.config import format_duration

    return format_duration(value)


# -- who holds an attempt --------------------------------------------------------------------


# Drawn once per process: a container restarted as pid 1 is not its previous self.
_INCARNATION = uuid.uuid4().hex[:12]


def holder_id() -> str:
    """Who is sending: host, pid and this process's incarnation."""
    return f"{socket.gethostname()}:{os.getpid()}:{_INCARNATION}"


def holder_alive(holder: str | None) -> bool | None:
    """Whether the process that began an attempt still runs: None when it is not on this host
    (then only the lease tells). A zombie counts as dead: it sends nothing more."""
    if not holder:
        return False
    host, pid_text, incarnation = (holder.rsplit(":", 2) + ["", ""])[:3]
    if host != socket.gethostname():
        return None
    try:
        pid = int(pid_text)
    except ValueError:
        return None
    if pid == os.getpid():
        # This process (another thread), or an earlier process that had the same pid.
        return incarnation == _INCARNATION
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


# -- what a send did -------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivered:
    """One message a service took."""

    channel: str  # the channel's label
    uid: str
    title: str
    developments: int
    resend: bool


@dataclass
class ChannelResult:
    """What one channel's send did: delivered messages, and the failure that stopped it."""

    channel: str
    delivered: list[Delivered] = field(default_factory=list)
    error: str | None = None
    busy: bool = False


@dataclass(frozen=True)
class Planned:
    """One message as `alerts send` would send it now (what `alerts preview` prints)."""

    channel: str
    url: str
    message: Outgoing
    developments: tuple[Development, ...]
    # A message recorded earlier and not yet delivered: re-sent as it is.
    uid: str | None = None
    resend: bool = False
    maybe_delivered: bool = False
    note: str | None = None


@dataclass(frozen=True)
class _Claim:
    message_id: int
    uid: str
    outgoing: Outgoing
    developments: int
    resend: bool


@dataclass
class _Candidate:
    event: Event
    mark: AlertMark | None


@dataclass(frozen=True)
class _Quiet:
    """A changed event the channel does not hear of, as it stands: accounted for, not sent."""

    event_pk: int
    revision: int
    passes: bool
    outlets: int
    sources: int
    when: str


class ChannelOutbox:
    """The outbox of one channel in one store."""

    def __init__(
        self,
        store: Store,
        config: Config,
        channel: Channel,
        *,
        clock: Clock,
        service: Callable[[Channel], Service] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.channel = channel
        self.target = channel.target
        self.clock = clock
        self._service_factory = service or _load_service
        self._service: Service | None = None
        self.titles = {name: topic.display for name, topic in config.topics.items()}

    # -- reading ---------------------------------------------------------------------------

    def _candidates(self, s: Session, skip: Mapping[int, int]) -> list[_Candidate]:
        """Events in the target's scope (topics, match) changed since the channel last
        accounted for them; `skip`: event pk -> revision already in a pending message."""
        mark = AlertMark
        stmt = (
            select(Event, mark)
            .outerjoin(mark, and_(mark.event_pk == Event.pk, mark.channel == self.channel.key))
            .where(or_(mark.revision.is_(None), Event.revision > mark.revision))
            .order_by(Event.start, Event.end, Event.id)
        )
        if self.target.topics is not None:
            stmt = stmt.where(Event.pk.in_(select(EventTopic.event_pk).where(EventTopic.topic.in_(self.target.topics))))
        if self.target.match:
            sqlite = s.get_bind().dialect.name == "sqlite"
            query = fts_query(self.target.match) if sqlite else tsquery(self.target.match)
            if query is None:
                return []
            # The same query `timeline --search` runs: one syntax, one meaning.
            stmt = stmt.where(text(f"events.pk IN ({_MATCHES['sqlite' if sqlite else 'postgresql']})")).params(m=query)
        out = []
        for event, m in s.execute(stmt):
            if skip.get(event.pk, 0) >= event.revision:
                continue
            out.append(_Candidate(event, m))
        return out

    def _key_ids(self, topics: Iterable[str], now: datetime) -> set[str]:
        """The ids of the key developments of these topics: each topic's key_top
        highest-scoring events, ranked as `timeline --topic T --top N` ranks them now."""
        ids: set[str] = set()
        for topic in sorted(set(topics)):
            views = timeline(self.store, TimelineQuery(topics=(topic,), top=self.target.key_top), now=now)
            ids.update(v.id for v in views)
        return ids

    def _ranked_topics(self, candidates: Sequence[_Candidate]) -> set[str]:
        """The topics whose key developments decide whether these candidates are key."""
        wanted = self.target.topics
        return {t for c in candidates for t in c.event.topics.split() if wanted is None or t in wanted}

    def developments(
        self,
        s: Session,
        now: datetime,
        skip: Mapping[int, int] | None = None,
        key_ids: Mapping[str, set[str]] | None = None,
    ) -> tuple[list[Development], list[_Quiet]]:
        """What the channel should hear of now, by event date, and the changed events it
        should not (below the threshold, or an update that crosses nothing), each with
        whether it meets the threshold: those are accounted for without a message.

        key_ids: topic -> ids of its key developments, ranked beforehand (a candidate of
        a topic not in it waits for the next run); None: ranked here.
        """
        candidates = self._candidates(s, skip or {})
        if not candidates:
            return [], []
        keys: Mapping[str, set[str]] = {}
        if self.target.key_only:
            if key_ids is None:
                keys = {t: self._key_ids((t,), now) for t in self._ranked_topics(candidates)}
            else:
                keys = key_ids
                candidates = [c for c in candidates if self._ranked_topics([c]) <= set(keys)]
        sources, features = _load(s, [c.event for c in candidates])
        out: list[Development] = []
        quiet: list[_Quiet] = []
        for c in candidates:
            e = c.event
            weight = rank.breakdown(features[e.pk], now)
            key = any(e.id in keys.get(t, ()) for t in self._ranked_topics([c]))
            passes = (not self.target.key_only or key) and (
                self.target.min_outlets is None or weight.outlets >= self.target.min_outlets
            )
            mark = c.mark
            when = format_when(e.value, e.mod, e.granularity, e.start, e.end)
            event_sources = sources.get(e.pk, [])
            count = max(len(event_sources), e.sources)
            if self.target.has_threshold and (not passes or (mark is not None and mark.passed)):
                quiet.append(_Quiet(e.pk, e.revision, passes, weight.outlets, count, when))
                continue
            out.append(
                Development(
                    event_pk=e.pk,
                    event_id=e.id,
                    # UPDATED when the channel accounted for an earlier revision: told of it,
                    # or it was below the threshold then (an update that crosses it).
                    kind=UPDATED if mark is not None else NEW,
                    revision=e.revision,
                    changes=self._changes(mark, when, weight.outlets, count, key),
                    when=when,
                    start=e.start,
                    end=e.end,
                    summary=e.summary,
                    topics=tuple(e.topics.split()),
                    sources=tuple(event_sources),
                    source_count=count,
                    outlets=weight.outlets,
                    score=weight.score,
                    key=key,
                )
            )
        return out, quiet

    def _changes(self, mark: AlertMark | None, when: str, outlets: int, sources: int, key: bool) -> str:
        """For people: what changed since the channel last accounted for the event, and
        (a threshold crossed) why it hears now."""
        if mark is None:
            return ""
        parts: list[str] = []
        gained = sources - mark.sources
        if gained > 0:
            parts.append(f"{gained} new source{'s' if gained != 1 else ''}")
        if mark.when_text and when != mark.when_text:
            parts.append(f"date changed, was {mark.when_text}")
        if not parts and not self.target.has_threshold:
            parts.append("revised")
        if self.target.has_threshold:
            # It was below the threshold when last accounted for: say what lifted it.
            if self.target.key_only and key:
                parts.append("now a key development")
            if self.target.min_outlets is not None:
                parts.append(f"now {outlets} outlet{'s' if outlets != 1 else ''}")
        return "; ".join(parts)

    def _pending(self, s: Session, *, lock: bool = False) -> list[AlertMessage]:
        """The channel's messages not yet delivered; `lock` (a claim): their rows locked FOR
        UPDATE on PostgreSQL until the claim commits (SQLite: the claim holds the write lock)."""
        stmt = (
            select(AlertMessage)
            .where(AlertMessage.channel == self.channel.key, AlertMessage.status == PENDING)
            .order_by(AlertMessage.id)
        )
        return list(s.scalars(stmt.with_for_update() if lock else stmt))

    def _compose(self, devs: Sequence[Development]) -> list[list[Development]]:
        """The messages these developments go in, in sending order."""
        if not devs:
            return []
        if self.target.mode == "digest" or len(devs) > INSTANT_BURST:
            return [list(devs)]
        return [[d] for d in devs]

    def _render(self, devs: Sequence[Development]) -> Outgoing:
        if len(devs) == 1 and self.target.mode == "instant":
            return render_one(devs[0], self.titles)
        return render_list(devs, self.titles)

    def preview(self) -> list[Planned]:
        """The messages `alerts send` would send to this channel now, in order. Writes nothing."""
        now = self.clock()
        try:
            shown = self._shown()  # apprise's privacy form: secrets masked
        except (AlertError, ConfigError):
            shown = self.channel.template  # ${NAME} unset here: as written, it shows no secret from it
        with self.store.read() as s:
            out: list[Planned] = []
            skip: dict[int, int] = {}
            for m in self._pending(s):
                for item in m.items:
                    skip[item.event_pk] = max(skip.get(item.event_pk, 0), item.revision)
                interrupted = m.sending_since is not None
                out.append(
                    Planned(
                        channel=self.channel.label,
                        url=shown,
                        message=Outgoing(m.title, m.markdown, m.text, m.html),
                        developments=(),
                        uid=m.uid,
                        resend=True,
                        maybe_delivered=m.frozen or interrupted,
                        note=m.last_error,
                    )
                )
            devs, _ = self.developments(s, now, skip)
            for group in self._compose(devs):
                out.append(Planned(self.channel.label, shown, self._render(group), tuple(group)))
            return out

    def status(self) -> AlertChannel | None:
        with self.store.read() as s:
            return s.get(AlertChannel, self.channel.key)

    def next_due(self) -> datetime | None:
        """When the automatic path may send next: now, a retry time, the end of min_interval;
        None when nothing waits (a cheap check for the daemon's timer)."""
        now = self.clock()
        with self.store.read() as s:
            row = s.get(AlertChannel, self.channel.key)
            retry = to_aware_utc(row.next_attempt) if row is not None and row.next_attempt is not None else None
            pending = self._pending(s)
            if pending:
                due = max(now, retry) if retry else now
                first = pending[0]
                if first.sending_since is not None and holder_alive(first.holder) is not False:
                    due = max(due, to_aware_utc(first.sending_since) + self.channel.lease)
                return due
            devs, quiet = self.developments(s, now)
            if not devs:
                return now if quiet else None
            due = max(now, retry) if retry else now
            if self.target.mode == "digest" and row is not None and row.last_sent is not None:
                due = max(due, to_aware_utc(row.last_sent) + self.target.min_interval)
            return due

    # -- sending ---------------------------------------------------------------------------

    def send(self, *, automatic: bool = False) -> ChannelResult:
        """Send what is pending for this channel, message by message, until nothing is left
        or a delivery fails (recorded; the rest waits for the retry).

        automatic: the daemon's call, which respects the retry backoff and a digest
        target's min_interval. Raises ConfigError when the URL cannot be used (an unset
        variable, a scheme apprise does not know) and AlertBusy when another live process
        is sending to this channel; a failed delivery is in the result, never raised.
        """
        result = ChannelResult(self.channel.label)
        while True:
            claim = self._claim(self.clock(), automatic=automatic)
            if claim is None:
                return result
            try:
                self._service_now().send(claim.outgoing)
            except AlertNotSent as exc:
                result.error = self._record_failure(claim, exc)
                return result
            # Anything else (a crash, Ctrl-C, kill -9) leaves sending_since set: the next
            # send treats the outcome as unknown and re-sends this exact message.
            self._record_sent(claim)
            # The CLI prints a line of its own; the daemon logs it (Dispatcher).
            log.debug("alert %s sent to %s: %s", claim.uid, self.channel.label, claim.outgoing.title)
            result.delivered.append(
                Delivered(self.channel.label, claim.uid, claim.outgoing.title, claim.developments, claim.resend)
            )

    def _service_now(self) -> Service:
        if self._service is None:
            self._service = self._service_factory(self.channel)
        return self._service

    def _channel_row(self, s: Session, now: datetime) -> AlertChannel:
        row = s.get(AlertChannel, self.channel.key)
        if row is None:
            row = AlertChannel(
                key=self.channel.key, target=self.target.name, url=self._shown(), created=to_naive_utc(now), failures=0
            )
            s.add(row)
            s.flush()
        else:
            row.url = self._shown()
        return row

    def _shown(self) -> str:
        return self._service_now().shown

    def _claim(self, now: datetime, *, automatic: bool) -> _Claim | None:
        """In one write transaction: take the oldest message not yet delivered (re-sent as it
        is), or record a new one with its developments; mark an attempt as begun."""
        naive = to_naive_utc(now)
        # Loaded before the transaction: a URL apprise cannot use fails here, and the
        # database's write lock is not held while apprise loads its plugins.
        self._service_now()
        key_ids: dict[str, set[str]] | None = None
        with self.store.read() as s:
            if not self._pending(s):
                candidates = self._candidates(s, {})
                if not candidates:
                    return None
                if self.target.key_only:
                    # Ranked before the write transaction: scoring a big topic must not
                    # hold the database's write lock.
                    key_ids = {t: self._key_ids((t,), now) for t in self._ranked_topics(candidates)}
        # Several daemons on one database: write transactions run one at a time (and the
        # pending rows are locked), so one claims a message and the others find it being
        # sent (holder, sending_since: a lease) and leave it; a dead holder's claim is
        # taken over when its lease ends (or at once when it was on this host).
        with self.store.write() as s:
            row = self._channel_row(s, now)
            pending = self._pending(s, lock=True)
            message = pending[0] if pending else None
            if message is not None and message.sending_since is not None:
                alive = holder_alive(message.holder)
                lease_over = to_aware_utc(message.sending_since) + self.channel.lease <= now
                if alive is not False and not lease_over:
                    if automatic:
                        return None
                    since = to_aware_utc(message.sending_since)
                    raise AlertBusy(
                        f"{self.channel.label}: another process ({message.holder}) began sending alert {message.uid} "
                        f"at {since:%H:%M:%S} UTC; if it died, it is re-sent after {since + self.channel.lease:%H:%M:%S} UTC"
                    )
                # The process sending it died between handing the message over and recording
                # the outcome: the service may have it, so it goes again unchanged.
                log.warning("alert %s to %s: an attempt was interrupted; re-sending it unchanged",
                            message.uid, self.channel.label)
                message.frozen = True
                message.sending_since = None
                message.holder = None
                message.last_error = "interrupted while sending; the service may already have it"
            if automatic and row.next_attempt is not None and now < to_aware_utc(row.next_attempt):
                return None
            if message is None:
                devs, quiet = self.developments(s, now, key_ids=key_ids if key_ids is not None else {})
                self._account(s, quiet, naive)
                if not devs:
                    return None
                if (
                    automatic
                    and self.target.mode == "digest"
                    and row.last_sent is not None
                    and now < to_aware_utc(row.last_sent) + self.target.min_interval
                ):
                    return None
                group = self._compose(devs)[0]
                outgoing = self._render(group)
                message = AlertMessage(
                    channel=self.channel.key, uid=uuid.uuid4().hex, status=PENDING, mode=self.target.mode,
                    created=naive, composed=naive, attempts=0, frozen=False,
                    title=outgoing.title, markdown=outgoing.markdown, text=outgoing.text, html=outgoing.html,
                )
                s.add(message)
                s.flush()
                for dev in group:
                    message.items.append(
                        AlertItem(event_pk=dev.event_pk, revision=dev.revision, kind=dev.kind, outlets=dev.outlets,
                                  sources=dev.source_count, when_text=dev.when)
                    )
            message.sending_since = naive
            message.holder = holder_id()
            message.last_attempt = naive
            message.attempts += 1
            row.last_attempt = naive
            return _Claim(
                message_id=message.id,
                uid=message.uid,
                outgoing=Outgoing(message.title, message.markdown, message.text, message.html),
                developments=len(message.items),
                resend=message.attempts > 1,
            )

    def _account(self, s: Session, quiet: Sequence[_Quiet], naive: datetime) -> None:
        """Changed events the channel does not hear of: their revision is accounted for, with
        whether they met the threshold (an update is sent when it crosses it) and how they
        stood (what a later update says changed)."""
        for q in quiet:
            mark = s.get(AlertMark, (self.channel.key, q.event_pk))
            if mark is None:
                mark = AlertMark(channel=self.channel.key, event_pk=q.event_pk, revision=q.revision, told=None,
                                 reported=naive)
                s.add(mark)
            mark.revision, mark.passed = max(mark.revision, q.revision), q.passes
            mark.outlets, mark.sources, mark.when_text = q.outlets, q.sources, q.when

    def _record_sent(self, claim: _Claim) -> None:
        naive = to_naive_utc(self.clock())
        with self.store.write() as s:
            message = s.get_one(AlertMessage, claim.message_id)
            message.status = SENT
            message.sent_at = naive
            message.sending_since = None
            message.holder = None
            row = s.get_one(AlertChannel, self.channel.key)
            row.failures = 0
            row.next_attempt = None
            row.last_sent = naive
            row.last_error = None
            for item in message.items:
                mark = s.get(AlertMark, (self.channel.key, item.event_pk))
                if mark is None:
                    mark = AlertMark(channel=self.channel.key, event_pk=item.event_pk, revision=item.revision, passed=True,
                                     reported=naive)
                    s.add(mark)
                mark.revision = max(mark.revision, item.revision)
                mark.passed = True
                mark.told = item.revision
                mark.outlets, mark.sources, mark.when_text = item.outlets, item.sources, item.when_text
                mark.message_id, mark.reported = message.id, naive

    def _record_failure(self, claim: _Claim, exc: AlertNotSent) -> str:
        now = self.clock()
        with self.store.write() as s:
            message = s.get_one(AlertMessage, claim.message_id)
            message.sending_since = None
            message.holder = None
            message.last_error = exc.reason
            row = s.get_one(AlertChannel, self.channel.key)
            row.failures += 1
            retry_at = now + backoff(row.failures)
            row.next_attempt = to_naive_utc(retry_at)
            row.last_error = exc.reason
        n = claim.developments
        what = f"{n} development{'s' if n != 1 else ''}"
        # Not logged here: the CLI prints it as its line, the daemon logs it.
        return (
            f"{self.channel.label}: not sent: {exc}; nothing lost: alert {claim.uid} ({what}) stays pending "
            f"(automatic retry after {retry_at:%Y-%m-%d %H:%M:%S} UTC, or run `tracker alerts send`)"
        )


def _load_service(channel: Channel) -> Service:
    return Service(channel.template, where=channel.where, timeout=channel.target.timeout.total_seconds())


def _load(s: Session, events: Sequence[Event]) -> tuple[dict[int, list[Source]], dict[int, rank.EventFeatures]]:
    """Each event's sources (one per article, oldest first) and what ranking scores (the
    timeline's own view of it, so scores and outlets are the ones `timeline` shows)."""
    mentions: dict[int, list[MentionView]] = defaultdict(list)
    pks = [e.pk for e in events]
    for i in range(0, len(pks), _CHUNK):
        rows = s.execute(
            select(Mention.event_pk, Entry.link, Entry.title, Entry.published, Feed.name)
            .join(Entry, Entry.id == Mention.entry_id)
            .join(Feed, Feed.id == Entry.feed_id)
            .where(Mention.event_pk.in_(pks[i : i + _CHUNK]))
            .order_by(Entry.published, Mention.id)
        )
        for event_pk, link, title, published, feed in rows:
            if event_pk is not None:
                mentions[event_pk].append(
                    MentionView(url=link, title=title, feed=feed, published=to_aware_utc(published), expression="", quote="")
                )
    sources: dict[int, list[Source]] = {}
    features: dict[int, rank.EventFeatures] = {}
    for e in events:
        views = mentions.get(e.pk, [])
        seen: set[str] = set()
        for m in views:
            if m.article not in seen:
                seen.add(m.article)
                sources.setdefault(e.pk, []).append(Source(outlet=m.feed, title=m.title, url=m.url))
        features[e.pk] = event_features(
            e.granularity, e.start, e.end, e.mod, to_aware_utc(e.first_seen), to_aware_utc(e.updated), views
        )
    return sources, features
