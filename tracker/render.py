"""Timeline renderers: table, JSON, CSV, iCalendar, Atom, HTML, and dates at their precision."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import sys
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import icalendar

from tracker import __version__
from tracker._terminal import inert_json, redact_url, safe_text
from tracker.clock import isoformat_z, to_aware_utc
from tracker.events.rank import rank_key
from tracker.views import EventView, FeedHealth, MentionView

FORMATS = ("table", "json", "csv", "ics", "atom", "html")
FEED_FORMATS = ("table", "json")
ORDERS = ("oldest", "newest")

# Columns for a table whose reader's width is unknown (a pipe or a file without $COLUMNS):
# the POSIX default that ls, man and shutil use too.
TABLE_WIDTH = 80
# The summary gives up no more than this to the other columns; below it, rows overflow.
SUMMARY_MIN = 12
# A feed table's URL column narrower than this says nothing; it is left out instead.
URL_MIN = 12
CSV_HEADER = (
    "id", "date", "start", "end", "granularity", "summary", "topics",
    "sources", "first_seen", "updated", "urls",
)

_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)
_SEASONS = {"SP": "spring", "SU": "summer", "FA": "fall", "AU": "fall", "WI": "winter"}
_PERIOD_MOD = {"START": "early ", "MID": "mid-", "END": "late "}
_WEEK_MOD = {"START": "early in the ", "MID": "midweek in the ", "END": "late in the "}
_OUTER_MOD = {
    "APPROX": "around ",
    "BEFORE": "before ",
    "AFTER": "after ",
    "ON_OR_BEFORE": "on or before ",
    "ON_OR_AFTER": "on or after ",
}

_ATOM = "http://www.w3.org/2005/Atom"


# --- dates at their precision -------------------------------------------------------


def _day(d: date) -> str:
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def _period(value: str, granularity: str, start: date, end: date) -> str | None:
    """The bare name of a calendar period, or None when the granularity is not one."""
    if granularity == "month":
        return f"{_MONTHS[start.month - 1]} {start.year}"
    if granularity == "quarter":
        m = re.fullmatch(r"(\d{4})-Q([1-4])", value)
        return f"Q{m[2]} {m[1]}" if m else f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if granularity == "season":
        m = re.fullmatch(r"(\d{4})-(SP|SU|FA|AU|WI)", value)
        if m:
            return f"{_SEASONS[m[2]]} {m[1]}"
        # Meteorological seasons; a December start names the winter of the next year,
        # as TIMEX3 does (2024-WI runs December 2023 to February 2024).
        name = ("winter", "spring", "summer", "fall")[(start.month % 12) // 3]
        return f"{name} {start.year + 1 if start.month == 12 else start.year}"
    if granularity == "half":
        m = re.fullmatch(r"(\d{4})-H([12])", value)
        return f"H{m[2]} {m[1]}" if m else f"H{1 if start.month <= 6 else 2} {start.year}"
    if granularity == "year":
        return value[:4] if re.fullmatch(r"\d{4}", value[:4]) else str(start.year)
    return None


def _span(value: str, start: date, end: date) -> str:
    """A span ("2023-05/2023-09") with each end at its own precision: "May – September 2023"."""
    first, _, last = value.partition("/")
    shape = r"(\d{4})-(\d{2})(?:-(\d{2}))?"
    a, b = re.fullmatch(shape, first), re.fullmatch(shape, last)
    if a is None or b is None:
        return f"{first} – {last}" if re.fullmatch(r"\d{4}/\d{4}", value) else f"{_day(start)} – {_day(end)}"
    head = _MONTHS[int(a[2]) - 1] if a[3] is None else f"{int(a[3])} {_MONTHS[int(a[2]) - 1]}"
    tail = _MONTHS[int(b[2]) - 1] if b[3] is None else f"{int(b[3])} {_MONTHS[int(b[2]) - 1]}"
    # The year once when both ends share it, as people write it.
    return f"{head} – {tail} {b[1]}" if a[1] == b[1] else f"{head} {a[1]} – {tail} {b[1]}"


def format_when(value: str, mod: str | None, granularity: str, start: date, end: date) -> str:
    """A date at its precision, for people: "mid-February 2024", "week of 25 March 2024"."""
    inner = (mod or "").upper()
    if granularity == "day":
        text = _day(start)
    elif granularity == "week":
        # "around the week of ...", "early in the week of ...", but plain "week of ...".
        article = "the " if inner in _OUTER_MOD else ""
        text = _WEEK_MOD.get(inner, article) + f"week of {_day(start)}"
    elif granularity == "range":
        text = _span(value, start, end)
    elif granularity == "decade":
        decade = int(value) * 10 if re.fullmatch(r"\d{3}", value) else start.year // 10 * 10
        # "the mid-2020s" reads better than "mid-the 2020s".
        text = f"the {_PERIOD_MOD.get(inner, '')}{decade}s"
    else:
        period = _period(value, granularity, start, end)
        if period is None:
            # An unknown granularity still has an interval; show it rather than guess.
            text = _day(start) if start == end else f"{_day(start)} – {_day(end)}"
        else:
            text = _PERIOD_MOD.get(inner, "") + period
    return _OUTER_MOD.get(inner, "") + text


def when(event: EventView) -> str:
    """format_when for an event."""
    return format_when(event.value, event.mod, event.granularity, event.start, event.end)


# --- shared helpers -------------------------------------------------------------------


def _one_line(text: str) -> str:
    """Feed text as one printable line: line breaks become spaces, controls U+FFFD, no bidi."""
    return safe_text(text, one_line=True)


def _xml_text(text: str) -> str:
    """Text safe for XML 1.0 (and HTML), which cannot carry most C0 controls at all (an
    ElementTree that writes them produces a document no parser accepts): safe_text's."""
    return safe_text(text)


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) link, a password in it shown as *** (redact_url);
    anything else (javascript:, data:, control or bidi characters) is dropped.

    A link resolved against a feed URL with user:password@ carries them; a page or a
    digest is no place for them, and a link with *** in them still names the article.
    """
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Characters no valid URL contains raw; one that has them is broken or an attack.
    if any(c in url for c in "\r\n\t <>\"`\\") or safe_text(url) != url:
        return None
    return redact_url(url, query=False)


def _next_day(d: date) -> date:
    # date.max has no next day; a one-day-short end beats an OverflowError.
    return d if d == date.max else d + timedelta(days=1)


def _ordered(events: Sequence[EventView], order: str = "oldest") -> list[EventView]:
    """By date, earliest first ("oldest") or latest first ("newest")."""
    if order not in ORDERS:
        raise ValueError(f"unknown timeline order {order!r} (use one of {', '.join(ORDERS)})")
    # Stable either way (reverse=True keeps equal items in input order): callers that
    # already sort, such as the timeline query with its id tiebreak, keep their tie order.
    return sorted(events, key=lambda e: (e.start, e.end), reverse=order == "newest")


def _sources(event: EventView) -> list[MentionView]:
    """One mention per article (first one wins), in publication order."""
    seen: set[str] = set()
    out: list[MentionView] = []
    for m in sorted(event.mentions, key=lambda m: m.published):
        key = m.url or f"{m.feed}\x00{m.title}"
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def _cell_width(text: str) -> int:
    """Terminal columns: wide East Asian characters take two, combining marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _fit(text: str, width: int) -> str:
    """Cut to at most `width` columns, ending in "…" when cut, then pad to `width`."""
    if _cell_width(text) > width:
        out, used = [], 0
        for ch in text:
            w = _cell_width(ch)
            if used + w > width - 1:
                break
            out.append(ch)
            used += w
        text = "".join(out) + "…"
    return text + " " * (width - _cell_width(text))


