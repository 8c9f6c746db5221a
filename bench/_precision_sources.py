"""The sources of the precision set: the shared real feeds and Timeline17 as feeds, polled by a tracker under test.

Five groups, each its own feeds.yaml and SQLite database in a temporary folder:

- ``real``: every file under ``feeds/real`` (SOURCES.txt aside) as a local feed, with no
  topics configured, so every dated sentence is a candidate and "the topic" is the
  article's own subject;
- ``t17-<topic>`` (bpoil, haiti, libya, mj): each Timeline17 folder of the topic as one
  RSS file written here, one item for each of T17_PER_FOLDER articles chosen by hash
  (guid and link naming the article's path, published at noon UTC of its folder's date,
  one paragraph per detokenized line, no title), with the topic's keywords from
  ``t17/_keywords`` and the feeds restricted to it.

The identities stored in the set (feed source, entry link, sentence hash, expression)
depend on this conversion: change it only with a new ``CONVERSION`` and a relabelled set.
Nothing here is written into the repository: the feeds and databases live in a
temporary folder.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import subprocess
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"

REAL = "feeds/real"
T17 = "t17"
CONVERSION = 1
T17_LINK = "https://timeline17.invalid/"
# Articles per Timeline17 folder: a third of the corpus keeps a run of the whole set to a
# few minutes on two cores (extraction costs about 0.1 s of CPU an article).
T17_PER_FOLDER = 100
# Folder prefix -> topic of t17/_keywords (README of the shared data).
T17_TOPICS = {"bpoil_": "bpoil", "haiti_": "haiti", "MJ_": "mj", "LibyaWar_": "libya"}

Event = dict[str, Any]
Mention = dict[str, Any]


# --- identities ----------------------------------------------------------------------


def normalize(text: str) -> str:
    """Text as hashed: NFKC, no ellipses of a cut quote, whitespace collapsed, case folded."""
    text = unicodedata.normalize("NFKC", text).replace("…", " ").replace("...", " ")
    return " ".join(text.split()).casefold()


def short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def sentence_hash(quote: str) -> str:
    """The identity of a mention's sentence (its quote as the tracker prints it)."""
    return short_hash(normalize(quote))


_WORDS = re.compile(r"\w+")
CONTEXT_WORDS = 4


def context_hash(quote: str, expression: str) -> str | None:
    """The expression with up to four words either side: survives a re-cut sentence or quote window."""
    body, expr = normalize(quote), normalize(expression)
    at = body.find(expr) if expr else -1
    if at < 0:
        return None
    before = _WORDS.findall(body[:at])[-CONTEXT_WORDS:]
    after = _WORDS.findall(body[at + len(expr) :])[:CONTEXT_WORDS]
    return short_hash(" ".join(before) + "\x1f" + expr + "\x1f" + " ".join(after))


def entry_identity(mention: Mention) -> str:
    """The article a mention comes from: its link, else a hash of its title."""
    url = mention.get("url")
    if url:
        return str(url)
    return "title:" + short_hash(normalize(str(mention.get("title") or "")))


# --- Timeline17 as feeds ---------------------------------------------------------------

_DETOK = [
    (re.compile(r"-LRB-"), "("),
    (re.compile(r"-RRB-"), ")"),
    (re.compile(r"-LSB-"), "["),
    (re.compile(r"-RSB-"), "]"),
    (re.compile(r"-LCB-"), "{"),
    (re.compile(r"-RCB-"), "}"),
    (re.compile(r"``\s*"), '"'),
    (re.compile(r"\s*''"), '"'),
    (re.compile(r"([(\[{$#])\s+"), r"\1"),
    (re.compile(r"\s+([)\]}.,;:!?%])"), r"\1"),
    (re.compile(r"\s+(n't|'s|'re|'ve|'ll|'d|'m|')(?=\s|$)", re.IGNORECASE), r"\1"),
    (re.compile(r"(^|\s)`\s*"), r"\1'"),
]


def detokenize(line: str) -> str:
    """Undo Penn-Treebank tokenization well enough to read as news text."""
    text = " ".join(line.split())
    for pattern, repl in _DETOK:
        text = pattern.sub(repl, text)
    return text.strip()


def t17_folders(data: Path) -> list[Path]:
    return sorted(p for p in (data / T17).iterdir() if p.is_dir() and (p / "InputDocs").is_dir())


