"""A generated world with injected incidents, scored through the CLI once per session: the end-to-end
trust tests and the browser test read the same warehouse and report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

DAY = "2026-11-25"
BASELINE_DAY = "2026-11-24"
INCIDENTS = ("bad_release-ios:2026-11-25T13:4", "outage-android:2026-11-25T08:4")


@dataclass
class World:
    env: dict[str, str]
    report: Path
    scores: list[dict[str, Any]]
    baseline: list[dict[str, Any]]

    def nova(self, *args: str) -> subprocess.CompletedProcess:
        return nova(*args, env=self.env)

    def by_scope(self, scores: list[dict[str, Any]] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
        return {(s["scope_type"], s["scope"]): s for s in (scores or self.scores)}


def nova(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nova.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Two weekdays of traffic (8,000 calls a day); on the second, a bad iOS release sends unknown
    feature ids from 13:00 for 4 h and Android goes silent from 08:00 for 4 h."""
    root = tmp_path_factory.mktemp("trust_world")
    env = {**os.environ, "COLUMNS": "200", "NOVA_WAREHOUSE_URL": f"duckdb:///{root}/warehouse.duckdb",
           "NOVA_LANDING_PATH": str(root / "landing"), "NOVA_STATE_DIR": str(root / "state"),
           "NOVA_CONTRACTS_PATH": str(REPO / "contracts"), "NOVA_NOW": f"{DAY}T23:59:00",
           "SODA_CORE_TELEMETRY_ENABLED": "false"}
    incidents = [a for spec in INCIDENTS for a in ("--incident", spec)]
    for args in (("generate", "--start", BASELINE_DAY, "--days", "2", "-n", "8000", "--seed", "11", "-q",
                  *incidents), ("load",), ("run",)):
        done = nova(*args, env=env)
        assert done.returncode == 0, (args, done.stderr)
    report = root / "report.html"
    done = nova("trust", "--json", "--html", str(report), env=env)
    assert done.returncode == 0, done.stderr
    baseline = nova("trust", "--json", "--day", BASELINE_DAY, env=env)
    assert baseline.returncode == 0, baseline.stderr
    return World(env, report, json.loads(done.stdout), json.loads(baseline.stdout))
