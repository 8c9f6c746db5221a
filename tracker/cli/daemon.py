"""`tracker daemon`: poll every feed on its schedule until stopped."""

from __future__ import annotations

import click

from tracker.cli import cli, state


@cli.command()
@click.option(
    "--check-config-every",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How often to look for a changed feeds.yaml.",
)
@click.option(
    "--digest-check-every",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="How often to send digests held back by min_interval or waiting for a retry.",
)
@click.pass_context
def daemon(ctx: click.Context, check_config_every: float, digest_check_every: float) -> None:
    """Run in the foreground: poll each feed when it is due, until stopped.

    Due times live in the database, so a restart resumes the schedule. One log line
    per poll goes to stderr. SIGHUP, or an edited feeds.yaml, reloads the config (an
    invalid one is reported and the running one kept). SIGTERM or SIGINT stop it
    within seconds, exit code 0. Only one daemon may run per database; the other
    commands (feeds, timeline, ...) work beside it.

    \b
    Examples:
      tracker daemon
      tracker --config /etc/tracker/feeds.yaml -v daemon
      kill -HUP $(cat tracker.db.lock)     # reload feeds.yaml now
      tracker feeds                        # what the daemon is doing
    """
    from tracker.scheduler import run_daemon

    ctx.exit(
        run_daemon(state(ctx).config, check_config_every=check_config_every, digest_check_every=digest_check_every)
    )
