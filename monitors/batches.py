"""Batches as on-call sees them: list, the evidence behind a decision, release and drop.

A batch is one platform's part of one load (`<load_id>/<platform>`). Release sends a held batch
on to the next `nova run`; drop keeps it for audit but never curates it (reconcile counts it as
`dropped`). Every decision is recorded in `batch_decisions` with who and why.
"""

from __future__ import annotations

import json
import os
from typing import Any

from monitors.checks import RULES_BY_NAME
from monitors.gate_sql import clock_offset
from nova.errors import Exit, NovaError
from warehouse import clock
from warehouse.session import Warehouse

STATES = ("loading", "pending", "promoted", "held", "released", "dropped")
TOP = 5
SAMPLES = 3


def who(by: str | None) -> str:
    return by or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def list_batches(wh: Warehouse, state: str | None = None) -> list[dict[str, Any]]:
    if state is not None and state not in STATES:
        raise NovaError(f"unknown state {state!r}", hint=f"one of: {', '.join(STATES)}", code=Exit.USAGE)
    where, params = ("WHERE state = ?", [state]) if state else ("", [])
    rows = wh.query_dicts(
        "SELECT batch_id, load_id, platform, state, file_count AS files, line_count AS lines, created_at, "
        f"updated_at, checks, decided_by, reason, note FROM batches {where} ORDER BY batch_id", params)
    for r in rows:
        checks = json.loads(r.pop("checks") or "[]")
        r["failed_checks"] = [c["check"] for c in checks if c.get("outcome") == "failed"]
        r["warned_checks"] = [c["check"] for c in checks if c.get("outcome") == "warn"]
        r["checks"] = checks
    return rows


def get_batch(wh: Warehouse, batch_id: str) -> dict[str, Any]:
    rows = wh.query_dicts("SELECT * FROM batches WHERE batch_id = ?", [batch_id])
    if not rows:
        raise NovaError(f"no batch {batch_id!r}", hint="`nova batches list` shows batch ids (<load_id>/<platform>)",
                        code=Exit.USAGE)
    return rows[0]


