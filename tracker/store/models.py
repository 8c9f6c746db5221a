"""SQLAlchemy 2 typed models: feeds, entries, events and their mentions, digests, the database's id."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Alembic's advice: deterministic constraint names so batch migrations on SQLite work.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Feed(Base):
    """A feed as the poller sees it: where it lives, its validators and its health."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The URL polled; differs from config_url after a confirmed permanent redirect.
    url: Mapped[str] = mapped_column(Text)
    config_url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime)
    last_poll: Mapped[datetime | None] = mapped_column(DateTime)
    last_success: Mapped[datetime | None] = mapped_column(DateTime)
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)
    warning: Mapped[str | None] = mapped_column(Text)
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    next_due: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    backoff_reason: Mapped[str | None] = mapped_column(Text)
    # Seconds the server asks us to wait at least (Cache-Control, Expires, RSS ttl).
    server_interval: Mapped[int | None] = mapped_column(Integer)
    redirect_target: Mapped[str | None] = mapped_column(Text)
    redirect_count: Mapped[int] = mapped_column(Integer, default=0)
    gone: Mapped[bool] = mapped_column(Boolean, default=False)
    # Several daemons on one database (tracker.store.leases): who is polling the feed now
    # (host:pid:random) and until when the claim holds unless renewed; null when nobody is.
    lease_owner: Mapped[str | None] = mapped_column(String(300))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)

    entries: Mapped[list[Entry]] = relationship(
        back_populates="feed", cascade="all, delete-orphan", passive_deletes=True
    )


class Entry(Base):
    """One article of a feed, identified per feed by guid, link or content hash."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("feed_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(Text)
    guid: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    title_html: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    # Never null: a missing or implausible feed date falls back to first_seen.
    published: Mapped[datetime] = mapped_column(DateTime, index=True)
    published_raw: Mapped[str | None] = mapped_column(Text)
    published_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    updated: Mapped[datetime | None] = mapped_column(DateTime)
    content_hash: Mapped[str] = mapped_column(String(80))
    first_seen: Mapped[datetime] = mapped_column(DateTime)
    last_changed: Mapped[datetime] = mapped_column(DateTime)
    needs_extraction: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # The article page's main text (full text), beside the feed's own text; null until a
    # page fetch succeeds. Events are extracted from it when it is there.
    page_text: Mapped[str | None] = mapped_column(Text)
    page_hash: Mapped[str | None] = mapped_column(String(80))

    feed: Mapped[Feed] = relationship(back_populates="entries")

    @property
    def extraction_text(self) -> str:
        """What events are extracted from: the page's text when fetched, else the feed's."""
        return self.page_text if self.page_text else self.text

    @property
    def extraction_key(self) -> str:
        """Changes whenever extraction_text does: what an extraction result is checked against."""
        return extraction_key(self.content_hash, self.page_hash if self.page_text else None)


def extraction_key(content_hash: str, page_hash: str | None) -> str:
    """The feed content hash, plus the page text's hash when the page text is used."""
    return f"{content_hash}+{page_hash}" if page_hash else content_hash


class Page(Base):
    """The fetch state of an entry's article page (full text): validators, health, retries.

    status: pending (to read), ok (its text stored on the entry, or it had none), failed
    (tried again at next_attempt, a few times; next_attempt null: given up until the entry
    changes in its feed).
    """

    __tablename__ = "pages"

    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True)
    # Copied from the entry so per-feed health is one indexed count.
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    next_attempt: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt: Mapped[datetime | None] = mapped_column(DateTime)
    fetched: Mapped[datetime | None] = mapped_column(DateTime)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    # Characters of main text the page gave (0: none found).
    chars: Mapped[int | None] = mapped_column(Integer)


# Events are queried by date range; a range query can only use the start index if it
# knows how far before the range an overlapping event may start. Classes bound that.
SPAN_CLASSES = (7, 31, 92, 366, 3660, 36600)


def span_class(start: date, end: date) -> int:
    """The index of the smallest span class that holds the interval (days)."""
    days = (end - start).days + 1
    for i, limit in enumerate(SPAN_CLASSES):
        if days <= limit:
            return i
    return len(SPAN_CLASSES)