def output_width(to_stdout: bool = True) -> int:
    """The columns a table may take, decided as GNU ls does: stdout's width when it is a
    terminal, else $COLUMNS (a pipe, or a file: to_stdout=False), else TABLE_WIDTH."""
    terminal: int | None = None
    if to_stdout:
        try:
            if sys.stdout.isatty():
                terminal = os.get_terminal_size(sys.stdout.fileno()).columns
        except (AttributeError, ValueError, OSError):
            terminal = None  # a replaced stdout (tests, wrappers) has no terminal behind it
    return choose_width(terminal, os.environ.get("COLUMNS"))


def choose_width(terminal: int | None, columns: str | None) -> int:
    """output_width's decision: a known terminal width, else a valid $COLUMNS, else TABLE_WIDTH."""
    if terminal is not None and terminal > 0:
        return terminal  # a terminal that reports 0 columns (a fresh pty) knows nothing
    value = (columns or "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return TABLE_WIDTH


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int], right: set[int]) -> str:
    lines = []
    for row in [list(headers), *rows]:
        cells = []
        for i, (cell, width) in enumerate(zip(row, widths)):
            fitted = _fit(cell, width)
            if i in right:
                fitted = fitted.strip().rjust(width)
            cells.append(fitted)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _date_time(value: datetime | None) -> str:
    if value is None:
        return "-"
    return to_aware_utc(value).strftime("%Y-%m-%d %H:%M")


# --- timeline formats -----------------------------------------------------------------


def render_timeline(
    events: Sequence[EventView],
    fmt: str,
    *,
    now: datetime,
    title: str = "tracker timeline",
    topic_titles: Mapping[str, str] = {},
    width: int = TABLE_WIDTH,
    order: str = "oldest",
    feed_id: str | None = None,
    self_url: str | None = None,
) -> str:
    """The timeline in one of FORMATS.

    `order` ("oldest" or "newest" first, by event date) orders the table, JSON, CSV, the
    HTML list and the Atom entries (iCalendar has no order). `width` is the table's.
    `feed_id` and `self_url` are the Atom feed's id and rel="self" link; without a
    feed_id the id is derived from the title alone (stable, but the same in every
    database: give one per database, see atom_feed_id).
    """
    renderers: dict[str, Callable[[list[EventView], datetime, str, Mapping[str, str]], str]] = {
        "table": lambda events, now, title, topic_titles: _render_table(events, width),
        "json": _render_json,
        "csv": _render_csv,
        "ics": _render_ics,
        "atom": lambda events, now, title, topic_titles: _render_atom(
            events, now, title, topic_titles, feed_id=feed_id, self_url=self_url
        ),
        "html": lambda events, now, title, topic_titles: _render_html(events, now, title, topic_titles, order=order),
    }
    if fmt not in renderers:
        raise ValueError(f"unknown timeline format {fmt!r} (use one of {', '.join(FORMATS)})")
    # Views from the store come scored; others (built by hand) are scored as of now.
    scored = [e if e.score is not None else e.scored(now) for e in events]
    return renderers[fmt](_ordered(scored, order), now, title, topic_titles)


def atom_feed_id(database_id: uuid.UUID, title: str) -> str:
    """The Atom feed id of one view (its title names the topics) of one database's timeline.

    Stable for the database, so readers keep their read state across exports; different
    in every database, so two trackers following the same story never share a feed id.
    """
    return uuid.uuid5(database_id, "tracker:timeline:" + title).urn


def self_link(url: str | None, path: str | os.PathLike[str] | None) -> str | None:
    """The Atom rel="self" link: the public `url` if given, else the absolute file:// URI
    of the file the feed is written to, else none (stdout has no address)."""
    if url:
        return url
    if path is None:
        return None
    return Path(path).absolute().as_uri()


