"""End to end through the CLI: generate → load → run → reconcile, quarantine replay, demo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, write_landing
from tests.pipeline.helpers import web


def nova(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nova.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=600)


def test_generated_traffic_loads_stages_and_adds_up(tmp_path: Path) -> None:
    gen = nova("generate", "--days", "2", "--events-per-day", "3000", "--seed", "3", "--start", "2026-11-20")
    assert gen.returncode == 0, gen.stderr
    first = nova("load")
    assert first.returncode == 0 and "lines" in first.stdout, first.stderr
    assert nova("run").returncode == 0
    again = nova("load")
    assert "nothing new" in again.stdout  # loading twice changes nothing
    rec = nova("reconcile", "--json")
    assert rec.returncode == 0, rec.stderr
    data = json.loads(rec.stdout)
    q = sum(data["quarantined"].values())
    assert data["received"] == data["staged"] + data["duplicate"] + data["ignored"] + data["held"] + q
    assert data["staged"] > 0 and data["duplicate"] > 0 and data["ignored"] > 0
    assert {"invalid_json", "unknown_feature", "too_late", "missing_workspace_id"} <= set(data["quarantined"])
    assert data["held"] == 0 and data["dropped"] == 0  # realistic quirk rates hold no batch


def test_quarantine_replay_after_catalog_fix(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    shutil.copytree(REPO / "contracts", contracts, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    env = {"NOVA_CONTRACTS_PATH": str(contracts)}
    landing = Path(os.environ["NOVA_LANDING_PATH"])
    new = {"feature": "editor.comments.poll", "workspaceId": "ws_1"}
    write_landing(landing, "web", "a.jsonl", [web("m1", properties=new), web("m2", properties=new), web("m3")])
    assert nova("load", env=env).returncode == 0
    assert nova("run", env=env).returncode == 0
    listed = nova("quarantine", "list", env=env)
    assert "unknown_feature" in listed.stdout
    shown = nova("quarantine", "show", "unknown_feature", env=env)
    assert "a.jsonl:1" in shown.stdout and "editor.comments.poll" in shown.stdout
    # The product team adds the feature to the catalog; the lines can now be replayed.
    catalog = contracts / "catalog" / "features.yaml"
    catalog.write_text(catalog.read_text() + '  - {id: "editor.comments.poll", name: "Poll", parent: '
                       '"editor.comments", owner: docs-core, status: beta, introduced_on: 2026-11-01, '
                       "legacy_ids: [], platforms: [web]}\n")
    replay = nova("quarantine", "replay", "unknown_feature", env=env)
    assert replay.returncode == 0, replay.stderr
    assert "2 now valid" in replay.stdout
    again = nova("quarantine", "replay", "unknown_feature", env=env)
    assert "replayed 0 lines" in again.stdout
    data = json.loads(nova("reconcile", "--json", env=env).stdout)
    assert (data["staged"], data["duplicate"], data["quarantined"]) == (3, 0, {})


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    res = nova("demo", "--days", "2", "--events-per-day", "2000")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "adds up" in res.stdout and "DOES NOT ADD UP" not in res.stdout
    assert "wave" in res.stdout and "top features" in res.stdout
    assert "trust scores of" in res.stdout and "iOS" in res.stdout  # the last day's platforms and areas
    # The bad iOS release injected on the last day: its iOS part is held, the on-call is alerted
    # (console: no Slack configured), and the iOS trust score says why.
    held = [line for line in res.stdout.splitlines() if "gate: held" in line]
    assert held and all(line.rstrip().split(" (")[0].endswith("/ios") for line in held), res.stdout[-3000:]
    assert "held for a person" in res.stdout and "nova batches release" in res.stdout
    assert "alerts: 1 opened" in res.stdout and "monitor:" in res.stdout
    ios = next(line for line in res.stdout.splitlines() if line.startswith("│ iOS "))
    assert "unknown feature" in ios and " A " not in ios


def test_batches_list_shows_each_batch_and_its_state(tmp_path: Path) -> None:
    landing = Path(os.environ["NOVA_LANDING_PATH"])
    write_landing(landing, "web", "a.jsonl", [web("m1")])
    assert nova("load").returncode == 0
    pending = json.loads(nova("batches", "list", "--json").stdout)
    assert [(b["state"], b["platform"], b["lines"]) for b in pending] == [("pending", "web", 1)]
    assert pending[0]["batch_id"] == pending[0]["load_id"] + "/web" and pending[0]["failed_checks"] == []
    assert nova("run").returncode == 0
    write_landing(landing, "web", "b.jsonl", [web("m2"), web("m3")])
    assert nova("load").returncode == 0
    assert nova("run").returncode == 0
    rows = json.loads(nova("batches", "list", "--json").stdout)
    assert [(b["state"], b["lines"]) for b in rows] == [("promoted", 1), ("promoted", 2)]
    table = nova("batches", "list")
    assert table.returncode == 0 and rows[0]["load_id"] in table.stdout