def t17_topic(folder: str) -> str:
    for prefix, topic in T17_TOPICS.items():
        if folder.startswith(prefix):
            return topic
    raise ValueError(f"no topic for Timeline17 folder {folder}")


def t17_articles(data: Path, folder: Path) -> Iterator[tuple[str, str, list[str]]]:
    """(path relative to the data root, publication date, detokenized lines) per chosen article.

    The chosen articles: the T17_PER_FOLDER whose paths hash lowest (sha1), a sample that
    does not depend on any random generator; in date order.
    """
    paths = sorted(p for day in (folder / "InputDocs").iterdir() if day.is_dir() for p in day.glob("*.txt"))
    chosen = sorted(paths, key=lambda p: short_hash(p.relative_to(data).as_posix()))[:T17_PER_FOLDER]
    for path in sorted(chosen):
        lines = [detokenize(line) for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
        yield path.relative_to(data).as_posix(), path.parent.name, [line for line in lines if line]


def t17_feed(data: Path, folder: Path) -> bytes:
    """One RSS 2.0 document: an item per article, paragraphs as HTML."""
    items = []
    for rel, day, lines in t17_articles(data, folder):
        body = "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in lines)
        stamp = time.strftime("%a, %d %b %Y 12:00:00 +0000", time.strptime(day, "%Y-%m-%d"))
        items.append(
            "<item>"
            f"<guid isPermaLink=\"false\">{escape(rel)}</guid>"
            f"<link>{escape(T17_LINK + rel)}</link>"
            f"<pubDate>{stamp}</pubDate>"
            f"<description>{escape(body)}</description>"
            "</item>"
        )
    doc = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Timeline17 {escape(folder.name)}</title><link>{T17_LINK}</link>"
        "<description>converted for bench/precision.py</description>" + "".join(items) + "</channel></rss>\n"
    )
    return doc.encode("utf-8")


# --- groups ----------------------------------------------------------------------------


def feed_name(source: str) -> str:
    """A valid, unique feed name for a data-relative source path."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", source.replace("/", "__"))
    return name if name[0].isalnum() else "f" + name


def real_files(data: Path) -> list[str]:
    root = data / REAL
    return sorted(
        p.relative_to(data).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() not in (".txt", ".md")
    )


@dataclass
class Group:
    """One feeds.yaml and database: the real feeds, or Timeline17."""

    name: str
    config: Path
    feeds: dict[str, str] = field(default_factory=dict)  # feed name -> data-relative source

    def source(self, feed: str) -> str:
        return self.feeds.get(feed, f"?{feed}")


def _yaml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML flow scalar


def write_groups(data: Path, work: Path, *, write: bool = True) -> list[Group]:
    """The feeds.yaml (and Timeline17 feed files) of each group under `work`; with write=False
    only the groups as they were written there before.

    Timeline17 is one group per topic: feeds restricted to one topic never share an
    event with another topic's, and smaller databases keep each merge short.
    """
    groups = []
    group = Group("real", work / "real" / "feeds.yaml")
    lines = [*_HEAD, "feeds:"]
    for rel in real_files(data):
        name = feed_name(rel)
        group.feeds[name] = rel
        lines.append(f"  - {{name: {name}, url: {_yaml_str(str((data / rel).resolve()))}}}")
    _write(group.config, lines, write)
    groups.append(group)
    for keywords in sorted((data / T17 / "_keywords").glob("*.json")):
        topic = keywords.stem
        group = Group(f"t17-{topic}", work / f"t17-{topic}" / "feeds.yaml")
        words = json.loads(keywords.read_text(encoding="utf-8"))
        lines = [*_HEAD, "topics:", f"  {topic}: {{keywords: [{', '.join(_yaml_str(w) for w in words)}]}}", "feeds:"]
        for folder in t17_folders(data):
            if t17_topic(folder.name) != topic:
                continue
            rel = folder.relative_to(data).as_posix()
            name = feed_name(rel)
            group.feeds[name] = rel
            target = group.config.parent / f"{folder.name}.xml"
            if write:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(t17_feed(data, folder))
            lines.append(f"  - {{name: {name}, url: {_yaml_str(str(target))}, topics: [{topic}]}}")
        _write(group.config, lines, write)
        groups.append(group)
    return groups


def _write(config: Path, lines: list[str], write: bool) -> None:
    if write:
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")


_HEAD = ("database: sqlite:///tracker.db", "defaults: {interval: 1d, timeout: 120s}")


# --- running a tracker -------------------------------------------------------------------


@dataclass(frozen=True)
class PollRun:
    """One group polled: the wall time, each feed's time from its poll line, what failed."""

    group: str
    seconds: float
    feed_seconds: dict[str, float]
    failed: dict[str, str]
    retried: list[str]


