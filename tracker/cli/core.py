"""CLI commands for polling, feed health and migrations."""

from __future__ import annotations

import click

from tracker.cli import cli, state
from tracker.cli.complete import feed_names


def open_tracker(ctx: click.Context, *, read_only: bool = False):  # type: ignore[no-untyped-def]
    """The Tracker for this invocation, closed when the command ends.

    Commands that only read pass read_only: they never create a database or a folder.
    """
    from tracker.app import make_tracker

    tracker = make_tracker(state(ctx).config, read_only=read_only)
    ctx.call_on_close(tracker.close)
    return tracker


@cli.command()
@click.option("--feed", "names", multiple=True, metavar="NAME", help="Poll only this feed (repeatable).", shell_complete=feed_names)
@click.pass_context
def poll(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Fetch every feed (or the named ones) now, extract events and store them.

    Prints one line per feed as it finishes (failures on stderr). On a terminal, stderr
    also shows how many feeds are done. Then reads the article pages of entries that
    need them (full_text in feeds.yaml) and prints a `NAME: full text: ...` line per feed
    that read any. Exits 1 if any feed failed; the others are stored. A page that could
    not be read is not a failure: its entry keeps the feed's text.

    \b
    Examples:
      tracker poll
      tracker poll --feed winbuzzer --feed verge
    """
    from tracker._terminal import redact_url, safe_text
    from tracker.cli._progress import Progress
    from tracker.pages import PagesOutcome
    from tracker.poll import PollResult

    tracker = open_tracker(ctx)
    quiet = state(ctx).verbosity < 0
    progress = Progress("polled", "feeds", len(tracker.feeds(names)), enabled=not quiet)
    done = 0

    def report(result: PollResult) -> None:
        nonlocal done
        done += 1
        if not quiet or result.failed:
            # The line quotes the feed's errors and warnings, which quote its URL and content.
            progress.echo(safe_text(redact_url(result.line()), one_line=True), err=result.failed)
        progress.update(done)

    def report_pages(outcome: PagesOutcome) -> None:
        # Page failures are the feed's full-text health, not a failed poll: stdout, exit 0.
        if quiet:
            return
        for name in outcome.feeds():
            progress.echo(safe_text(redact_url(outcome.line(name)), one_line=True), err=False)

    progress.update(0)
    try:
        results = tracker.poll(names, on_result=report, on_pages=report_pages)
    finally:
        progress.clear()
    if any(r.failed for r in results):
        ctx.exit(1)


@cli.command()
@click.option("--feed", "names", multiple=True, metavar="NAME", help="Only this feed's entries (repeatable).", shell_complete=feed_names)
@click.option("--pending", is_flag=True, help="Only entries whose extraction failed earlier.")
@click.option("--remerge", is_flag=True, help="Only merge every stored mention again from scratch (no extraction).")
@click.pass_context
def reprocess(ctx: click.Context, names: tuple[str, ...], pending: bool, remerge: bool) -> None:
    """Extract events again from stored articles, without fetching anything.

    Run it after changing topics in feeds.yaml: new topics then apply to articles
    already stored, and mentions of removed ones go. Event ids stay stable.

    --remerge extracts nothing: it merges all stored mentions into events again from
    scratch, in one write transaction. The first merge after an upgrade that changes the
    merging rules does this by itself.

    \b
    Examples:
      tracker reprocess
      tracker reprocess --feed techwire
      tracker reprocess --pending
      tracker reprocess --remerge
    """
    from tracker.cli._progress import Progress
    from tracker.errors import UsageError
    from tracker.reprocess import remerge as run_remerge
    from tracker.reprocess import reprocess as run

    if remerge and (names or pending):
        raise UsageError("--remerge merges every stored mention; it takes no --feed or --pending")
    tracker = open_tracker(ctx)
    if remerge:
        mentions, stats = run_remerge(tracker)
        click.echo(
            f"re-merged {mentions} mentions: {stats.created} events created, {stats.updated} updated, "
            f"{stats.deleted} deleted"
        )
        return
    progress: Progress | None = None

    def show(done: int, total: int) -> None:
        nonlocal progress
        if progress is None:
            progress = Progress("reprocessed", "entries", total, enabled=state(ctx).verbosity >= 0)
        progress.update(done)

    try:
        result = run(tracker, names, pending_only=pending, on_progress=show)
    finally:
        if progress is not None:
            progress.clear()
    click.echo(
        f"reprocessed {result.entries} entries: {result.events_changed} events changed"
        + (f", {result.failed} failed (see the log)" if result.failed else "")
    )
    if result.failed:
        ctx.exit(1)


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
    from tracker.store.db import check_revision

    check_revision(revision)  # before anything is created
    store = Store(state(ctx).config.database_url, migrate=False)
    try:
        upgrade(store.engine, revision, where=store.where)
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

    store = Store(state(ctx).config.database_url, migrate=False, read_only=True)
    try:
        current, head = current_revision(store.engine), head_revision()
        note = "up to date" if current == head else "run `tracker db upgrade`"
        click.echo(f"current: {current or 'empty'}; head: {head} ({note})")
    finally:
        store.close()


@db.command("copy")
@click.argument("source_url", metavar="SOURCE_URL")
@click.argument("target_url", metavar="TARGET_URL")
@click.pass_context
def db_copy(ctx: click.Context, source_url: str, target_url: str) -> None:
    """Copy a whole tracker database into a new, empty one (SQLite or PostgreSQL, either way).

    Migrates the target to the newest schema, then copies every table in chunks,
    keeping ids (event ids, the Atom feed id), and the search index. The source must be
    at the newest schema revision (run `tracker db upgrade` on it first) and is only
    read; a target that already holds data is refused (exit 2). Stop the daemon that
    writes to the source first: what it writes after the copy starts is not copied.
    Prints the rows copied per table. Needs no feeds.yaml; point `database:` (or
    $TRACKER_DATABASE_URL) at the target afterwards.

    \b
    Examples:
      tracker db copy sqlite:///tracker.db postgresql://tracker@db.example.com/tracker
      tracker db copy postgresql://tracker@localhost/tracker sqlite:///backup.db
      tracker db copy sqlite:///tracker.db sqlite:///copy.db
    """
    from tracker.errors import UsageError
    from tracker.scheduler import lock_holder, lock_path
    from tracker.store.copy import copy_database
    from tracker.store.db import display_url

    holder = lock_holder(lock_path(source_url))
    if holder is not None:
        pid = f" (pid {holder})" if holder else ""
        raise UsageError(
            f"a tracker daemon{pid} is running on {display_url(source_url)}; stop it first, "
            "so that nothing it writes is left behind"
        )
    quiet = state(ctx).verbosity < 0

    def show(table: str, rows: int) -> None:
        if not quiet:
            click.echo(f"{table}: {rows} {'row' if rows == 1 else 'rows'}")

    result = copy_database(source_url, target_url, on_table=show)
    click.echo(
        f"copied {result.rows} rows in {len(result.tables)} tables from {result.source} to {result.target} "
        f"(schema revision {result.revision})"
    )

