"""CLI commands for polling, feed health and migrations."""

from __future__ import annotations

import click

from tracker.cli import cli, state


def open_tracker(ctx: click.Context):  # type: ignore[no-untyped-def]
    """The Tracker for this invocation, closed when the command ends."""
    from tracker.app import make_tracker

    tracker = make_tracker(state(ctx).config)
    ctx.call_on_close(tracker.close)
    return tracker


@cli.command()
@click.option("--feed", "names", multiple=True, metavar="NAME", help="Poll only this feed (repeatable).")
@click.pass_context
def poll(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Fetch every feed (or the named ones) now, extract events and store them.

    Prints one line per feed. Exits 1 if any feed failed; the others are stored.

    \b
    Examples:
      tracker poll
      tracker poll --feed winbuzzer --feed verge
    """
    tracker = open_tracker(ctx)
    results = tracker.poll(names)
    quiet = state(ctx).verbosity < 0
    for result in results:
        if not quiet or result.failed:
            click.echo(result.line(), err=result.failed)
    if any(r.failed for r in results):
        ctx.exit(1)


@cli.command()
@click.option("--feed", "names", multiple=True, metavar="NAME", help="Only this feed's entries (repeatable).")
@click.option("--pending", is_flag=True, help="Only entries whose extraction failed earlier.")
@click.pass_context
def reprocess(ctx: click.Context, names: tuple[str, ...], pending: bool) -> None:
    """Extract events again from stored articles, without fetching anything.

    Run it after changing topics in feeds.yaml: new topics then apply to articles
    already stored, and mentions of removed ones go. Event ids stay stable.

    \b
    Examples:
      tracker reprocess
      tracker reprocess --feed techwire
      tracker reprocess --pending
    """
    from tracker.reprocess import reprocess as run

    result = run(open_tracker(ctx), names, pending_only=pending)
    click.echo(
        f"reprocessed {result.entries} entries: {result.events_changed} events changed"
        + (f", {result.failed} failed (see the log)" if result.failed else "")
    )
    if result.failed:
        ctx.exit(1)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def feeds(ctx: click.Context, fmt: str) -> None:
    """Each feed's health: entries stored, last poll, status, errors, next due.

    \b
    Examples:
      tracker feeds
      tracker feeds --format json | jq '.[] | select(.last_status == "error")'
    """
    from tracker.render import render_feeds
    from tracker.store.queries import feed_health

    tracker = open_tracker(ctx)
    click.echo(render_feeds(feed_health(tracker.store, [f.name for f in tracker.config.feeds]), fmt))


@cli.group()
def db() -> None:
    """Database migrations (run automatically on first use)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create or upgrade the database to the newest schema.

    \b
    Example:
      tracker db upgrade
    """
    from tracker.store import Store, current_revision, upgrade

    store = Store(state(ctx).config.database_url, migrate=False)
    try:
        upgrade(store.engine, revision)
        click.echo(f"database at revision {current_revision(store.engine)}")
    finally:
        store.close()


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the database's schema revision and the newest one.

    \b
    Example:
      tracker db current
    """
    from tracker.store import Store, current_revision, head_revision

    store = Store(state(ctx).config.database_url, migrate=False)
    try:
        current, head = current_revision(store.engine), head_revision()
        note = "up to date" if current == head else "run `tracker db upgrade`"
        click.echo(f"current: {current or 'empty'}; head: {head} ({note})")
    finally:
        store.close()
