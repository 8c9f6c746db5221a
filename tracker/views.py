"""Read-only views of events and feeds that the CLI and digests render."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from tracker._terminal import redact_url
from tracker.clock import isoformat_z
from tracker.events import rank

# The granularities of interface.md, finest first; renderers rely on this order.
GRANULARITIES = ("day", "week", "month", "quarter", "season", "half", "year", "decade")


@dataclass(frozen=True)
class MentionView:
    """One sentence of one article that dates an event."""

    url: str | None
    title: str
    feed: str
    published: datetime
    expression: str
    quote: str
    # Where the quote was read: "feed" (the entry's own text or title) or "page" (the
    # article page fetched for full text).
    origin: str = "feed"

    @property
    def article(self) -> str:
        """What identifies the article: its URL, else its feed and title."""
        return self.url or f"{self.feed}\x00{self.title}"

    def to_dict(self) -> dict[str, Any]:
        """The mention object of interface.md; a password in the link (one resolved against a
        feed URL with user:password@) shows as ***."""
        return {
            "url": None if self.url is None else redact_url(self.url, query=False),
            "title": self.title,
            "feed": self.feed,
            "published": isoformat_z(self.published),
            "expression": self.expression,
            "quote": self.quote,
            "from": self.origin,
        }


@dataclass(frozen=True)
class EventView:
    """One event of the timeline with every mention that supports it."""

    id: str
    value: str
    mod: str | None
    granularity: str
    start: date
    end: date
    summary: str
    topics: tuple[str, ...]
    first_seen: datetime
    updated: datetime
    mentions: tuple[MentionView, ...] = ()
    # How much the event matters, 0-100 (tracker.events.rank); None until scored (scored()).
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The event object of interface.md, plus "mod" (null when the date is unmodified)."""
        return {
            "id": self.id,
            "date": self.value,
            "mod": self.mod,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "granularity": self.granularity,
            "summary": self.summary,
            "topics": list(self.topics),
            "first_seen": isoformat_z(self.first_seen),
            "updated": isoformat_z(self.updated),
            "sources": self.sources,
            "outlets": self.outlets,
            "score": None if self.score is None else round(self.score, 2),
            "mentions": [m.to_dict() for m in self.mentions],
        }

    @property
    def sources(self) -> int:
        """Distinct articles behind the event (a re-polled article counts once)."""
        return len({m.article for m in self.mentions})

    @property
    def outlets(self) -> int:
        """Distinct outlets behind the event: feeds, or sites within an aggregator feed."""
        return rank.count_outlets(self.features().mentions)

    def features(self) -> rank.EventFeatures:
        """What tracker.events.rank scores."""
        return event_features(self.granularity, self.start, self.end, self.mod, self.first_seen, self.updated, self.mentions)

    def scored(self, now: datetime | None) -> EventView:
        """This event with its score as of now (None: without the recency boost)."""
        return replace(self, score=rank.score_event(self.features(), now))


def event_features(
    granularity: str,
    start: date,
    end: date,
    mod: str | None,
    first_seen: datetime,
    updated: datetime,
    mentions: Sequence[MentionView],
) -> rank.EventFeatures:
    """What tracker.events.rank scores, for an event not yet made a view (the store scores
    while it builds views)."""
    return rank.EventFeatures(
        granularity=granularity,
        start=start,
        end=end,
        mod=mod,
        first_seen=first_seen,
        updated=updated,
        mentions=tuple(rank.MentionFeatures(m.published, m.feed, m.article, rank.site_of(m.url)) for m in mentions),
    )


@dataclass(frozen=True)
class FeedHealth:
    """How one configured feed is doing."""

    name: str
    url: str
    entries: int
    last_poll: datetime | None
    last_status: str | None
    last_error: str | None
    consecutive_errors: int
    next_due: datetime | None
    warning: str | None = None
    backoff_reason: str | None = None
    full_text: FullTextHealth | None = None

    def to_dict(self) -> dict[str, Any]:
        """The feed-health object of interface.md, plus warning and backoff_reason.

        JSON is for machines but still shown: the URL's password (and secret query
        values) are ***, in the URL and wherever an error or warning quotes one; the user
        name stays, so the account is still known.
        """
        return {
            "name": self.name,
            "url": redact_url(self.url),
            "entries": self.entries,
            "last_poll": isoformat_z(self.last_poll),
            "last_status": self.last_status,
            "last_error": _redacted(self.last_error),
            "consecutive_errors": self.consecutive_errors,
            "next_due": isoformat_z(self.next_due),
            "warning": _redacted(self.warning),
            "backoff_reason": self.backoff_reason,
            "full_text": self.full_text.to_dict() if self.full_text is not None else None,
        }


@dataclass(frozen=True)
class FullTextHealth:
    """How reading a feed's article pages is going: its mode and its pages by outcome."""

    mode: str  # auto | always | never
    # Pages read with main text, read but with none found, waiting, failed (being retried
    # or given up), and the latest failure.
    read: int = 0
    empty: int = 0
    pending: int = 0
    failed: int = 0
    last_error: str | None = None

    def line(self) -> str:
        """`12 pages read, 1 failed, 3 waiting (last error: ...)`; the mode when nothing was read."""
        parts = [f"{n} {what}" for n, what in (
            (self.read, "read"), (self.empty, "without main text"), (self.pending, "waiting"), (self.failed, "failed"),
        ) if n]
        if not parts:
            return f"{self.mode}, no page read yet"
        text = f"{self.mode}: pages {', '.join(parts)}"
        return f"{text} (last error: {self.last_error})" if self.last_error else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "pages_read": self.read,
            "pages_without_text": self.empty,
            "pages_waiting": self.pending,
            "pages_failed": self.failed,
            "last_error": _redacted(self.last_error),
        }


def _redacted(text: str | None) -> str | None:
    return None if text is None else redact_url(text)
