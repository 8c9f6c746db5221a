"""The bundled sample feeds and demo config, copied where a test may poll and edit them."""

from __future__ import annotations

import shutil
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def copy_samples(folder: Path) -> Path:
    """Copy samples/ (feeds and demo.yaml) into folder; returns the copied demo.yaml."""
    for path in SAMPLES.iterdir():
        if path.suffix in (".xml", ".atom", ".yaml"):
            shutil.copy(path, folder / path.name)
    return folder / "demo.yaml"
