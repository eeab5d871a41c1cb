"""Golden files of rendered SQL, shared by the per-dialect tests (NOVA_UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import os
from pathlib import Path

UPDATE = os.environ.get("NOVA_UPDATE_GOLDEN") == "1"


def assert_golden(path: Path, text: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with NOVA_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{path.stem} changed: NOVA_UPDATE_GOLDEN=1, then review the diff"
