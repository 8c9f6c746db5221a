"""`tracker init`: write a commented starter feeds.yaml."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from tracker.cli import cli, state
from tracker.errors import ConfigError


@cli.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@click.pass_context
def init(ctx: click.Context, path: Path | None, force: bool) -> None:
    """Write a commented starter feeds.yaml to PATH.

    PATH defaults to the configuration tracker would read: --config, else
    $TRACKER_CONFIG, else ./feeds.yaml. The file explains every section
    (database, defaults, topics, feeds, an optional digest) and loads as it
    is. An existing file is never overwritten unless --force is given.

    \b
    Examples:
      tracker init
      tracker init ~/news/feeds.yaml
      tracker --config /etc/tracker/feeds.yaml init --force
    """
    from tracker.config import resolve_config_path
    from tracker.feedsfile import replace_atomically
    from tracker.starter import STARTER_CONFIG

    default = resolve_config_path(state(ctx).config_path)
    target = path if path is not None else default
    if target.is_dir():
        raise ConfigError(f"{target}: is a folder; give the path of the file to write")
    if target.exists() and not force:
        raise ConfigError(f"{target}: already exists, left unchanged (use --force to overwrite it)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if force and target.exists():
            replace_atomically(target.resolve(), STARTER_CONFIG)
        else:
            # "x": never clobber a file that appeared since the check above.
            with target.open("x", encoding="utf-8") as handle:
                handle.write(STARTER_CONFIG)
    except FileExistsError:
        raise ConfigError(f"{target}: already exists, left unchanged (use --force to overwrite it)") from None
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write: {exc.strerror or exc}") from exc

    prefix = "tracker" if target.resolve() == default.resolve() else f"tracker --config {shlex.quote(str(target))}"
    click.echo(f"wrote {target}")
    click.echo("next steps:")
    click.echo(f"  1. edit {target}: the topics' keywords and the feeds to follow")
    click.echo(f"     (or add a feed reader's subscriptions: {prefix} feeds import subscriptions.opml)")
    click.echo(f"  2. {prefix} poll         # fetch every feed now")
    click.echo(f"  3. {prefix} timeline     # read the timeline")