_POLL_LINE = re.compile(r"^(?P<feed>\S+): (?P<status>ok|not modified|error|gone)\b.*\((?P<secs>[\d.]+)s\)\s*$")


def run(tracker: Sequence[str], group: Group, *args: str) -> subprocess.CompletedProcess[str]:
    """`tracker --config GROUP ARGS...`; exit 0 and 1 are answers, anything else is raised."""
    proc = subprocess.run(
        [*tracker, "--config", str(group.config), *args],
        capture_output=True,
        text=True,
        cwd=group.config.parent,
        env=_clean_env(),
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"tracker {' '.join(args)} ({group.name}) exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return proc


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["COLUMNS"] = "200"
    return env


def poll(tracker: Sequence[str], group: Group, retries: int = 3) -> PollRun:
    """Poll every feed of the group; feeds that lost their write to a lock are polled again alone.

    A long merge can hold SQLite's write lock past the busy timeout of another feed's
    transaction ("database is locked"), which loses that feed for the poll. Merging does
    not depend on the order articles arrive in, so polling such a feed again alone gives
    the database the whole poll would have given.
    """
    started = time.perf_counter()
    feed_seconds: dict[str, float] = {}
    retried: list[str] = []
    _read_poll_lines(run(tracker, group, "poll"), feed_seconds)
    failed: dict[str, str] = {}
    for _ in range(retries + 1):
        failed = {}
        redo = []
        for health in json.loads(run(tracker, group, "feeds", "--format", "json").stdout):
            name, status, error = health["name"], health["last_status"], health.get("last_error") or ""
            if status is None or (status == "error" and "database" in error):
                redo.append(name)
            elif status in ("error", "gone"):
                failed[name] = error
        if not redo:
            break
        for name in redo:
            retried.append(name)
            _read_poll_lines(run(tracker, group, "poll", "--feed", name), feed_seconds)
    else:
        raise RuntimeError(f"{group.name}: feeds still not stored after {retries} retries: {redo}")
    return PollRun(group.name, time.perf_counter() - started, feed_seconds, failed, retried)


def _read_poll_lines(proc: subprocess.CompletedProcess[str], feed_seconds: dict[str, float]) -> None:
    for line in (proc.stdout + "\n" + proc.stderr).splitlines():
        m = _POLL_LINE.match(line.strip())
        if m and m["status"] in ("ok", "not modified"):
            feed_seconds[m["feed"]] = float(m["secs"])


def events(tracker: Sequence[str], group: Group) -> list[Event]:
    """Every event of the group's database, as `tracker timeline --format json` gives it."""
    proc = run(tracker, group, "timeline", "--format", "json")
    if proc.returncode != 0:
        raise RuntimeError(f"timeline in {group.name} exited {proc.returncode}: {proc.stderr.strip()}")
    out = json.loads(proc.stdout)
    assert isinstance(out, list)
    return out


def event(tracker: Sequence[str], group: Group, event_id: str) -> Event:
    """One event as `tracker event ID --format json` gives it."""
    proc = run(tracker, group, "event", event_id, "--format", "json")
    if proc.returncode != 0:
        raise RuntimeError(f"event {event_id} in {group.name} exited {proc.returncode}: {proc.stderr.strip()}")
    out = json.loads(proc.stdout)
    assert isinstance(out, dict)
    return out


def mention_identity(group: Group, mention: Mention) -> dict[str, Any]:
    """What the set stores of one mention: no sentence text, only what identifies it."""
    quote, expr = str(mention.get("quote") or ""), str(mention.get("expression") or "")
    return {
        "feed": group.source(str(mention.get("feed"))),
        "entry": entry_identity(mention),
        "published": mention.get("published"),
        "expr": expr,
        "sent": sentence_hash(quote),
        "ctx": context_hash(quote, expr),
    }

