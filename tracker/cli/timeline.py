"""CLI commands that read the timeline: `timeline` and `event`."""

from __future__ import annotations

from datetime import date

import click

from tracker.cli import cli, echo_json, state
from tracker.cli._output import format_for, is_stdout, write_output
from tracker.cli.complete import feed_names, topic_names
from tracker.cli.core import open_tracker
from tracker.errors import TrackerError

FORMATS = ("table", "json", "csv", "ics", "atom", "html")
ORDERS = ("oldest", "newest")


class DateParam(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click stubs
    """A date on the command line: 2024-03-25, 2024-03 (its first or last day) or 2024."""

    name = "DATE"

    def __init__(self, end: bool = False) -> None:
        self.end = end

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        from tracker.dates import parse_cli_date

        from tracker.errors import DateRangeError

        try:
            return parse_cli_date(str(value), end=self.end)
        except DateRangeError as exc:
            self.fail(str(exc), param, ctx)
        except ValueError:
            self.fail(f"{value!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)", param, ctx)


def _public_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from tracker.render import safe_url

    if value is not None and safe_url(value) is None:
        raise click.BadParameter(f"{value!r} is not an http(s) URL", ctx=ctx, param=param)
    return value


@cli.command()
@click.option("--topic", "topics", multiple=True, metavar="T", help="Only events of this topic (repeatable).", shell_complete=topic_names)
@click.option("--since", type=DateParam(), help="Only events whose dates reach this day or later.")
@click.option("--until", type=DateParam(end=True), help="Only events whose dates begin by this day.")
@click.option("--search", metavar="TEXT", help="Full-text search over summaries and quotes (word* for prefixes).")
@click.option("--feed", "feeds", multiple=True, metavar="NAME", help="Only events with a source in this feed.", shell_complete=feed_names)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many events.")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    metavar="N",
    help="Only the N highest-scoring events (key developments) of those the other options keep, still in date order.",
)
@click.option("--order", type=click.Choice(ORDERS), default="oldest", show_default=True, help="By event date: oldest or newest first.")
@click.option("--url", "public_url", metavar="URL", callback=_public_url, help="Where the Atom feed will be published: its rel=self link (default: the -o file).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format [default: from the -o extension (.json .csv .ics .atom .html), else table].",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    default="-",
    help="Write here (default stdout); an existing file is replaced only once the output is complete.",
)
@click.pass_context
def timeline(
    ctx: click.Context,
    topics: tuple[str, ...],
    since: date | None,
    until: date | None,
    search: str | None,
    feeds: tuple[str, ...],
    limit: int | None,
    top: int | None,
    order: str,
    public_url: str | None,
    fmt: str | None,
    output: str,
) -> None:
    """The timeline, ordered by event date.

    An event is kept when its interval overlaps --since/--until. --top N keeps the N
    events with the highest score (more outlets and sources, reported around the
    event's date, a precise date; see the JSON "score").

    \b
    Examples:
      tracker timeline
      tracker timeline --topic sora --since 2024-02 --until 2024-03
      tracker timeline --search "studio*" --format json
      tracker timeline -o story.ics              # the format follows the extension
      tracker timeline --format html -o story.html
      tracker timeline --order newest --limit 10      # the ten latest events
      tracker timeline --top 12                       # the twelve key developments
      tracker timeline -o feed.atom --url https://news.example/feed.atom
    """
    from tracker.render import atom_feed_id, output_width, render_timeline, self_link
    from tracker.store.queries import database_id
    from tracker.store.timeline import TimelineQuery, timeline as query

    fmt = fmt or format_for(output) or "table"
    config = state(ctx).config
    for t in topics:
        if t not in config.topics:
            raise click.BadParameter(
                f"{t!r} is not a configured topic (known: {', '.join(config.topics) or 'none'})", param_hint="--topic"
            )
    for name in feeds:
        config.feed(name)
    tracker = open_tracker(ctx, read_only=True)
    now = tracker.clock()
    events = query(
        tracker.store,
        TimelineQuery(
            topics=topics, since=since, until=until, search=search, feeds=feeds, limit=limit, order=order, top=top
        ),
        now=now,
    )
    titles = {name: t.display for name, t in config.topics.items()}
    width = output_width(to_stdout=is_stdout(output))
    title = "tracker timeline" + (f": {', '.join(titles[t] for t in topics)}" if topics else "")
    db_id = database_id(tracker.store) if fmt == "atom" else None
    rendered = render_timeline(
        events, fmt, now=now, title=title, topic_titles=titles, width=width, order=order,
        feed_id=atom_feed_id(db_id, title) if db_id else None,
        self_url=self_link(public_url, None if is_stdout(output) else output),
    )
    write_output(output, rendered if rendered.endswith("\n") else rendered + "\n")


@cli.command()
@click.argument("event_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def event(ctx: click.Context, event_id: str, fmt: str) -> None:
    """One event with every mention: source, link, published, expression, quote, and
    whether the quote came from the feed or from the article page (full text).

    EVENT_ID is the id from `tracker timeline` (a unique prefix is enough).

    \b
    Examples:
      tracker event 3f1c2a9b0d
      tracker event 3f1c --format json
    """
    from tracker._terminal import redact_url, safe_text
    from tracker.render import format_when
    from tracker.store.timeline import get_event

    tracker = open_tracker(ctx, read_only=True)
    found = get_event(tracker.store, event_id, now=tracker.clock())
    if found is None:
        raise TrackerError(f"no event with id {event_id!r} (see tracker timeline)")
    if fmt == "json":
        echo_json(found.to_dict())
        return

    def line(text: str) -> str:
        # Every field but the dates comes from a feed: one inert line each.
        return safe_text(text, one_line=True)

    when = format_when(found.value, found.mod, found.granularity, found.start, found.end)
    click.echo(f"{found.id}  {when}  [{line(', '.join(found.topics))}]")
    click.echo(f"  {line(found.summary)}")
    click.echo(f"  {found.start.isoformat()} .. {found.end.isoformat()} ({found.granularity}, value {found.value})")
    outlets = found.outlets
    click.echo(
        f"  {found.sources} source{'s' if found.sources != 1 else ''}, {outlets} outlet{'s' if outlets != 1 else ''},"
        f" score {found.score or 0:.2f}:"
    )
    for m in found.mentions:
        click.echo(f"  - {line(m.feed)}: {line(m.title)}")
        click.echo(f"    {redact_url(line(m.url), query=False) if m.url else '(no link)'}  published {m.published:%Y-%m-%d %H:%M}Z")
        click.echo(f"    \u201c{line(m.expression)}\u201d: {line(m.quote)}  [from the {m.origin}]")
