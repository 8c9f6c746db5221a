"""The exception hierarchy: one root, third-party errors chained as causes."""

from __future__ import annotations


class TrackerError(Exception):
    """Root of every error tracker raises on purpose."""

    # The CLI's exit code: 1 when a command ran and something failed, 2 for bad usage or config.
    exit_code = 1


class ConfigError(TrackerError):
    """feeds.yaml is missing, unreadable or invalid; the message names file and key."""

    exit_code = 2


class UsageError(TrackerError):
    """The command line asks for something that cannot be: an unknown id, an unusable path."""

    exit_code = 2


class DateRangeError(UsageError):
    """A date on the command line that is a real date but outside the range tracker reads."""


class NoDatabaseError(UsageError):
    """A command that only reads was pointed at a database that does not exist."""

    def __init__(self, where: str) -> None:
        super().__init__(f"no database at {where} (run tracker poll or tracker db upgrade first)")
        self.where = where


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


class PageError(FetchError):
    """An article page was refused or could not be fetched (tracker.fulltext): not
    http(s), robots.txt, a private address, not HTML, an HTTP error (410 included),
    the size cap, a timeout or the deadline; the message is one line."""


class ParseError(TrackerError):
    """A fetched document yielded no feed entries."""


class StoreError(TrackerError):
    """The database could not be opened, migrated or written."""


class DigestError(TrackerError):
    """A digest could not be built or sent."""
