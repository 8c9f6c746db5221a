"""The exception hierarchy: one root, third-party errors chained as causes."""

from __future__ import annotations


class TrackerError(Exception):
    """Root of every error tracker raises on purpose."""


class ConfigError(TrackerError):
    """feeds.yaml is missing, unreadable or invalid; the message names file and key."""


class FetchError(TrackerError):
    """A feed could not be fetched (network, HTTP status, size limit)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        # Seconds the server asked us to wait (Retry-After), when it said so.
        self.retry_after = retry_after


class FeedGone(FetchError):
    """The server answered 410 Gone: the feed is retired for good."""


class ParseError(TrackerError):
    """A fetched document yielded no feed entries."""


class StoreError(TrackerError):
    """The database could not be opened, migrated or written."""


class DigestError(TrackerError):
    """A digest could not be built or sent."""
