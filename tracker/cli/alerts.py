"""CLI commands for alerts through apprise: `alerts preview`, `alerts send`, `alerts test`."""

from __future__ import annotations

import click

from tracker.cli import cli, state
from tracker.cli.core import open_tracker


def _target_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[click.shell_completion.CompletionItem]:
    """The configured target names, for shell completion (none when the config cannot be read)."""
    from click.shell_completion import CompletionItem

    try:
        config = state(ctx).config
    except Exception:
        return []
    return [CompletionItem(t.name) for t in config.alerts if t.name.startswith(incomplete)]


@cli.group()
def alerts() -> None:
    """Alerts to chat and phones through apprise (configured under `alerts:` in feeds.yaml).

    \b
    A list of targets; name and urls are required:
      alerts:
        - name: phone
          urls: ["ntfys://ntfy.sh/${NTFY_TOPIC}"]     # apprise URLs; ${NAME}: from the environment
          topics: [sora]                              # only events of these topics
          mode: instant                               # instant (default) | digest
          key_only: true                              # only key developments (top 12 of a topic)
          min_outlets: 2                              # only events at least 2 outlets report
          match: "studio*"                            # the syntax of timeline --search
        - name: team
          urls: ["json://hooks.example.org/tracker"]
          mode: digest
          min_interval: 1h

    The daemon sends instant alerts after each poll that changed events, digests at most
    every min_interval; every delivery is recorded first and retried with backoff.
    """


@alerts.command("preview")
@click.argument("targets", nargs=-1, metavar="[TARGET]...", shell_complete=_target_names)
@click.pass_context
def alerts_preview(ctx: click.Context, targets: tuple[str, ...]) -> None:
    """Print what `alerts send` would send now, target by target; changes nothing.

    Each message shows its channel (the target, and the URL's position when it has
    several), its title and its text body; services that take markdown get the same
    content in markdown. Messages recorded earlier and not yet delivered come first (they
    are re-sent as they are).

    \b
    Examples:
      tracker alerts preview
      tracker alerts preview phone
    """
    from tracker._terminal import redact_url, safe_text
    from tracker.alerts import preview, require_alerts

    config = state(ctx).config
    require_alerts(config)
    for name in targets:
        config.alert_target(name)
    tracker = open_tracker(ctx, read_only=True)
    planned = preview(tracker, targets)
    if not planned:
        click.echo("nothing to send: no new developments for any target")
        return
    for i, p in enumerate(planned):
        if i:
            click.echo("-" * 72)
        click.echo(safe_text(redact_url(f"To: {p.channel} ({p.url})"), one_line=True))
        if p.resend:
            why = "may have been delivered already" if p.maybe_delivered else "not delivered yet"
            note = f": {p.note}" if p.note else ""
            click.echo(safe_text(f"(re-send of alert {p.uid}, {why}{note})", one_line=True))
        click.echo(f"Title: {safe_text(p.message.title, one_line=True)}")
        click.echo("")
        click.echo(safe_text(p.message.text), nl=False)


@alerts.command("send")
@click.argument("targets", nargs=-1, metavar="[TARGET]...", shell_complete=_target_names)
@click.pass_context
def alerts_send(ctx: click.Context, targets: tuple[str, ...]) -> None:
    """Send what is pending to every target (or the named ones) now.

    Ignores the retry backoff and a digest target's min_interval (the daemon respects
    both). Prints one line per message sent. Exit 1 when a delivery failed (nothing is
    lost: the message stays recorded and is retried) or another process is sending to
    the same target; the other targets are sent to all the same.

    \b
    Examples:
      tracker alerts send
      NTFY_TOPIC=... tracker alerts send phone
    """
    from tracker._terminal import error_line, safe_text
    from tracker.alerts import require_alerts, send

    config = state(ctx).config
    require_alerts(config)
    for name in targets:
        config.alert_target(name)
    tracker = open_tracker(ctx)
    results = send(tracker, targets)
    failed = False
    sent = 0
    for result in results:
        for d in result.delivered:
            sent += 1
            again = "re-sent" if d.resend else "sent"
            click.echo(safe_text(f"{again} alert {d.uid} to {d.channel}: {d.title}", one_line=True))
        if result.error:
            failed = True
            click.echo(error_line(result.error), err=True)
    if not sent and not failed:
        click.echo("nothing to send: no new developments for any target")
    if failed:
        ctx.exit(1)


@alerts.command("test")
@click.argument("target", metavar="TARGET", shell_complete=_target_names)
@click.pass_context
def alerts_test(ctx: click.Context, target: str) -> None:
    """Send a test message to each URL of TARGET, now; nothing is recorded.

    Prints one line per URL (apprise's privacy form: secrets masked). Exit 1 when any
    delivery failed, with apprise's reason; 2 when a ${NAME} in a URL is unset or
    apprise does not know the URL.

    \b
    Examples:
      tracker alerts test phone
    """
    from tracker._terminal import error_line, safe_text
    from tracker.alerts import require_alerts, send_test

    config = state(ctx).config
    require_alerts(config)
    config.alert_target(target)
    failed = False
    for label, error in send_test(config, target):
        if error is None:
            click.echo(safe_text(f"sent a test alert to {label}", one_line=True))
        else:
            failed = True
            click.echo(error_line(f"test alert to {label} not sent: {error}"), err=True)
    if failed:
        ctx.exit(1)
