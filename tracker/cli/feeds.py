"""`tracker feeds`: feed health, and feeds in and out as OPML (`import`, `export`)."""

from __future__ import annotations

from typing import IO

import click
from click.core import ParameterSource

from tracker._terminal import redact_url, safe_text
from tracker.cli import cli, state
from tracker.cli.core import open_tracker
from tracker.errors import ConfigError


@cli.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def feeds(ctx: click.Context, fmt: str) -> None:
    """Each feed's health: entries stored, last poll, status, errors, next due.

    With a subcommand, move feeds in and out: `import` adds the feeds of an
    OPML file (a feed reader's export) to feeds.yaml, `export` writes the
    configured feeds as OPML.

    \b
    Examples:
      tracker feeds
      tracker feeds --format json | jq '.[] | select(.last_status == "error")'
      tracker feeds import subscriptions.opml
      tracker feeds export -o tracker.opml
    """
    if ctx.invoked_subcommand is not None:
        if ctx.get_parameter_source("fmt") is ParameterSource.COMMANDLINE:
            raise click.UsageError("--format applies to `tracker feeds` alone, not to its subcommands")
        return
    from tracker.render import output_width, render_feeds
    from tracker.store.queries import feed_health

    tracker = open_tracker(ctx, read_only=True)
    click.echo(render_feeds(feed_health(tracker.store, tracker.config.feeds), fmt, width=output_width()))


@feeds.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Print what would be added; change nothing.")
@click.pass_context
def feeds_import(ctx: click.Context, file: IO[bytes], dry_run: bool) -> None:
    """Add the feeds of an OPML subscription list to feeds.yaml.

    FILE is an OPML file (what feed readers export), or - for standard input.
    Every outline with an xmlUrl is taken, in nested folders too. Each new
    feed is named after its title (made unique); feeds whose URL is already
    configured are skipped, and only http and https URLs are imported.

    The feeds are appended to the end of the feeds list; the rest of the file,
    comments and layout included, is left exactly as it was. The result is
    checked before it replaces the file, so a failure changes nothing.

    \b
    Examples:
      tracker feeds import subscriptions.opml
      tracker feeds import --dry-run subscriptions.opml
      curl -s https://example.com/blogroll.opml | tracker feeds import -
    """
    from tracker.config import resolve_config_path
    from tracker.feedsfile import Candidate, add_feeds, plan_import
    from tracker.opml import MAX_BYTES, read_opml

    path = resolve_config_path(state(ctx).config_path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file (create one with `tracker init`, or pass --config PATH)")
    config = state(ctx).config
    name = str(getattr(file, "name", "-"))
    source = "standard input" if name in ("-", "<stdin>") else name
    outlines = read_opml(file.read(MAX_BYTES + 1), source)
    plan = plan_import(config, (Candidate(o.title, o.url, o.category) for o in outlines))

    quiet = state(ctx).verbosity < 0
    for feed in plan.added:
        if not quiet:
            click.echo(f"{'would add' if dry_run else 'added'} {_show(feed.name)}: {_show(feed.url)}")
    for candidate, existing in plan.skipped:
        if not quiet:
            click.echo(f"skipped {_show(candidate.url)}: already configured as {_show(existing)}")
    for candidate, reason in plan.invalid:
        title = f" ({_show(candidate.title)})" if candidate.title else ""
        click.echo(f"invalid {_show(candidate.url) or '(empty URL)'}{title}: {_show(reason)}", err=True)

    added, skipped, invalid = len(plan.added), len(plan.skipped), len(plan.invalid)
    if dry_run:
        click.echo(
            f"would add {added} feed{'s' if added != 1 else ''}, skip {skipped} (already configured), "
            f"{invalid} invalid; {path} not changed (--dry-run)"
        )
        return
    if plan.added:
        add_feeds(path, plan.added)
    click.echo(f"added {added} feed{'s' if added != 1 else ''}, skipped {skipped} (already configured), {invalid} invalid")


@feeds.command("export")
@click.option(
    "-o",
    "--output",
    type=click.File("wb", atomic=True),
    default="-",
    help="Write here (default stdout); the file is replaced only once complete.",
)
@click.option(
    "--with-credentials",
    is_flag=True,
    help="Keep passwords and secret query values in the URLs (default: shown as ***).",
)
@click.pass_context
def feeds_export(ctx: click.Context, output: IO[bytes], with_credentials: bool) -> None:
    """Write the configured feeds as an OPML 2.0 subscription list.

    Each feed becomes an outline with its name as title and text and its URL
    as xmlUrl; feed readers import it, and so does `tracker feeds import`.
    Local feeds (plain paths and file:// URLs) are left out, with a note on
    stderr: other machines and feed readers cannot read them.

    A password in a URL (user:password@) and secret query values (token=,
    api_key=, password=, ...) are written as *** unless --with-credentials is
    given: an OPML file gets shared (a blogroll, a feed reader, a bug report)
    more often than it is restored. The feeds so masked are named on stderr;
    give them their credentials again after an import.

    \b
    Examples:
      tracker feeds export
      tracker feeds export -o tracker.opml
      tracker --config old.yaml feeds export | tracker --config new.yaml feeds import -
      tracker feeds export --with-credentials -o backup.opml
    """
    from tracker.opml import ExportedFeed, write_opml

    config = state(ctx).config
    remote = [f for f in config.feeds if not f.is_local]
    local = [f.name for f in config.feeds if f.is_local]
    urls = {f.name: f.url if with_credentials else redact_url(f.url) for f in remote}
    output.write(write_opml([ExportedFeed(title=f.name, url=urls[f.name]) for f in remote]))
    masked = [f.name for f in remote if urls[f.name] != f.url]
    if masked:
        click.echo(
            f"tracker: note: credentials shown as *** (--with-credentials keeps them): {_show(', '.join(masked))}",
            err=True,
        )
    if local:
        click.echo(
            f"tracker: note: not exported, local file feed{'s' if len(local) != 1 else ''}: {_show(', '.join(local))}",
            err=True,
        )


def _show(text: str) -> str:
    """Text from a file, safe to print: one line, inert (safe_text), credentials as ***."""
    return safe_text(redact_url(text), one_line=True)
