"""Add feeds to a feeds.yaml: unique names, no duplicate URLs, every other byte kept, atomic."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

from tracker.config import Config, load_config
from tracker.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # what tracker.config accepts
_NAME_LENGTH = 40


@dataclass(frozen=True)
class NewFeed:
    """A feed to append: its name, URL and an optional comment for its line."""

    name: str
    url: str
    comment: str = ""


@dataclass(frozen=True)
class Candidate:
    """A feed offered for import: a title to name it after, a URL, a note (its category)."""

    title: str
    url: str
    note: str = ""


@dataclass
class ImportPlan:
    """What an import does: feeds to add, URLs already configured, entries refused."""

    added: list[NewFeed] = field(default_factory=list)
    skipped: list[tuple[Candidate, str]] = field(default_factory=list)  # (candidate, existing name)
    invalid: list[tuple[Candidate, str]] = field(default_factory=list)  # (candidate, reason)


def plan_import(config: Config, candidates: Iterable[Candidate]) -> ImportPlan:
    """Name each http(s) candidate uniquely and drop those whose URL is already configured."""
    plan = ImportPlan()
    names = {f.name for f in config.feeds}
    urls = {_url_key(f.url): f.name for f in config.feeds}
    for candidate in candidates:
        url = candidate.url.strip()
        problem = _url_problem(url)
        if problem:
            plan.invalid.append((candidate, problem))
            continue
        key = _url_key(url)
        if key in urls:
            plan.skipped.append((candidate, urls[key]))
            continue
        name = unique_name(candidate.title, url, names)
        names.add(name)
        urls[key] = name
        plan.added.append(NewFeed(name=name, url=url, comment=candidate.note))
    return plan


def unique_name(title: str, url: str, taken: set[str]) -> str:
    """A feed name from a title (kept as is when it already is a valid name), else the host.

    Titles are slugified ("The Verge — AI" -> "the-verge-ai"); a name already in `taken`
    gets -2, -3, ... appended.
    """
    title = title.strip()
    if _NAME.match(title) and len(title) <= _NAME_LENGTH:
        base = title
    else:
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        base = slugify(title) or slugify(host) or "feed"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def slugify(text: str) -> str:
    """Lower-case ASCII letters and digits joined by '-', at most 40 characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:_NAME_LENGTH].rstrip("-")


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return "only http and https feeds are imported"
    if not parts.hostname:
        return "the URL has no host"
    if any(c.isspace() or not c.isprintable() for c in url):
        return "the URL contains spaces or control characters"
    return None


