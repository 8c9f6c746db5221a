"""CLI commands for digests: `digest preview` and `digest send`."""

from __future__ import annotations

import click

from tracker.cli import cli, state
from tracker.cli.core import open_tracker


@cli.group()
def digest() -> None:
    """Email digests of new developments (configured under `digest:` in feeds.yaml)."""


@digest.command("preview")
@click.option("--html", "show_html", is_flag=True, help="Print the HTML part instead of the text part.")
@click.pass_context
def digest_preview(ctx: click.Context, show_html: bool) -> None:
    """Print the digest that `digest send` would send now; changes nothing.

    Prints the subject and recipients, then the text part. Nothing pending: says so.

    \b
    Examples:
      tracker digest preview
      tracker digest preview --html > digest.html
    """
    from tracker.digest import preview, require_digest

    require_digest(state(ctx).config)
    tracker = open_tracker(ctx)
    messages = preview(tracker)
    if not messages:
        click.echo("nothing to send: no new developments since the last digest")
        return
    for i, m in enumerate(messages):
        if i:
            click.echo("-" * 72)
        if m.resend:
            click.echo(f"(re-send of {m.message_id}: an earlier attempt was interrupted and may have been delivered)")
        click.echo(f"Subject: {m.subject}")
        click.echo(f"From: {m.sender}")
        click.echo(f"To: {', '.join(m.recipients)}")
        click.echo("")
        click.echo(m.html if show_html else m.text, nl=False)


@digest.command("send")
@click.pass_context
def digest_send(ctx: click.Context) -> None:
    """Send one message with every pending development now, and mark them sent.

    Ignores min_interval and retry backoff (the daemon respects both). Nothing pending:
    sends nothing, exit 0. Sending fails: exit 1 with the reason; nothing is lost, the
    developments stay pending (a 5xx refusal is recorded as failed and they go in the
    next digest).

    \b
    Examples:
      tracker digest send
      TRACKER_SMTP_PASSWORD=... tracker digest send
    """
    from tracker.digest import require_digest, send

    require_digest(state(ctx).config)
    tracker = open_tracker(ctx)
    result = send(tracker)
    if result is None:
        click.echo("nothing to send: no new developments since the last digest")
        return
    for m in result.messages:
        again = "re-sent" if m.resend else "sent"
        click.echo(f"{again} {m.message_id} to {', '.join(m.recipients)}: {m.subject}")
