"""feeds.yaml is data, bounded: every duration and number has a range, YAML bombs and deep
nesting are refused before anything is built, quoted values are cut, and whatever the file
holds (or whatever sits at its path) loading it is a one-line configuration error, exit 2.

Through the real CLI (click's runner on the `tracker` group; a subprocess where blocking
is the danger) on real files; `tracker feeds export` loads the config and needs no database.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.config import load_config
from tracker.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

DIGEST = """digest:
  to: [news@example.com]
  from: tracker@example.com
  min_interval: {min_interval}
  smtp: {{host: smtp.example.com, port: {port}, security: {security}, timeout: {smtp_timeout}}}
"""


def config_text(**values: str) -> str:
    """A valid config with every duration and number key present; `values` replaces any."""
    v = {
        "defaults_interval": "30m",
        "defaults_timeout": "20s",
        "feed_interval": "15m",
        "feed_timeout": "10s",
        "min_interval": "1h",
        "port": "587",
        "security": "starttls",
        "smtp_timeout": "30s",
        **values,
    }
    return (
        f"defaults:\n  interval: {v['defaults_interval']}\n  timeout: {v['defaults_timeout']}\n"
        f"feeds:\n  - name: news\n    url: https://news.example.com/rss\n"
        f"    interval: {v['feed_interval']}\n    timeout: {v['feed_timeout']}\n"
        + DIGEST.format(**v)
    )


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env={"TRACKER_DATABASE_URL": None})
    # An exception other than the CLI's own exit is a traceback: never acceptable here.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def refused(config: Path) -> str:
    """The one error line of `tracker feeds export` on config, which must exit 2."""
    code, out, err = run(config, "feeds", "export")
    lines = err.strip().splitlines()
    assert code == 2, err
    assert out == ""
    assert len(lines) == 1, err
    # What is in the file is reported against its name; what is at its path, the whole path.
    assert lines[0].startswith((f"tracker: error: {config.name}: ", f"tracker: error: {config}: ")), err
    return lines[0]


def accepted(config: Path) -> None:
    code, _, err = run(config, "feeds", "export")
    assert code == 0, err


def write(tmp_path: Path, text: str, name: str = "feeds.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- durations and numbers have ranges ---------------------------------------------------

DURATION_KEYS = {
    "defaults_interval": "defaults.interval",
    "defaults_timeout": "defaults.timeout",
    "feed_interval": "feeds[0].interval",
    "feed_timeout": "feeds[0].timeout",
    "min_interval": "digest.min_interval",
    "smtp_timeout": "digest.smtp.timeout",
}
HOSTILE = [".inf", "-.inf", ".nan", "1.0e+308", "99999999999d", "-5", "-5m", "0", "0s", str(10**60), "1.0e-300"]


@pytest.mark.parametrize("key", DURATION_KEYS)
def test_every_duration_out_of_range_is_one_line(tmp_path: Path, key: str) -> None:
    for value in HOSTILE:
        line = refused(write(tmp_path, config_text(**{key: value})))
        assert line.startswith(f"tracker: error: feeds.yaml: {DURATION_KEYS[key]}: "), (value, line)
        assert "is out of range" in line or "is not a duration" in line, (value, line)


@pytest.mark.parametrize(
    ("key", "least", "most", "below", "above"),
    [
        ("defaults_interval", "1s", "30d", "0.5s", "31d"),
        ("feed_interval", "1s", "720h", "0.9s", "30.5d"),
        ("defaults_timeout", "0.1s", "1h", "0.05s", "61m"),
        ("feed_timeout", "0.1", "3600", "0.09", "3601"),
        ("smtp_timeout", "0.1s", "60m", "0.01s", "2h"),
        ("min_interval", "1s", "31d", "0.5s", "32d"),
    ],
)
def test_duration_limits_are_inclusive(tmp_path: Path, key: str, least: str, most: str, below: str, above: str) -> None:
    for good in (least, most):
        accepted(write(tmp_path, config_text(**{key: good})))
    for bad in (below, above):
        line = refused(write(tmp_path, config_text(**{key: bad})))
        assert f"{DURATION_KEYS[key]}: " in line and "is out of range (from " in line, line


def test_out_of_range_names_the_range(tmp_path: Path) -> None:
    line = refused(write(tmp_path, config_text(feed_interval="99999999999d")))
    assert line == 'tracker: error: feeds.yaml: feeds[0].interval: "99999999999d" is out of range (from 1s to 30d)'
    line = refused(write(tmp_path, config_text(smtp_timeout=".inf")))
    assert line == "tracker: error: feeds.yaml: digest.smtp.timeout: inf is out of range (from 0.1s to 1h)"
    line = refused(write(tmp_path, config_text(min_interval=".nan")))
    assert line.startswith("tracker: error: feeds.yaml: digest.min_interval: nan is not a duration")


def test_port_range(tmp_path: Path) -> None:
    for good in ("1", "65535", "2525"):
        accepted(write(tmp_path, config_text(port=good)))
    for bad in ("0", "-1", "65536", str(10**60), ".inf", ".nan", "1.0e+308", "587.0", '"587"', "true", "[587]"):
        line = refused(write(tmp_path, config_text(port=bad)))
        assert line.startswith("tracker: error: feeds.yaml: digest.smtp.port: "), (bad, line)


def test_huge_numbers_are_refused_before_they_are_built(tmp_path: Path) -> None:
    # 5,000 digits: past Python's int() digit limit (a ValueError inside PyYAML); the
    # sexagesimal 1:0:0:... form builds a 7,000-digit int from 4,000 characters.
    for value in ("9" * 5000, "0x" + "f" * 5000, "1:" + ":".join(["0"] * 2000), "!!int " + "9" * 200):
        line = refused(write(tmp_path, config_text(port=value)))
        assert line.startswith("tracker: error: feeds.yaml: digest.smtp.port: a number of "), line
        assert "characters (at most 100)" in line


def test_a_date_yaml_cannot_build_is_one_line(tmp_path: Path) -> None:
    line = refused(write(tmp_path, config_text(feed_interval="2024-02-30")))
    assert line.startswith("tracker: error: feeds.yaml: not valid YAML at line 7, column 15: cannot read '2024-02-30'")


# --- allow_private_networks ---------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("false", False), ("", False), (None, False)])
def test_allow_private_networks(tmp_path: Path, text: str | None, expected: bool) -> None:
    line = "" if text is None else f"allow_private_networks: {text}\n"
    config = write(tmp_path, line + config_text())
    accepted(config)
    assert load_config(config).allow_private_networks is expected


@pytest.mark.parametrize("value", ['"true"', "1", "[true]", "{a: 1}", "maybe"])
def test_allow_private_networks_must_be_a_boolean(tmp_path: Path, value: str) -> None:
    line = refused(write(tmp_path, f"allow_private_networks: {value}\n" + config_text()))
    assert line.startswith("tracker: error: feeds.yaml: allow_private_networks: expected true or false, got "), line


def test_the_starter_config_is_unaffected(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "feeds.yaml"
    result = CliRunner().invoke(cli, ["init", str(path)])
    assert result.exit_code == 0, result.output
    assert "allow_private_networks" not in path.read_text(encoding="utf-8")
    accepted(path)
    config = load_config(path)
    assert config.allow_private_networks is False
    assert [f.interval.total_seconds() for f in config.feeds] == [1800]


# --- YAML bombs and deep nesting -----------------------------------------------------------


def laughs() -> str:
    """The classic billion laughs: nine levels of nine aliases, 10**9 strings expanded."""
    levels = ['&a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for name, prev in zip("bcdefghi", "abcdefgh"):
        levels.append(f"&{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "[" + ", ".join(levels) + "]"


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("feeds[0].interval", "feeds:\n  - url: https://a.example/rss\n    interval: {bomb}\n"),
        ("digest.smtp.port", "feeds: []\ndigest:\n  to: [a@b.example]\n  from: a@b.example\n  smtp: {{host: h, port: {bomb}}}\n"),
        ("digest.smtp.security", "feeds: []\ndigest:\n  to: [a@b.example]\n  from: a@b.example\n  smtp:\n    host: h\n    security: {bomb}\n"),
    ],
)
def test_an_alias_bomb_costs_milliseconds(tmp_path: Path, key: str, text: str) -> None:
    config = write(tmp_path, text.format(bomb=laughs()))
    assert config.stat().st_size < 800  # the size of the bomb in the report: 706 bytes
    start = time.perf_counter()
    line = refused(config)
    elapsed = time.perf_counter() - start
    assert line.startswith(f"tracker: error: feeds.yaml: {key}: more than 100,000 values with aliases expanded"), line
    assert elapsed < 1.0, elapsed  # milliseconds in fact; generous for a loaded machine


def test_a_merge_key_bomb_is_refused(tmp_path: Path) -> None:
    # "<<" copies every merged pair into the mapping: nine levels of nine merges build 10**9 pairs.
    lines = ["x0: &x0 {k: 1}"]
    lines += [f"x{i}: &x{i} {{<<: [" + ", ".join([f"*x{i - 1}"] * 9) + "]}" for i in range(1, 10)]
    config = write(tmp_path, "\n".join(lines) + "\nfeeds: []\n")
    start = time.perf_counter()
    line = refused(config)
    assert "more than 100,000 values with aliases expanded" in line, line
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("depth", [101, 10_000])
def test_deep_flow_nesting(tmp_path: Path, depth: int) -> None:
    config = write(tmp_path, "feeds: " + "[" * depth + "]" * depth + "\n")
    start = time.perf_counter()
    line = refused(config)
    assert line.startswith("tracker: error: feeds.yaml: nested more than 100 levels deep (line 1, column "), line
    assert time.perf_counter() - start < 1.0


def test_deep_block_nesting(tmp_path: Path) -> None:
    config = write(tmp_path, "feeds:\n" + "".join(" " * i + "-\n" for i in range(1, 300)))
    line = refused(config)
    assert line.startswith("tracker: error: feeds.yaml: nested more than 100 levels deep (line 101, "), line


def test_nesting_at_the_limit_is_only_a_type_error(tmp_path: Path) -> None:
    # 99 brackets under the top-level mapping: 100 levels, allowed; validation then speaks.
    line = refused(write(tmp_path, "feeds: [" + "[" * 98 + "]" * 98 + "]\n"))
    assert "nested" not in line
    assert line.startswith("tracker: error: feeds.yaml: feeds[0]: expected a mapping, got a list"), line


def test_aliases_stacked_past_the_depth_limit(tmp_path: Path) -> None:
    # Each level is shallow in the text; expanded through the aliases it is 150 deep.
    around = "[" * 49, "]" * 49
    text = (
        f"a: &a [{around[0]}{around[1]}]\nb: &b {around[0]}*a{around[1]}\n"
        f"feeds:\n  - url: https://a.example/rss\n    timeout: {around[0]}*b{around[1]}\n"
    )
    line = refused(write(tmp_path, text))
    assert "nested more than 100 levels deep with aliases expanded" in line, line


def test_an_alias_inside_itself(tmp_path: Path) -> None:
    line = refused(write(tmp_path, "feeds: &x\n  - *x\n"))
    assert line.startswith("tracker: error: feeds.yaml: feeds: an alias refers to a collection that contains it"), line


def test_strict_loader_behaviour_is_kept(tmp_path: Path) -> None:
    line = refused(write(tmp_path, "feeds: []\nfeeds: []\n"))
    assert 'duplicate key "feeds" (first given at line 1)' in line
    # Merge keys still merge, and a merged key may be overridden.
    config = write(
        tmp_path,
        "defaults: &d {interval: 10m, timeout: 5s}\n"
        "feeds:\n  - {<<: *d, url: https://a.example/rss}\n  - {<<: *d, url: https://b.example/rss, interval: 2h}\n",
    )
    accepted(config)
    a, b = load_config(config).feeds
    assert (a.interval.total_seconds(), b.interval.total_seconds(), b.timeout.total_seconds()) == (600, 7200, 5)


# --- quoted values are cut ---------------------------------------------------------------

# Longer than YAML's 1024-character simple keys: long keys are written "? KEY".
LONG = "x" * 10_000


@pytest.mark.parametrize(
    ("text", "start"),
    [
        (f"feeds:\n  - url: ftp://{LONG}\n", "feeds[0].url: 'ftp://xxx"),
        (f"feeds:\n  - url: https://a.example/rss\n    interval: {LONG}\n", 'feeds[0].interval: "xxx'),
        (f"feeds:\n  - {{url: https://a.example/rss, name: '{LONG}!'}}\n", "feeds[0].name: 'xxx"),
        (f"feeds: []\n? {LONG}\n: 1\n", "xxxx"),
        (f"feeds: []\ntopics:\n  t: [k]\n  ? {LONG}!\n  : [k]\n", "topics.xxx"),
        (f"feeds:\n  - {{url: https://a.example/rss, topics: ['{LONG}']}}\n", "feeds[0].topics[0]: topic 'xxx"),
        (f"feeds: []\ndatabase: sqlite:/{LONG}\n", "database: 'sqlite:/xxx"),
        (f"feeds: []\ndatabase: {LONG}://h/db\n", "database: 'xxx"),
        (f"feeds: [a.xml]\ndigest: {{to: ['{LONG}'], from: a@b.example, smtp: {{host: h}}}}\n", "digest.to[0]: 'xxx"),
        (f"feeds: [a.xml]\ndigest: {{to: [a@b.example], from: a@b.example, smtp: {{host: h, security: {LONG}}}}}\n",
         'digest.smtp.security: "xxx'),
        ("feeds: [a.xml]\ndigest: {to: [a@b.example], from: a@b.example, smtp: {host: h, security: ["
         + ", ".join(["[1, 2, 3, [4, 5, [6, 7, 8]]]"] * 200) + "]}}\n", "digest.smtp.security: [[1, 2, 3"),
        (f"? {LONG}\n: 1\n? {LONG}\n: 2\n", "not valid YAML at line 3, column 3: duplicate key \"xxx"),
    ],
)
def test_quoted_values_are_cut(tmp_path: Path, text: str, start: str) -> None:
    line = refused(write(tmp_path, text))
    assert line.startswith(f"tracker: error: feeds.yaml: {start}"), line[:300]
    assert "\u2026" in line or "..." in line, line
    assert len(line) < 300, line
    assert "x" * 81 not in line


def test_control_characters_in_a_quoted_value_are_escaped(tmp_path: Path) -> None:
    line = refused(write(tmp_path, 'feeds:\n  - url: https://a.example/rss\n    interval: "\\e]0;owned\\a\\u202e5m"\n'))
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
    assert line == r'tracker: error: feeds.yaml: feeds[0].interval: "\x1b]0;owned\x07\u202e5m" is not a duration (use e.g. 45s, 15m, 2h, 1d)'


# --- whatever sits at the path -----------------------------------------------------------


def test_a_folder_in_place_of_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "feeds.yaml"
    folder.mkdir()
    # --config itself refuses a folder (click); $TRACKER_CONFIG, or a reload after the file
    # was replaced by a folder, reach load_config.
    result = CliRunner().invoke(cli, ["feeds", "export"], env={"TRACKER_CONFIG": str(folder)})
    assert result.exit_code == 2, result.output
    assert result.stderr == f"tracker: error: {folder}: is a folder, not a file (pass --config PATH/feeds.yaml)\n"


def test_a_fifo_in_place_of_the_file_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "feeds.yaml"
    os.mkfifo(fifo)
    lines: list[str] = []
    # In a thread: should opening block, the test fails instead of hanging, and a writer
    # opening the other end releases the thread.
    worker = threading.Thread(target=lambda: lines.append(refused(fifo)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():
        with open(fifo, "wb"):
            pass
        worker.join(timeout=10)
        pytest.fail("loading a FIFO blocked")
    assert lines == [f"tracker: error: {fifo}: not a regular file (a FIFO, socket or device cannot be a config)"]


def test_a_device_behind_a_symlink(tmp_path: Path) -> None:
    link = tmp_path / "feeds.yaml"
    link.symlink_to("/dev/zero")
    assert "not a regular file" in refused(link)


def test_a_100_mb_file_is_not_read(tmp_path: Path) -> None:
    big = tmp_path / "feeds.yaml"
    with big.open("wb") as f:
        f.write(b"feeds: []\n# ")
        f.truncate(100 * 1024 * 1024)  # sparse: costs no disk, reads as NULs
    start = time.perf_counter()
    line = refused(big)
    assert line == f"tracker: error: {big}: 104,857,600 bytes is more than a config may have (1,048,576)"
    assert time.perf_counter() - start < 1.0


def test_binary_garbage_and_bad_encodings(tmp_path: Path) -> None:
    rng = random.Random(18)
    path = tmp_path / "feeds.yaml"
    path.write_bytes(bytes([0xFF, 0xFE]) + rng.randbytes(4000))
    assert refused(path).startswith(f"tracker: error: {path}: not UTF-8 text (byte 0xff at offset 0)")
    path.write_bytes(b"feeds: []\n\x00\x01\x02")
    assert refused(path) == "tracker: error: feeds.yaml: not valid YAML at line 2, column 1: character #x0000 is not allowed in YAML"
    path.write_bytes(b"feeds: [caf\xe9]\n")  # Latin-1
    assert "not UTF-8 text (byte 0xe9 at offset 11)" in refused(path)


def test_any_content_is_a_config_or_a_config_error(tmp_path: Path) -> None:
    """Mutations of the shipped config and YAML-ish noise: load_config returns a Config or
    raises ConfigError, nothing else, and quickly."""
    rng = random.Random(1818)
    seed = (ROOT / "feeds.yaml").read_text(encoding="utf-8")
    alphabet = "[]{}:,-&*!|>'\"#%@`?<\n\t \\0123456789.eE+x~"
    tags = ["!!int ", "!!float ", "!!timestamp ", "!!binary ", "!!set ", "!!omap ", "!!python/name:os.system ", "<<: ", "*a ", "&a "]
    path = tmp_path / "feeds.yaml"
    start = time.perf_counter()
    outcomes = {"config": 0, "error": 0}
    for _ in range(100):
        text = list(seed)
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(text) + 1)
            insert = rng.choice(tags) if rng.random() < 0.3 else "".join(rng.choices(alphabet, k=rng.randint(1, 6)))
            if rng.random() < 0.3 and text:
                del text[at : at + rng.randint(1, 20)]
            text[at:at] = list(insert)
        path.write_text("".join(text), encoding="utf-8")
        try:
            load_config(path)
            outcomes["config"] += 1
        except ConfigError as exc:
            assert "\n" not in str(exc), str(exc)
            outcomes["error"] += 1
    assert outcomes["error"] > 30, outcomes
    assert time.perf_counter() - start < 10


# --- names the database keeps in bounded columns -------------------------------------------

from tracker.config import MAX_ALERT_TARGET_NAME, MAX_FEED_NAME, MAX_SENDER_DOMAIN, MAX_TOPIC_NAME  # noqa: E402
from tracker.store.models import AlertChannel, EventTopic, Feed  # noqa: E402


def names_config(feed: str = "news", topic: str = "ai", target: str = "phone", domain: str = "example.com") -> str:
    return (
        f"topics:\n  {topic}: [Sora]\n"
        f"feeds:\n  - name: {feed}\n    url: https://news.example.com/rss\n    topics: [{topic}]\n"
        f"digest:\n  to: [news@example.com]\n  from: tracker@{domain}\n  smtp: {{host: smtp.example.com}}\n"
        f"alerts:\n  - name: {target}\n    urls: [json://localhost/]\n"
    )


def test_limits_are_the_columns_lengths() -> None:
    assert MAX_FEED_NAME == Feed.__table__.c.name.type.length
    assert MAX_TOPIC_NAME == EventTopic.__table__.c.topic.type.length
    assert MAX_ALERT_TARGET_NAME == AlertChannel.__table__.c.target.type.length


@pytest.mark.parametrize(
    ("key", "where", "limit", "what"),
    [
        ("feed", "feeds[0].name", MAX_FEED_NAME, "a feed name"),
        ("topic", "topics.", MAX_TOPIC_NAME, "a topic name"),
        ("target", "alerts[0].name", MAX_ALERT_TARGET_NAME, "a target name"),
    ],
)
def test_a_name_longer_than_its_column_is_one_line(tmp_path: Path, key: str, where: str, limit: int, what: str) -> None:
    accepted(write(tmp_path, names_config(**{key: "n" * limit})))
    line = refused(write(tmp_path, names_config(**{key: "n" * (limit + 1)})))
    assert line.startswith(f"tracker: error: feeds.yaml: {where}"), line
    assert f"{what} is {limit + 1} characters long; at most {limit}" in line, line


def test_a_derived_feed_name_too_long_asks_for_a_name(tmp_path: Path) -> None:
    host = ".".join(["a" * 60] * 4) + ".com"  # 245 characters, a valid host name
    config = write(tmp_path, f"feeds:\n  - url: https://{host}/rss\n")
    line = refused(config)
    assert line.startswith("tracker: error: feeds.yaml: feeds[0].name: "), line
    assert "derived from the URL (give it a shorter name)" in line and f"at most {MAX_FEED_NAME}" in line, line


def test_a_sender_domain_too_long_for_a_message_id(tmp_path: Path) -> None:
    accepted(write(tmp_path, names_config(domain="d" * (MAX_SENDER_DOMAIN - 4) + ".com")))
    line = refused(write(tmp_path, names_config(domain="d" * MAX_SENDER_DOMAIN + ".com")))
    assert line.startswith("tracker: error: feeds.yaml: digest.from: "), line
    assert f"at most {MAX_SENDER_DOMAIN}" in line, line


def test_names_at_the_limit_are_stored_on_both_backends(tmp_path: Path, database_url: str) -> None:
    """The longest names the config lets through are written by a real poll (PostgreSQL
    refuses a value longer than its column; SQLite would not notice)."""
    feed, topic = "f" * MAX_FEED_NAME, "t" * MAX_TOPIC_NAME
    sample = ROOT / "samples" / "techwire.xml"
    config = write(
        tmp_path,
        f"database: {database_url}\ntopics:\n  {topic}: [Sora, OpenAI]\n"
        f"defaults:\n  full_text: never\nfeeds:\n  - name: {feed}\n    url: {sample}\n",
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "poll"], env={"TRACKER_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    assert f"{feed}: ok" in result.stdout
    result = CliRunner().invoke(
        cli, ["--config", str(config), "timeline", "--topic", topic, "--format", "json"], env={"TRACKER_DATABASE_URL": None}
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() not in ("", "[]")
