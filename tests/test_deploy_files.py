"""deploy/: the systemd template unit, the compose file and its Dockerfile parse, and every
tracker command they run exists (`tracker COMMAND --help` through the real CLI)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tracker.cli import cli

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "tracker@.service"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
TRACKER = "/opt/tracker/.venv/bin/tracker"


def unit() -> dict[str, list[tuple[str, str]]]:
    """The unit's sections, each a list of (key, value): systemd allows a key many times."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None and "=" in line, f"not a unit line: {raw!r}"
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in section if k == key]


def assert_command_exists(args: list[str]) -> None:
    """`tracker ARGS --help` (options dropped) exits 0: the command is one the CLI has."""
    words = [a for a in args if not a.startswith("-")]
    result = CliRunner().invoke(cli, [*words, "--help"])
    assert result.exit_code == 0, (args, result.output)
    assert "Usage: tracker " + " ".join(words) in result.output


def test_the_unit_runs_existing_commands_with_the_documented_signals() -> None:
    sections = unit()
    assert set(sections) == {"Unit", "Service", "Install"}
    service = sections["Service"]
    commands = values(service, "ExecStartPre") + values(service, "ExecStart")
    assert [shlex.split(c)[1:] for c in commands] == [["db", "upgrade"], ["daemon"]]
    for command in commands:
        args = shlex.split(command)
        assert args[0] == TRACKER
        assert_command_exists(args[1:])
    # docs/daemon.md: SIGHUP reloads the config, SIGTERM stops cleanly (exit 0); exit 2 is a bad config.
    assert values(service, "ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert values(service, "KillSignal") == ["SIGTERM"]
    assert values(service, "Restart") == ["on-failure"]
    assert values(service, "RestartPreventExitStatus") == ["2"]
    # One instance per config: %i names it.
    assert values(service, "Environment")[0] == "TRACKER_CONFIG=/etc/tracker/%i.yaml"
    assert values(service, "ProtectSystem") == ["strict"] and values(service, "NoNewPrivileges") == ["yes"]
    assert values(sections["Install"], "WantedBy") == ["multi-user.target"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # An instance of the template, its tracker the one running these tests.
    instance = tmp_path / "tracker@example.service"
    instance.write_text(UNIT.read_text(encoding="utf-8").replace(TRACKER, str(Path(sys.executable).parent / "tracker")))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(instance)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_the_compose_file_runs_postgresql_18_migrations_then_two_daemons() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = compose["services"]
    db = services["db"]
    assert db["image"] == "postgres:18"
    assert db["healthcheck"]["test"][0] == "CMD-SHELL" and "pg_isready" in db["healthcheck"]["test"][1]
    # PostgreSQL 18's image keeps its data under /var/lib/postgresql (a version folder inside).
    volume = db["volumes"][0].split(":")
    assert volume[0] in compose["volumes"] and volume[1] == "/var/lib/postgresql"
    migrate = services["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    daemons = [name for name, s in services.items() if s.get("command") == ["daemon"]]
    assert len(daemons) == 2
    for name in ("migrate", *daemons):
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["environment"]["TRACKER_DATABASE_URL"].startswith("postgresql://")
        assert_command_exists(service["command"])
    for name in daemons:
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        assert services[name]["stop_signal"] == "SIGTERM"


def test_the_dockerfile_installs_the_postgresql_extra() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert "psycopg" in " ".join(extras["postgresql"])
    assert "pip install '/src[postgresql]'" in text
    assert text.splitlines()[0].startswith("#") and "FROM python:3.11" in text
    # Every path it copies exists (the build context is the repository's root).
    for line in text.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    assert 'ENTRYPOINT ["tracker"]' in text and 'CMD ["daemon"]' in text
    assert_command_exists(["daemon"])
