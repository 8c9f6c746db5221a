"""The project as users install it: the sdist and the wheel built from it (python -m build),
and the wheel installed with pipx into a new virtualenv outside the checkout.

conftest.py turns these into session fixtures (`built_dists`, `installed_tracker`), so that
any test can run the installed `tracker` command; tests/test_installed.py is the smoke test.
Building and installing take some 30-40 s, once per session; pip's cache and the package
index are the only things they need from outside.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
DIST_NAME = "news-timeline-tracker"

# Not part of a build: caches, virtualenvs, VCS data, build output, local databases.
_NOT_SOURCE = shutil.ignore_patterns(
    ".*", "__pycache__", "build", "dist", "*.egg-info", "venv", "*.db", "*.db-wal", "*.db-shm"
)


@dataclass(frozen=True)
class Dists:
    sdist: Path
    wheel: Path


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> None:
    """Run a build step; on failure raise with its output, which is where the reason is."""
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-5000:]}\n--- stderr\n{proc.stderr[-5000:]}"
        )


def build_dists(folder: Path) -> Dists:
    """The sdist and a wheel built from that sdist, as `python -m build` makes them.

    The build runs on a copy of the source tree in folder, so that it neither writes into
    the checkout (egg-info, build/) nor races another session building there.
    """
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    out = folder / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], cwd=folder)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dists(sdist=sdist, wheel=wheel)


def pipx_install(wheel: Path, folder: Path) -> Path:
    """Install wheel with pipx into a new PIPX_HOME under folder; the `tracker` executable."""
    env = clean_env()
    env.update(
        PIPX_HOME=str(folder / "pipx"),
        PIPX_BIN_DIR=str(folder / "bin"),
        PIPX_MAN_DIR=str(folder / "man"),
    )
    _run([sys.executable, "-m", "pipx", "install", "--python", sys.executable, str(wheel)], cwd=folder, env=env)
    exe = folder / "bin" / "tracker"
    if not exe.exists():
        raise RuntimeError(f"pipx installed no {exe}")
    return exe


def clean_env() -> dict[str, str]:
    """The environment without what would point the installed command at this checkout:
    tracker's own variables, PYTHONPATH, and the test virtualenv."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("TRACKER_", "PIPX_"))}


def copy_samples_as_feeds(folder: Path) -> Path:
    """The bundled sample feeds in folder, with samples/demo.yaml as folder/feeds.yaml (the
    file `tracker` reads by default); they are not in the wheel. Returns the config path."""
    for path in SAMPLES.iterdir():
        if path.suffix in (".xml", ".atom"):
            shutil.copy(path, folder / path.name)
    shutil.copy(SAMPLES / "demo.yaml", folder / "feeds.yaml")
    return folder / "feeds.yaml"


def run_tracker(exe: Path, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed command in cwd (never the checkout), with a clean environment."""
    assert ROOT not in (cwd.resolve(), *cwd.resolve().parents), f"{cwd} is inside the checkout"
    return subprocess.run(
        [str(exe), *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout
    )
