"""check_results has one writer (warehouse/results.py): the monitor's results and the pipeline's step
failures go through it and read back as before."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from monitors.store import CheckResult, store_results
from pipeline.failures import StepFailure, record
from tests.conftest import REPO
from warehouse import clock

SQL_WRITE = re.compile(r"INSERT INTO check_results|insert_rows\((\s*[^,\"]+,)?\s*\"check_results\"")


def test_no_module_writes_check_results_but_the_one_writer() -> None:
    code = [p for d in ("warehouse", "pipeline", "monitors", "alerts", "service", "nova")
            for p in (REPO / d).rglob("*.py")]
    writers = sorted(str(p.relative_to(REPO)) for p in code if SQL_WRITE.search(p.read_text()))
    assert writers == ["warehouse/results.py"]
    users = sorted(str(p.relative_to(REPO)) for p in code if "insert_check_results(" in p.read_text())
    assert {"monitors/store.py", "pipeline/failures.py"} <= set(users), users


def test_monitor_results_and_step_failures_read_back_as_stored(wh: Any) -> None:
    with clock.set_now(dt.datetime(2026, 11, 25, 18)):
        with wh.transaction():
            store_results(wh, "round-1", [CheckResult("late_event_share", "table", "table=stg_events", "warn",
                                                      value=0.2, threshold=0.1, detail={"events": 10})])
        record(wh, [StepFailure("stage", "stage_failed", "boom", batch_id="L1/ios", platform="ios",
                                lines=["f.jsonl:3"], line_count=1)], run_id="stage-1")
    rows = wh.query_dicts("SELECT * FROM check_results ORDER BY source")
    assert [(r["source"], r["result_id"] if r["source"] == "table" else len(r["result_id"])) for r in rows] == [
        ("pipeline", 32), ("table", "round-1/0")]
    fail, table = rows
    assert {k: fail[k] for k in ("run_id", "check_name", "scope_type", "scope", "batch_id", "platform", "feature_id",
                                 "value", "threshold", "normal", "outcome", "blocking")} == {
        "run_id": "stage-1", "check_name": "stage_failed", "scope_type": "batch", "scope": "L1/ios",
        "batch_id": "L1/ios", "platform": "ios", "feature_id": None, "value": 1.0, "threshold": 0.0,
        "normal": None, "outcome": "failed", "blocking": False}
    assert json.loads(fail["detail"]) == {"step": "stage", "error": "boom", "lines": ["f.jsonl:3"], "line_count": 1}
    assert (table["scope_type"], table["value"], table["threshold"], table["outcome"]) == ("table", 0.2, 0.1, "warn")
    assert json.loads(table["detail"]) == {"events": 10}
    assert str(fail["checked_at"]) == str(table["checked_at"]) == "2026-11-25 18:00:00"
