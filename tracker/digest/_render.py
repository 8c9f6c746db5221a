"""Digest rendering: developments grouped by topic as text, HTML, subject and a MIME message."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from tracker._terminal import redact_url, safe_text
from tracker.clock import to_aware_utc
from tracker.events.rank import rank_key
from tracker.render import safe_url

NEW = "NEW"
UPDATED = "UPDATED"

# Control characters (C0, DEL, C1) and Unicode line/paragraph separators: in a header any
# of them could end the header line or confuse a mail client.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# More topic names than this in a subject become "and N more".
SUBJECT_TOPICS = 3
OTHER_TOPIC = "Other"
# A digest of more developments than this leads with its KEY_DEVELOPMENTS highest-scoring
# ones in full and lists the rest compactly, one or two lines each.
LEAD_AFTER = 10
KEY_DEVELOPMENTS = 5
# Sources linked on a compact line; the rest are counted.
COMPACT_SOURCES = 4


@dataclass(frozen=True)
class Source:
    """One article behind a development: outlet (feed name), title and link."""

    outlet: str
    title: str
    url: str | None
    # When the article came out (ranking weighs reporting around the event's date).
    published: datetime | None = None


@dataclass(frozen=True)
class Development:
    """An event that is new or changed since the last digest to an audience."""

    event_pk: int
    event_id: str
    kind: str  # NEW | UPDATED
    revision: int
    previous_revision: int | None
    # For UPDATED: what changed, for people ("1 new source; date changed, was March 2024").
    changes: str
    when: str
    start: date
    end: date
    summary: str
    topics: tuple[str, ...]
    sources: tuple[Source, ...]
    source_count: int
    # tracker.events.rank's score (0-100) and distinct outlets: which developments lead.
    score: float = 0.0
    outlets: int = 0


@dataclass(frozen=True)
class Rendered:
    """The parts of a digest that are stored in the outbox and sent as they are."""

    subject: str
    text: str
    html: str


def header_text(text: str) -> str:
    """Text safe for a header: control characters (CR, LF, ...) become spaces, runs collapse,
    bidi formatting goes (safe_text)."""
    return safe_text(_CONTROL.sub(" ", text), one_line=True)


def one_line(text: str) -> str:
    """Feed text as one printable line for the text and HTML parts: the text part is what
    `digest preview` prints, so controls become U+FFFD and bidi goes, as on every output."""
    return safe_text(text, one_line=True)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class _Item:
    """A development as listed under one topic."""

    dev: Development
    # Titles of the development's other topics.
    others: tuple[str, ...]
    # The topic under which its sources are listed, when that is another one.
    details_in: str | None


def _groups(
    developments: Sequence[Development], titles: Mapping[str, str], wanted: Sequence[str] | None
) -> list[tuple[str, list[_Item]]]:
    """(topic title, items) in config topic order, each topic's items by event date.

    An event of several topics is listed under each, so a reader scanning for their
    topic finds it; its sources appear once, under the first, and the subject counts it once.
    """
    order = [t for t in titles if wanted is None or t in wanted]
    rank = {t: i for i, t in enumerate(order)}
    groups: dict[str, list[_Item]] = {}
    for dev in developments:
        mine = sorted((t for t in dev.topics if t in rank), key=rank.__getitem__)
        # Topics no longer configured still show, after the configured ones.
        mine += sorted(t for t in dev.topics if t not in rank and wanted is None)
        mine = mine or [OTHER_TOPIC]
        for i, topic in enumerate(mine):
            others = tuple(titles.get(t, t) for t in mine if t != topic)
            groups.setdefault(topic, []).append(_Item(dev, others, titles.get(mine[0], mine[0]) if i else None))
    keys = sorted(groups, key=lambda t: (rank.get(t, len(rank)), t == OTHER_TOPIC, t))
    return [
        (titles.get(key, key), sorted(groups[key], key=lambda it: (it.dev.start, it.dev.end, it.dev.event_id)))
        for key in keys
    ]


def subject_line(developments: Sequence[Development], group_titles: Sequence[str]) -> str:
    """ "3 new developments: OpenAI Sora, Hollywood meetings", "2 new, 1 updated developments: ..." """
    new = sum(1 for d in developments if d.kind == NEW)
    updated = len(developments) - new
    noun = "development" if len(developments) == 1 else "developments"
    if new and updated:
        counts = f"{new} new, {updated} updated {noun}"
    elif new:
        counts = f"{new} new {noun}"
    else:
        counts = f"{updated} updated {noun}"
    shown = list(group_titles[:SUBJECT_TOPICS])
    if len(group_titles) > SUBJECT_TOPICS:
        shown.append(f"{len(group_titles) - SUBJECT_TOPICS} more")
    return header_text(f"{counts}: {', '.join(shown)}")


def render(
    developments: Sequence[Development],
    *,
    topic_titles: Mapping[str, str],
    topics: Sequence[str] | None = None,
) -> Rendered:
    """The subject, text part and HTML part listing the developments.

    topic_titles maps every configured topic name to its display title, in config
    order; topics is the digest's filter (None: every topic).
    """
    groups = _groups(developments, topic_titles, topics)
    subject = subject_line(developments, [title for title, _ in groups])
    key = key_developments(developments)
    if not key:
        return Rendered(subject=subject, text=_text(subject, groups), html=_html(subject, groups))
    chosen = {d.event_pk for d in key}
    rest = _groups([d for d in developments if d.event_pk not in chosen], topic_titles, topics)
    lead = [_Item(d, tuple(topic_titles.get(t, t) for t in d.topics), None) for d in key]
    return Rendered(subject=subject, text=_text_lead(subject, lead, rest), html=_html_lead(subject, lead, rest))


def key_developments(developments: Sequence[Development]) -> list[Development]:
    """The KEY_DEVELOPMENTS highest-scoring developments in date order, when there are more
    than LEAD_AFTER; else none (a short digest is read whole)."""
    if len(developments) <= LEAD_AFTER:
        return []
    best = sorted(developments, key=lambda d: rank_key(d.score, d.outlets, d.start, d.end, d.event_id))
    return sorted(best[:KEY_DEVELOPMENTS], key=lambda d: (d.start, d.end, d.event_id))


def _kind_line(dev: Development) -> str:
    changes = f" ({one_line(dev.changes)})" if dev.kind == UPDATED and dev.changes else ""
    return f"{dev.kind}{changes}"


def _text(subject: str, groups: list[tuple[str, list[_Item]]]) -> str:
    lines = [subject, ""]
    for title, items in groups:
        lines += _heading(title, "=")
        for item in items:
            lines += _text_item(item)
    lines += _FOOTER
    return "\n".join(lines) + "\n"


_FOOTER = ["-- ", "Sent by tracker. `tracker timeline` shows the whole story."]


def _heading(title: str, rule: str) -> list[str]:
    heading = one_line(title)
    return [heading, rule * max(3, len(heading)), ""]


def _text_item(item: _Item, also: str = "Also under") -> list[str]:
    """A development in full: date, kind, summary, every source with its link."""
    dev = item.dev
    lines = [f"* {dev.when}: {_kind_line(dev)}", f"  {one_line(dev.summary)}"]
    if item.details_in is not None:
        return [*lines, f"  Sources: see {one_line(item.details_in)} above.", ""]
    if item.others:
        lines.append(f"  {also}: {', '.join(one_line(o) for o in item.others)}")
    lines.append(f"  {_plural(dev.source_count, 'source')}:")
    for src in dev.sources:
        lines.append(f"  - {one_line(src.outlet)}: {one_line(src.title) or '(untitled)'}")
        if src.url:
            link = safe_url(src.url)
            # Not http(s): shown for the record, marked so nobody mistakes it for a link.
            lines.append(f"    {link}" if link else f"    (link not shown as a link: {redact_url(one_line(src.url), query=False)})")
    return [*lines, ""]


def _outlets(dev: Development) -> str:
    """ "techwire, screenbeat": the outlets of the sources, each once, in order."""
    return ", ".join(dict.fromkeys(one_line(src.outlet) for src in dev.sources))


def _text_lead(subject: str, lead: list[_Item], rest: list[tuple[str, list[_Item]]]) -> str:
    lines = [subject, ""]
    lines += _heading("Key developments", "=")
    for item in lead:
        lines += _text_item(item, also="Topics")
    lines += _heading("Other developments", "=")
    for title, items in rest:
        lines += _heading(title, "-")
        for item in items:
            dev = item.dev
            # One line of what happened, one of who reported it and where to read it.
            lines.append(f"* {dev.when}: {_kind_line(dev)}: {one_line(dev.summary)}")
            first = next((link for link in (safe_url(src.url) for src in dev.sources) if link), None)
            lines.append(f"  {_plural(dev.source_count, 'source')} ({_outlets(dev)})" + (f": {first}" if first else ""))
        lines.append("")
    lines += _FOOTER
    return "\n".join(lines) + "\n"


# Inline styles only: many mail clients drop <style> blocks and every remote resource.
_S_BODY = "margin:0;padding:16px;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:1.45;color:#1a1a1a;background:#ffffff"
_S_H1 = "font-size:19px;margin:0 0 16px 0"
_S_H2 = "font-size:17px;margin:24px 0 8px 0;padding-bottom:4px;border-bottom:1px solid #d0d7de"
_S_H3 = "font-size:15px;margin:16px 0 6px 0"
_S_LIST = "list-style:none;margin:0;padding:0"
_S_COMPACT = "margin:0;padding-left:18px;font-size:14px;line-height:1.6"
_S_ITEM = "margin:0 0 14px 0;padding:6px 0 6px 12px;border-left:4px solid {colour}"
_S_BADGE = "display:inline-block;padding:1px 6px;border-radius:3px;font-size:12px;font-weight:bold;color:#ffffff;background:{colour}"
_S_NOTE = "color:#57606a;font-size:13px"
_S_SOURCES = "margin:4px 0 0 0;padding-left:18px;font-size:14px"
_S_FOOT = "margin-top:24px;color:#57606a;font-size:12px"
_COLOUR = {NEW: "#1a7f37", UPDATED: "#9a6700"}


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _source_html(src: Source) -> str:
    title = _e(one_line(src.title) or "(untitled)")
    link = safe_url(src.url)
    if link:
        body = f'<a href="{_e(link)}">{title}</a>'
    elif src.url:
        body = f"{title} <span style=\"{_S_NOTE}\">({_e(redact_url(one_line(src.url), query=False))})</span>"
    else:
        body = title
    return f"<li>{_e(one_line(src.outlet))}: {body}</li>"


def _html_head(subject: str) -> list[str]:
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(subject)}</title></head>",
        f'<body style="{_S_BODY}">',
        f'<h1 style="{_S_H1}">{_e(subject)}</h1>',
    ]


_HTML_FOOT = [
    f'<p style="{_S_FOOT}">Sent by tracker. <code>tracker timeline</code> shows the whole story.</p>',
    "</body></html>",
]


def _badge(dev: Development) -> str:
    colour = _COLOUR.get(dev.kind, "#57606a")
    return f'<span style="{_S_BADGE.format(colour=colour)}">{_e(dev.kind)}</span>'


def _html_item(item: _Item, also: str = "Also under") -> list[str]:
    """A development in full: kind, date, what changed, summary, every source linked."""
    dev = item.dev
    colour = _COLOUR.get(dev.kind, "#57606a")
    out = [f'<li style="{_S_ITEM.format(colour=colour)}">']
    changes = (
        f' <span style="{_S_NOTE}">{_e(one_line(dev.changes))}</span>' if dev.kind == UPDATED and dev.changes else ""
    )
    out.append(f"<div>{_badge(dev)} <strong>{_e(dev.when)}</strong>{changes}</div>")
    out.append(f"<div>{_e(one_line(dev.summary))}</div>")
    if item.details_in is not None:
        out.append(f'<div style="{_S_NOTE}">Sources: see {_e(one_line(item.details_in))} above.</div></li>')
        return out
    if item.others:
        out.append(f'<div style="{_S_NOTE}">{_e(also)}: {_e(", ".join(one_line(o) for o in item.others))}</div>')
    out.append(f'<div style="{_S_NOTE}">{_plural(dev.source_count, "source")}:</div>')
    out.append(f'<ul style="{_S_SOURCES}">')
    out.extend(_source_html(src) for src in dev.sources)
    out.append("</ul></li>")
    return out


def _html(subject: str, groups: list[tuple[str, list[_Item]]]) -> str:
    out = _html_head(subject)
    for title, items in groups:
        out.append(f'<h2 style="{_S_H2}">{_e(one_line(title))}</h2>')
        out.append(f'<ul style="{_S_LIST}">')
        for item in items:
            out.extend(_html_item(item))
        out.append("</ul>")
    out.extend(_HTML_FOOT)
    return "\n".join(out) + "\n"


def _compact_sources_html(dev: Development) -> str:
    """ "techwire, screenbeat": each outlet linked to its article where the link is http(s)."""
    parts = []
    for src in dev.sources[:COMPACT_SOURCES]:
        outlet = _e(one_line(src.outlet))
        link = safe_url(src.url)
        title = _e(one_line(src.title) or "(untitled)")
        parts.append(f'<a href="{_e(link)}" title="{title}">{outlet}</a>' if link else outlet)
    hidden = dev.source_count - len(parts)
    if hidden > 0:
        parts.append(f"{hidden} more")
    return ", ".join(parts)


def _html_lead(subject: str, lead: list[_Item], rest: list[tuple[str, list[_Item]]]) -> str:
    out = _html_head(subject)
    out.append(f'<h2 style="{_S_H2}">Key developments</h2>')
    out.append(f'<ul style="{_S_LIST}">')
    for item in lead:
        out.extend(_html_item(item, also="Topics"))
    out.append("</ul>")
    out.append(f'<h2 style="{_S_H2}">Other developments</h2>')
    for title, items in rest:
        out.append(f'<h3 style="{_S_H3}">{_e(one_line(title))}</h3>')
        out.append(f'<ul style="{_S_COMPACT}">')
        for item in items:
            dev = item.dev
            out.append(
                f"<li>{_badge(dev)} <strong>{_e(dev.when)}</strong> {_e(one_line(dev.summary))} "
                f'<span style="{_S_NOTE}">({_compact_sources_html(dev)})</span></li>'
            )
        out.append("</ul>")
    out.extend(_HTML_FOOT)
    return "\n".join(out) + "\n"


def build_message(
    rendered: Rendered,
    *,
    sender: str,
    recipients: Sequence[str],
    message_id: str,
    date: datetime,
) -> EmailMessage:
    """multipart/alternative (text/plain, then text/html) with Date and the stored Message-ID."""
    msg = EmailMessage()
    msg["Subject"] = header_text(rendered.subject)
    msg["From"] = header_text(sender)
    msg["To"] = ", ".join(header_text(r) for r in recipients)
    msg["Date"] = format_datetime(to_aware_utc(date))
    msg["Message-ID"] = header_text(message_id)
    # Ask autoresponders (vacation replies) to stay quiet: this is automated mail.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return msg
