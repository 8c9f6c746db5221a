"""feeds.yaml validation: good configs load into typed objects, bad ones fail with the key path."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tracker.config import load_config, parse_duration
from tracker.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_configs_load() -> None:
    for name in ("feeds.yaml", "samples/demo.yaml"):
        cfg = load_config(ROOT / name)
        assert cfg.feeds, name
        assert {"sora", "hollywood-meetings", "strikes"} <= set(cfg.topics)
        for feed in cfg.feeds:
            if feed.is_local:
                assert Path(feed.url).is_file(), feed.url


def test_full_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    cfg = load_config(
        write(
            tmp_path,
            """
database: sqlite:///data/t.db
defaults: {interval: 10m, timeout: 5s}
topics:
  sora: {title: OpenAI Sora, keywords: [Sora, text-to-video]}
  strikes: {keywords: ["strike*"]}
feeds:
  - name: a
    url: https://example.com/feed
    interval: 2h
    topics: [sora]
  - url: file:///srv/x.xml
  - url: local/feed.xml
digest:
  to: [n@example.com]
  from: tracker@example.com
  topics: [sora]
  min_interval: 1h
  smtp: {host: smtp.example.com, port: 587, security: starttls, username: u, password_env: PW}
""",
        )
    )
    assert cfg.database_url == f"sqlite:///{tmp_path / 'data' / 't.db'}"
    a, b, c = cfg.feeds
    assert (a.name, a.interval, a.timeout, a.topics) == ("a", timedelta(hours=2), timedelta(seconds=5), ("sora",))
    assert (b.name, b.interval, b.topics) == ("x", timedelta(minutes=10), None)
    assert c.url == str(tmp_path / "local" / "feed.xml") and c.is_local
    assert cfg.topics["sora"].keywords == ("Sora", "text-to-video")
    assert cfg.digest is not None and cfg.digest.smtp.port == 587
    monkeypatch.setenv("PW", "secret")
    assert cfg.digest.smtp.password() == "secret"


def test_env_database_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    cfg = load_config(write(tmp_path, "feeds: [https://example.com/rss]\n"))
    assert cfg.database_url == "sqlite:////tmp/elsewhere.db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feeds:\n  - url: https://a.com/f\n  - url: https://b.com/f\n    interval: 5 minutes\n",
         'feeds.yaml: feeds[1].interval: "5 minutes" is not a duration (use 5m)'),
        ("feeds:\n  - {url: https://a.com/f, interval: 2 hours}\n", 'feeds.yaml: feeds[0].interval: "2 hours" is not a duration (use 2h)'),
        ("feeds:\n  - {url: https://a.com/f, interval: soon}\n",
         'feeds.yaml: feeds[0].interval: "soon" is not a duration (use e.g. 45s, 15m, 2h, 1d)'),
        ("feeds:\n  - url: https://a.com/f\n    colour: red\n", "feeds.yaml: feeds[0].colour: unknown key"),
        ("feedz: []\n", "feeds.yaml: feedz: unknown key"),
        ("feeds:\n  - url: ftp://a.com/f\n", "feeds.yaml: feeds[0].url: 'ftp://a.com/f': unsupported scheme"),
        ("feeds:\n  - url: https:///f\n", "feeds.yaml: feeds[0].url: 'https:///f' has no host"),
        ("feeds:\n  - {name: a, url: https://a.com/f}\n  - {name: a, url: https://b.com/f}\n",
         "feeds.yaml: feeds[1].name: duplicate feed name 'a'"),
        ("feeds:\n  - {url: https://a.com/f, topics: [sora]}\n",
         "feeds.yaml: feeds[0].topics[0]: topic 'sora' is not defined"),
        ("feeds:\n  - {url: https://a.com/f, timeout: -3}\n", "feeds.yaml: feeds[0].timeout: -3 is not a duration"),
        ("feeds: {a: 1}\n", "feeds.yaml: feeds: expected a list, got a mapping"),
        ("", "feeds.yaml: the file is empty"),
        ("feeds: [\n", "feeds.yaml: not valid YAML at line"),
        ("topics:\n  t: {keywords: [\"st*ke\"]}\nfeeds: []\n", "feeds.yaml: topics.t.keywords[0]: 'st*ke'"),
        ("feeds: []\ndigest: {to: [x], from: a@b.c, smtp: {host: h}}\n",
         "feeds.yaml: digest.to[0]: 'x' is not an email address"),
        ("feeds: []\ndigest: {to: [a@b.c], from: a@b.c, smtp: {host: h, security: tls}}\n",
         'feeds.yaml: digest.smtp.security: "tls" is not one of none, starttls, ssl'),
        ("feeds: []\ndatabase: tracker.db\n", "feeds.yaml: database: 'tracker.db' is not a database URL"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("text", "seconds"), [("45s", 45), ("15m", 900), ("2h", 7200), ("1d", 86400), (30, 30)])
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5", "5 minutes", "0m", "-1m", "m", True, None, [1]])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
