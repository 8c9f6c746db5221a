"""Load feeds.yaml and validate it into typed, frozen configuration objects."""

from __future__ import annotations

import logging
import math
import os
import re
import reprlib
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tracker._terminal import redact_url
from tracker.errors import ConfigError
from tracker.dburl import driver_problem, normalize_database_url

log = logging.getLogger(__name__)

ENV_DATABASE_URL = "$TRACKER_DATABASE_URL"

DEFAULT_INTERVAL = timedelta(minutes=30)
DEFAULT_TIMEOUT = timedelta(seconds=20)
DEFAULT_MIN_DIGEST_INTERVAL = timedelta(hours=1)
DEFAULT_SMTP_TIMEOUT = timedelta(seconds=30)

# The range of every duration in feeds.yaml, (least, most). Outside them a value is a typo
# or an attack, and the huge ones overflow the datetime arithmetic of the scheduler.
# Polling a feed more often than every second is abuse; less often than monthly is not
# following it. A fetch or an SMTP exchange that takes over an hour has failed; 0.1 s is
# about the least a loopback server answers in. A digest at most monthly is the rarest
# audience worth mailing.
INTERVAL_RANGE = (timedelta(seconds=1), timedelta(days=30))
TIMEOUT_RANGE = (timedelta(seconds=0.1), timedelta(hours=1))
MIN_INTERVAL_RANGE = (timedelta(seconds=1), timedelta(days=31))
PORT_RANGE = (1, 65535)
# Page fetching for full text: requests at once to one host, and the delay between two.
PER_HOST_RANGE = (1, 16)
PAGE_DELAY_RANGE = (timedelta(seconds=0.01), timedelta(minutes=10))
FULL_TEXT_MODES = ("auto", "always", "never")

# feeds.yaml is a few kilobytes; a file this big is a mistake (or a log, or /dev/zero),
# and reading it whole would cost the memory and the parse time of its size.
MAX_CONFIG_BYTES = 1024 * 1024
# Limits on the YAML, checked while composing nodes and on the node graph before any
# Python object is built: how deeply collections nest (the composer recurses, so 10,000
# levels exhaust the stack) and how many values there are with every alias expanded where
# it is used (a few hundred bytes of nested aliases expand to 10**9 values, "billion
# laughs", and formatting one in an error message took minutes and gigabytes). A real
# config uses a few levels and a few thousand values.
MAX_YAML_DEPTH = 100
MAX_YAML_NODES = 100_000
# A number in a config is a port or a count of seconds; thousands of digits are an attack
# on int() (and YAML's sexagesimal 1:2:3 form turns few characters into huge integers).
MAX_NUMBER_CHARS = 100
# What an error message quotes of a user value: enough to recognise it, never the whole of
# a megabyte-long string or an alias-expanded structure.
QUOTE_LIMIT = 80

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
# The longest a SQLAlchemy "dialect+driver" name is ("postgresql+psycopg2cffi": 23), with room.
_MAX_DRIVER_NAME = 40
# Names the database keeps in columns of bounded length (tracker/store/models.py: feeds.name,
# event_topics.topic, alert_channels.target): PostgreSQL refuses a longer value when it is
# written, so the config refuses it when it is read. A Message-ID (digests.message_id, 250)
# is about 45 characters and the domain of digest.from.
MAX_FEED_NAME = 200
MAX_TOPIC_NAME = 100
MAX_ALERT_TARGET_NAME = 200
MAX_SENDER_DOMAIN = 200


@dataclass(frozen=True)
class Topic:
    """A subject the timeline follows: a name and the keywords that mark it."""

    name: str
    title: str | None
    keywords: tuple[str, ...]

    @property
    def display(self) -> str:
        return self.title or self.name


@dataclass(frozen=True)
class FeedConfig:
    """One feed to poll."""

    name: str
    url: str
    interval: timedelta
    timeout: timedelta
    topics: tuple[str, ...] | None = None
    # Fetch the article page for the whole text: auto (when the entry looks truncated),
    # always, or never.
    full_text: str = "auto"

    @property
    def is_local(self) -> bool:
        return not self.url.startswith(("http://", "https://"))


