"""The digest outbox: which developments are pending, recording a digest before sending, and its outcome."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid, parseaddr

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from tracker.clock import Clock, to_aware_utc, to_naive_utc
from tracker.config import Config, DigestConfig
from tracker.digest._render import NEW, UPDATED, Development, Rendered, Source, build_message, render
from tracker.digest._smtp import MailSender, SmtpError
from tracker.errors import ConfigError, DigestError
from tracker.events import rank
from tracker.render import format_when
from tracker.store import Store
from tracker.store.models import Digest, DigestItem, DigestMark, Entry, Event, EventTopic, Feed, Mention
from tracker.store.timeline import day_points

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"

# Retries after a 4xx or a broken connection: 1 min, 2, 4, ... at most an hour apart.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# An attempt younger than this is taken to be still running in another process (the
# daemon and a manual `digest send`); older, its process died and the outcome is unknown.
LEASE_MIN = timedelta(minutes=2)
LEASE_TIMEOUTS = 8

_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


class DigestBusy(DigestError):
    """Another process is sending this audience's digest right now."""


class DigestNotSent(DigestError):
    """Sending failed; `permanent`: recorded as failed (5xx), else the digest stays pending."""

    def __init__(self, message: str, *, permanent: bool, reply: str | None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.reply = reply


def require_digest(config: Config) -> DigestConfig:
    """The digest section, or a ConfigError saying how to add one."""
    if config.digest is None:
        raise ConfigError(
            f"{config.path.name}: digest: missing: add a 'digest' section with to, from and smtp "
            "(see `tracker digest --help`)"
        )
    return config.digest


def audience_key(digest: DigestConfig) -> str:
    """A stable key for who gets what: the sorted recipients and the topic filter."""
    recipients = sorted({parseaddr(r)[1].lower() or r.lower() for r in digest.to})
    topics = sorted(digest.topics) if digest.topics is not None else None
    blob = json.dumps({"to": recipients, "topics": topics}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def backoff(attempts: int) -> timedelta:
    """Wait before retry number `attempts` (1-based): doubling from a minute, capped at an hour."""
    factor: int = 2 ** max(0, min(attempts - 1, 20))
    return min(BACKOFF_MAX, BACKOFF_BASE * factor)


def message_id_for(sender: str) -> str:
    """A new Message-ID whose domain is the sender's (or tracker.invalid if it has none usable)."""
    domain = parseaddr(sender)[1].rpartition("@")[2]
    return make_msgid(domain=domain if _DOMAIN.match(domain) else "tracker.invalid")


@dataclass(frozen=True)
class Composed:
    """One message as `digest send` would send it now (what `digest preview` prints)."""

    subject: str
    sender: str
    recipients: tuple[str, ...]
    text: str
    html: str
    developments: tuple[Development, ...]
    # A re-send of a message the server may already hold (same Message-ID).
    resend: bool = False
    message_id: str | None = None


@dataclass(frozen=True)
class SentMessage:
    """One digest the server accepted."""

    digest_id: int
    message_id: str
    subject: str
    recipients: tuple[str, ...]
    developments: int
    resend: bool


@dataclass(frozen=True)
class SendResult:
    """What a send did: normally one message; two when an interrupted one was re-sent first."""

    messages: tuple[SentMessage, ...]

    @property
    def developments(self) -> int:
        return sum(m.developments for m in self.messages)


@dataclass(frozen=True)
class _Claim:
    """A digest recorded and marked as being sent, as it goes on the wire."""

    digest_id: int
    message_id: str
    composed: datetime
    sender: str
    recipients: tuple[str, ...]
    rendered: Rendered
    developments: int
    resend: bool
    attempts: int


class Outbox:
    """Digests for the audience of one digest config, in one store."""

    def __init__(self, store: Store, config: Config, *, clock: Clock, sender: MailSender) -> None:
        self.store = store
        self.config = config
        self.digest = require_digest(config)
        self.clock = clock
        self.sender = sender
        self.audience = audience_key(self.digest)
        self.titles = {name: topic.display for name, topic in config.topics.items()}
        self.lease = max(LEASE_MIN, self.digest.smtp.timeout * LEASE_TIMEOUTS)

    # -- reading ---------------------------------------------------------------------

    def developments(self, s: Session, overlay: Mapping[int, DigestItem] | None = None) -> list[Development]:
        """Events of the topic filter whose revision is newer than the one last reported.

        overlay: items of a digest about to be re-sent, counted as reported already.
        """
        mark = DigestMark
        stmt = (
            select(Event, mark)
            .outerjoin(mark, and_(mark.event_pk == Event.pk, mark.audience == self.audience))
            .where(or_(mark.revision.is_(None), Event.revision > mark.revision))
            .order_by(Event.start, Event.end, Event.id)
        )
        if self.digest.topics is not None:
            stmt = stmt.where(
                Event.pk.in_(select(EventTopic.event_pk).where(EventTopic.topic.in_(self.digest.topics)))
            )
        rows: list[tuple[Event, int | None, int, str, datetime | None]] = []
        for event, m in s.execute(stmt):
            before = overlay.get(event.pk) if overlay else None
            if before is not None:
                if event.revision <= before.revision:
                    continue
                rows.append((event, before.revision, before.sources, before.when_text, None))
            elif m is not None:
                rows.append((event, m.revision, m.sources, m.when_text, m.reported))
            else:
                rows.append((event, None, 0, "", None))
        sources = self._sources(s, [r[0].pk for r in rows])
        now = self.clock()
        # A day's lead gets the day's part, as in `tracker event` and the unfiltered timeline:
        # the digest leads with the developments the timeline ranks first.
        leads = day_points(s, [r[0] for r in rows], now)
        out = []
        for event, previous, old_sources, old_when, reported in rows:
            when = format_when(event.value, event.mod, event.granularity, event.start, event.end)
            weight = rank.with_day(
                rank.breakdown(_features(event, sources.get(event.pk, ())), now), leads.get(event.id, 0.0)
            )
            out.append(
                Development(
                    event_pk=event.pk,
                    event_id=event.id,
                    kind=NEW if previous is None else UPDATED,
                    revision=event.revision,
                    previous_revision=previous,
                    changes="" if previous is None else _changes(event, when, old_sources, old_when, reported),
                    when=when,
                    start=event.start,
                    end=event.end,
                    summary=event.summary,
                    topics=tuple(event.topics.split()),
                    sources=tuple(sources.get(event.pk, ())),
                    source_count=max(event.sources, len(sources.get(event.pk, ()))),
                    score=weight.score,
                    outlets=weight.outlets,
                )
            )
        return out

    @staticmethod
    def _sources(s: Session, pks: Sequence[int]) -> dict[int, list[Source]]:
        """Each event's articles, one per entry, oldest first."""
        out: dict[int, list[Source]] = {}
        seen: set[tuple[int, int]] = set()
        for i in range(0, len(pks), 500):
            rows = s.execute(
                select(Mention.event_pk, Entry.id, Feed.name, Entry.title, Entry.link, Entry.published)
                .join(Entry, Entry.id == Mention.entry_id)
                .join(Feed, Feed.id == Entry.feed_id)
                .where(Mention.event_pk.in_(pks[i : i + 500]))
                .order_by(Entry.published, Entry.id)
            )
            for event_pk, entry_id, feed, title, link, published in rows:
                if event_pk is None or (event_pk, entry_id) in seen:
                    continue
                seen.add((event_pk, entry_id))
                source = Source(outlet=feed, title=title, url=link, published=to_aware_utc(published))
                out.setdefault(event_pk, []).append(source)
        return out

    def _render(self, developments: Sequence[Development]) -> Rendered:
        return render(developments, topic_titles=self.titles, topics=self.digest.topics)

    def _pending(self, s: Session, *, lock: bool = False) -> Digest | None:
        """The audience's pending digest; `lock` (a claim): its row locked FOR UPDATE on
        PostgreSQL until the claim commits (SQLite: the claim holds the write lock)."""
        stmt = select(Digest).where(Digest.audience == self.audience, Digest.status == PENDING).order_by(Digest.id)
        return s.scalars(stmt.with_for_update() if lock else stmt).first()

    def _interrupted(self, d: Digest, now: datetime) -> bool:
        """An attempt began and never recorded its outcome, and is too old to be running."""
        return d.sending_since is not None and to_aware_utc(d.sending_since) + self.lease <= now

    def preview(self) -> list[Composed]:
        """The messages `send` would send now, in order; [] when nothing is pending. Writes nothing."""
        now = self.clock()
        with self.store.read() as s:
            pending = self._pending(s)
            out: list[Composed] = []
            overlay: dict[int, DigestItem] = {}
            if pending is not None and (pending.frozen or self._interrupted(pending, now)):
                out.append(
                    Composed(
                        subject=pending.subject,
                        sender=pending.sender,
                        recipients=tuple(pending.recipients.split(", ")),
                        text=pending.text,
                        html=pending.html,
                        developments=(),
                        resend=True,
                        message_id=pending.message_id,
                    )
                )
                overlay = {item.event_pk: item for item in pending.items}
            devs = self.developments(s, overlay)
            if devs:
                rendered = self._render(devs)
                out.append(
                    Composed(
                        subject=rendered.subject,
                        sender=self.digest.sender,
                        recipients=self.digest.to,
                        text=rendered.text,
                        html=rendered.html,
                        developments=tuple(devs),
                        message_id=pending.message_id if pending is not None and not out else None,
                    )
                )
            return out

    def next_due(self) -> datetime | None:
        """When the automatic path may send next (now or later); None when nothing waits.

        For a daemon that wants a timer: developments held back by min_interval go out
        at this time even if no later poll changes anything.
        """
        now = self.clock()
        with self.store.read() as s:
            pending = self._pending(s)
            if pending is not None:
                due = now
                if pending.sending_since is not None:
                    due = max(due, to_aware_utc(pending.sending_since) + self.lease)
                if pending.next_attempt is not None:
                    due = max(due, to_aware_utc(pending.next_attempt))
                return due
            if not self.developments(s):
                return None
            last = self._last_finished(s)
            return now if last is None else max(now, last + self.digest.min_interval)

    # -- sending ---------------------------------------------------------------------

    def send(self, *, automatic: bool = False) -> SendResult | None:
        """Send every pending development; None when there is nothing to send.

        automatic: the daemon's call, which respects min_interval and retry backoff and
        returns None when either says wait; a manual send goes now.
        Raises DigestNotSent (the outcome is recorded first) or DigestBusy.
        """
        sent: list[SentMessage] = []
        # At most two rounds: an interrupted message is re-sent as it was, then whatever
        # is new goes in a message of its own.
        for _ in range(2):
            claim = self._claim(self.clock(), automatic=automatic)
            if claim is None:
                break
            sent.append(self._deliver(claim))
            if not claim.resend:
                break
        return SendResult(tuple(sent)) if sent else None

    def _claim(self, now: datetime, *, automatic: bool) -> _Claim | None:
        """Record the digest and its developments, and mark an attempt as begun, in one transaction.

        This is the claim that makes several daemons on one database send each digest once:
        write transactions run one at a time (SQLite's write lock, PostgreSQL's advisory
        lock in Store.write), so a second daemon's claim sees the first's attempt
        (sending_since, a lease) or its marks and sends nothing; a claim whose daemon
        died is taken over once the lease (self.lease) has passed, re-sent unchanged.
        """
        naive = to_naive_utc(now)
        with self.store.write() as s:
            digest = self._pending(s, lock=True)
            if digest is not None and digest.sending_since is not None:
                if not self._interrupted(digest, now):
                    if automatic:
                        return None
                    since = to_aware_utc(digest.sending_since)
                    raise DigestBusy(
                        f"another process began sending this digest at {since:%H:%M:%S} UTC; "
                        f"if it died, `tracker digest send` re-sends it after {since + self.lease:%H:%M:%S} UTC"
                    )
                # The process sending it died between connecting and recording the
                # outcome: the server may hold this message, so it goes again unchanged.
                log.warning("digest %s: an attempt was interrupted; re-sending it unchanged", digest.message_id)
                digest.frozen = True
                digest.sending_since = None
                digest.last_error = "interrupted while sending; the server may already have accepted it"
            if digest is not None and automatic and digest.next_attempt is not None and now < to_aware_utc(digest.next_attempt):
                return None
            if digest is not None and not digest.frozen:
                devs = self.developments(s)
                if not devs:
                    # Every event it covered has since been merged away: nothing to say.
                    s.delete(digest)
                    return None
                self._fill(s, digest, devs, now)
            elif digest is None:
                devs = self.developments(s)
                if not devs:
                    return None
                if automatic and not self._interval_passed(s, now):
                    return None
                digest = Digest(
                    audience=self.audience,
                    recipients=", ".join(self.digest.to),
                    sender=self.digest.sender,
                    message_id=message_id_for(self.digest.sender),
                    status=PENDING,
                    created=naive,
                    composed=naive,
                    attempts=0,
                    frozen=False,
                    subject="",
                    text="",
                    html="",
                )
                s.add(digest)
                s.flush()
                self._fill(s, digest, devs, now)
            digest.sending_since = naive
            digest.last_attempt = naive
            digest.attempts += 1
            return _Claim(
                digest_id=digest.id,
                message_id=digest.message_id,
                composed=to_aware_utc(digest.composed),
                sender=digest.sender,
                recipients=tuple(digest.recipients.split(", ")),
                rendered=Rendered(subject=digest.subject, text=digest.text, html=digest.html),
                developments=len(digest.items),
                resend=digest.frozen,
                attempts=digest.attempts,
            )

    def _last_finished(self, s: Session) -> datetime | None:
        """When the last digest to this audience was sent (or refused)."""
        last = s.scalar(
            select(func.max(func.coalesce(Digest.sent_at, Digest.last_attempt))).where(
                Digest.audience == self.audience, Digest.status.in_((SENT, FAILED))
            )
        )
        return to_aware_utc(last) if last is not None else None

    def _interval_passed(self, s: Session, now: datetime) -> bool:
        """min_interval has passed since the last digest sent (or refused) to this audience."""
        last = self._last_finished(s)
        return last is None or last + self.digest.min_interval <= now

    def _fill(self, s: Session, digest: Digest, devs: Sequence[Development], now: datetime) -> None:
        """(Re)write the digest's items and rendered parts: folding in whatever is new."""
        digest.items.clear()
        s.flush()
        for dev in devs:
            digest.items.append(
                DigestItem(
                    event_pk=dev.event_pk,
                    revision=dev.revision,
                    kind=dev.kind,
                    previous_revision=dev.previous_revision,
                    changes=dev.changes,
                    sources=dev.source_count,
                    when_text=dev.when,
                )
            )
        rendered = self._render(devs)
        digest.subject, digest.text, digest.html = rendered.subject, rendered.text, rendered.html
        digest.sender = self.digest.sender
        digest.composed = to_naive_utc(now)

    def _deliver(self, claim: _Claim) -> SentMessage:
        message = build_message(
            claim.rendered,
            sender=claim.sender,
            recipients=claim.recipients,
            message_id=claim.message_id,
            date=claim.composed,
        )
        try:
            self.sender.send(message, sender=claim.sender, recipients=claim.recipients)
        except DigestError as exc:
            raise self._record_failure(claim, exc) from exc
        # Anything else (a crash, Ctrl-C) leaves sending_since set: the next send treats
        # the outcome as unknown and re-sends this exact message.
        self._record_sent(claim)
        log.info("digest %s sent to %s: %s", claim.message_id, ", ".join(claim.recipients), claim.rendered.subject)
        return SentMessage(
            digest_id=claim.digest_id,
            message_id=claim.message_id,
            subject=claim.rendered.subject,
            recipients=claim.recipients,
            developments=claim.developments,
            resend=claim.resend,
        )

    def _record_sent(self, claim: _Claim) -> None:
        now = self.clock()
        naive = to_naive_utc(now)
        with self.store.write() as s:
            digest = s.get_one(Digest, claim.digest_id)
            digest.status = SENT
            digest.sent_at = naive
            digest.sending_since = None
            digest.next_attempt = None
            for item in digest.items:
                mark = s.get(DigestMark, (self.audience, item.event_pk))
                if mark is None:
                    s.add(
                        DigestMark(
                            audience=self.audience,
                            event_pk=item.event_pk,
                            revision=item.revision,
                            sources=item.sources,
                            when_text=item.when_text,
                            digest_id=digest.id,
                            reported=naive,
                        )
                    )
                elif item.revision > mark.revision:
                    mark.revision, mark.sources, mark.when_text = item.revision, item.sources, item.when_text
                    mark.digest_id, mark.reported = digest.id, naive

    def _record_failure(self, claim: _Claim, exc: DigestError) -> DigestNotSent:
        now = self.clock()
        permanent = isinstance(exc, SmtpError) and not exc.retry
        reply = exc.reply if isinstance(exc, SmtpError) else None
        n = claim.developments
        what = f"{n} development{'s' if n != 1 else ''}"
        with self.store.write() as s:
            digest = s.get_one(Digest, claim.digest_id)
            digest.sending_since = None
            digest.last_error = reply or str(exc)
            if permanent:
                # Marks only move when a digest is accepted, so its developments are
                # pending again for the next digest, under a new Message-ID.
                digest.status = FAILED
                digest.next_attempt = None
                message = f"digest not sent: {exc}; recorded as failed, its {what} will go in the next digest"
            else:
                if isinstance(exc, SmtpError) and exc.maybe_delivered:
                    digest.frozen = True
                retry_at = now + backoff(claim.attempts)
                digest.next_attempt = to_naive_utc(retry_at)
                message = (
                    f"digest not sent: {exc}; nothing lost: {what} stay pending "
                    f"(automatic retry after {retry_at:%Y-%m-%d %H:%M} UTC, or run `tracker digest send`)"
                )
        # Not logged here: the CLI prints it as its one line, maybe_send logs it.
        return DigestNotSent(message, permanent=permanent, reply=reply)


def _features(event: Event, sources: Sequence[Source]) -> rank.EventFeatures:
    """What tracker.events.rank scores, as the timeline's views give it (the same score)."""
    return rank.EventFeatures(
        granularity=event.granularity,
        start=event.start,
        end=event.end,
        mod=event.mod,
        first_seen=to_aware_utc(event.first_seen),
        updated=to_aware_utc(event.updated),
        mentions=tuple(
            rank.MentionFeatures(
                published=src.published or to_aware_utc(event.first_seen),
                feed=src.outlet,
                article=src.url or f"{src.outlet}\x00{src.title}",
                site=rank.site_of(src.url),
            )
            for src in sources
        ),
    )


def _changes(event: Event, when: str, old_sources: int, old_when: str, reported: datetime | None) -> str:
    """What changed since the revision last reported, for people."""
    parts = []
    gained = event.sources - old_sources
    if gained > 0:
        parts.append(f"{gained} new source{'s' if gained != 1 else ''}")
    elif reported is not None and event.sources_changed is not None and event.sources_changed > reported:
        parts.append("new source")
    if old_when and when != old_when:
        parts.append(f"date changed, was {old_when}")
    elif reported is not None and event.date_changed is not None and event.date_changed > reported:
        parts.append("date revised")
    return "; ".join(parts) or "revised"


def outbox_for(
    store: Store, config: Config, *, clock: Clock, sender: MailSender | None = None
) -> Outbox:
    """An Outbox for config's digest section, sending through SMTP unless sender is given."""
    if sender is None:
        from tracker.digest._smtp import make_sender

        sender = make_sender(require_digest(config).smtp)
    return Outbox(store, config, clock=clock, sender=sender)
