"""Shell completion through the installed `tracker` script, as bash, zsh and fish call it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TRACKER = Path(sys.executable).with_name("tracker")

CONFIG = """\
database: sqlite:///tracker.db
topics:
  sora: {title: OpenAI Sora, keywords: [Sora]}
  strikes: {keywords: ["strike*"]}
  studios: {keywords: ["studio*"]}
feeds:
  - {name: verge-ai, url: "https://www.theverge.com/rss/index.xml"}
  - {name: variety, url: "https://variety.com/feed/"}
  - {name: techwire, url: samples/techwire.xml}
"""


def complete(words: str, shell: str = "bash", cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Ask the real entry point for completions of `words` (the cursor after the last word)."""
    parts = words.split(" ")
    full_env = {k: v for k, v in os.environ.items() if k != "TRACKER_CONFIG"}
    full_env.update(
        _TRACKER_COMPLETE=f"{shell}_complete",
        COMP_WORDS=words,
        COMP_CWORD=str(len(parts) - 1) if shell != "fish" else parts[-1],
        **env,
    )
    return subprocess.run([str(TRACKER)], env=full_env, cwd=cwd, capture_output=True, text=True, timeout=60)


def values(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The completion values of a bash_complete answer ("type,value" lines)."""
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines()]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["poll", "reprocess", "timeline"])
def test_feed_names_complete_for_every_feed_option(config: Path, command: str) -> None:
    proc = complete(f"tracker {command} --feed ", TRACKER_CONFIG=str(config))
    assert values(proc) == ["verge-ai", "variety", "techwire"]
    assert values(complete(f"tracker {command} --feed v", TRACKER_CONFIG=str(config))) == ["verge-ai", "variety"]


def test_topic_names_complete_for_timeline(config: Path) -> None:
    assert values(complete("tracker timeline --topic ", TRACKER_CONFIG=str(config))) == ["sora", "strikes", "studios"]
    assert values(complete("tracker timeline --since 2024 --topic st", TRACKER_CONFIG=str(config))) == ["strikes", "studios"]


def test_config_option_on_the_command_line_wins(config: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("feeds:\n  - {name: elsewhere, url: 'https://elsewhere.example/rss'}\n", encoding="utf-8")
    proc = complete(f"tracker --config {other} poll --feed ", TRACKER_CONFIG=str(config))
    assert values(proc) == ["elsewhere"]


def test_default_config_is_feeds_yaml_in_the_current_folder(config: Path) -> None:
    assert values(complete("tracker poll --feed t", cwd=config.parent)) == ["techwire"]


def test_zsh_and_fish_get_descriptions(config: Path) -> None:
    zsh = complete("tracker timeline --topic s", shell="zsh", TRACKER_CONFIG=str(config))
    assert zsh.returncode == 0
    assert zsh.stdout.splitlines()[:3] == ["plain", "sora", "OpenAI Sora"]
    fish = complete("tracker poll --feed verge", shell="fish", TRACKER_CONFIG=str(config))
    assert fish.returncode == 0
    assert fish.stdout.splitlines() == ["plain,verge-ai\thttps://www.theverge.com/rss/index.xml"]


@pytest.mark.parametrize("content", [None, "feeds: [\n", "feeds:\n  - {url: 'ftp://x'}\n"], ids=["missing", "broken", "invalid"])
def test_no_usable_config_means_no_completions_and_no_noise(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "feeds.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    proc = complete("tracker poll --feed ", TRACKER_CONFIG=str(path))
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, "", "")


def test_subcommands_complete_including_the_feeds_group(config: Path) -> None:
    assert values(complete("tracker feeds ", TRACKER_CONFIG=str(config))) == ["export", "import"]
    assert "init" in values(complete("tracker in", TRACKER_CONFIG=str(config)))


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_source_scripts_for_each_shell(shell: str) -> None:
    env = {**os.environ, "_TRACKER_COMPLETE": f"{shell}_source"}
    proc = subprocess.run([str(TRACKER)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""
    assert "_TRACKER_COMPLETE" in proc.stdout and f"{shell}_complete" in proc.stdout
