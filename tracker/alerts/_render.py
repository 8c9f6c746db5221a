"""Pure: alert messages for phones: a short title, the summary and source links, as markdown, HTML and text."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from tracker._terminal import safe_text
from tracker.alerts._apprise import Outgoing
from tracker.events.rank import rank_key
from tracker.render import safe_url

NEW = "NEW"
UPDATED = "UPDATED"

# The summary's share of a title ("OpenAI unveils Sora, 15 Feb 2024, 3 outlets").
TITLE_SUMMARY = 60
# Source links under one development: all of them in a message about it alone, fewer in a list.
LINKS_ALONE = 5
LINKS_LISTED = 3
# Developments spelled out in one message; the rest are counted ("and 12 more").
LISTED = 10
# Topic names in a list's title before "and N more".
TITLE_TOPICS = 3

_MONTH = re.compile(
    r"\b(January|February|March|April|June|July|August|September|October|November|December)\b"
)
# What markdown could read as markup in feed text: escaped with a backslash (CommonMark
# lets any ASCII punctuation be escaped; a backslash before other text shows).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~])")
# ... and what starts a heading, list or rule only at the start of a line.
_LINE_START = re.compile(r"^([#+=-]|\d+(?=[.)]))")


@dataclass(frozen=True)
class Source:
    """An article behind a development."""

    outlet: str
    title: str
    url: str | None


@dataclass(frozen=True)
class Development:
    """An event to tell a channel about: new to it, or an update that matters to it."""

    event_pk: int
    event_id: str
    kind: str  # NEW | UPDATED
    revision: int
    # For UPDATED (and threshold crossings): what changed, for people.
    changes: str
    when: str
    start: date
    end: date
    summary: str
    topics: tuple[str, ...]
    sources: tuple[Source, ...]
    source_count: int
    outlets: int
    score: float
    # Among the key developments of one of its topics (see tracker.alerts: key_only).
    key: bool = False


def short_when(when: str) -> str:
    """A date at its precision with short month names: "mid-Feb 2024", "week of 25 Mar 2024"."""
    return _MONTH.sub(lambda m: m[1][:3], when)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _cut(text: str, limit: int) -> str:
    """At a word break when there is one near the end, with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit * 0.6:
        head = head[:space]
    return head.rstrip(" ,;:-") + "\u2026"


def plain(text: str) -> str:
    """Feed text as one inert line (controls shown as U+FFFD, bidi removed)."""
    return safe_text(text, one_line=True)


def headline(dev: Development) -> str:
    """ "OpenAI unveils Sora, 15 Feb 2024, 3 outlets": what a notification's title says."""
    summary = _cut(plain(dev.summary).rstrip("."), TITLE_SUMMARY)
    return f"{summary}, {short_when(dev.when)}, {_plural(dev.outlets, 'outlet')}"