@dataclass(frozen=True)
class PagesConfig:
    """How politely article pages are fetched for full text."""

    # Requests at once to one host.
    per_host: int = 2
    # Between the starts of two requests to one host.
    delay: timedelta = timedelta(seconds=1)


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the mail server."""

    host: str
    port: int
    security: str = "starttls"
    username: str | None = None
    password_env: str | None = None
    timeout: timedelta = DEFAULT_SMTP_TIMEOUT

    def password(self) -> str | None:
        """The password from the environment variable the config names."""
        if self.password_env is None:
            return None
        return os.environ.get(self.password_env)


@dataclass(frozen=True)
class DigestConfig:
    """Who gets digests, about what, how often."""

    to: tuple[str, ...]
    sender: str
    smtp: SmtpConfig
    topics: tuple[str, ...] | None = None
    min_interval: timedelta = DEFAULT_MIN_DIGEST_INTERVAL


# --- alerts (apprise): the `alerts:` section ----------------------------------------------

ALERT_MODES = ("instant", "digest")
# key_only: an event among this many highest-scoring events of one of its topics (the
# "Key developments" of an HTML export and `timeline --top 12`).
DEFAULT_KEY_TOP = 12
KEY_TOP_RANGE = (1, 1000)
MIN_OUTLETS_RANGE = (1, 1000)
DEFAULT_ALERT_TIMEOUT = timedelta(seconds=10)
DEFAULT_ALERT_INTERVAL = timedelta(hours=1)
# ${NAME} in an alert URL: the value of the environment variable NAME, read when sending.
ALERT_URL_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class AlertTarget:
    """One place alerts go (apprise URLs, each delivered on its own), about what, and when."""

    name: str
    # apprise URLs as written, ${NAME} still in them: secrets stay in the environment.
    urls: tuple[str, ...]
    topics: tuple[str, ...] | None = None
    mode: str = "instant"
    # Thresholds (both may be given; none: every development).
    key_only: bool = False
    key_top: int = DEFAULT_KEY_TOP
    min_outlets: int | None = None
    # A query in the syntax of `timeline --search`.
    match: str | None = None
    # mode digest: at most one message this often.
    min_interval: timedelta = DEFAULT_ALERT_INTERVAL
    # Connect and read timeout of each request to a service.
    timeout: timedelta = DEFAULT_ALERT_TIMEOUT

    @property
    def has_threshold(self) -> bool:
        return self.key_only or self.min_outlets is not None


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    path: Path
    database_url: str
    feeds: tuple[FeedConfig, ...]
    topics: Mapping[str, Topic] = field(default_factory=dict)
    digest: DigestConfig | None = None
    # The `alerts:` section: apprise targets, in config order.
    alerts: tuple[AlertTarget, ...] = ()
    default_interval: timedelta = DEFAULT_INTERVAL
    default_timeout: timedelta = DEFAULT_TIMEOUT
    # Whether feeds may reach private, loopback and link-local addresses through a redirect.
    allow_private_networks: bool = False
    pages: PagesConfig = field(default_factory=PagesConfig)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def alert_target(self, name: str) -> AlertTarget:
        for target in self.alerts:
            if target.name == name:
                return target
        known = _cut(", ".join(t.name for t in self.alerts)) or "none"
        raise ConfigError(f"{self.path.name}: alerts: no target named {_q(name)} (known: {known})")

    def feed(self, name: str) -> FeedConfig:
        for feed in self.feeds:
            if feed.name == name:
                return feed
        known = _cut(", ".join(f.name for f in self.feeds)) or "none"
        raise ConfigError(f"{self.path.name}: no feed named {_q(name)} (known: {known})")


def resolve_config_path(path: Path | None) -> Path:
    """--config, else $TRACKER_CONFIG, else ./feeds.yaml."""
    if path is not None:
        return path
    env = os.environ.get("TRACKER_CONFIG")
    return Path(env) if env else Path("feeds.yaml")


def duration_seconds(text: object) -> float:
    """'45s', '15m', '2h', '1d' (or a number) as a positive number of seconds, possibly
    infinite (1e400, 99999999999d); ValueError when it is no duration at all (NaN included)."""
    if isinstance(text, bool):
        raise ValueError(text)
    if isinstance(text, (int, float)):
        # float(): a huge int compares and scales as inf instead of overflowing later.
        seconds = float(text) if abs(text) < 1e300 else math.copysign(math.inf, text)
    elif isinstance(text, str):
        m = _DURATION.match(text)
        if not m:
            raise ValueError(text)
        seconds = float(m.group(1)) * _UNIT[m.group(2)]
    else:
        raise ValueError(text)
    if math.isnan(seconds) or seconds <= 0:
        raise ValueError(text)
    return seconds


def parse_duration(text: object) -> timedelta:
    """'45s', '15m', '2h', '1d' (or a number of seconds) as a timedelta; ValueError otherwise,
    also for durations too long for a timedelta."""
    seconds = duration_seconds(text)
    if seconds >= timedelta.max.total_seconds():
        raise ValueError(text)
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The inverse of parse_duration, for display: 1800s -> '30m', 0.5s -> '0.5s'."""
    total = value.total_seconds()
    if total != int(total):
        return f"{total:g}s"
    seconds = int(total)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class _LimitError(yaml.MarkedYAMLError):
    """The YAML is bigger or deeper than a config can be; `problem` says which limit, and where."""