class Event(Base):
    """A happening on the timeline, merged from the mentions that date it."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_span_start", "span_class", "start"),
        # The timeline's own order; lets a common search walk events by date and stop early.
        Index("ix_events_order", "start", "end", "id"),
    )

    # An integer key keeps mention rows and the FTS rowid small; `id` is the public one.
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    value: Mapped[str] = mapped_column(String(40))
    mod: Mapped[str | None] = mapped_column(String(20))
    granularity: Mapped[str] = mapped_column(String(10))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    span_class: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    # Space-separated topic names, for display; event_topics is what queries use.
    topics: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime] = mapped_column(DateTime)
    updated: Mapped[datetime] = mapped_column(DateTime, index=True)
    # When the date last changed and when a source was last added: what digests report.
    date_changed: Mapped[datetime | None] = mapped_column(DateTime)
    sources_changed: Mapped[datetime | None] = mapped_column(DateTime)
    # Bumped on creation, a new source or a date change: digests remember the revision
    # they reported, so "new since the last digest" is a comparison, not a time window.
    revision: Mapped[int] = mapped_column(Integer, default=1, index=True)

    # The database sets mentions.event_pk to NULL on delete; the ORM must not second-guess it.
    mentions: Mapped[list[Mention]] = relationship(back_populates="event", passive_deletes=True)


class EventTopic(Base):
    """An event's topic with its dates copied, so topic + range queries use one index."""

    __tablename__ = "event_topics"
    __table_args__ = (Index("ix_event_topics_topic_span_start", "topic", "span_class", "start"),)

    event_pk: Mapped[int] = mapped_column(ForeignKey("events.pk", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100), primary_key=True)
    span_class: Mapped[int] = mapped_column(Integer)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)


class Mention(Base):
    """One dated sentence of one entry about a topic; it supports exactly one event."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("entry_id", "fingerprint"),
        Index("ix_mentions_start_end", "start", "end"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    event_pk: Mapped[int | None] = mapped_column(ForeignKey("events.pk", ondelete="SET NULL"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    sentence_index: Mapped[int] = mapped_column(Integer)
    quote: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    expression: Mapped[str] = mapped_column(Text)
    expr_start: Mapped[int] = mapped_column(Integer)
    expr_end: Mapped[int] = mapped_column(Integer)
    value: Mapped[str] = mapped_column(String(40))
    mod: Mapped[str | None] = mapped_column(String(20))
    granularity: Mapped[str] = mapped_column(String(10))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    topics: Mapped[str] = mapped_column(Text, default="")
    # Topics that came from the title or a neighbouring sentence, not the sentence itself.
    context_topics: Mapped[bool] = mapped_column(Boolean, default=False)
    terms: Mapped[str] = mapped_column(Text, default="")
    # Subsets of terms with a role in merging (next to the date, topic keywords, names);
    # a re-merge of stored mentions must weigh them as the first merge did.
    focus: Mapped[str] = mapped_column(Text, default="", server_default="")
    keywords: Mapped[str] = mapped_column(Text, default="", server_default="")
    names: Mapped[str] = mapped_column(Text, default="", server_default="")

    event: Mapped[Event | None] = relationship(back_populates="mentions")
    entry: Mapped[Entry] = relationship()


# --- digests: an outbox of emails and what each reported --------------------------------


class Digest(Base):
    """One digest email in the outbox: recorded with its developments before it is sent.

    status: pending (not yet accepted by the server; retried), sent, failed (a 5xx reply).
    """

    __tablename__ = "digests"
    __table_args__ = (Index("ix_digests_audience_status", "audience", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A stable hash of the sorted recipients and topic filter: who the marks belong to.
    audience: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[str] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(Text)
    # Chosen and stored before the first attempt, so a re-send after a crash reuses it.
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created: Mapped[datetime] = mapped_column(DateTime)
    # The Date header; re-rendering (folding in new developments) moves it.
    composed: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt: Mapped[datetime | None] = mapped_column(DateTime)
    next_attempt: Mapped[datetime | None] = mapped_column(DateTime)
    # Set while an SMTP attempt is under way; still set afterwards means the process died
    # mid-attempt and the server may have accepted the message.
    sending_since: Mapped[datetime | None] = mapped_column(DateTime)
    # The server may already hold this exact message: it is re-sent unchanged, never refolded.
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)

    items: Mapped[list[DigestItem]] = relationship(
        back_populates="digest", cascade="all, delete-orphan", passive_deletes=True
    )


class DigestItem(Base):
    """A development a digest covers: an event at the revision the digest reports."""

    __tablename__ = "digest_items"

    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("events.pk", ondelete="CASCADE"), primary_key=True, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))  # NEW | UPDATED
    previous_revision: Mapped[int | None] = mapped_column(Integer)
    # What the recipients see next to UPDATED, e.g. "1 new source; date changed (was March 2024)".
    changes: Mapped[str] = mapped_column(Text, default="")
    # What was reported, so the next digest can say what changed since.
    sources: Mapped[int] = mapped_column(Integer)
    when_text: Mapped[str] = mapped_column(Text)

    digest: Mapped[Digest] = relationship(back_populates="items")


class DigestMark(Base):
    """The revision of an event last reported to an audience by a digest the server accepted."""

    __tablename__ = "digest_marks"

    audience: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("events.pk", ondelete="CASCADE"), primary_key=True, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    sources: Mapped[int] = mapped_column(Integer)
    when_text: Mapped[str] = mapped_column(Text)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id", ondelete="SET NULL"))
    reported: Mapped[datetime] = mapped_column(DateTime)


# --- the database itself ------------------------------------------------------------------


class DatabaseInfo(Base):
    """The database's identity: one row, written by migration 0005."""

    __tablename__ = "database_info"

    # A uuid4 drawn when the row was written; exports derive stable ids from it (the Atom
    # feed id), so two databases following the same story never share one.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)