def md(text: str) -> str:
    """Feed text for a markdown body: markup characters escaped, so it shows as written and
    cannot add links, images or HTML (a markdown-to-HTML step passes raw HTML through)."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", plain(text))
    # "#1 pick" or "- text" at the start: the mark escaped; "2024. A year" : its dot.
    return _LINE_START.sub(lambda m: "\\" + m[1] if not m[1].isdigit() else m[1] + "\\", escaped, count=1)


def link_url(url: str | None) -> str | None:
    """An http(s) link fit for every format (safe_url), parentheses encoded for markdown."""
    safe = safe_url(url)
    return None if safe is None else safe.replace("(", "%28").replace(")", "%29")


def _kind_text(dev: Development) -> str:
    label = "New" if dev.kind == NEW else "Updated"
    return f"{label}: {plain(dev.changes)}" if dev.changes else label


def _facts(dev: Development, titles: Mapping[str, str]) -> str:
    """ "mid-February 2024 · OpenAI Sora · 3 outlets, 4 articles" """
    topics = ", ".join(titles.get(t, t) for t in dev.topics)
    counts = _plural(dev.outlets, "outlet") + ", " + _plural(dev.source_count, "article")
    return " \u00b7 ".join(p for p in (plain(dev.when), plain(topics), counts) if p)


def _links(dev: Development, limit: int) -> tuple[list[tuple[str, str, str | None]], int]:
    """(title, outlet, url) of the first `limit` sources, and how many more there are."""
    shown = [(plain(s.title) or plain(s.outlet), plain(s.outlet), link_url(s.url)) for s in dev.sources[:limit]]
    return shown, max(0, dev.source_count - len(shown))


def _more_sources(n: int) -> str:
    return f"and {_plural(n, 'more source')}"


# -- one development -----------------------------------------------------------------------


def render_one(dev: Development, titles: Mapping[str, str]) -> Outgoing:
    """A notification about one development: its headline as the title, then the summary,
    what it is (new, or what changed), and links to its sources."""
    title = ("Update: " if dev.kind == UPDATED else "") + headline(dev)
    links, more = _links(dev, LINKS_ALONE)
    summary, kind, facts = plain(dev.summary), _kind_text(dev), _facts(dev, titles)

    m = [md(dev.summary), "", f"**{md(kind)}** \u00b7 {md(facts)}"]
    t = [summary, "", f"{kind} \u00b7 {facts}"]
    h = [f"<p>{html.escape(summary)}</p>", f"<p><b>{html.escape(kind)}</b> \u00b7 {html.escape(facts)}</p>"]
    if links:
        m.append("")
        t.append("")
        h.append("<ul>")
        for name, outlet, url in links:
            m.append(f"- [{md(name)}]({url}) ({md(outlet)})" if url else f"- {md(name)} ({md(outlet)})")
            t.append(f"- {name} ({outlet})" + (f": {url}" if url else ""))
            h.append(f"<li>{_a(name, url)} ({html.escape(outlet)})</li>")
        h.append("</ul>")
        if more:
            m.append(md(_more_sources(more)))
            t.append(_more_sources(more))
            h.append(f"<p>{_more_sources(more)}</p>")
    return Outgoing(title=plain(title), markdown="\n".join(m) + "\n", text="\n".join(t) + "\n", html="\n".join(h) + "\n")


def _a(name: str, url: str | None) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(name)}</a>' if url else html.escape(name)


# -- several developments ------------------------------------------------------------------


def list_title(developments: Sequence[Development], titles: Mapping[str, str]) -> str:
    """ "3 new developments: OpenAI Sora", "2 new, 1 updated developments: OpenAI Sora, Strikes" """
    new = sum(1 for d in developments if d.kind == NEW)
    updated = len(developments) - new
    noun = "development" if len(developments) == 1 else "developments"
    if new and updated:
        counts = f"{new} new, {updated} updated {noun}"
    else:
        counts = f"{new or updated} {'new' if new else 'updated'} {noun}"
    order = {t: i for i, t in enumerate(titles)}
    names = sorted({t for d in developments for t in d.topics}, key=lambda t: (order.get(t, len(order)), t))
    shown = [titles.get(t, t) for t in names[:TITLE_TOPICS]]
    if len(names) > TITLE_TOPICS:
        shown.append(f"{len(names) - TITLE_TOPICS} more")
    return plain(f"{counts}: {', '.join(shown)}" if shown else counts)


def chosen(developments: Sequence[Development]) -> list[Development]:
    """The LISTED developments a list spells out: the highest-scoring (as `timeline --top`
    ranks), in date order."""
    if len(developments) <= LISTED:
        return sorted(developments, key=lambda d: (d.start, d.end, d.event_id))
    best = sorted(developments, key=lambda d: rank_key(d.score, d.outlets, d.start, d.end, d.event_id))[:LISTED]
    return sorted(best, key=lambda d: (d.start, d.end, d.event_id))


def render_list(developments: Sequence[Development], titles: Mapping[str, str]) -> Outgoing:
    """A notification about several developments (mode digest, or a burst): each one's
    headline, what it is, its summary when the headline cut it, and a few links."""
    shown = chosen(developments)
    m: list[str] = []
    t: list[str] = []
    h: list[str] = []
    for dev in shown:
        head, kind = headline(dev), _kind_text(dev)
        summary = plain(dev.summary)
        cut = _cut(summary.rstrip("."), TITLE_SUMMARY) != summary.rstrip(".")
        topics = ", ".join(titles.get(x, x) for x in dev.topics)
        about = f"{kind} \u00b7 {plain(topics)}" if topics else kind
        m += [f"**{md(head)}**", md(about)]
        t += [head, about]
        h += [f"<p><b>{html.escape(head)}</b><br>{html.escape(about)}"]
        if cut:
            m.append(md(summary))
            t.append(summary)
            h[-1] += f"<br>{html.escape(summary)}"
        h[-1] += "</p>"
        links, more = _links(dev, LINKS_LISTED)
        if links:
            h.append("<ul>")
        for name, outlet, url in links:
            m.append(f"- [{md(name)}]({url}) ({md(outlet)})" if url else f"- {md(name)} ({md(outlet)})")
            t.append(f"- {name} ({outlet})" + (f": {url}" if url else ""))
            h.append(f"<li>{_a(name, url)} ({html.escape(outlet)})</li>")
        if more:
            m.append(md(_more_sources(more)))
            t.append(_more_sources(more))
            h.append(f"<li>{_more_sources(more)}</li>")
        if links:
            h.append("</ul>")
        m.append("")
        t.append("")
    rest = len(developments) - len(shown)
    if rest:
        line = f"and {_plural(rest, 'more development')}: tracker timeline shows them all"
        m.append(md(line))
        t.append(line)
        h.append(f"<p>{html.escape(line)}</p>")
    return Outgoing(
        title=list_title(developments, titles),
        markdown="\n".join(m).rstrip("\n") + "\n",
        text="\n".join(t).rstrip("\n") + "\n",
        html="\n".join(h) + "\n",
    )


def render_test(target: str, description: str) -> Outgoing:
    """The message of `tracker alerts test TARGET`."""
    title = f"tracker: test alert for {target}"
    line = f"This is a test. Target {target} gets {description}."
    return Outgoing(
        title=plain(title), markdown=md(line) + "\n", text=plain(line) + "\n", html=f"<p>{html.escape(plain(line))}</p>\n"
    )
