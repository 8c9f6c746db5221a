"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from feedserver import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A loopback HTTP server (tests/feedserver.py) whose routes each test configures."""
    with FeedServer() as server:
        yield server
