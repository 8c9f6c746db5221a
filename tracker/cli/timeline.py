"""CLI commands that read the timeline: `timeline` and `event`."""

from __future__ import annotations

import shutil
from datetime import date
from typing import TextIO

import click

from tracker.cli import cli, echo_json, state
from tracker.cli.core import open_tracker

FORMATS = ("table", "json", "csv", "ics", "atom", "html")


class DateParam(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click stubs
    """A date on the command line: 2024-03-25, 2024-03 (its first or last day) or 2024."""

    name = "DATE"

    def __init__(self, end: bool = False) -> None:
        self.end = end

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        from tracker.dates import parse_cli_date

        try:
            return parse_cli_date(str(value), end=self.end)
        except ValueError:
            self.fail(f"{value!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)", param, ctx)


@cli.command()
@click.option("--topic", "topics", multiple=True, metavar="T", help="Only events of this topic (repeatable).")
@click.option("--since", type=DateParam(), help="Only events whose dates reach this day or later.")
@click.option("--until", type=DateParam(end=True), help="Only events whose dates begin by this day.")
@click.option("--search", metavar="TEXT", help="Full-text search over summaries and quotes (word* for prefixes).")
@click.option("--feed", "feeds", multiple=True, metavar="NAME", help="Only events with a source in this feed.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many events.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="Write here (default stdout).")
@click.pass_context
def timeline(
    ctx: click.Context,
    topics: tuple[str, ...],
    since: date | None,
    until: date | None,
    search: str | None,
    feeds: tuple[str, ...],
    limit: int | None,
    fmt: str,
    output: TextIO,
) -> None:
    """The timeline, ordered by event date.

    An event is kept when its interval overlaps --since/--until.

    \b
    Examples:
      tracker timeline
      tracker timeline --topic sora --since 2024-02 --until 2024-03
      tracker timeline --search "studio*" --format json
      tracker timeline --format ics -o story.ics
      tracker timeline --format html -o story.html
    """
    from tracker.render import render_timeline
    from tracker.store.timeline import TimelineQuery, timeline as query

    tracker = open_tracker(ctx)
    config = state(ctx).config
    for t in topics:
        if t not in config.topics:
            raise click.BadParameter(
                f"{t!r} is not a configured topic (known: {', '.join(config.topics) or 'none'})", param_hint="--topic"
            )
    for name in feeds:
        config.feed(name)
    events = query(
        tracker.store,
        TimelineQuery(topics=topics, since=since, until=until, search=search, feeds=feeds, limit=limit),
    )
    titles = {name: t.display for name, t in config.topics.items()}
    width = shutil.get_terminal_size((120, 24)).columns if output.isatty() else 120
    title = "tracker timeline" + (f": {', '.join(titles[t] for t in topics)}" if topics else "")
    rendered = render_timeline(events, fmt, now=tracker.clock(), title=title, topic_titles=titles, width=max(width, 80))
    output.write(rendered if rendered.endswith("\n") else rendered + "\n")


@cli.command()
@click.argument("event_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def event(ctx: click.Context, event_id: str, fmt: str) -> None:
    """One event with every mention: source, link, published, expression, quote.

    EVENT_ID is the id from `tracker timeline` (a unique prefix is enough).

    \b
    Examples:
      tracker event 3f1c2a9b0d
      tracker event 3f1c --format json
    """
    from tracker.render import format_when
    from tracker.store.timeline import get_event

    tracker = open_tracker(ctx)
    found = get_event(tracker.store, event_id)
    if found is None:
        raise click.ClickException(f"no event with id {event_id!r} (see `tracker timeline`)")
    if fmt == "json":
        echo_json(found.to_dict())
        return
    when = format_when(found.value, found.mod, found.granularity, found.start, found.end)
    click.echo(f"{found.id}  {when}  [{', '.join(found.topics)}]")
    click.echo(f"  {found.summary}")
    click.echo(f"  {found.start.isoformat()} .. {found.end.isoformat()} ({found.granularity}, value {found.value})")
    click.echo(f"  {found.sources} source{'s' if found.sources != 1 else ''}:")
    for m in found.mentions:
        click.echo(f"  - {m.feed}: {m.title}")
        click.echo(f"    {m.url or '(no link)'}  published {m.published:%Y-%m-%d %H:%M}Z")
        click.echo(f"    \u201c{m.expression}\u201d: {m.quote}")
