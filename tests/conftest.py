"""Shared fixtures: a real DuckDB file per test, landing folders written in the wire formats."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test gets its own warehouse file and landing folder; the registry is the shipped one."""
    from config.settings import get_settings

    monkeypatch.setenv("NOVA_WAREHOUSE_URL", f"duckdb:///{tmp_path}/warehouse.duckdb")
    monkeypatch.setenv("NOVA_LANDING_PATH", str(tmp_path / "landing"))
    monkeypatch.setenv("NOVA_CONTRACTS_PATH", str(REPO / "contracts"))
    monkeypatch.setenv("NOVA_STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def write_landing(root: Path, platform: str, name: str, lines: list[Any], *, day: str = "2026-11-25",
                  hour: str = "17", gz: bool = False, mtime: dt.datetime | None = None,
                  raw: bytes | None = None) -> Path:
    """Write a landing file; dict lines are JSON-encoded, str lines written as they are."""
    folder = root / f"platform={platform}" / f"dt={day}" / f"hour={hour}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if raw is None:
        text = "".join((json.dumps(x) if not isinstance(x, str) else x) + "\n" for x in lines)
        raw = text.encode()
    path.write_bytes(gzip.compress(raw, mtime=0) if gz else raw)
    if mtime is None:
        # 18:00 on 2026-11-25, or a few seconds after the last line's received_at when later: the
        # collector closes a file after its lines, and a received_at more than an hour after the
        # file's arrival is not trusted (docs/pipeline.md, "Times").
        mtime = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)
        for x in lines:
            received = x.get("received_at") if isinstance(x, dict) else None
            try:
                at = dt.datetime.fromisoformat(str(received).replace("Z", "+00:00"))
            except ValueError:
                continue
            at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
            if dt.datetime(1970, 1, 2, tzinfo=dt.UTC) < at < dt.datetime(2200, 1, 1, tzinfo=dt.UTC):
                mtime = max(mtime, at + dt.timedelta(seconds=5))
    ts = mtime.timestamp()
    os.utime(path, (ts, ts))
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def registry() -> Any:
    from contracts.registry import load_registry

    return load_registry(REPO / "contracts")


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Any]:
    from warehouse.session import open_warehouse

    w = open_warehouse()
    yield w
    w.close()
