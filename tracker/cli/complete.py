"""Shell completion of feed and topic names, read from the configuration in use."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.shell_completion import CompletionItem

if TYPE_CHECKING:
    from tracker.config import Config


def _config(ctx: click.Context) -> Config | None:
    """The config the command line names (--config, $TRACKER_CONFIG, ./feeds.yaml), or None."""
    from tracker.config import load_config, resolve_config_path

    path = ctx.find_root().params.get("config_path")
    try:
        return load_config(resolve_config_path(path if isinstance(path, Path) else None))
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        return None


def feed_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The configured feed names that start with what was typed, each with its URL as help
    (the shell shows it: a password in it as ***)."""
    from tracker._terminal import redact_url, safe_text

    config = _config(ctx)
    if config is None:
        return []
    return [
        CompletionItem(f.name, help=safe_text(redact_url(f.url), one_line=True))
        for f in config.feeds
        if f.name.startswith(incomplete)
    ]


def topic_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The configured topic names that start with what was typed, each with its title as help."""
    config = _config(ctx)
    if config is None:
        return []
    return [
        CompletionItem(name, help=topic.title)
        for name, topic in config.topics.items()
        if name.startswith(incomplete)
    ]