_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last
    silently) and, while scanning and composing, nesting deeper than MAX_YAML_DEPTH or more
    than MAX_YAML_NODES nodes; a scalar that cannot be built (a date 2024-02-30) is a YAML
    error at its line instead of a bare ValueError."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def fetch_flow_collection_start(self, TokenClass: type[yaml.Token]) -> None:  # noqa: N803 - PyYAML's name
        # The scanner looks up to 1024 characters ahead for a simple key, checking every open
        # flow collection at each token: "[[[[..." costs seconds before the composer sees
        # its depth. Refuse the first bracket too deep, in the scanner.
        if self.flow_level >= MAX_YAML_DEPTH:
            raise _LimitError(None, None, f"nested more than {MAX_YAML_DEPTH} levels deep", self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # The composer recurses once per level: past a few hundred, a RecursionError with
        # thousands of lines of traceback. Refuse the first node too deep, before its children.
        # Counted here too: composing is the slow part of loading (pure-Python PyYAML), so a
        # megabyte of tiny values stops at the limit rather than after all of them.
        self._nodes += 1
        if self._depth >= MAX_YAML_DEPTH or self._nodes > MAX_YAML_NODES:
            event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
            mark = event.start_mark if isinstance(event.start_mark, yaml.Mark) else None
            problem = (
                f"nested more than {MAX_YAML_DEPTH} levels deep"
                if self._depth >= MAX_YAML_DEPTH
                else f"more than {MAX_YAML_NODES:,} values"
            )
            raise _LimitError(None, None, problem, mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # noqa: BLE001 - PyYAML's scalar constructors trust their input
            # "2024-02-30" (ValueError), "!!bool maybe" (KeyError), "!!timestamp x"
            # (AttributeError): a YAML error at the value, not a traceback.
            what = _q(node.value) if isinstance(node, yaml.ScalarNode) else "this value"
            tag = _cut(_plain(node.tag.rpartition(":")[2]), 20)
            # A ValueError says what is wrong ("day is out of range for month"); the others
            # speak of PyYAML's insides.
            why = f": {_cut(str(exc))}" if isinstance(exc, (ValueError, OverflowError)) else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {what} as {tag}{why}", node.start_mark
            ) from exc

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):  # "!!map [a, b]": PyYAML's own error says so
            return super().construct_mapping(node, deep=deep)
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # keys merged in by "<<" may be overridden on purpose
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
                seen.setdefault(key, key_node.start_mark.line)
            except TypeError:
                continue  # an unhashable key: construct_mapping reports it
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {_show(key)} (first given at line {first + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def load_config(path: Path) -> Config:
    """Read and validate a feeds.yaml; every problem is a ConfigError naming file and key.

    Whatever the file holds, nothing else escapes: the daemon reloads with this, and a
    reload must never stop it.
    """
    raw_text = _read_config_text(path)
    try:
        data = _load_yaml(raw_text)
    except _LimitError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"{path.name}: {exc.problem}{where}") from None
    except yaml.reader.ReaderError as exc:
        # A control character: the reader reports an offset, and a str() of two lines.
        before = raw_text[: exc.position]
        where = f" at line {before.count(chr(10)) + 1}, column {exc.position - before.rfind(chr(10))}"
        problem = f"character #x{exc.character:04x} is not allowed in YAML" if isinstance(exc.character, int) else exc.reason
        raise ConfigError(f"{path.name}: not valid YAML{where}: {problem}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())  # one line
        raise ConfigError(f"{path.name}: not valid YAML{where}: {_cut(problem, 2 * QUOTE_LIMIT)}") from exc
    except Exception as exc:  # noqa: BLE001 - a reload must not stop the daemon, whatever the file holds
        # RecursionError, MemoryError, a constructor's TypeError: not reachable within the
        # limits above as far as known; still one line naming the file, the traceback at debug.
        log.debug("%s: unexpected error reading YAML", path, exc_info=True)
        raise ConfigError(f"{path.name}: cannot read this YAML: {type(exc).__name__}: {_cut(str(exc))}") from None
    try:
        return _Validator(path).config(data)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a reload must not stop the daemon, whatever the file holds
        # The validator reports every problem it knows as a ConfigError; anything else is a
        # case it missed. Still one line naming the file; the traceback goes to debug.
        log.debug("%s: unexpected error validating", path, exc_info=True)
        raise ConfigError(f"{path.name}: cannot use this file: {type(exc).__name__}: {_cut(str(exc))}") from exc


def _read_config_text(path: Path) -> str:
    """The file's text: a regular file of at most MAX_CONFIG_BYTES, in UTF-8."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: no such file (pass --config PATH or set TRACKER_CONFIG)"
        ) from exc
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    # Checked before opening: opening a FIFO blocks until a writer comes, a device never ends.
    _check_regular(path, info.st_mode)
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {info.st_size:,} bytes is more than a config may have ({MAX_CONFIG_BYTES:,})")
    try:
        # O_NONBLOCK: should the path become a FIFO between stat and open, open still returns.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as file:
            _check_regular(path, os.fstat(file.fileno()).st_mode)
            raw = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file (pass --config PATH or set TRACKER_CONFIG)") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    if len(raw) > MAX_CONFIG_BYTES:  # it grew since the stat
        raise ConfigError(f"{path}: more than a config may have ({MAX_CONFIG_BYTES:,} bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); save it as UTF-8"
        ) from None


def _check_regular(path: Path, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{path}: is a folder, not a file (pass --config PATH/feeds.yaml)")
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{path}: not a regular file (a FIFO, socket or device cannot be a config)")


def _load_yaml(text: str) -> Any:
    """The YAML document as Python objects, its node graph checked against the limits first."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_graph(root: yaml.Node) -> None:
    """Refuse a node graph that construction and validation would expand past the limits:
    more than MAX_YAML_NODES nodes or MAX_YAML_DEPTH levels once every alias is expanded
    where it is used, an alias inside itself, an overlong number.

    The expanded size and depth of each distinct node are computed once, from its
    children's: this costs the nodes the file holds (at most MAX_YAML_NODES, counted by
    the composer; a billion laughs is a few dozen), not what they expand to. Without
    recursion, which is what deep input attacks.
    """
    size: dict[int, int] = {}  # id(node) -> expanded node count, saturated just past the limit
    depth: dict[int, int] = {}  # id(node) -> expanded levels
    parent: dict[int, yaml.Node] = {}  # id(node) -> the collection it was first reached from
    entered: set[int] = set()  # collections whose children are being measured: the DFS path
    todo: list[tuple[yaml.Node, bool]] = [(root, False)]
    while todo:
        node, children_done = todo.pop()
        key = id(node)
        if children_done:
            kids = _kids(node)
            size[key] = min(1 + sum(size[id(k)] for k in kids), MAX_YAML_NODES + 1)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            entered.discard(key)
            continue
        if key in size:
            continue  # an alias of a node already measured
        if isinstance(node, yaml.ScalarNode):
            if node.tag in (_INT_TAG, _FLOAT_TAG) and len(node.value) > MAX_NUMBER_CHARS:
                problem = f"a number of {len(node.value):,} characters (at most {MAX_NUMBER_CHARS})"
                raise _graph_error(_chain_to(node, root, parent), problem)
            size[key] = depth[key] = 1
            continue
        if key in entered:
            raise _graph_error(_chain_to(node, root, parent), "an alias refers to a collection that contains it")
        entered.add(key)
        todo.append((node, True))
        for kid in _kids(node):
            parent.setdefault(id(kid), node)
            todo.append((kid, False))

    if size[id(root)] > MAX_YAML_NODES:
        # Down the children over the limit, to where the expansion happens.
        chain = _chain_down(root, lambda kid, _: size[id(kid)] > MAX_YAML_NODES)
        raise _graph_error(chain, f"more than {MAX_YAML_NODES:,} values with aliases expanded (an alias bomb?)")
    if depth[id(root)] > MAX_YAML_DEPTH:
        chain = _chain_down(root, lambda kid, level: level + depth[id(kid)] > MAX_YAML_DEPTH)
        raise _graph_error(chain, f"nested more than {MAX_YAML_DEPTH} levels deep with aliases expanded")


def _kids(node: yaml.Node) -> list[yaml.Node]:
    """A collection node's children: keys and values of a mapping, items of a sequence."""
    if isinstance(node, yaml.MappingNode):
        return [kid for pair in node.value for kid in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _chain_to(node: yaml.Node, root: yaml.Node, parent: dict[int, yaml.Node]) -> list[yaml.Node]:
    """The nodes from root down to node, by the way the walk first reached each."""
    chain = [node]
    while chain[-1] is not root and id(chain[-1]) in parent and len(chain) <= len(parent):
        chain.append(parent[id(chain[-1])])
    return chain[::-1]


def _chain_down(root: yaml.Node, over: Callable[[yaml.Node, int], bool]) -> list[yaml.Node]:
    """From root down the first child at each level for which over(child, level) holds."""
    chain = [root]
    while True:
        step = next((kid for kid in _kids(chain[-1]) if over(kid, len(chain))), None)
        if step is None or len(chain) > MAX_YAML_DEPTH + 1:
            return chain
        chain.append(step)


def _graph_error(chain: list[yaml.Node], problem: str) -> _LimitError:
    """A _LimitError at the last mapping key along chain (feeds[0].interval), the key a
    user wrote rather than the index of an alias deep inside its value."""
    segments: list[str] = []
    keep, reported = 0, chain[-1]
    for up, down in zip(chain, chain[1:]):
        if isinstance(up, yaml.MappingNode):
            key = next((k for k, v in up.value if v is down or k is down), None)
            segments.append("." + (_plain(key.value) if isinstance(key, yaml.ScalarNode) else "?"))
            keep, reported = len(segments), down
        else:
            segments.append(f"[{next((i for i, v in enumerate(up.value) if v is down), '?')}]")
    where = _cut("".join(segments[:keep]).lstrip("."), QUOTE_LIMIT)
    return _LimitError(None, None, f"{where}: {problem}" if where else problem, reported.start_mark)


class _Validator:
    """Walks the YAML tree, raising ConfigError with the key path of the first problem."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.file = path.name

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.file}: {where}: {message}" if where else f"{self.file}: {message}")

    def mapping(self, value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {_kind(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(where, f"key {_q(key)} is not a string")
            if key not in allowed:
                raise self.fail(
                    _join(where, key),
                    f"unknown key (allowed: {', '.join(sorted(allowed))})",
                )
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"expected a non-empty string, got {_kind(value)}")
        return value.strip()

    def bounded(self, value: str, where: str, limit: int, what: str) -> None:
        """Refuse a value longer than the database column that keeps it."""
        if len(value) > limit:
            raise self.fail(where, f"{_q(value)}: {what} is {len(value)} characters long; at most {limit}")

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.fail(where, f"expected a non-empty list of strings, got {_kind(value)}")
        return tuple(self.string(v, f"{where}[{i}]") for i, v in enumerate(value))

    def duration(self, value: Any, where: str, limits: tuple[timedelta, timedelta]) -> timedelta:
        try:
            seconds = duration_seconds(value)
        except ValueError:
            hint = _duration_hint(value) or "e.g. 45s, 15m, 2h, 1d"
            raise self.fail(where, f"{_show(value)} is not a duration (use {hint})") from None
        least, most = limits
        # Compared as floats: inf and 1e308 are out of range here, before a timedelta overflows.
        if not least.total_seconds() <= seconds <= most.total_seconds():
            raise self.fail(
                where, f"{_show(value)} is out of range (from {format_duration(least)} to {format_duration(most)})"
            )
        return timedelta(seconds=seconds)

    def number(self, value: Any, where: str, limits: tuple[int, int], what: str) -> int:
        """A whole number within limits (both included); `what` names it in the message."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"{_show(value)} is not {what} (a whole number from {limits[0]} to {limits[1]})")
        if not limits[0] <= value <= limits[1]:
            raise self.fail(where, f"{_show(value)} is out of range for {what} (from {limits[0]} to {limits[1]})")
        return value

    def flag(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"expected true or false, got {_kind(value)}")
        return value

    def config(self, data: Any) -> Config:
        if data is None:
            raise self.fail("", "the file is empty (it needs at least a 'feeds' list)")
        top = self.mapping(
            data, "", {"database", "defaults", "topics", "feeds", "digest", "allow_private_networks", "pages", "alerts"}
        )
        env_url = os.environ.get("TRACKER_DATABASE_URL")
        if env_url:
            # The environment overrides the file: name it as the culprit, not the key.
            database = self.database_url(env_url, "", ENV_DATABASE_URL)
        else:
            database = self.database_url(top.get("database") or "sqlite:///tracker.db", "database")

        interval, timeout, full_text = DEFAULT_INTERVAL, DEFAULT_TIMEOUT, "auto"
        if "defaults" in top and top["defaults"] is not None:
            defaults = self.mapping(top["defaults"], "defaults", {"interval", "timeout", "full_text"})
            if "interval" in defaults:
                interval = self.duration(defaults["interval"], "defaults.interval", INTERVAL_RANGE)
            if "timeout" in defaults:
                timeout = self.duration(defaults["timeout"], "defaults.timeout", TIMEOUT_RANGE)
            if "full_text" in defaults:
                full_text = self.choice(defaults["full_text"], "defaults.full_text", FULL_TEXT_MODES)
        pages = self.pages(top["pages"]) if top.get("pages") is not None else PagesConfig()
        # Absent or empty: false. Only a YAML boolean turns it on, never a string "true".
        allow_private = top.get("allow_private_networks")
        allow_private_networks = (
            False if allow_private is None else self.flag(allow_private, "allow_private_networks")
        )

        topics: dict[str, Topic] = {}
        if top.get("topics") is not None:
            raw_topics = self.mapping(top["topics"], "topics", set(top["topics"]) if isinstance(top["topics"], dict) else set())
            for name, body in raw_topics.items():
                topics[name] = self.topic(name, body)

        if "feeds" not in top or top["feeds"] is None:
            raise self.fail("feeds", "missing: list the feeds to follow")
        if not isinstance(top["feeds"], list):
            raise self.fail("feeds", f"expected a list, got {_kind(top['feeds'])}")
        if not top["feeds"]:
            log.warning("%s: feeds: the list is empty, so nothing will be polled", self.file)
        feeds: list[FeedConfig] = []
        seen: dict[str, int] = {}
        for i, body in enumerate(top["feeds"]):
            feed = self.feed(body, f"feeds[{i}]", interval, timeout, topics, full_text)
            if feed.name in seen:
                raise self.fail(
                    f"feeds[{i}].name",
                    f"duplicate feed name {_q(feed.name)} (also feeds[{seen[feed.name]}]); give each feed a unique name",
                )
            seen[feed.name] = i
            feeds.append(feed)

        digest = None
        if top.get("digest") is not None:
            digest = self.digest(top["digest"], topics)
        alerts = self.alerts(top["alerts"], topics) if top.get("alerts") is not None else ()
        return Config(
            path=self.path,
            database_url=database,
            feeds=tuple(feeds),
            topics=topics,
            digest=digest,
            alerts=alerts,
            default_interval=interval,
            default_timeout=timeout,
            allow_private_networks=allow_private_networks,
            pages=pages,
        )

    def choice(self, value: Any, where: str, allowed: tuple[str, ...]) -> str:
        # YAML reads a bare `never`/`always` as a string, but `no`/`off` as false: name the choices.
        if not isinstance(value, str) or value.strip().lower() not in allowed:
            raise self.fail(where, f"{_show(value)} is not one of {', '.join(allowed)}")
        return value.strip().lower()

    def pages(self, body: Any) -> PagesConfig:
        body = self.mapping(body, "pages", {"per_host", "delay"})
        per_host = self.number(body["per_host"], "pages.per_host", PER_HOST_RANGE, "a number of requests") if "per_host" in body else 2
        delay = PagesConfig.delay
        if "delay" in body:
            raw = body["delay"]
            # No delay at all is allowed (a bench, one's own site); durations are otherwise positive.
            zero = re.fullmatch(r"\s*0+(?:\.0*)?\s*[smhd]?\s*", raw) if isinstance(raw, str) else raw == 0
            if zero and not isinstance(raw, bool):
                delay = timedelta(0)
            else:
                delay = self.duration(raw, "pages.delay", PAGE_DELAY_RANGE)
        return PagesConfig(per_host=per_host, delay=delay)

    def database_url(self, value: Any, where: str, source: str | None = None) -> str:
        """A SQLAlchemy URL whose driver is installed; `source` names an environment variable it came from."""

        def fail(message: str) -> ConfigError:
            return ConfigError(f"{source}: {message}") if source else self.fail(where, message)

        if not isinstance(value, str):
            raise fail(f"expected a string, got {_kind(value)}")
        url = value.strip()
        try:
            # A NUL would only fail later, in the driver or the filesystem.
            parsed = make_url(url) if "://" in url and "\0" not in url else None
        except (ArgumentError, ValueError):
            parsed = None
        if parsed is None:
            raise fail(f"{_q(url)} is not a database URL (e.g. sqlite:///tracker.db)")
        if len(parsed.drivername) > _MAX_DRIVER_NAME:
            # No driver is named like this, and driver_problem's message would quote all of it.
            raise fail(f"{_q(parsed.drivername)} is not a database (use sqlite:///PATH or postgresql://...)")
        problem = driver_problem(parsed)
        if problem:
            raise fail(problem)
        url = normalize_database_url(url)
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
            rest = url[len(prefix):]
            # A relative SQLite path is relative to the config file's folder, not the cwd.
            url = prefix + str((self.path.parent / rest).resolve()) if not Path(rest).is_absolute() else url
        return url

    def topic(self, name: str, body: Any) -> Topic:
        where = _join("topics", name)
        if not _NAME.match(name):
            raise self.fail(where, "topic names use letters, digits, '.', '_' and '-'")
        self.bounded(name, where, MAX_TOPIC_NAME, "a topic name")
        if isinstance(body, list):
            body = {"keywords": body}
        body = self.mapping(body, where, {"title", "keywords"})
        if "keywords" not in body:
            raise self.fail(f"{where}.keywords", "missing: list the words that mark this topic")
        keywords = self.strings(body["keywords"], f"{where}.keywords")
        for i, kw in enumerate(keywords):
            if kw.strip("*").strip() == "" or "*" in kw.rstrip("*"):
                raise self.fail(f"{where}.keywords[{i}]", f"{_q(kw)}: '*' is allowed only at the end of a keyword")
        title = self.string(body["title"], f"{where}.title") if body.get("title") is not None else None
        return Topic(name=name, title=title, keywords=keywords)

    def feed(
        self,
        body: Any,
        where: str,
        interval: timedelta,
        timeout: timedelta,
        topics: Mapping[str, Topic],
        full_text: str = "auto",
    ) -> FeedConfig:
        if isinstance(body, str):
            body = {"url": body}
        body = self.mapping(body, where, {"name", "url", "interval", "timeout", "topics", "full_text"})
        if "url" not in body:
            raise self.fail(f"{where}.url", "missing")
        url = self.url(body["url"], f"{where}.url")
        name = self.string(body["name"], f"{where}.name") if "name" in body else _derive_name(url)
        if not _NAME.match(name):
            raise self.fail(f"{where}.name", f"{_q(name)}: use letters, digits, '.', '_' and '-'")
        self.bounded(
            name, f"{where}.name", MAX_FEED_NAME,
            "a feed name" if "name" in body else "the feed name derived from the URL (give it a shorter name)",
        )
        feed_topics = None
        if body.get("topics") is not None:
            feed_topics = self.strings(body["topics"], f"{where}.topics")
            for i, t in enumerate(feed_topics):
                if t not in topics:
                    raise self.fail(
                        f"{where}.topics[{i}]",
                        f"topic {_q(t)} is not defined under 'topics' (defined: {_cut(', '.join(topics)) or 'none'})",
                    )
        return FeedConfig(
            name=name,
            url=url,
            interval=self.duration(body["interval"], f"{where}.interval", INTERVAL_RANGE) if "interval" in body else interval,
            timeout=self.duration(body["timeout"], f"{where}.timeout", TIMEOUT_RANGE) if "timeout" in body else timeout,
            topics=feed_topics,
            full_text=self.choice(body["full_text"], f"{where}.full_text", FULL_TEXT_MODES) if "full_text" in body else full_text,
        )

    def url(self, value: Any, where: str) -> str:
        url = self.string(value, where)
        if "\0" in url:
            raise self.fail(where, f"{_q(url)} holds a NUL character")
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError as exc:  # "http://[::1": an unclosed IPv6 bracket, a bad port
            raise self.fail(where, f"{_q(url)} is not a URL ({exc})") from None
        if parts.scheme in ("http", "https"):
            if not host:
                raise self.fail(where, f"{_q(url)} has no host")
            return url
        if parts.scheme == "file":
            return url
        if parts.scheme and len(parts.scheme) > 1:
            raise self.fail(where, f"{_q(url)}: unsupported scheme {_q(parts.scheme)} (use http, https, file or a path)")
        # A plain path: relative to the config file's folder.
        path = Path(url)
        return str(path if path.is_absolute() else (self.path.parent / path))

    def digest(self, body: Any, topics: Mapping[str, Topic]) -> DigestConfig:
        body = self.mapping(body, "digest", {"to", "from", "topics", "min_interval", "smtp"})
        for key in ("to", "from", "smtp"):
            if key not in body:
                raise self.fail(f"digest.{key}", "missing")
        to = self.strings(body["to"], "digest.to")
        for i, addr in enumerate(to):
            if not _EMAIL.match(addr):
                raise self.fail(f"digest.to[{i}]", f"{_q(addr)} is not an email address")
        sender = self.string(body["from"], "digest.from")
        if not _EMAIL.match(sender.split("<")[-1].rstrip(">").strip()):
            raise self.fail("digest.from", f"{_q(sender)} is not an email address")
        domain = sender.split("<")[-1].rstrip(">").strip().rpartition("@")[2]
        self.bounded(domain, "digest.from", MAX_SENDER_DOMAIN, "the domain of the address")
        digest_topics = None
        if body.get("topics") is not None:
            digest_topics = self.strings(body["topics"], "digest.topics")
            for i, t in enumerate(digest_topics):
                if t not in topics:
                    raise self.fail(f"digest.topics[{i}]", f"topic {_q(t)} is not defined under 'topics'")
        min_interval = (
            self.duration(body["min_interval"], "digest.min_interval", MIN_INTERVAL_RANGE)
            if "min_interval" in body
            else DEFAULT_MIN_DIGEST_INTERVAL
        )
        smtp = self.mapping(body["smtp"], "digest.smtp", {"host", "port", "security", "username", "password_env", "timeout"})
        if "host" not in smtp:
            raise self.fail("digest.smtp.host", "missing")
        security = smtp.get("security", "starttls")
        if security not in ("none", "starttls", "ssl"):
            raise self.fail("digest.smtp.security", f"{_show(security)} is not one of none, starttls, ssl")
        port = self.number(
            smtp.get("port", {"none": 25, "starttls": 587, "ssl": 465}[security]), "digest.smtp.port", PORT_RANGE, "a port number"
        )
        password_env = smtp.get("password_env")
        if password_env is not None:
            password_env = self.string(password_env, "digest.smtp.password_env")
        return DigestConfig(
            to=to,
            sender=sender,
            topics=digest_topics,
            min_interval=min_interval,
            smtp=SmtpConfig(
                host=self.string(smtp["host"], "digest.smtp.host"),
                port=port,
                security=security,
                username=self.string(smtp["username"], "digest.smtp.username") if smtp.get("username") is not None else None,
                password_env=password_env,
                timeout=(
                    self.duration(smtp["timeout"], "digest.smtp.timeout", TIMEOUT_RANGE)
                    if "timeout" in smtp
                    else DEFAULT_SMTP_TIMEOUT
                ),
            ),
        )


    # -- alerts ------------------------------------------------------------------------

    def alerts(self, body: Any, topics: Mapping[str, Topic]) -> tuple[AlertTarget, ...]:
        if not isinstance(body, list):
            raise self.fail("alerts", f"expected a list of targets, got {_kind(body)}")
        targets: list[AlertTarget] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(body):
            target = self.alert_target(item, f"alerts[{i}]", topics)
            if target.name in seen:
                raise self.fail(
                    f"alerts[{i}].name", f"duplicate target name {_q(target.name)} (also alerts[{seen[target.name]}])"
                )
            seen[target.name] = i
            targets.append(target)
        return tuple(targets)

    def alert_target(self, body: Any, where: str, topics: Mapping[str, Topic]) -> AlertTarget:
        body = self.mapping(
            body, where,
            {"name", "urls", "topics", "mode", "key_only", "key_top", "min_outlets", "match", "min_interval", "timeout"},
        )
        for key in ("name", "urls"):
            if key not in body:
                raise self.fail(f"{where}.{key}", "missing")
        name = self.string(body["name"], f"{where}.name")
        if not _NAME.match(name):
            raise self.fail(f"{where}.name", f"{_q(name)}: use letters, digits, '.', '_' and '-'")
        self.bounded(name, f"{where}.name", MAX_ALERT_TARGET_NAME, "a target name")
        urls = self.strings(body["urls"], f"{where}.urls")
        for i, url in enumerate(urls):
            self.alert_url(url, f"{where}.urls[{i}]")
            if url in urls[:i]:
                raise self.fail(f"{where}.urls[{i}]", "the same URL twice")
        target_topics = None
        if body.get("topics") is not None:
            target_topics = self.strings(body["topics"], f"{where}.topics")
            for i, t in enumerate(target_topics):
                if t not in topics:
                    raise self.fail(f"{where}.topics[{i}]", f"topic {_q(t)} is not defined under 'topics'")
        mode = self.choice(body["mode"], f"{where}.mode", ALERT_MODES) if "mode" in body else "instant"
        key_only = self.flag(body["key_only"], f"{where}.key_only") if body.get("key_only") is not None else False
        key_top = DEFAULT_KEY_TOP
        if "key_top" in body:
            key_top = self.number(body["key_top"], f"{where}.key_top", KEY_TOP_RANGE, "a number of events")
            if not key_only:
                raise self.fail(f"{where}.key_top", "applies only with key_only: true")
        min_outlets = None
        if body.get("min_outlets") is not None:
            min_outlets = self.number(body["min_outlets"], f"{where}.min_outlets", MIN_OUTLETS_RANGE, "a number of outlets")
        match = None
        if body.get("match") is not None:
            match = self.string(body["match"], f"{where}.match")
            if not re.search(r"\w", match):
                raise self.fail(f"{where}.match", f"{_q(match)} has no word to search for")
        min_interval = DEFAULT_ALERT_INTERVAL
        if "min_interval" in body:
            if mode != "digest":
                raise self.fail(f"{where}.min_interval", "applies only with mode: digest")
            min_interval = self.duration(body["min_interval"], f"{where}.min_interval", MIN_INTERVAL_RANGE)
        timeout = (
            self.duration(body["timeout"], f"{where}.timeout", TIMEOUT_RANGE) if "timeout" in body else DEFAULT_ALERT_TIMEOUT
        )
        return AlertTarget(
            name=name, urls=urls, topics=target_topics, mode=mode, key_only=key_only, key_top=key_top,
            min_outlets=min_outlets, match=match, min_interval=min_interval, timeout=timeout,
        )

    def alert_url(self, url: str, where: str) -> None:
        """An apprise URL's shape: scheme://..., ${NAME} only with a valid variable name.
        Whether apprise knows the scheme is checked when alerts are sent (apprise loads then)."""
        if "\0" in url or any(c in url for c in "\r\n"):
            raise self.fail(where, "holds a control character")
        if not _URL_SCHEME.match(url):
            raise self.fail(where, f"{_q(url)} is not an apprise URL (e.g. ntfys://ntfy.sh/TOPIC, json://host/path)")
        for m in ALERT_URL_VARIABLE.finditer(url):
            if not _ENV_NAME.match(m.group(1)):
                raise self.fail(where, f"${{{_plain(m.group(1))}}} is not an environment variable name")
        if "${" in ALERT_URL_VARIABLE.sub("", url):
            raise self.fail(where, "an unclosed ${ (write ${NAME} for the value of the environment variable NAME)")


def _derive_name(url: str) -> str:
    """A feed name from its URL: the host without 'www.' and 'feeds.', or the file stem."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname:
        host = parts.hostname
        for prefix in ("www.", "feeds.", "rss."):
            if host.startswith(prefix) and host.count(".") > 1:
                host = host[len(prefix):]
        base = host.rsplit(".", 1)[0] if host.count(".") >= 1 else host
        return re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-") or "feed"
    stem = Path(parts.path if parts.scheme == "file" else url).stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") or "feed"


_SPELLED_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\s*$", re.IGNORECASE
)


def _duration_hint(value: object) -> str | None:
    """'5 minutes' -> '5m': the spelling a user most likely meant."""
    m = _SPELLED_DURATION.match(value) if isinstance(value, str) else None
    if not m or float(m.group(1)) <= 0:
        return None
    return f"{m.group(1)}{m.group(2)[0].lower()}"


def _join(where: str, key: str) -> str:
    key = _cut(_plain(key), QUOTE_LIMIT)  # a key is quoted in the message too
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _cut(text: str, limit: int = QUOTE_LIMIT) -> str:
    """text shortened to at most `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _plain(text: str) -> str:
    """text as it may appear in a one-line message: control, bidi and other unprintable
    characters escaped (a config value must not drive the terminal that shows the error)."""
    text = text[: 2 * QUOTE_LIMIT]  # never escape a megabyte to show 80 characters of it
    return text if text.isprintable() else repr(text)[1:-1]


# For values that are not strings: a structure, however large (an alias-expanded one),
# is shown a few items and levels deep without formatting the rest.
_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 5
_REPR.maxstring = _REPR.maxother = QUOTE_LIMIT


def _repr(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 10_000:
        # repr() of an int beyond Python's digit limit raises; a length is all that helps.
        return f"a number of {value.bit_length():,} bits"
    return _REPR.repr(value)


def _q(value: Any) -> str:
    """A user value quoted in a message, repr style ('x'), at most about QUOTE_LIMIT characters."""
    if isinstance(value, str):
        # Masked before cutting: a cut password would no longer look like one.
        shown = repr(redact_url(value)[: 2 * QUOTE_LIMIT])  # repr escapes control and bidi characters
        return shown if len(shown) <= QUOTE_LIMIT else shown[: QUOTE_LIMIT - 2] + "\u2026" + shown[-1]
    return _cut(_repr(value))


def _show(value: Any) -> str:
    """A user value quoted in a message, a string in double quotes ("x"), at most about QUOTE_LIMIT characters."""
    return f'"{_cut(_plain(redact_url(value)), QUOTE_LIMIT - 2)}"' if isinstance(value, str) else _cut(_repr(value))
