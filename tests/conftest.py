"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from feedserver import FeedServer
from installed import Dists, build_dists, pipx_install


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A loopback HTTP server (tests/feedserver.py) whose routes each test configures."""
    with FeedServer() as server:
        yield server


@pytest.fixture(scope="session")
def built_dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """The sdist and the wheel built from it (tests/installed.py), once per session."""
    return build_dists(tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def installed_tracker(built_dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `tracker` command of the wheel installed with pipx into a new virtualenv outside
    the checkout, once per session. Run it with installed.run_tracker(exe, ..., cwd=tmp_path)."""
    return pipx_install(built_dists.wheel, tmp_path_factory.mktemp("installed"))