def _decide(wh: Warehouse, batch_id: str, action: str, allowed: tuple[str, ...], to_state: str, by: str,
            reason: str | None) -> dict[str, Any]:
    b = get_batch(wh, batch_id)
    if b["state"] not in allowed:
        raise NovaError(f"batch {batch_id} is {b['state']}: only a {' or '.join(allowed)} batch can be "
                        f"{action.rstrip('e')}ed", code=Exit.USAGE)
    now = clock.now()
    with wh.transaction():
        wh.execute("UPDATE batches SET state = ?, decided_by = ?, decided_at = ?, reason = ?, updated_at = ? "
                   "WHERE batch_id = ? AND state = ?", [to_state, by, now, reason, now, batch_id, b["state"]])
        wh.execute("INSERT INTO batch_decisions (batch_id, action, from_state, to_state, decided_by, reason, "
                   "decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [batch_id, action, b["state"], to_state, by, reason, now])
    return {"batch_id": batch_id, "from": b["state"], "to": to_state, "by": by, "reason": reason}


def release(wh: Warehouse, batch_id: str, by: str, reason: str | None = None) -> dict[str, Any]:
    """held → released: promoted and curated by the next `nova run`."""
    return _decide(wh, batch_id, "release", ("held",), "released", by, reason)


def release_all(wh: Warehouse, by: str, reason: str | None = None) -> list[dict[str, Any]]:
    ids = [r[0] for r in wh.query("SELECT batch_id FROM batches WHERE state = 'held' ORDER BY batch_id")]
    return [release(wh, b, by, reason) for b in ids]


def drop(wh: Warehouse, batch_id: str, by: str, reason: str) -> dict[str, Any]:
    """held (or pending) → dropped: kept for audit, never curated, counted as dropped in reconcile."""
    if not reason.strip():
        raise NovaError("a drop needs a reason", hint="--reason 'why these lines must never be curated'",
                        code=Exit.USAGE)
    return _decide(wh, batch_id, "drop", ("held", "pending"), "dropped", by, reason)


def decisions(wh: Warehouse, batch_id: str) -> list[dict[str, Any]]:
    return wh.query_dicts("SELECT action, from_state, to_state, decided_by, reason, decided_at FROM batch_decisions "
                          "WHERE batch_id = ? ORDER BY decided_at", [batch_id])


def latest_results(wh: Warehouse, batch_id: str) -> list[dict[str, Any]]:
    """The batch's gate results of its last evaluation."""
    run = wh.scalar("SELECT MAX(run_id) FROM check_results WHERE batch_id = ? AND source = 'gate'", [batch_id])
    return wh.query_dicts(
        "SELECT check_name AS check, outcome, value, normal, threshold, blocking, detail FROM check_results "
        "WHERE batch_id = ? AND run_id = ? ORDER BY result_id", [batch_id, run]) if run else []


# --- evidence --------------------------------------------------------------------------------
def _events(wh: Warehouse) -> str:
    """Valid lines wherever they are now: waiting (held), kept or duplicate (promoted)."""
    cols = "event_id, feature_sent, feature_id, app_version, file_path, line_number, sent_at, received_at, load_id, " \
           "platform"
    return (f"(SELECT {cols} FROM stg_pending UNION ALL SELECT {cols} FROM stg_events "
            f"UNION ALL SELECT {cols} FROM stg_duplicates)")


def offending_query(wh: Warehouse, batch: dict[str, Any], check: str) -> str | None:
    """The SELECT that returns every offending line of a check for this batch (printed for on-call)."""
    rule = RULES_BY_NAME.get(check)
    if rule is None or rule.evidence == "volume":
        return None
    e = wh.engine

    def part(alias: str = "") -> str:
        return f"{alias}load_id = {e.lit(batch['load_id'])} AND {alias}platform = {e.lit(batch['platform'])}"

    if rule.evidence.startswith("reason:"):
        code = rule.evidence.split(":", 1)[1]
        return (f"SELECT file_path, line_number, feature_sent, app_version, raw_line FROM quarantined_events "
                f"WHERE {part()} AND reason = {e.lit(code)} ORDER BY file_path, line_number")
    if rule.evidence == "duplicate":
        return (f"SELECT l.* FROM {_events(wh)} l WHERE {part('l.')} AND l.event_id IN "
                f"(SELECT event_id FROM {_events(wh)} x GROUP BY event_id HAVING COUNT(*) > 1) "
                "ORDER BY l.event_id, l.received_at")
    limit = rule.limit or RULES_BY_NAME["clock_drift"].limit
    return (f"SELECT l.*, {clock_offset(e, 'l')} AS clock_offset_seconds FROM {_events(wh)} l "
            f"WHERE {part('l.')} AND ABS({clock_offset(e, 'l')}) > {limit} "
            "ORDER BY l.file_path, l.line_number")


def _top(wh: Warehouse, query: str, column: str) -> list[dict[str, Any]]:
    rows = wh.query(f"SELECT {column}, COUNT(*) AS n FROM ({query}) o GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP}")
    return [{"value": v, "lines": int(n)} for v, n in rows]


def evidence(wh: Warehouse, batch_id: str) -> dict[str, Any]:
    """What on-call needs to decide: each failed or warned check with its value against its normal
    and threshold, the top offending values, sample lines, and the query to see all of them."""
    b = get_batch(wh, batch_id)
    out: dict[str, Any] = {"batch_id": batch_id, "load_id": b["load_id"], "platform": b["platform"],
                           "state": b["state"], "lines": b["line_count"], "files": b["file_count"],
                           "created_at": b["created_at"], "decisions": decisions(wh, batch_id), "checks": []}
    for r in latest_results(wh, batch_id):
        if r["outcome"] not in ("failed", "warn"):
            continue
        item = dict(r, detail=json.loads(r["detail"] or "{}"))
        q = offending_query(wh, b, r["check"])
        if q:
            item["query"] = q
            item["offending_lines"] = int(wh.scalar(f"SELECT COUNT(*) FROM ({q}) o") or 0)
            cols = ["feature_sent", "app_version", "file_path"]
            item["top"] = {c: _top(wh, q, c) for c in cols}
            sample_col = "raw_line" if "raw_line" in q.split(" FROM ", 1)[0] else "event_id"
            item["samples"] = [
                {"file": f, "line": int(n), "text": str(t)[:400]}
                for f, n, t in wh.query(f"SELECT file_path, line_number, {sample_col} FROM ({q}) o "
                                        f"ORDER BY file_path, line_number LIMIT {SAMPLES}")]
        out["checks"].append(item)
    return out
