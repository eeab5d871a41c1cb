"""A platform is a contract file and nothing else: add `platforms/desktop.yaml` and every command
follows (lint, diff, export, validate, generate, load, run, reconcile); remove a file and the diff
reports a breaking change; a landing folder of a platform without a contract stays quarantined."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from config.settings import get_settings
from nova.cli import app
from nova.errors import NovaError
from tests.conftest import REPO, write_landing
from tests.pipeline.helpers import web

DESKTOP = REPO / "tests" / "contracts" / "fixtures" / "desktop.yaml"
runner = CliRunner()


def nova(*args: str) -> tuple[int, str]:
    """Exit code and output; a NovaError becomes its code, as `nova.cli.main` does."""
    res = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        assert isinstance(res.exception, NovaError), res.exception
        return int(res.exception.code), res.stdout
    return res.exit_code, res.stdout


@pytest.fixture
def registry_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "contracts"
    shutil.copytree(REPO / "contracts", root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setenv("NOVA_CONTRACTS_PATH", str(root))
    get_settings.cache_clear()
    return root


def test_a_platform_is_added_by_one_file(registry_copy: Path, tmp_path: Path) -> None:
    shutil.copyfile(DESKTOP, registry_copy / "platforms" / "desktop.yaml")

    code, out = nova("contracts", "lint")
    assert code == 0
    code, out = nova("contracts", "diff", str(REPO / "contracts"), "--format", "markdown")
    assert code == 0, out  # a new file starts at its own version: nothing else needs a bump
    assert "| WARNING | `platforms/desktop.yaml` | `desktop:contract:platform_added` |" in out
    code, out = nova("contracts", "export", "--platform", "desktop")
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "urn:novasuite:contracts:desktop:1.0.0"

    sample = tmp_path / "desktop.jsonl"
    good = {"kind": "feature_used", "id": "D-1", "user_id": "u_1", "workspace_id": "ws_1", "feature": "editor",
            "at_ms": 1764090000123, "sent_ms": 1764090001123, "received_at": "2026-11-25T17:00:02Z"}
    sample.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "D-2", "feature": "editor.nope"}) + "\n")
    code, out = nova("contracts", "validate", str(sample), "--platform", "desktop", "--json")
    assert [(v["state"], v["reason"]) for v in json.loads(out)] == [("staged", None),
                                                                      ("quarantined", "unknown_feature")]
    assert jsonschema.Draft202012Validator(schema).is_valid(good)
    assert not jsonschema.Draft202012Validator(schema).is_valid({**good, "feature": "editor.nope"})

    # the generator gives the new platform its default profile; the pipeline stages and counts it
    code, out = nova("generate", "-n", "400", "--seed", "2", "-q", "--manifest", str(tmp_path / "truth.json"))
    assert code == 0, out
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["lines_by_platform"]["desktop"] > 0
    landing = Path(get_settings().landing_path)
    write_landing(landing, "tablet", "t.jsonl", [web("t1")])  # a folder without a contract
    assert nova("load")[0] == 0 and nova("run")[0] == 0
    code, out = nova("reconcile", "--json")
    total = json.loads(out)
    assert total["staged"] == truth["expected"]["staged"]
    assert total["quarantined"].get("unknown_platform") == 1
    code, out = nova("query", "--format", "json",
                     "SELECT platform, COUNT(*) AS n FROM feature_usage_daily WHERE platform = 'desktop' GROUP BY 1")
    assert code == 0 and "desktop" in out


def test_removing_a_platform_is_breaking(registry_copy: Path) -> None:
    (registry_copy / "platforms" / "backend.yaml").unlink()
    code, out = nova("contracts", "diff", str(REPO / "contracts"), "--format", "markdown")
    assert code == 1
    assert "❌ `platforms/backend.yaml` 1.0.0 → (removed): declared none, required major" in out
    assert "| BREAKING | `platforms/backend.yaml` | `backend:contract:platform_removed` |" in out
    # the catalog still names the platform: lint says where
    code, out = nova("contracts", "lint")
    assert code == 1 and "lists platform 'backend', which has no contract" in out
