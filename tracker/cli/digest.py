"""CLI commands for digests: `digest preview` and `digest send`."""

from __future__ import annotations

import click

from tracker.cli import cli, state
from tracker.cli.core import open_tracker


@cli.group()
def digest() -> None:
    """Email digests of new developments (configured under `digest:` in feeds.yaml).

    \b
    The digest section of feeds.yaml; to, from and smtp.host are required:
      digest:
        to: [newsroom@example.com]
        from: Tracker <tracker@example.com>
        topics: [sora, strikes]          # only events of these topics
        min_interval: 1h                 # automatic digests at most this often
        smtp:
          host: smtp.example.com
          port: 587
          security: starttls             # none | starttls (default) | ssl
          username: tracker
          password_env: TRACKER_SMTP_PASSWORD
          timeout: 30s
    """


@digest.command("preview")
@click.option("--html", "show_html", is_flag=True, help="Print only the HTML part: a page (header lines go to stderr).")
@click.pass_context
def digest_preview(ctx: click.Context, show_html: bool) -> None:
    """Print the digest that `digest send` would send now; changes nothing.

    Prints the subject and recipients, then the text part. Nothing pending: says so.

    With --html, stdout gets nothing but the HTML part, so it can be saved as a page;
    the subject and recipients (and "nothing to send") go to stderr. When two messages
    are due (an interrupted digest re-sent unchanged, then one with what is new), their
    HTML documents follow each other in sending order: a browser shows both, one below
    the other; each begins with <!DOCTYPE html>.

    \b
    Examples:
      tracker digest preview
      tracker digest preview --html > digest.html
    """
    from tracker._terminal import safe_text
    from tracker.digest import preview, require_digest

    require_digest(state(ctx).config)
    tracker = open_tracker(ctx, read_only=True)
    messages = preview(tracker)
    if not messages:
        click.echo("nothing to send: no new developments since the last digest", err=show_html)
        return
    for i, m in enumerate(messages):
        # With --html the header lines go to stderr: stdout must stay a pure HTML document.
        if i:
            click.echo("-" * 72, err=show_html)
        if m.resend:
            click.echo(
                f"(re-send of {m.message_id}: an earlier attempt was interrupted and may have been delivered)",
                err=show_html,
            )
        click.echo(f"Subject: {safe_text(m.subject, one_line=True)}", err=show_html)
        click.echo(f"From: {safe_text(m.sender, one_line=True)}", err=show_html)
        click.echo(f"To: {safe_text(', '.join(m.recipients), one_line=True)}", err=show_html)
        if not show_html:
            click.echo("")
            # Rendering made the text inert already; this also covers a message an older
            # version rendered into the outbox, re-sent as it was.
            click.echo(safe_text(m.text), nl=False)
            continue
        # Each document starts on a line of its own.
        gap = "\n" if i and not messages[i - 1].html.endswith("\n") else ""
        click.echo(gap + safe_text(m.html), nl=False)


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
    from tracker._terminal import safe_text
    from tracker.digest import require_digest, send

    require_digest(state(ctx).config)
    tracker = open_tracker(ctx)
    result = send(tracker)
    if result is None:
        click.echo("nothing to send: no new developments since the last digest")
        return
    for m in result.messages:
        again = "re-sent" if m.resend else "sent"
        click.echo(safe_text(f"{again} {m.message_id} to {', '.join(m.recipients)}: {m.subject}", one_line=True))