def _url_key(url: str) -> str:
    """URLs compared with scheme and host case-insensitive and the fragment ignored."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        return url
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def add_feeds(path: Path, feeds: Sequence[NewFeed]) -> None:
    """Append feeds to the `feeds` list of the feeds.yaml at path.

    Only new lines are inserted (after the last feed, in its indentation); comments and
    layout stay byte for byte. The result is loaded with load_config and must hold the
    same configuration plus exactly these feeds before it atomically replaces the file,
    so a failure leaves the file as it was.
    """
    before = load_config(path)
    target = Path(os.path.realpath(path))
    try:
        text = target.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    updated = insert_feeds(text, feeds, path.name)

    def check(candidate: Path) -> None:
        try:
            after = load_config(candidate)
        except ConfigError as exc:
            raise ConfigError(f"{path}: adding the feeds would make it invalid, left unchanged ({exc})") from exc
        added = after.feeds[len(before.feeds):]
        same = dataclasses.replace(after, path=before.path, feeds=before.feeds) == before
        if not same or after.feeds[: len(before.feeds)] != before.feeds or [
            (f.name, f.url) for f in added
        ] != [(f.name, f.url) for f in feeds]:
            raise ConfigError(f"{path}: could not add the feeds without changing other settings; left unchanged")

    replace_atomically(target, updated, check)


def insert_feeds(text: str, feeds: Sequence[NewFeed], file: str = "feeds.yaml") -> str:
    """`text` with the feeds appended to its top-level `feeds` list (block or flow style)."""
    if not feeds:
        return text
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from exc
    found = None
    if isinstance(root, yaml.MappingNode):
        # The last `feeds` key, as the loader sees it when a file repeats one.
        keys = [(k, v) for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "feeds"]
        found = keys[-1] if keys else None
    if found is None or not isinstance(found[1], yaml.SequenceNode) or found[1].start_mark.index < found[0].end_mark.index:
        raise ConfigError(f"{file}: feeds: expected a list written under the 'feeds' key")
    key, seq = found
    newline = "\r\n" if "\r\n" in text else "\n"

    if seq.flow_style and seq.value:
        # [a, b] -> [a, b, {name: .., url: ..}]: flow items need no indentation.
        close = seq.end_mark.index - 1
        if text[close] != "]":
            raise ConfigError(f"{file}: feeds: cannot find the end of the list")
        comma = "" if text[:close].rstrip().endswith(",") else ", "
        items = ", ".join(f"{{name: {_scalar(f.name, True)}, url: {_scalar(f.url, True)}}}" for f in feeds)
        return text[:close] + comma + items + text[close:]

    if seq.flow_style:
        # An empty `feeds: []` becomes a block list under its key.
        text = text[: seq.start_mark.index] + text[seq.end_mark.index:]
        dash, offset = key.start_mark.column + 2, 2
        at = _line_end(text, key.end_mark.index)
    else:
        dash = seq.start_mark.column
        first = seq.value[0]
        same_line = first.start_mark.line == seq.start_mark.line
        offset = first.start_mark.column - dash if same_line and first.start_mark.column > dash else 2
        at = _after_item(text, seq.value[-1], dash)

    lines = []
    for feed in feeds:
        comment = f"  # {_comment(feed.comment)}" if feed.comment.strip() else ""
        lines.append(f"{' ' * dash}-{' ' * (offset - 1)}name: {_scalar(feed.name)}{comment}")
        lines.append(f"{' ' * (dash + offset)}url: {_scalar(feed.url)}")
    block = newline.join(lines) + newline
    if at > 0 and text[at - 1] != "\n":
        block = newline + block
    return text[:at] + block + text[at:]


def _after_item(text: str, item: yaml.Node, dash: int) -> int:
    """Where a new item goes: after the last item's last line and the comments indented in it."""
    node = item
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    lines = text.split("\n")
    line = text.count("\n", 0, max(node.end_mark.index - 1, 0))
    # A block scalar's end mark runs past the blank lines and comments that follow it.
    while line > item.start_mark.line and (
        not lines[line].strip() or (_is_comment(lines[line]) and _indent(lines[line]) <= dash)
    ):
        line -= 1
    line += 1
    while line < len(lines) and _is_comment(lines[line]) and _indent(lines[line]) > dash:
        line += 1
    return _offset_of_line(text, line)


def _line_end(text: str, index: int) -> int:
    """The index just after the line break that ends the line holding `index` (or len(text))."""
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _offset_of_line(text: str, line: int) -> int:
    offset = 0
    for _ in range(line):
        nxt = text.find("\n", offset)
        if nxt < 0:
            return len(text)
        offset = nxt + 1
    return offset


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _scalar(value: str, flow: bool = False) -> str:
    """value as a one-line YAML scalar for block (or flow) context, quoted only when needed."""
    if flow:
        dumped = yaml.safe_dump([value], default_flow_style=True, width=2**31, allow_unicode=True).strip()
        assert dumped.startswith("[") and dumped.endswith("]") and "\n" not in dumped
        return dumped[1:-1]
    dumped = yaml.safe_dump({"k": value}, default_flow_style=False, width=2**31, allow_unicode=True).strip()
    assert dumped.startswith("k: ") and "\n" not in dumped
    return dumped[3:]


def _comment(text: str) -> str:
    """One printable line, safe after '#': no line breaks YAML would honour."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(flat.split())[:100]


def replace_atomically(target: Path, text: str, check: Callable[[Path], None] | None = None) -> None:
    """Write text to a temporary file beside target, check it, then os.replace it over target.

    The temporary file gets target's permission bits; it is removed if anything fails, so
    target is either untouched or entirely the new text.
    """
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        if check is not None:
            check(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
