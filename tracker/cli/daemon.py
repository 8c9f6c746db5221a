"""`tracker daemon`: poll every feed on its schedule until stopped."""

from __future__ import annotations

import math

import click

from tracker.cli import cli, state



class _Seconds(click.FloatRange):
    """A number of seconds from 0.1 to a day; FloatRange alone lets NaN through."""

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        seconds: float = super().convert(value, param, ctx)  # type: ignore[arg-type]  # click passes any object
        if math.isnan(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


_SECONDS = _Seconds(min=0.1, max=86400.0)


@cli.command()
@click.option(
    "--check-config-every",
    type=_SECONDS,
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How often to look for a changed feeds.yaml.",
)
@click.option(
    "--digest-check-every",
    type=_SECONDS,
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="How often to send digests held back by min_interval or waiting for a retry.",
)
@click.pass_context
def daemon(ctx: click.Context, check_config_every: float, digest_check_every: float) -> None:
    """Run in the foreground: poll each feed when it is due, until stopped.

    Due times live in the database, so a restart resumes the schedule. One log line
    per poll goes to stderr. SIGHUP, or an edited feeds.yaml, reloads the config (a
    reload that fails, for whatever reason, is reported in one line and the running
    config kept). SIGTERM or SIGINT stop it within seconds, exit code 0. Only one daemon
    may run per database; the other commands (feeds, timeline, ...) work beside it. If
    the database file or its lock file is deleted or replaced while it runs, it stops
    with an error, exit code 1, rather than write into a file nobody will see again.

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
