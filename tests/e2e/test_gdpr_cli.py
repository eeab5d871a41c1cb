"""`nova gdpr request | process | status` and `nova retention apply` through the command line,
and a crash at each step of processing followed by a re-run."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import REPO, write_landing
from tests.pipeline.helpers import ios, web
from warehouse.session import open_warehouse

USER = "u_7"
# The pipeline and ops commands alone (a crash test needs its own process; other packages'
# commands are not needed and need not import).
APP_SCRIPT = ("import typer; from pipeline import cli, ops_cli; app = typer.Typer(); cli.register(app); "
              "ops_cli.register(app); app()")


def nova_app() -> typer.Typer:
    from nova.cli import COMMAND_MODULES, app

    if "pipeline.ops_cli" in COMMAND_MODULES:
        return app
    from pipeline import cli, ops_cli

    local = typer.Typer()
    cli.register(local)
    ops_cli.register(local)
    return local


def invoke(*args: str, code: int = 0, stdin: str | None = None) -> str:
    res = CliRunner().invoke(nova_app(), list(args), input=stdin)
    assert res.exit_code == code, f"nova {' '.join(args)} → {res.exit_code}\n{res.output}\n{res.exception!r}"
    return res.output


def deliver(landing: Path) -> None:
    write_landing(landing, "web", "a.jsonl", [web("w1", userId=USER), web("w2", userId="u_71"),
                                              '{"userId":"u_7", "trunc'])
    write_landing(landing, "ios", "b.jsonl.gz", [ios("I1", user={"id": USER, "workspace_id": "w"}), ios("I2")],
                  gz=True)


def test_request_process_status_reconcile(landing: Path) -> None:
    deliver(landing)
    invoke("load")
    invoke("run")
    out = invoke("gdpr", "request", "-", "--reason", "ticket 9", stdin=f"{USER}\n")
    assert "recorded request" in out and USER not in out
    assert "already pending" in invoke("gdpr", "request", USER)
    status = json.loads(invoke("gdpr", "status", "--json"))
    assert [(r["status"], r["flag"]) for r in status] == [("pending", "ok")]
    assert "WARN" in invoke("gdpr", "status", "--as-of", (dt.datetime.now(dt.UTC) + dt.timedelta(days=25))
                            .isoformat())
    overdue = invoke("gdpr", "status", "--as-of", "2099-01-01", code=1)
    assert "OVERDUE" in overdue
    out = invoke("gdpr", "process")
    assert "completed" in out and "raw_events 3" in out
    assert "no pending request" in invoke("gdpr", "process")
    [done] = json.loads(invoke("gdpr", "status", "--json"))
    assert done["status"] == "completed" and done["deleted"]["tables"]["raw_events"] == 3
    assert "done" in invoke("gdpr", "status", "--as-of", "2099-01-01")  # completed: never overdue
    rec = json.loads(invoke("reconcile", "--json"))
    assert rec["erased"] == 3 and rec["received"] == 2
    assert "nothing new" in invoke("load")
    for p in landing.rglob("*.json*"):
        data = gzip.decompress(p.read_bytes()) if p.name.endswith(".gz") else p.read_bytes()
        assert re.search(rb'"u_7(?![0-9A-Za-z_])', data) is None, p
    assert b'"u_71"' in (landing / "platform=web/dt=2026-11-25/hour=17/a.jsonl").read_bytes()


def test_retention_apply_cli(landing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The traffic is of late November 2026: retention runs a week later, whatever the machine's day.
    monkeypatch.setenv("NOVA_NOW", "2026-12-02T00:00:00Z")
    old = web("o1", originalTimestamp="2025-01-01T10:00:00Z", sentAt="2025-01-01T10:00:01Z",
              received_at="2025-01-01T10:00:02Z")
    # A collector's received_at is trusted within a year of the file's arrival (docs/pipeline.md,
    # "Times"): the 2025 line comes in a file of its own time, as it would have landed then.
    write_landing(landing, "web", "a.jsonl", [web("w1")])
    write_landing(landing, "web", "old.jsonl", [old], day="2025-01-01", hour="10",
                  mtime=dt.datetime(2025, 1, 1, 11, 0, tzinfo=dt.UTC))
    invoke("load")
    invoke("run")
    preview = json.loads(invoke("retention", "apply", "--dry-run", "--json"))
    assert preview["dry_run"] and preview["rows"]["raw_events"] == 1
    assert "raw_events" in invoke("retention", "apply")
    again = json.loads(invoke("retention", "apply", "--json"))
    assert not any(again["rows"].values())


def _nova(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", APP_SCRIPT, *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=300)


# Ids and clocks of the run itself differ between two warehouses; the data must not.
VOLATILE = {"load_id", "request_id", "erased_at", "loaded_at", "staged_at", "quarantined_at", "note"}


def _state(env: dict[str, str]) -> dict[str, Any]:
    from config import Settings

    with open_warehouse(Settings(warehouse_url=env["NOVA_WAREHOUSE_URL"]), read_only=True) as wh:
        out: dict[str, Any] = {}
        for table in ("raw_events", "stg_events", "stg_duplicates", "quarantined_events", "load_ledger",
                      "erasure_counts", "feature_usage_daily", "user_feature_last_seen", "gdpr_pending_ids"):
            if wh.table_exists(table):
                cols = [c for (c,) in wh.query("SELECT column_name FROM information_schema.columns WHERE "
                                               "table_name = ?", [table]) if c not in VOLATILE]
                out[table] = sorted(map(repr, wh.query(f"SELECT {', '.join(cols)} FROM {table}")))
        out["status"] = [r[0] for r in wh.query("SELECT status FROM gdpr_requests")]
        return out


@pytest.mark.slow
@pytest.mark.parametrize("point", ["gdpr:after_landing", "gdpr:after_erase", "curate:before_commit"])
def test_crash_during_process_then_rerun_finishes(tmp_path: Path, point: str) -> None:
    def setup(name: str) -> dict[str, str]:
        root = tmp_path / name / "landing"
        deliver(root)
        env = {**os.environ, "NOVA_WAREHOUSE_URL": f"duckdb:///{tmp_path / name}/w.duckdb",
               "NOVA_LANDING_PATH": str(root)}
        env.pop("NOVA_CRASH_AT", None)
        for step in (["load"], ["run"], ["gdpr", "request", USER]):
            assert _nova(step, env).returncode == 0
        return env

    clean = setup("clean")
    assert _nova(["gdpr", "process"], clean).returncode == 0
    expected = _state(clean)
    env = setup("crash")
    crashed = _nova(["gdpr", "process"], {**env, "NOVA_CRASH_AT": point})
    assert crashed.returncode == -9, crashed.stderr[-500:]
    # Between the crash and the re-run, a load must not take a rewritten file for a new one.
    loaded = _nova(["load"], env)
    assert loaded.returncode == 0 and "nothing new" in loaded.stdout, loaded.stdout
    rerun = _nova(["gdpr", "process"], env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert _state(env) == expected
    assert (tmp_path / "crash/landing").exists()
    for clean_file in (tmp_path / "clean/landing").rglob("*.json*"):
        crash_file = tmp_path / "crash/landing" / clean_file.relative_to(tmp_path / "clean/landing")
        assert crash_file.read_bytes() == clean_file.read_bytes()
