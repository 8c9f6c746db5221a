"""Imports every command module so that each registers itself on the group."""

# One line per command module; keep sorted.
from tracker.cli import alerts  # noqa: F401
from tracker.cli import core  # noqa: F401
from tracker.cli import daemon  # noqa: F401
from tracker.cli import digest  # noqa: F401
from tracker.cli import extract  # noqa: F401
from tracker.cli import feeds  # noqa: F401
from tracker.cli import init  # noqa: F401
from tracker.cli import timeline  # noqa: F401
