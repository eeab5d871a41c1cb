"""Running the real dbt (its own venv, `make dbt-env`) on a generated package inside an analyst's project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

DBT = REPO / ".venv-dbt" / "bin" / "dbt"
FAKESNOW = REPO / ".venv-dbt" / "bin" / "fakesnow"


def require_dbt() -> None:
    """`make test` builds the dbt env and sets NOVA_REQUIRE_DBT=1: there a missing env is a failure."""
    if DBT.exists():
        return
    message = f"dbt is not installed at {DBT}: run `make dbt-env` (make test does)"
    if os.environ.get("NOVA_REQUIRE_DBT") == "1":
        pytest.fail(message)
    pytest.skip("SKIPPED LOUDLY: " + message)


def nova(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "nova.cli", *args], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "200", **env}, timeout=600)
    assert res.returncode == 0, f"nova {' '.join(args)}: {res.stderr[-2000:]}"
    return res


def analyst_project(root: Path, package: Path, outputs: dict[str, Any], target: str) -> Path:
    """An empty dbt project of the analytics team that adds the generated package (packages.yml `local:`)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(yaml.safe_dump(
        {"name": "analytics", "version": "1.0.0", "config-version": 2, "profile": "analytics"}))
    (root / "packages.yml").write_text(yaml.safe_dump({"packages": [{"local": str(package)}]}))
    (root / "profiles.yml").write_text(yaml.safe_dump({"analytics": {"target": target, "outputs": outputs}}))
    dbt(root, "deps")
    return root


def duckdb_output(project: Path, warehouse: Path) -> dict[str, Any]:
    """dbt writes to a file of its own; the warehouse is attached read-only (never the daemon's lock)."""
    return {"type": "duckdb", "path": str(project / "analytics.duckdb"), "threads": 1,
            "attach": [{"path": str(warehouse), "alias": "nova", "read_only": True}]}


def dbt(project: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_PROFILES_DIR": str(project),
           "DBT_USE_COLORS": "false", "TZ": "UTC"}
    res = subprocess.run([str(DBT), *args], cwd=project, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == expect, f"dbt {' '.join(args)} exited {res.returncode}:\n{res.stdout[-4000:]}"
    return res


def results(project: Path, name: str = "run_results.json") -> dict[str, str]:
    """unique_id → status of the last dbt command."""
    data = json.loads((project / "target" / name).read_text())
    return {r["unique_id"]: r["status"] for r in data["results"]}