def _render_table(events: list[EventView], width: int) -> str:
    """ID and SOURCES are never cut; the summary takes what is left (at least two fifths of
    the room, for which TOPICS, then WHEN, give up columns) and is cut with "…"."""
    if not events:
        return "No events."
    rows = [
        [e.id, when(e), _one_line(e.summary), ", ".join(e.topics), str(e.sources)]
        for e in events
    ]
    id_w = max(2, *(_cell_width(r[0]) for r in rows))
    when_w = min(36, max(4, *(_cell_width(r[1]) for r in rows)))
    topics_w = min(20, max(6, *(_cell_width(r[3]) for r in rows)))
    sources_w = len("SOURCES")
    room = width - id_w - sources_w - 2 * 4
    # The summary is what a reader reads: it gets two fifths of the room before the
    # topics (down to 6 columns), then the dates (down to 14), keep their full width.
    longest = max(_cell_width(r[2]) for r in rows)
    short = min(longest, max(SUMMARY_MIN, room * 2 // 5)) - (room - when_w - topics_w)
    for column in ("topics", "when"):
        if short <= 0:
            break
        if column == "topics":
            give = max(0, min(short, topics_w - 6))
            topics_w -= give
        else:
            give = max(0, min(short, when_w - 14))
            when_w -= give
        short -= give
    summary_w = max(SUMMARY_MIN, room - when_w - topics_w)
    return _table(
        ["ID", "WHEN", "SUMMARY", "TOPICS", "SOURCES"],
        rows,
        [id_w, when_w, summary_w, topics_w, sources_w],
        right={4},
    )


def _render_json(events: list[EventView], now: datetime, title: str, topic_titles: Mapping[str, str]) -> str:
    return inert_json(json.dumps([e.to_dict() for e in events], indent=2, ensure_ascii=False))


def _spreadsheet_safe(text: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection);
    # feed text is untrusted, so such a cell gets a leading apostrophe.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _render_csv(events: list[EventView], now: datetime, title: str, topic_titles: Mapping[str, str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for e in events:
        # Cells are text a terminal may show (`timeline --format csv` without -o): controls
        # become U+FFFD; line breaks survive, quoted, for the spreadsheet.
        urls = [redact_url(_one_line(m.url), query=False) for m in _sources(e) if m.url]
        writer.writerow(
            [
                e.id,
                e.value,
                e.start.isoformat(),
                e.end.isoformat(),
                e.granularity,
                _spreadsheet_safe(safe_text(e.summary)),
                ";".join(e.topics),
                e.sources,
                isoformat_z(e.first_seen),
                isoformat_z(e.updated),
                # URLs cannot contain spaces, so a space separates them unambiguously.
                _spreadsheet_safe(" ".join(urls)),
            ]
        )
    return out.getvalue()


def _source_lines(event: EventView) -> list[str]:
    lines = []
    for m in _sources(event):
        published = to_aware_utc(m.published).strftime("%Y-%m-%d")
        lines.append(f"- {_one_line(m.title)} ({_one_line(m.feed)}, {published})")
        if m.url:
            lines.append(f"  {redact_url(_one_line(m.url), query=False)}")
    return lines


def _ics_text(text: str) -> str:
    # RFC 5545 TEXT allows no control characters but HTAB; newlines are kept as
    # line breaks for icalendar to escape as \n.
    return re.sub(r"[^\S\n]+", " ", safe_text(text))


def _render_ics(events: list[EventView], now: datetime, title: str, topic_titles: Mapping[str, str]) -> str:
    cal = icalendar.Calendar()
    cal.add("prodid", f"-//tracker//timeline {__version__}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _one_line(title))
    for e in events:
        ev = icalendar.Event()
        ev.add("uid", f"{e.id}@tracker")
        ev.add("dtstamp", to_aware_utc(e.updated))
        ev.add("created", to_aware_utc(e.first_seen))
        ev.add("last-modified", to_aware_utc(e.updated))
        # All-day: DTEND is exclusive, so the inclusive end needs one more day.
        ev.add("dtstart", e.start)
        ev.add("dtend", _next_day(e.end))
        ev.add("summary", _one_line(e.summary))
        description = [f"When: {when(e)} ({e.value})"]
        if e.topics:
            description.append("Topics: " + ", ".join(topic_titles.get(t, t) for t in e.topics))
        description += ["", "Sources:", *_source_lines(e)]
        ev.add("description", _ics_text("\n".join(description)))
        if e.topics:
            ev.add("categories", list(e.topics))
        first_link = next((u for u in (safe_url(m.url) for m in _sources(e)) if u), None)
        if first_link:
            ev.add("url", first_link)
        ev.add("transp", "TRANSPARENT")  # a news event does not make anyone busy
        cal.add_component(ev)
    return str(cal.to_ical().decode("utf-8"))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _xml_text(v) for k, v in attrib.items()})
    if text is not None:
        element.text = _xml_text(text)
    return element


def _sources_fragment(event: EventView, topic_titles: Mapping[str, str]) -> str:
    """An HTML fragment listing the sources, built as a tree so nothing needs escaping by hand."""
    root = ET.Element("div")
    _sub(root, "p", f"{when(event)}: {_one_line(event.summary)}")
    if event.topics:
        _sub(root, "p", "Topics: " + ", ".join(topic_titles.get(t, t) for t in event.topics))
    items = _sub(root, "ul")
    for m in _sources(event):
        li = _sub(items, "li")
        url = safe_url(m.url)
        if url:
            _sub(li, "a", _one_line(m.title) or url, href=url)
        else:
            li.text = _xml_text(_one_line(m.title))
        published = to_aware_utc(m.published).strftime("%Y-%m-%d")
        tail = f" ({_one_line(m.feed)}, {published})"
        if m.quote:
            tail += f": “{_one_line(m.quote)}”"
        last = li[-1] if len(li) else None
        if last is not None:
            last.tail = _xml_text(tail)
        else:
            li.text = (li.text or "") + _xml_text(tail)
    return ET.tostring(root, encoding="unicode", method="html")


def _render_atom(
    events: list[EventView],
    now: datetime,
    title: str,
    topic_titles: Mapping[str, str],
    *,
    feed_id: str | None = None,
    self_url: str | None = None,
) -> str:
    # Atom as the default namespace ("<feed xmlns=...>", not "<ns0:feed>"): ElementTree's
    # default_namespace option refuses unprefixed attributes, so the prefix is registered.
    ET.register_namespace("", _ATOM)
    def q(tag: str) -> str:
        return f"{{{_ATOM}}}{tag}"

    feed = ET.Element(q("feed"))
    # Stable across runs, so readers keep their read state; without a database's id, the
    # title's (the same for everyone with that title).
    _sub(feed, q("id"), feed_id or uuid.uuid5(uuid.NAMESPACE_URL, "tracker:timeline:" + title).urn)
    _sub(feed, q("title"), _one_line(title), type="text")
    if self_url:
        _sub(feed, q("link"), rel="self", href=self_url, type="application/atom+xml")
    updated = max((to_aware_utc(e.updated) for e in events), default=to_aware_utc(now))
    _sub(feed, q("updated"), isoformat_z(updated))
    author = _sub(feed, q("author"))
    _sub(author, q("name"), "tracker")
    _sub(feed, q("generator"), "tracker", version=__version__)
    # In the order asked for: Atom gives entry order no meaning, readers sort by date.
    for e in events:
        entry = _sub(feed, q("entry"))
        _sub(entry, q("id"), f"urn:tracker:event:{e.id}")
        _sub(entry, q("title"), f"{when(e)}: {_one_line(e.summary)}", type="text")
        _sub(entry, q("published"), isoformat_z(e.first_seen))
        _sub(entry, q("updated"), isoformat_z(e.updated))
        for t in e.topics:
            _sub(entry, q("category"), term=t, label=topic_titles.get(t, t))
        links = [(safe_url(m.url), m) for m in _sources(e)]
        for i, (url, m) in enumerate((u, m) for u, m in links if u):
            assert url is not None
            _sub(entry, q("link"), rel="alternate" if i == 0 else "related", href=url, title=_one_line(m.title))
        _sub(entry, q("content"), _sources_fragment(e, topic_titles), type="html")
    body = ET.tostring(feed, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


# --- HTML -----------------------------------------------------------------------------

_E = html.escape  # every value interpolated into the page goes through this
_PALETTE = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626")
_CHART_W = 1000  # px of time axis; the page scrolls sideways below that
_ROW_H = 24
_LABEL_MAX = 340
_OTHER = "\x00other"  # lane key for events without topics; cannot clash with a topic name
# A page with more events than this leads with its key developments and folds the rest by month.
KEY_AFTER = 15
# How many key developments lead a big page (the highest scores, shown in date order).
KEY_DEVELOPMENTS = 12
# Sources listed on a key development's card; the rest are in the full list.
KEY_SOURCES = 3
# Headlines (the month's highest scores) shown on a folded month.
PERIOD_HEADLINES = 3
# A heat map spanning fewer years shows every year, gaps included; longer ones only years with events.
HEATMAP_YEARS = 30


@dataclass(frozen=True)
class _Mark:
    event: EventView
    x0: float
    x1: float
    label_x: float
    label_w: float
    label_align: str  # "left" | "right" | "inside"


def _ticks(d0: date, d1: date) -> list[tuple[date, str]]:
    """Axis ticks between d0 and d1 at the finest unit that keeps them readable."""
    span = (d1 - d0).days

    def days(step: int, fmt: Callable[[date, bool], str], first: date) -> Iterator[tuple[date, str]]:
        d, first_tick = first, True
        while d <= d1:
            if d >= d0:
                yield d, fmt(d, first_tick)
                first_tick = False
            if (date.max - d).days < step:
                break
            d += timedelta(days=step)

    def months(step: int, fmt: Callable[[date, bool], str]) -> Iterator[tuple[date, str]]:
        y, m, first_tick = d0.year, 1, True
        while date(y, m, 1) <= d1:
            d = date(y, m, 1)
            if d >= d0 and (m - 1) % step == 0:
                yield d, fmt(d, first_tick)
                first_tick = False
            if (y, m) == (9999, 12):
                break
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)

    def years(step: int) -> Iterator[tuple[date, str]]:
        for y in range(d0.year, d1.year + 1):
            if y % step == 0 and d0 <= date(y, 1, 1) <= d1:
                yield date(y, 1, 1), str(y)

    def short_day(d: date, first: bool) -> str:
        # The year goes on January's first tick only; the axis corner names the years.
        return f"{d.day} {_MONTHS[d.month - 1][:3]}" + (f" {d.year}" if d.month == 1 and d.day <= 7 else "")

    def month_name(d: date, first: bool) -> str:
        return _MONTHS[d.month - 1][:3] + (f" {d.year}" if first or d.month == 1 else "")

    monday = d0 - timedelta(days=d0.weekday())
    candidates: list[Callable[[], Iterator[tuple[date, str]]]] = [
        lambda: days(1, short_day, d0),
        lambda: days(7, short_day, monday),
        lambda: months(1, month_name),
        lambda: months(3, lambda d, first: f"Q{(d.month - 1) // 3 + 1} {d.year}"),
        lambda: years(1),
        lambda: years(2),
        lambda: years(5),
        lambda: years(10),
        lambda: years(50),
        lambda: years(100),
    ]
    # Short labels ("25 Mar") can sit closer together than long ones ("Mar 2024").
    limits = (18, 18, 13, 12, 14, 14, 14, 14, 14, 14)
    unit_days = (1, 7, 30, 91, 365, 730, 1826, 3652, 18262, 36524)
    for make, limit, unit in zip(candidates, limits, unit_days):
        if span / unit > 2 * limit:
            continue  # far too many; skip generating them
        ticks = list(make())
        if len(ticks) <= limit and (ticks or span > 3650 * 10):
            return ticks
    return list(candidates[-1]())


def _domain(events: Sequence[EventView]) -> tuple[date, date]:
    d0 = min(e.start for e in events)
    d1 = _next_day(max(e.end for e in events))
    span = (d1 - d0).days
    extra = (14 - span) // 2 + 1 if span < 14 else 0  # else one day would be a wide slab
    pad = extra + max(1, (span + 2 * extra) // 40)
    # Clamped: an event on date.min or date.max must not crash the page.
    lo = date.fromordinal(max(1, d0.toordinal() - pad))
    hi = date.fromordinal(min(date.max.toordinal(), d1.toordinal() + pad))
    if hi <= lo:
        hi = date.fromordinal(lo.toordinal() + 1)
    return lo, hi


def _layout(events: Sequence[EventView], d0: date, d1: date) -> list[list[_Mark]]:
    """Marks packed into rows so that no two marks or labels overlap."""
    scale = _CHART_W / (d1 - d0).days

    def x(d: date) -> float:
        return (d - d0).days * scale

    rows: list[list[_Mark]] = []
    ends: list[float] = []
    for e in events:
        if e.granularity == "day":
            centre = x(e.start) + scale / 2
            x0, x1 = centre - 6, centre + 6
        else:
            x0 = x(e.start)
            x1 = max(x(_next_day(e.end)), x0 + 4)
        label = f"{when(e)} {e.summary}"
        want = min(_LABEL_MAX, 7.0 * len(label) + 8)
        room_right, room_left = _CHART_W - x1 - 6, x0 - 6
        if want <= room_right or (room_right >= room_left and (room_right >= 120 or x1 - x0 < 140)):
            label_w = min(want, room_right)
            mark = _Mark(e, x0, x1, x1 + 6, label_w, "left")
            lo, hi = x0, x1 + 6 + label_w
        elif want <= room_left or x1 - x0 < 140:
            label_w = min(want, room_left)
            mark = _Mark(e, x0, x1, x0 - 6 - label_w, label_w, "right")
            lo, hi = x0 - 6 - label_w, x1
        else:
            # A long period (a decade, a year on a short axis) with no room beside it
            # carries its label inside the bar.
            label_w = min(want, x1 - x0 - 12)
            mark = _Mark(e, x0, x1, x0 + 6, label_w, "inside")
            lo, hi = x0, x1
        for i, end in enumerate(ends):
            if end + 8 <= lo:
                rows[i].append(mark)
                ends[i] = hi
                break
        else:
            rows.append([mark])
            ends.append(hi)
    return rows


def _mark_html(m: _Mark, colour: str, anchor: str = "ev-") -> str:
    e = m.event
    mod = (e.mod or "").upper()
    classes = ["mark", "dot" if e.granularity == "day" else "bar"]
    if mod == "APPROX":
        classes.append("approx")
    style = f"left:{m.x0:.1f}px;width:{m.x1 - m.x0:.1f}px;--c:{colour}"
    fades = {"START": "to right", "MID": None, "END": "to left"}
    if e.granularity != "day" and mod in fades:
        # Early/late: solid at the named end of the interval, fading across the rest.
        if fades[mod]:
            style += f";background:linear-gradient({fades[mod]},{colour} 35%,transparent)"
        else:
            style += f";background:linear-gradient(to right,transparent,{colour} 30%,{colour} 70%,transparent)"
    label_style = f"left:{m.label_x:.1f}px;width:{max(0.0, m.label_w):.0f}px"
    if m.label_align == "right":
        label_style += ";text-align:right"
    tip = f"{when(e)}: {_one_line(e.summary)}"
    return (
        f'<a class="{" ".join(classes)}" style="{style}" href="#{anchor}{_E(e.id)}" title="{_E(tip)}"></a>'
        f'<a class="label{" inside" if m.label_align == "inside" else ""}" style="{label_style}" href="#{anchor}{_E(e.id)}" title="{_E(tip)}">'
        f"<b>{_E(when(e))}</b> {_E(_one_line(e.summary))}</a>"
    )


def _highlight(quote: str, expression: str) -> str:
    """The quote, escaped, with the dating expression marked."""
    quote = _one_line(quote)
    at = quote.find(expression) if expression else -1
    if at < 0:
        return _E(quote)
    end = at + len(expression)
    return f"{_E(quote[:at])}<mark>{_E(quote[at:end])}</mark>{_E(quote[end:])}"


def _render_html(
    events: list[EventView], now: datetime, title: str, topic_titles: Mapping[str, str], *, order: str = "oldest"
) -> str:
    lanes_order: list[str] = []
    known = list(topic_titles)
    for t in sorted({t for e in events for t in e.topics}, key=lambda t: (t not in known, known.index(t) if t in known else 0, t)):
        lanes_order.append(t)
    if any(not e.topics for e in events):
        lanes_order.append(_OTHER)
    colours = {t: _PALETTE[i % len(_PALETTE)] for i, t in enumerate(lanes_order)}

    if not events:
        body = '<p class="empty">No events.</p>'
    elif len(events) <= KEY_AFTER:
        body = (
            _chart_html(events, now, topic_titles, colours, anchor="ev-")
            + _LEGEND
            + f'<ol class="events">{"".join(_item_html(e, topic_titles, colours) for e in events)}</ol>'
        )
    else:
        body = _big_html(events, now, topic_titles, colours, order)
    count = f"{len(events)} event{'s' if len(events) != 1 else ''}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="tracker {_E(__version__)}">
<title>{_E(_one_line(title))}</title>
<style>{_CSS}</style>
</head>
<body>
<header><h1>{_E(_one_line(title))}</h1><p class="meta">{count} · generated {_E(_date_time(now))} UTC</p></header>
<main>{body}</main>
</body>
</html>
"""


_LEGEND = (
    '<p class="legend"><span class="mark dot" style="--c:#555"></span> a day '
    '<span class="mark bar" style="--c:#555;width:36px"></span> a week, month or longer '
    '<span class="mark bar approx" style="--c:#555;width:36px"></span> approximate '
    '<span class="mark bar" style="--c:#555;width:36px;background:linear-gradient(to right,#555 35%,transparent)"></span> early in the period</p>'
)


def _chart_html(
    events: Sequence[EventView],
    now: datetime,
    topic_titles: Mapping[str, str],
    colours: Mapping[str, str],
    *,
    anchor: str,
    noun: str = "event",
) -> str:
    """The time axis with one lane per topic; marks link to #{anchor}{id}."""
    # The chart packs marks left to right whatever order the list below is in.
    by_date = _ordered(events)
    lanes: dict[str, list[EventView]] = {t: [] for t in colours}
    for e in by_date:
        for t in e.topics or (_OTHER,):
            lanes[t].append(e)
    d0, d1 = _domain(events)
    scale = _CHART_W / (d1 - d0).days
    ticks = _ticks(d0, d1)
    grid = "".join(
        f'<div class="tick" style="left:{(d - d0).days * scale:.1f}px"><span>{_E(text)}</span></div>' for d, text in ticks
    )
    today = to_aware_utc(now).date()
    if d0 <= today <= d1:
        grid += f'<div class="now" style="left:{(today - d0).days * scale:.1f}px"><span>now</span></div>'
    first, last = min(e.start for e in events).year, max(e.end for e in events).year
    years = str(first) if first == last else f"{first}–{last}"
    chart = [f'<div class="lane axis"><div class="lane-name years">{_E(years)}</div><div class="track">{grid}</div></div>']
    lines = "".join(f'<div class="line" style="left:{(d - d0).days * scale:.1f}px"></div>' for d, _ in ticks)
    for topic, lane_events in lanes.items():
        if not lane_events:
            continue
        rows = _layout(lane_events, d0, d1)
        name = "no topic" if topic == _OTHER else topic_titles.get(topic, topic)
        marks = "".join(
            f'<div class="row">{"".join(_mark_html(m, colours[topic], anchor) for m in row)}</div>' for row in rows
        )
        chart.append(
            f'<div class="lane"><div class="lane-name" style="border-color:{colours[topic]}">'
            f"{_E(name)}<small>{_count(len(lane_events), noun)}</small></div>"
            f'<div class="track">{lines}{marks}</div></div>'
        )
    return f'<div class="chart">{"".join(chart)}</div>'


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _chips(e: EventView, topic_titles: Mapping[str, str], colours: Mapping[str, str]) -> str:
    return "".join(
        f'<span class="chip" style="border-color:{colours.get(t, "#888")}">{_E(topic_titles.get(t, t))}</span>'
        for t in e.topics
    )


def _source_html(m: MentionView) -> str:
    url = safe_url(m.url)
    title_html = _E(_one_line(m.title) or "(untitled)")
    link = f'<a href="{_E(url)}" rel="noopener noreferrer">{title_html}</a>' if url else title_html
    published = to_aware_utc(m.published).strftime("%Y-%m-%d")
    q = f"<q>{_highlight(m.quote, m.expression)}</q>" if m.quote else ""
    return f'<li>{link} <span class="meta">{_E(_one_line(m.feed))}, {published}</span>{q}</li>'


def _key_source_html(m: MentionView) -> str:
    """A source on one line of a key development's card: the outlet first, as it is cut at the end."""
    url = safe_url(m.url)
    title_html = _E(_one_line(m.title) or "(untitled)")
    link = f'<a href="{_E(url)}" rel="noopener noreferrer">{title_html}</a>' if url else title_html
    return f'<li><span class="outlet">{_E(_one_line(m.feed))}</span> {link}</li>'


def _weight(e: EventView, outlets: int) -> str:
    """ "4 outlets · 5 sources · score 69.9": why an event is (or is not) a key development."""
    score = f" · score {e.score:.1f}" if e.score is not None else ""
    return f"{_count(outlets, 'outlet')} · {_count(e.sources, 'source')}{score}"


def _item_html(
    e: EventView,
    topic_titles: Mapping[str, str],
    colours: Mapping[str, str],
    *,
    key: bool = False,
    outlets: int | None = None,
) -> str:
    """One event of the full list: date, precision, summary, topics, its sources folded.

    On a big page (thousands of events; `outlets` given) items are compact: the sources
    stay folded behind a line that says how many outlets and sources there are, with the topics.
    """
    sources = [_source_html(m) for m in _sources(e)]
    precision = e.granularity + (f", {e.mod.lower()}" if e.mod else "")
    star = '<span class="star" title="key development">★</span> ' if key else ""
    marked = ' class="key"' if key else ""
    head = (
        f'<li id="ev-{_E(e.id)}"{marked}><div class="when">{star}{_E(when(e))}'
        f'<span class="meta">{_E(precision)} · {_E(e.start.isoformat())} – {_E(e.end.isoformat())}</span></div>'
        f'<div class="summary">{_E(_one_line(e.summary))}</div>'
    )
    listed = f'<ul class="sources">{"".join(sources)}</ul></details></li>'
    if outlets is not None:
        return f"{head}<details><summary>{_E(_weight(e, outlets))} {_chips(e, topic_titles, colours)}</summary>{listed}"
    opened = " open" if len(sources) <= 3 else ""
    return (
        f"{head}<div>{_chips(e, topic_titles, colours)}</div>"
        f'<details{opened}><summary>{_count(len(sources), "source")}</summary>{listed}'
    )


def _month_key(e: EventView) -> tuple[int, int]:
    """(year, month) of the event's start; month 0 for a date vaguer than a month."""
    if e.granularity in ("day", "week", "month") or (e.end - e.start).days < 31:
        return e.start.year, e.start.month
    return e.start.year, 0


def _month_name(key: tuple[int, int]) -> str:
    year, month = key
    return f"{_MONTHS[month - 1]} {year}" if month else f"{year}: a season, quarter, the year or longer"


def _month_id(key: tuple[int, int]) -> str:
    return f"p-{key[0]:04d}-{key[1]:02d}"


def _big_html(
    events: list[EventView], now: datetime, topic_titles: Mapping[str, str], colours: Mapping[str, str], order: str
) -> str:
    """A big story: the key developments first, then every event by month, folded."""
    # Outlets counted once per event: it takes a pass over the event's mentions.
    counts = {e.id: e.outlets for e in events}
    ranks = {e.id: rank_key(e.score or 0.0, counts[e.id], e.start, e.end, e.id) for e in events}

    def best(among: Sequence[EventView], n: int) -> list[EventView]:
        return sorted(among, key=lambda e: ranks[e.id])[:n]

    def outlets(e: EventView) -> int:
        return counts[e.id]

    key = _ordered(best(events, KEY_DEVELOPMENTS))
    key_ids = {e.id for e in key}
    cards = []
    for e in key:
        sources = _sources(e)
        shown = "".join(_key_source_html(m) for m in sources[:KEY_SOURCES])
        more = (
            f'<li class="more"><a href="#ev-{_E(e.id)}">all {_count(len(sources), "source")} with quotes</a></li>'
            if len(sources) > KEY_SOURCES
            else f'<li class="more"><a href="#ev-{_E(e.id)}">quotes</a></li>'
        )
        cards.append(
            f'<li id="key-{_E(e.id)}"><div class="when">{_E(when(e))}</div>'
            f'<div class="summary">{_E(_one_line(e.summary))}</div>'
            f'<div class="meta weight">{_E(_weight(e, outlets(e)))}</div><div>{_chips(e, topic_titles, colours)}</div>'
            f'<ul class="sources">{shown}{more}</ul></li>'
        )
    lead = (
        f'<section class="key"><h2>Key developments</h2><p class="meta">The {len(key)} highest-scoring of '
        f"{_count(len(events), 'event')}: reported by the most outlets and articles, around their date, "
        f'with a precise date.</p><ol class="keys">{"".join(cards)}</ol></section>'
    )
    chart = _chart_html(key, now, topic_titles, colours, anchor="key-", noun="key development")

    # Periods in the list's order (newest first when asked); events in it keep theirs.
    periods: dict[tuple[int, int], list[EventView]] = {}
    for e in events:
        periods.setdefault(_month_key(e), []).append(e)
    keys = sorted(periods, reverse=order == "newest")
    folds = []
    for k in keys:
        members = periods[k]
        heads = best(members, PERIOD_HEADLINES)
        headlines = "".join(
            f'<span class="head">{"★ " if e.id in key_ids else ""}{_E(_one_line(e.summary))}</span>' for e in heads
        )
        items = "".join(_item_html(e, topic_titles, colours, key=e.id in key_ids, outlets=outlets(e)) for e in members)
        folds.append(
            f'<details class="period" id="{_month_id(k)}"><summary><b>{_E(_month_name(k))}</b> '
            f'<span class="meta">{_count(len(members), "event")}</span><span class="heads">{headlines}</span></summary>'
            f'<ol class="events">{items}</ol></details>'
        )
    return (
        lead
        + chart
        + '<p class="legend">The chart shows the key developments; every event is in the list below.</p>'
        + f'<section class="all"><h2>All {_count(len(events), "event")}</h2>'
        + _heatmap(periods, key_ids)
        + '<p class="meta hint">Each month is folded: open it for its events, or click a month above. ★ marks a key development.</p>'
        + "".join(folds)
        + "</section>"
    )


def _heatmap(periods: Mapping[tuple[int, int], list[EventView]], key_ids: set[str]) -> str:
    """Events per month as a grid (years down, months across) of links to the months."""
    years = sorted({y for y, _ in periods})
    if years[-1] - years[0] < HEATMAP_YEARS:
        years = list(range(years[0], years[-1] + 1))  # gaps show as empty rows
    peak = max(len(v) for v in periods.values())
    head = "".join(f"<th>{m[:3]}</th>" for m in _MONTHS)
    rows = []
    for y in years:
        cells = []
        for m in (*range(1, 13), 0):
            members = periods.get((y, m))
            if not members:
                cells.append("<td></td>")
                continue
            alpha = 0.12 + 0.88 * (len(members) / peak) ** 0.5
            keys = sum(1 for e in members if e.id in key_ids)
            tip = f"{_month_name((y, m))}: {_count(len(members), 'event')}" + (f", {keys} key" if keys else "")
            dark = " dark" if alpha > 0.55 else ""
            star = "★" if keys else ""
            cells.append(
                f'<td><a class="cell{dark}" style="background:rgba(37,99,235,{alpha:.2f})" '
                f'href="#{_month_id((y, m))}" title="{_E(tip)}">{star}{len(members)}</a></td>'
            )
        rows.append(f"<tr><th>{y}</th>{''.join(cells)}</tr>")
    return f'<table class="heat"><tr><th></th>{head}<th title="a season, quarter, the year or longer">year+</th></tr>{"".join(rows)}</table>'


_CSS = f"""
:root {{ color-scheme: light; --ink:#1f2937; --muted:#6b7280; --rule:#e5e7eb; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fafafa; }}
header, main {{ max-width: {_CHART_W + 260}px; margin: 0 auto; padding: 0 16px; }}
h1 {{ font-size: 1.5rem; margin: 24px 0 0; }}
.meta {{ color: var(--muted); font-size: .85em; margin-left: .5em; }}
header .meta {{ margin: 0 0 16px; }}
.chart {{ overflow-x: auto; background: #fff; border: 1px solid var(--rule); border-radius: 8px; padding: 8px 12px 12px; }}
.lane {{ display: flex; min-width: {_CHART_W + 170}px; border-top: 1px solid var(--rule); }}
.lane.axis {{ border-top: 0; height: 44px; }}
.lane-name {{ flex: 0 0 150px; padding: 6px 10px 6px 8px; border-left: 4px solid transparent; font-weight: 600; font-size: .9em; }}
.lane-name.years {{ color: var(--muted); font-weight: 400; font-size: 12px; padding-top: 4px; }}
.lane-name small {{ display: block; font-weight: 400; color: var(--muted); }}
.track {{ position: relative; flex: 0 0 {_CHART_W}px; padding: 6px 0; }}
.row {{ position: relative; height: {_ROW_H}px; }}
.tick {{ position: absolute; top: 0; bottom: 0; border-left: 1px solid #d1d5db; }}
.tick span {{ position: absolute; top: 4px; left: 4px; white-space: nowrap; font-size: 12px; color: var(--muted); }}
.line {{ position: absolute; top: 0; bottom: 0; border-left: 1px solid #f0f0f0; }}
.now {{ position: absolute; top: 0; bottom: -4px; border-left: 2px dashed #ef4444; }}
.now span {{ position: absolute; top: 22px; left: 4px; font-size: 12px; color: #ef4444; }}
.mark {{ position: absolute; top: 7px; height: 10px; display: inline-block; background: var(--c); }}
.legend .mark {{ position: relative; top: 1px; margin: 0 4px 0 14px; }}
.mark.dot {{ width: 12px !important; height: 12px; top: 6px; border-radius: 50%; box-shadow: 0 0 0 2px #fff; }}
.legend .mark.dot {{ top: 2px; }}
.mark.bar {{ border-radius: 3px; }}
.mark.approx {{ background: transparent !important; border: 2px dashed var(--c); box-shadow: 0 0 6px var(--c); opacity: .85; }}
.label {{ position: absolute; top: 3px; font-size: 12px; line-height: 18px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; color: var(--ink); text-decoration: none; }}
.label.inside {{ top: 4px; line-height: 16px; padding: 0 4px; background: rgba(255,255,255,.88); border-radius: 3px; }}
.label:hover, .mark:hover {{ text-decoration: underline; filter: brightness(.85); }}
.legend {{ color: var(--muted); font-size: .85em; margin: 8px 0 24px; }}
.events {{ list-style: none; padding: 0; margin: 0 0 48px; }}
.events > li {{ background: #fff; border: 1px solid var(--rule); border-radius: 8px; padding: 12px 16px; margin: 0 0 12px; }}
.events > li:target {{ outline: 3px solid #93c5fd; }}
.when {{ font-weight: 700; }}
.summary {{ font-size: 1.05em; margin: 2px 0 6px; }}
.chip {{ display: inline-block; font-size: .78em; border: 1px solid; border-left-width: 4px; border-radius: 4px; padding: 0 6px; margin-right: 6px; }}
details {{ margin-top: 6px; }}
summary {{ cursor: pointer; color: var(--muted); font-size: .9em; }}
.sources {{ margin: 4px 0 0; padding-left: 20px; }}
.sources li {{ margin: 4px 0; }}
.sources q {{ display: block; color: #374151; font-size: .9em; margin-top: 2px; }}
mark {{ background: #fef08a; }}
.empty {{ color: var(--muted); font-size: 1.1em; margin: 32px 0; }}
h2 {{ font-size: 1.2rem; margin: 24px 0 4px; }}
section > p.meta {{ margin: 0 0 10px; }}
.keys {{ list-style: none; padding: 0; margin: 0 0 20px; display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 10px; }}
.keys > li {{ background: #fff; border: 1px solid var(--rule); border-left: 4px solid #2563eb; border-radius: 8px; padding: 8px 12px; min-width: 0; }}
.keys > li:target {{ outline: 3px solid #93c5fd; }}
.keys .when {{ font-size: .9em; }}
.keys .summary {{ font-weight: 600; font-size: 1em; margin: 0 0 2px; }}
.keys .sources {{ font-size: .85em; padding-left: 16px; }}
.keys .sources li {{ margin: 1px 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
.meta.weight {{ margin: 0 0 4px; }}
.star {{ color: #d97706; }}
.outlet {{ color: var(--muted); font-weight: 600; }}
.heat {{ border-collapse: separate; border-spacing: 2px; font-size: 12px; margin: 8px 0 12px; }}
.heat th {{ font-weight: 400; color: var(--muted); padding: 0 4px; text-align: right; }}
.heat td {{ width: 52px; height: 22px; padding: 0; background: #f3f4f6; border-radius: 3px; }}
.heat .cell {{ display: block; height: 100%; line-height: 22px; text-align: center; color: #1e3a8a; text-decoration: none; border-radius: 3px; }}
.heat .cell.dark {{ color: #fff; }}
.heat .cell:hover {{ outline: 2px solid #1e3a8a; }}
.hint {{ margin: 0 0 8px; }}
.period {{ background: #fff; border: 1px solid var(--rule); border-radius: 8px; margin: 0 0 6px; padding: 6px 12px; }}
.period[open] {{ background: transparent; }}
.period:target {{ outline: 3px solid #93c5fd; }}
.period > summary {{ color: var(--ink); font-size: 1em; padding: 2px 0; }}
.period .heads {{ display: block; color: var(--muted); font-size: .85em; margin: 2px 0 0 18px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
.period .head + .head::before {{ content: " · "; }}
.period .events {{ margin: 8px 0 4px; }}
.period .events > li {{ padding: 6px 12px; margin: 0 0 6px; }}
.period .events .summary {{ margin: 0; }}
.period .events details {{ margin-top: 2px; }}
.period .events .chip {{ margin: 0 0 0 6px; }}
.events > li.key {{ border-left: 4px solid #d97706; }}
"""


# --- feed health ----------------------------------------------------------------------


def render_feeds(feeds: Sequence[FeedHealth], fmt: str, *, width: int = TABLE_WIDTH) -> str:
    """Feed health as a table for people (at most `width` columns where it can) or the JSON
    array of interface.md.

    Feed names are never cut; the URL, the least important column, takes what is left and
    is cut with "…", or is left out when fewer than URL_MIN columns are left (the JSON
    has it).
    """
    if fmt == "json":
        # to_dict already shows credentials as ***.
        return inert_json(json.dumps([f.to_dict() for f in feeds], indent=2, ensure_ascii=False))
    if fmt != "table":
        raise ValueError(f"unknown feeds format {fmt!r} (use one of {', '.join(FEED_FORMATS)})")
    if not feeds:
        return "No feeds configured."
    headers = ["NAME", "STATUS", "ENTRIES", "ERRORS", "LAST POLL (UTC)", "NEXT DUE (UTC)", "URL"]
    rows = [
        [
            _one_line(f.name),
            f.last_status or "never polled",
            str(f.entries),
            str(f.consecutive_errors),
            _date_time(f.last_poll),
            _date_time(f.next_due),
            redact_url(_one_line(f.url)),
        ]
        for f in feeds
    ]
    widths = [max(_cell_width(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    url_w = width - sum(widths[:6]) - 2 * 6
    if url_w >= URL_MIN:
        widths[6] = url_w
    else:
        headers, rows, widths = headers[:6], [r[:6] for r in rows], widths[:6]
    lines = _table(headers, rows, widths, right={2, 3}).split("\n")
    out = [lines[0]]
    for f, line in zip(feeds, lines[1:]):
        out.append(line)
        # The details that explain a status get their own line so they are never cut.
        pages = f.full_text.line() if f.full_text is not None and (f.full_text.read or f.full_text.empty or f.full_text.pending or f.full_text.failed) else None
        for label, text in (("error", f.last_error), ("warning", f.warning), ("backoff", f.backoff_reason), ("full text", pages)):
            if text:
                out.append(f"  {label}: {redact_url(_one_line(text))}")
    return "\n".join(out)
