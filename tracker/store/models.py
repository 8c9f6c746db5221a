"""SQLAlchemy 2 typed models: feeds, entries, events and their mentions."""

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

    feed: Mapped[Feed] = relationship(back_populates="entries")
