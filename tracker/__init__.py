"""tracker: follow news feeds, extract dated events, keep a merged timeline, email digests."""

from __future__ import annotations

__version__ = "0.1.0"

from tracker.errors import (
    ConfigError,
    FetchError,
    ParseError,
    StoreError,
    TrackerError,
)

__all__ = [
    "__version__",
    "TrackerError",
    "ConfigError",
    "FetchError",
    "ParseError",
    "StoreError",
]
