"""Load feeds.yaml and validate it into typed, frozen configuration objects."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tracker.errors import ConfigError
from tracker.dburl import driver_problem, normalize_database_url

log = logging.getLogger(__name__)

ENV_DATABASE_URL = "$TRACKER_DATABASE_URL"

DEFAULT_INTERVAL = timedelta(minutes=30)
DEFAULT_TIMEOUT = timedelta(seconds=20)
DEFAULT_MIN_DIGEST_INTERVAL = timedelta(hours=1)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


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

    @property
    def is_local(self) -> bool:
        return not self.url.startswith(("http://", "https://"))


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the mail server."""

    host: str
    port: int
    security: str = "starttls"
    username: str | None = None
    password_env: str | None = None
    timeout: timedelta = timedelta(seconds=30)

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


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    path: Path
    database_url: str
    feeds: tuple[FeedConfig, ...]
    topics: Mapping[str, Topic] = field(default_factory=dict)
    digest: DigestConfig | None = None
    default_interval: timedelta = DEFAULT_INTERVAL
    default_timeout: timedelta = DEFAULT_TIMEOUT

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def feed(self, name: str) -> FeedConfig:
        for feed in self.feeds:
            if feed.name == name:
                return feed
        known = ", ".join(f.name for f in self.feeds) or "none"
        raise ConfigError(f"{self.path.name}: no feed named {name!r} (known: {known})")


def resolve_config_path(path: Path | None) -> Path:
    """--config, else $TRACKER_CONFIG, else ./feeds.yaml."""
    if path is not None:
        return path
    env = os.environ.get("TRACKER_CONFIG")
    return Path(env) if env else Path("feeds.yaml")


def parse_duration(text: object) -> timedelta:
    """'45s', '15m', '2h', '1d' (or a number of seconds) as a timedelta; ValueError otherwise."""
    if isinstance(text, bool):
        raise ValueError(text)
    if isinstance(text, (int, float)):
        if text <= 0:
            raise ValueError(text)
        return timedelta(seconds=text)
    if not isinstance(text, str):
        raise ValueError(text)
    m = _DURATION.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(text)
    return timedelta(seconds=float(m.group(1)) * _UNIT[m.group(2)])


