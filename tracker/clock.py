"""The clock as an injectable dependency, so tests never patch datetime."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def to_naive_utc(value: datetime) -> datetime:
    """An aware datetime as naive UTC, the form stored in the database."""
    if value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def to_aware_utc(value: datetime) -> datetime:
    """A stored naive-UTC (or any aware) datetime as aware UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def isoformat_z(value: datetime | None) -> str | None:
    """RFC 3339 with a Z suffix and whole seconds, as in interface.md."""
    if value is None:
        return None
    return to_aware_utc(value).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
