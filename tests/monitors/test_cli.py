"""`nova batches` and `nova monitor` end to end through the CLI, as on-call uses them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import write_landing
from tests.e2e.test_pipeline_cli import nova
from tests.pipeline.helpers import ios, web


def _bad_ios_release(landing: Path) -> None:
    lines = [ios(f"I{i:04d}", feature_key="editor.comments.mentoin" if i % 2 else "editor.comments.mention",
                 app={"version": "6.0.0", "build": "6000"}) for i in range(160)]
    write_landing(landing, "ios", "a.jsonl", lines)
    write_landing(landing, "web", "a.jsonl", [web(f"m{i:04d}") for i in range(160)])


def test_on_call_sees_why_drops_and_reconcile_counts_it(landing: Path) -> None:
    _bad_ios_release(landing)
    assert nova("load").returncode == 0
    run = nova("run")
    assert run.returncode == 0 and "/ios held" in run.stdout, run.stdout + run.stderr
    listed = json.loads(nova("batches", "list", "--json").stdout)
    by_platform = {b["platform"]: b for b in listed}
    assert set(by_platform) == {"ios", "web"}
    ios_batch = by_platform["ios"]
    assert ios_batch["state"] == "held" and ios_batch["failed_checks"] == ["unknown_feature"]
    assert ios_batch["lines"] == 160 and ios_batch["batch_id"] == f"{ios_batch['load_id']}/ios"
    assert by_platform["web"]["state"] == "promoted"

    show = nova("batches", "show", ios_batch["batch_id"])
    assert show.returncode == 0, show.stderr
    out = show.stdout
    assert "unknown_feature failed (blocking): value 0.5" in out and "cold start" in out
    assert "normal from cold start: fewer than min_history (3) values in the lookback (n=0)" in out
    assert "editor.comments.mentoin (80)" in out and "6.0.0 (80)" in out  # top feature id and app version
    assert "a.jsonl:2 " in out and "SELECT file_path" in out and "reason = 'unknown_feature'" in out
    evidence = json.loads(nova("batches", "show", ios_batch["batch_id"], "--json").stdout)
    assert evidence["checks"][0]["offending_lines"] == 80

    drop = nova("batches", "drop", ios_batch["batch_id"], "--reason", "dev build", "--by", "alice")
    assert drop.returncode == 0 and "dropped" in drop.stdout
    again = nova("batches", "release", ios_batch["batch_id"])
    assert again.returncode == 2 and "only a held batch" in again.stderr and "Traceback" not in again.stderr
    rec = json.loads(nova("reconcile", "--json").stdout)
    assert rec["dropped"] == 160 and rec["held"] == 0
    assert rec["received"] == rec["staged"] + rec["duplicate"] + rec["ignored"] + rec["dropped"] + sum(
        rec["quarantined"].values())
    assert rec["loads"][0]["parts"] == {"ios": "dropped", "web": "promoted"}
    held = json.loads(nova("batches", "list", "--state", "dropped", "--json").stdout)
    assert [(b["decided_by"], b["reason"]) for b in held] == [("alice", "dev build")]

    monitor = nova("monitor", "--json")
    checks = json.loads(monitor.stdout)["checks"]
    assert monitor.returncode in (0, 1) and checks
    assert all({"check", "scope", "outcome", "value", "threshold", "blocking"} <= set(c) for c in checks)
    assert {c["check"] for c in checks} >= {"freshness_raw", "freshness_curated", "null_user_id",
                                            "late_event_share", "quarantine_growth", "soda_row_count"}


def test_release_needs_an_id_or_all() -> None:
    res = nova("batches", "release")
    assert res.returncode == 2 and "--all" in res.stderr