class MergeState(Base):
    """One row: a counter every merge that writes bumps (a merge planned outside the write
    lock checks it before writing), and the merging rules the stored events were made by."""

    __tablename__ = "merge_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    scheme: Mapped[int] = mapped_column(Integer, default=0)


# --- alerts: an outbox of notifications through apprise, and what each channel was told ---


class AlertChannel(Base):
    """One apprise URL of one alert target (a channel): delivered on its own, with its own backoff.

    key: a hash of the target's name and the URL as written (${NAME} unresolved), so a
    rotated secret keeps the channel and its marks.
    """

    __tablename__ = "alert_channels"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(String(200))
    # As shown in output: apprise's privacy form, secrets masked.
    url: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime)
    # Failed attempts in a row: the retry backoff (reset by a delivery).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime | None] = mapped_column(DateTime)
    last_attempt: Mapped[datetime | None] = mapped_column(DateTime)
    last_sent: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class AlertMessage(Base):
    """One notification to one channel, recorded with its developments before it is sent.

    status: pending (not yet delivered; retried), sent.
    """

    __tablename__ = "alert_messages"
    __table_args__ = (Index("ix_alert_messages_channel_status", "channel", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(ForeignKey("alert_channels.key", ondelete="CASCADE"))
    # Stable across re-sends: what logs and `alerts preview` name it by.
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # The target's mode when composed: instant (one development, or a burst) or digest.
    mode: Mapped[str] = mapped_column(String(10))
    created: Mapped[datetime] = mapped_column(DateTime)
    composed: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt: Mapped[datetime | None] = mapped_column(DateTime)
    # Set while an attempt is under way, with the process making it ("host:pid"); still
    # set when that process is gone means it died mid-attempt: the service may have it.
    sending_since: Mapped[datetime | None] = mapped_column(DateTime)
    holder: Mapped[str | None] = mapped_column(String(300))
    # The service may already hold this exact message: re-sent unchanged, never refolded.
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    title: Mapped[str] = mapped_column(Text)
    # The body in each format; the one the service takes is sent (see tracker/alerts).
    markdown: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)

    items: Mapped[list[AlertItem]] = relationship(
        back_populates="message", cascade="all, delete-orphan", passive_deletes=True
    )


class AlertItem(Base):
    """A development an alert message covers: an event at the revision it reports."""

    __tablename__ = "alert_items"

    message_id: Mapped[int] = mapped_column(ForeignKey("alert_messages.id", ondelete="CASCADE"), primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("events.pk", ondelete="CASCADE"), primary_key=True, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))  # NEW | UPDATED
    outlets: Mapped[int] = mapped_column(Integer)
    sources: Mapped[int] = mapped_column(Integer)
    when_text: Mapped[str] = mapped_column(Text)

    message: Mapped[AlertMessage] = relationship(back_populates="items")


class AlertMark(Base):
    """Per channel and event: the revision last accounted for (sent, or judged below the
    target's threshold) and what the channel was last told."""

    __tablename__ = "alert_marks"

    channel: Mapped[str] = mapped_column(ForeignKey("alert_channels.key", ondelete="CASCADE"), primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("events.pk", ondelete="CASCADE"), primary_key=True, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    # Whether the event met the threshold at `revision`: an update is sent when it crosses.
    passed: Mapped[bool] = mapped_column(Boolean)
    # The revision last delivered (null: never), and what it said.
    told: Mapped[int | None] = mapped_column(Integer)
    outlets: Mapped[int] = mapped_column(Integer, default=0)
    sources: Mapped[int] = mapped_column(Integer, default=0)
    when_text: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("alert_messages.id", ondelete="SET NULL"))
    reported: Mapped[datetime] = mapped_column(DateTime)
