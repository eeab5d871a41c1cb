"""The pull-request example of docs/examples runs: its nova commands, as written, on a real branch.

A project with the shipped registry is committed on `main`; a branch makes iOS `sent_ts` required
(a breaking change without its bump). Generated traffic is loaded into a warehouse. The `run:`
steps of the workflow that call nova, and the `entry:` of every pre-commit hook, are executed with
bash in that project, with the workflow's `${{ ... }}` expressions given test values.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import Settings
from contracts.registry import load_registry
from pipeline.landing import Landing
from pipeline.load import load
from tests.conftest import REPO
from traffic import GeneratorConfig, generate
from warehouse.session import open_warehouse

EXAMPLES = REPO / "docs" / "examples"
NOW = "2026-11-24T06:00:00"  # the generated day (2026-11-23) is within --since 24h


def sh(cmd: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "contracts", root / "contracts", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (root / ".venv").symlink_to(REPO / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVA_")}
    env |= {"NOVA_WAREHOUSE_URL": f"duckdb:///{root}/wh.duckdb", "NOVA_LANDING_PATH": str(root / "landing"),
            "NOVA_STATE_DIR": str(root / "state"), "NOVA_NOW": NOW, "COLUMNS": "200",
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com"}
    # `origin/main` as actions/checkout with fetch-depth 0 leaves it
    for cmd in ("git init -q -b main", "git add contracts", "git commit -q -m registry",
                "git update-ref refs/remotes/origin/main main", "git checkout -q -b change"):
        assert sh(cmd, root, env).returncode == 0
    ios = root / "contracts" / "platforms" / "ios.yaml"
    text = ios.read_text()
    ios.write_text(text.replace("sent_ts: {type: number, format: epoch_ms}",
                                "sent_ts: {type: number, required: true, format: epoch_ms}"))
    assert ios.read_text() != text
    sh("git commit -q -am 'require sent_ts'", root, env)
    # the warehouse the workflow reads: a generated day, loaded (in-process: the commands under test are the
    # example's, not these)
    generate(GeneratorConfig(out=root / "landing", events_per_day=600, seed=5, workers=1),
             registry=load_registry(REPO / "contracts"))
    with open_warehouse(Settings(warehouse_url=env["NOVA_WAREHOUSE_URL"])) as wh:
        load(wh, Landing(str(root / "landing")))
    return {"root": root, "env": env}


def _expr(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: values[m.group(1)], text)


def test_workflow_steps_run(project: dict[str, Any], tmp_path: Path) -> None:
    workflow = yaml.safe_load((EXAMPLES / "contract-review.yml").read_text())
    assert workflow[True]["pull_request"]["paths"] == ["contracts/**"]  # YAML reads `on:` as True
    steps = workflow["jobs"]["review"]["steps"]
    nova_steps = [s for s in steps if "nova contracts" in s.get("run", "")]
    assert [s["name"] for s in nova_steps] == ["Lint the registry", "Diff and impact against the base branch"]
    output = tmp_path / "github_output"
    values = {"github.base_ref": "main", "secrets.NOVA_WAREHOUSE_URL_READONLY": project["env"]["NOVA_WAREHOUSE_URL"],
              "secrets.NOVA_SNOWFLAKE_PASSWORD_READONLY": ""}
    for step in nova_steps:
        env = {**project["env"], "GITHUB_OUTPUT": str(output)}
        env |= {k: _expr(str(v), values) for k, v in step.get("env", {}).items()}
        done = sh(step["run"], project["root"], env)
        assert done.returncode == 0, (step["name"], done.stdout, done.stderr)
    # a breaking change without its bump: reported, and the last step fails the check
    assert output.read_text().strip() == "exit=1"
    comment = (project["root"] / "contract-review.md").read_text()
    assert "| BREAKING | `platforms/ios.yaml` | `ios:payload.sent_ts:field_required` |" in comment
    assert "### Impact on recent traffic" in comment and "staged → quarantined (missing_field)" in comment
    last = steps[-1]
    assert sh(last["run"], project["root"], {**project["env"], "DIFF_EXIT": "1"}).returncode != 0
    assert sh(last["run"], project["root"], {**project["env"], "DIFF_EXIT": "0"}).returncode == 0


def test_pre_commit_hooks_run(project: dict[str, Any]) -> None:
    config = yaml.safe_load((EXAMPLES / "pre-commit-config.yaml").read_text())
    hooks = config["repos"][0]["hooks"]
    assert {h["files"] for h in hooks} == {"^contracts/"}
    codes = {h["id"]: sh(h["entry"], project["root"], project["env"]).returncode for h in hooks}
    assert codes == {"nova-contracts-lint": 0, "nova-contracts-diff": 1}  # the bump is missing