def format_duration(value: timedelta) -> str:
    """The inverse of parse_duration, for display: 1800s -> '30m'."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
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
    """Read and validate a feeds.yaml; every problem is a ConfigError naming file and key."""
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: no such file (pass --config PATH or set TRACKER_CONFIG)"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        data = yaml.load(raw_text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path.name}: not valid YAML{where}: {problem}") from exc
    return _Validator(path).config(data)


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
                raise self.fail(where, f"key {key!r} is not a string")
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

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.fail(where, f"expected a non-empty list of strings, got {_kind(value)}")
        return tuple(self.string(v, f"{where}[{i}]") for i, v in enumerate(value))

    def duration(self, value: Any, where: str) -> timedelta:
        try:
            return parse_duration(value)
        except ValueError:
            hint = _duration_hint(value) or "e.g. 45s, 15m, 2h, 1d"
            raise self.fail(where, f"{_show(value)} is not a duration (use {hint})") from None

    def config(self, data: Any) -> Config:
        if data is None:
            raise self.fail("", "the file is empty (it needs at least a 'feeds' list)")
        top = self.mapping(data, "", {"database", "defaults", "topics", "feeds", "digest"})
        env_url = os.environ.get("TRACKER_DATABASE_URL")
        if env_url:
            # The environment overrides the file: name it as the culprit, not the key.
            database = self.database_url(env_url, "", ENV_DATABASE_URL)
        else:
            database = self.database_url(top.get("database") or "sqlite:///tracker.db", "database")

        interval, timeout = DEFAULT_INTERVAL, DEFAULT_TIMEOUT
        if "defaults" in top and top["defaults"] is not None:
            defaults = self.mapping(top["defaults"], "defaults", {"interval", "timeout"})
            if "interval" in defaults:
                interval = self.duration(defaults["interval"], "defaults.interval")
            if "timeout" in defaults:
                timeout = self.duration(defaults["timeout"], "defaults.timeout")

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
            feed = self.feed(body, f"feeds[{i}]", interval, timeout, topics)
            if feed.name in seen:
                raise self.fail(
                    f"feeds[{i}].name",
                    f"duplicate feed name {feed.name!r} (also feeds[{seen[feed.name]}]); give each feed a unique name",
                )
            seen[feed.name] = i
            feeds.append(feed)

        digest = None
        if top.get("digest") is not None:
            digest = self.digest(top["digest"], topics)
        return Config(
            path=self.path,
            database_url=database,
            feeds=tuple(feeds),
            topics=topics,
            digest=digest,
            default_interval=interval,
            default_timeout=timeout,
        )

    def database_url(self, value: Any, where: str, source: str | None = None) -> str:
        """A SQLAlchemy URL whose driver is installed; `source` names an environment variable it came from."""

        def fail(message: str) -> ConfigError:
            return ConfigError(f"{source}: {message}") if source else self.fail(where, message)

        if not isinstance(value, str):
            raise fail(f"expected a string, got {_kind(value)}")
        url = value.strip()
        try:
            parsed = make_url(url) if "://" in url else None
        except ArgumentError:
            parsed = None
        if parsed is None:
            raise fail(f"{url!r} is not a database URL (e.g. sqlite:///tracker.db)")
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
        where = f"topics.{name}"
        if not _NAME.match(name):
            raise self.fail(where, "topic names use letters, digits, '.', '_' and '-'")
        if isinstance(body, list):
            body = {"keywords": body}
        body = self.mapping(body, where, {"title", "keywords"})
        if "keywords" not in body:
            raise self.fail(f"{where}.keywords", "missing: list the words that mark this topic")
        keywords = self.strings(body["keywords"], f"{where}.keywords")
        for i, kw in enumerate(keywords):
            if kw.strip("*").strip() == "" or "*" in kw.rstrip("*"):
                raise self.fail(f"{where}.keywords[{i}]", f"{kw!r}: '*' is allowed only at the end of a keyword")
        title = self.string(body["title"], f"{where}.title") if body.get("title") is not None else None
        return Topic(name=name, title=title, keywords=keywords)

    def feed(
        self,
        body: Any,
        where: str,
        interval: timedelta,
        timeout: timedelta,
        topics: Mapping[str, Topic],
    ) -> FeedConfig:
        if isinstance(body, str):
            body = {"url": body}
        body = self.mapping(body, where, {"name", "url", "interval", "timeout", "topics"})
        if "url" not in body:
            raise self.fail(f"{where}.url", "missing")
        url = self.url(body["url"], f"{where}.url")
        name = self.string(body["name"], f"{where}.name") if "name" in body else _derive_name(url)
        if not _NAME.match(name):
            raise self.fail(f"{where}.name", f"{name!r}: use letters, digits, '.', '_' and '-'")
        feed_topics = None
        if body.get("topics") is not None:
            feed_topics = self.strings(body["topics"], f"{where}.topics")
            for i, t in enumerate(feed_topics):
                if t not in topics:
                    raise self.fail(
                        f"{where}.topics[{i}]",
                        f"topic {t!r} is not defined under 'topics' (defined: {', '.join(topics) or 'none'})",
                    )
        return FeedConfig(
            name=name,
            url=url,
            interval=self.duration(body["interval"], f"{where}.interval") if "interval" in body else interval,
            timeout=self.duration(body["timeout"], f"{where}.timeout") if "timeout" in body else timeout,
            topics=feed_topics,
        )

    def url(self, value: Any, where: str) -> str:
        url = self.string(value, where)
        parts = urlsplit(url)
        if parts.scheme in ("http", "https"):
            if not parts.hostname:
                raise self.fail(where, f"{url!r} has no host")
            return url
        if parts.scheme == "file":
            return url
        if parts.scheme and len(parts.scheme) > 1:
            raise self.fail(where, f"{url!r}: unsupported scheme {parts.scheme!r} (use http, https, file or a path)")
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
                raise self.fail(f"digest.to[{i}]", f"{addr!r} is not an email address")
        sender = self.string(body["from"], "digest.from")
        if not _EMAIL.match(sender.split("<")[-1].rstrip(">").strip()):
            raise self.fail("digest.from", f"{sender!r} is not an email address")
        digest_topics = None
        if body.get("topics") is not None:
            digest_topics = self.strings(body["topics"], "digest.topics")
            for i, t in enumerate(digest_topics):
                if t not in topics:
                    raise self.fail(f"digest.topics[{i}]", f"topic {t!r} is not defined under 'topics'")
        min_interval = (
            self.duration(body["min_interval"], "digest.min_interval")
            if "min_interval" in body
            else DEFAULT_MIN_DIGEST_INTERVAL
        )
        smtp = self.mapping(body["smtp"], "digest.smtp", {"host", "port", "security", "username", "password_env", "timeout"})
        if "host" not in smtp:
            raise self.fail("digest.smtp.host", "missing")
        security = smtp.get("security", "starttls")
        if security not in ("none", "starttls", "ssl"):
            raise self.fail("digest.smtp.security", f"{_show(security)} is not one of none, starttls, ssl")
        port = smtp.get("port", {"none": 25, "starttls": 587, "ssl": 465}[security])
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise self.fail("digest.smtp.port", f"{_show(port)} is not a port number")
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
                timeout=self.duration(smtp["timeout"], "digest.smtp.timeout") if "timeout" in smtp else timedelta(seconds=30),
            ),
        )


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
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)
