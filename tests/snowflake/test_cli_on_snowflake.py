"""Every production command, end to end on the Snowflake engine (fakesnow server mode), as
on-call and the scheduled job run them: the claim of rows Snowpipe copied, run, reconcile,
batches, quarantine, gdpr, retention, backfill, query, the writer lock."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.conftest import write_landing
from tests.pipeline.helpers import android, backend, ios, web
from tests.snowflake.conftest import nova
from tests.snowflake.snowpipe import snowpipe
from warehouse.session import open_warehouse


def test_the_production_commands_on_snowflake(sf: Any, sf_env: dict[str, str], tmp_path: Path) -> None:
    land = tmp_path / "landing"
    write_landing(land, "web", "a.jsonl", [web("m1"), web("m2", userId="u_gone"), web("m1"), "{not json"])
    # The same day as the other lines (the helper's iOS line is a year older): the monitor's detector
    # would otherwise write a year of empty hourly buckets row by row to the test server.
    write_landing(land, "ios", "b.jsonl", [ios("I1", ts=1795626000123, sent_ts=1795626002000,
                                               received_at="2026-11-25T17:00:02.350Z")])
    write_landing(land, "android", "c.jsonl", [android("a1")])
    write_landing(land, "backend", "d.jsonl", [backend("b1")])
    assert snowpipe(sf, land) == 7
    sf.close()

    assert "claimed 7 lines" in nova("load", env=sf_env).stdout
    assert "nothing new" in nova("load", env=sf_env).stdout
    run = nova("run", env=sf_env).stdout
    # One batch per platform part of the load (`<load_id>/<platform>`): four platforms, four batches.
    assert "gate: 4 of 4 batch(es) promoted" in run, run
    assert "promoted 4 batch(es): 5 kept, 1 duplicates" in run, run
    rec = json.loads(nova("reconcile", "--json", env=sf_env).stdout)
    assert (rec["received"], rec["staged"], rec["duplicate"], rec["quarantined"]) == (7, 5, 1, {"invalid_json": 1})
    batches = json.loads(nova("batches", "list", "--json", env=sf_env).stdout)
    assert sorted((b["platform"], b["state"]) for b in batches) == [
        ("android", "promoted"), ("backend", "promoted"), ("ios", "promoted"), ("web", "promoted")], batches
    assert all(b["batch_id"].endswith("/" + b["platform"]) for b in batches), batches
    assert "a.jsonl:4" in nova("quarantine", "show", "invalid_json", env=sf_env).stdout

    assert "recorded request" in nova("gdpr", "request", "u_gone", env=sf_env).stdout
    status = json.loads(nova("gdpr", "status", "--json", env=sf_env).stdout)
    assert status[0]["status"] == "pending"  # point 1: gdpr commands read Snowflake's upper-case columns
    assert "free" in nova("lock", "show", env=sf_env).stdout

    # `nova monitor` runs the generated Soda contracts on Snowflake (Soda's own connection to the server):
    # a model bug, a curated event without a user, is caught beside our checks and stored with them.
    with open_warehouse() as w:
        w.execute("INSERT INTO fct_feature_events (event_id, event_ts, event_date, received_at, platform, feature_id, "
                  "user_id, workspace_id) VALUES ('bug1', '2026-11-25 17:30:00', '2026-11-25', '2026-11-25 17:30:05', "
                  "'web', 'editor', NULL, 'ws_001')")
    mon = nova("monitor", "--json", env=sf_env, ok=False)
    assert mon.returncode == 1, mon.stderr
    soda = {(c["scope"], c["check"]): c for c in json.loads(mon.stdout)["checks"] if c["source"] == "soda"}
    fct = "table=fct_feature_events"
    assert soda[(fct, "soda_missing_user_id")]["outcome"] == "failed", soda
    assert {k[1]: v["outcome"] for k, v in soda.items() if k[0] == fct and k[1] != "soda_missing_user_id"} == {
        "soda_missing_event_id": "passed", "soda_missing_workspace_id": "passed", "soda_missing_feature_id": "passed",
        "soda_missing_event_ts": "passed", "soda_duplicate_event_id": "passed", "soda_invalid_feature_id": "passed",
        "soda_invalid_platform": "passed", "soda_row_count": "passed", "soda_freshness": "passed"}, soda
    assert soda[("table=feature_usage_daily", "soda_row_count")]["outcome"] == "passed", soda
    stored = json.loads(nova("query", "SELECT check_name, outcome FROM check_results WHERE source = 'soda' "
                             "AND outcome = 'failed'", "--format", "json", env=sf_env).stdout)
    # Snowflake names unquoted result columns in upper case.
    assert [{k.lower(): v for k, v in r.items()} for r in stored] == [
        {"check_name": "soda_missing_user_id", "outcome": "failed"}], stored


def test_gdpr_retention_backfill_on_snowflake(sf: Any, sf_env: dict[str, str], tmp_path: Path) -> None:
    land = tmp_path / "landing"
    write_landing(land, "web", "a.jsonl", [web("m1"), web("m2", userId="u_gone"), web("m1"), "{not json"])
    assert snowpipe(sf, land) == 4
    sf.close()
    nova("load", env=sf_env)
    # The claim reads each line's user (point 5: erasure finds a user's lines by this column).
    users = json.loads(nova("query", "SELECT line_number, user_id FROM raw_events ORDER BY 1", "--format", "json",
                            env=sf_env).stdout)
    assert [(r.get("line_number"), r.get("user_id")) for r in users] == [(1, "u_0001"), (2, "u_gone"), (3, "u_0001"),
                                                                  (4, None)], users
    nova("run", env=sf_env)
    assert "recorded request" in nova("gdpr", "request", "u_gone", env=sf_env).stdout
    processed = nova("gdpr", "process", "--landing", str(land), env=sf_env).stdout
    assert "completed" in processed and "NOT completed" not in processed, processed
    status = nova("gdpr", "status", "--json", env=sf_env).stdout
    assert json.loads(status)[0]["status"] == "completed"
    rewritten = (land / "platform=web/dt=2026-11-25/hour=17/a.jsonl").read_bytes()
    assert b"u_gone" not in rewritten
    # Point 4: the ledger knows the rewritten file by an identity Snowflake lists (the MD5).
    ledger = json.loads(nova("query", "SELECT file_path, size_bytes, checksum FROM load_ledger ORDER BY 1",
                             "--format", "json", env=sf_env).stdout)
    a = [r for r in ledger if r["file_path"].endswith("a.jsonl")]
    assert a == [{"file_path": "platform=web/dt=2026-11-25/hour=17/a.jsonl", "size_bytes": len(rewritten),
                  "checksum": "md5:" + hashlib.md5(rewritten).hexdigest()}], ledger
    assert all(r["checksum"].startswith("md5:") for r in ledger)

    counts = nova("query", "SELECT COUNT(*) AS n FROM fct_feature_events", "--format", "json", env=sf_env).stdout
    assert json.loads(counts)[0]["n"] == 1
    assert nova("retention", "apply", "--json", env=sf_env).returncode == 0
    assert nova("backfill", "--from", "2026-11-24", "--to", "2026-11-25", env=sf_env).returncode == 0
    again = nova("query", "SELECT COUNT(*) AS n FROM fct_feature_events", "--format", "json", env=sf_env).stdout
    assert json.loads(again)[0]["n"] == 1
    assert "free" in nova("lock", "show", env=sf_env).stdout
