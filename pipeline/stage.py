"""STAGE → GATE → PROMOTE: apply the contracts inside the warehouse, then deduplicate.

Each step is one transaction and is idempotent, so a crash anywhere is repaired by running
again. Staging touches only the raw rows of batches not yet staged (or the quarantined lines
being replayed); promotion deduplicates against everything kept so far.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contracts.registry import Registry
from pipeline.failures import SAMPLE_LINES, StepFailure
from pipeline.failures import batch_id as batch_id_of
from pipeline.failures import record as record_failures
from pipeline.stage_audit import ensure_declared, quarantine_broken
from pipeline.stage_sql import INPUT, LOOKUP, classify_sql, unknown_platform_sql
from warehouse import clock
from warehouse.crashpoint import crash_point
from warehouse.schema import EVENT_COLUMNS, in_batches
from warehouse.session import Warehouse

EVENT_COLS = [c for c, _ in EVENT_COLUMNS]
CLASSIFIED = "_nova_classified"


@dataclass
class StageResult:
    batches: list[str] = field(default_factory=list)
    lines: int = 0
    valid: int = 0
    ignored: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    # Failures of this run (recorded in check_results): impossible rows quarantined as
    # stage_error, or batches whose staging failed and that wait for the next run.
    failures: list[StepFailure] = field(default_factory=list)

    def add(self, other: StageResult) -> None:
        self.batches += other.batches
        self.lines += other.lines
        self.valid += other.valid
        self.ignored += other.ignored
        for reason, n in other.quarantined.items():
            self.quarantined[reason] = self.quarantined.get(reason, 0) + n
        self.failures += other.failures


@dataclass
class PromoteResult:
    batches: list[str] = field(default_factory=list)
    kept: int = 0
    duplicates: int = 0
    taken_over: int = 0  # earlier copies that arrived late and replaced a kept event


def sync_feature_lookup(wh: Warehouse, reg: Registry) -> None:
    """Catalog → lookup keys: ids, legacy ids and display names within their area (first wins)."""
    rows: dict[tuple[str, str, str], str] = {}
    for f in reg.catalog.features:
        rows.setdefault(("id", f.id, ""), f.id)
    for f in reg.catalog.features:
        for legacy in f.legacy_ids:
            rows.setdefault(("legacy", legacy, ""), f.id)
        rows.setdefault(("name", f.name, f.area), f.id)
    wh.execute(f"DELETE FROM {LOOKUP}")
    values = [(k, key, area, fid) for (k, key, area), fid in rows.items()]
    wh.dbapi.cursor().executemany(f"INSERT INTO {LOOKUP} VALUES (?, ?, ?, ?)", values)


def _classify_into_temp(wh: Warehouse, reg: Registry, input_sql: str) -> None:
    wh.execute(f"CREATE OR REPLACE TEMP VIEW {INPUT} AS {input_sql}")
    parts = [classify_sql(c, reg.rules, wh.engine) for c in reg.contracts.values()]
    wh.execute(f"CREATE OR REPLACE TEMP TABLE {CLASSIFIED} AS " + " UNION ALL ".join(parts))
    wh.execute(f"INSERT INTO {CLASSIFIED} (load_id, file_path, line_number, platform, raw_line, reason) "
               f"SELECT load_id, file_path, line_number, platform, raw_line, reason FROM "
               f"({unknown_platform_sql(list(reg.contracts), wh.engine)}) u")


def _write_outcomes(wh: Warehouse) -> StageResult:
    now = clock.now()
    res = StageResult()
    ev = ", ".join(c for c in EVENT_COLS if c != "staged_at")
    wh.execute(f"INSERT INTO stg_pending ({ev}, staged_at) SELECT {ev}, ? FROM {CLASSIFIED} WHERE reason IS NULL",
               [now])
    wh.execute("INSERT INTO ignored_events (load_id, file_path, line_number, platform, reason) "
               f"SELECT load_id, file_path, line_number, platform, reason FROM {CLASSIFIED} "
               "WHERE reason = 'out_of_scope'")
    wh.execute("INSERT INTO quarantined_events (load_id, file_path, line_number, platform, raw_line, reason, "
               "contract_version, event_id, user_id, quarantined_at, feature_sent, app_version) "
               f"SELECT load_id, file_path, line_number, platform, raw_line, reason, contract_version, event_id, "
               f"user_id, ?, feature_sent, app_version FROM {CLASSIFIED} "
               "WHERE reason IS NOT NULL AND reason <> 'out_of_scope'", [now])
    for reason, n in wh.query(f"SELECT COALESCE(reason, ''), COUNT(*) FROM {CLASSIFIED} GROUP BY 1"):
        res.lines += n
        if reason == "":
            res.valid = n
        elif reason == "out_of_scope":
            res.ignored = n
        else:
            res.quarantined[reason] = n
    return res


def stage(wh: Warehouse, reg: Registry, max_lines: int | None = None) -> StageResult:
    """Classify the raw lines of every loaded batch not yet staged (with `max_lines`: whole loads,
    oldest first, up to that many lines and at least one load; the rest is left for the next run).

    The classification is computed first, outside the transaction (Snowflake commits at DDL);
    only the writes and the batch marks are one transaction, so a crash leaves nothing half done.
    A batch whose staging fails never blocks the others: the loads are then staged one by one,
    and a load that fails alone is recorded (check_results) and tried again by the next run.
    """
    pending = oldest_loads(wh.query(
        "SELECT load_id, SUM(line_count) FROM batches WHERE state = 'pending' AND staged_at IS NULL "
        "GROUP BY load_id ORDER BY load_id"), max_lines)
    declared = ensure_declared(wh, reg.rules)
    record_failures(wh, declared)
    if not pending:
        return StageResult(failures=declared)
    # Staging is per load (all its platforms at once); the gate then decides per batch.
    with wh.transaction():
        sync_feature_lookup(wh, reg)
    try:
        res = _stage_loads(wh, reg, pending)
    except Exception as exc:  # isolate the failing load, whatever the error
        if len(pending) == 1:
            res = StageResult(failures=_load_failed(wh, pending[0], exc))
        else:
            res = StageResult()
            for load_id in pending:
                try:
                    res.add(_stage_loads(wh, reg, [load_id]))
                except Exception as one:
                    res.failures += _load_failed(wh, load_id, one)
    record_failures(wh, [f for f in res.failures if f.check_name == "stage_failed"])
    res.failures = declared + res.failures
    return res


def oldest_loads(rows: list[tuple[Any, ...]], max_lines: int | None) -> list[str]:
    """Load ids in order, whole loads up to `max_lines` lines in all (at least the first one)."""
    taken, lines = [], 0
    for load_id, n in rows:
        if taken and max_lines and lines + int(n or 0) > max_lines:
            break
        taken.append(load_id)
        lines += int(n or 0)
    return taken


def _stage_loads(wh: Warehouse, reg: Registry, loads: list[str]) -> StageResult:
    ids = wh.engine.in_list(loads)
    try:
        with wh.bulk():
            _classify_into_temp(wh, reg, f"SELECT * FROM raw_events WHERE load_id IN {ids}")
        broken = quarantine_broken(wh, reg.rules, CLASSIFIED)
        with wh.transaction(), wh.bulk():
            res = _write_outcomes(wh)
            crash_point("stage:before_commit")
            now = clock.now()
            wh.execute(f"UPDATE batches SET staged_at = ?, updated_at = ? WHERE load_id IN {ids}", [now, now])
    finally:
        wh.execute(f"DROP TABLE IF EXISTS {CLASSIFIED}")
    record_failures(wh, broken)
    res.batches = [r[0] for r in wh.query(f"SELECT batch_id FROM batches WHERE load_id IN {ids} ORDER BY batch_id")]
    res.failures = broken
    crash_point("stage:after_commit")
    return res


def _load_failed(wh: Warehouse, load_id: str, exc: Exception) -> list[StepFailure]:
    """The load stays pending (the next run tries it again); each of its platform parts is
    recorded as failed, with a sample of its lines, and the batch carries the error as its note."""
    error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]
    failures = []
    for platform, n in wh.query("SELECT platform, COUNT(*) FROM raw_events WHERE load_id = ? GROUP BY 1 ORDER BY 1",
                                [load_id]):
        sample = [f"{p}:{ln}" for p, ln in wh.query(
            "SELECT file_path, line_number FROM raw_events WHERE load_id = ? AND platform IS NOT DISTINCT FROM ? "
            f"ORDER BY file_path, line_number LIMIT {SAMPLE_LINES}", [load_id, platform])]
        failures.append(StepFailure(step="stage", check_name="stage_failed", batch_id=batch_id_of(load_id, platform),
                                    platform=platform, error=f"staging failed, the batch waits for the next run: "
                                    f"{error}", lines=sample, line_count=int(n)))
    with wh.transaction():
        wh.execute("UPDATE batches SET note = ?, updated_at = ? WHERE load_id = ?",
                   [f"stage failed: {error}", clock.now(), load_id])
    return failures


# The gate's checks. The monitor registers its evaluator here (monitors.gate): it is called once
# per load with the load's staged batch ids and returns, per batch id, its check results (dicts
# with at least `check`, `outcome` and `blocking`). A batch with a blocking failure is held.
GateEvaluator = Callable[[Warehouse, list[str]], "dict[str, list[dict[str, Any]]]"]
BLOCKING_CHECKS: list[GateEvaluator] = []


def gate(wh: Warehouse, checks: list[GateEvaluator] | None = None) -> dict[str, str]:
    """Staged pending batches → promoted, or held when a blocking check fails. `checks`: the
    evaluators to run (default: those registered in BLOCKING_CHECKS; [] promotes unchecked)."""
    evaluators = BLOCKING_CHECKS if checks is None else checks
    decided: dict[str, str] = {}
    rows = wh.query("SELECT load_id, batch_id FROM batches WHERE state = 'pending' AND staged_at IS NOT NULL "
                    "ORDER BY batch_id")
    by_load: dict[str, list[str]] = {}
    for load_id, batch_id in rows:
        by_load.setdefault(load_id, []).append(batch_id)
    for batch_ids in by_load.values():
        results: dict[str, list[dict[str, Any]]] = {b: [] for b in batch_ids}
        now = clock.now()
        # The checks' stored results and the decision commit together: a crash repeats both.
        with wh.transaction():
            for evaluate in evaluators:
                try:
                    found_by_batch = evaluate(wh, batch_ids)
                except Exception as exc:  # a check that cannot run holds its own batches, never the others
                    error = f"the check could not run: {type(exc).__name__}: {exc}"[:500]
                    found_by_batch = {b: [{"check": getattr(evaluate, "__name__", "gate"), "outcome": "failed",
                                           "blocking": True, "detail": error}] for b in batch_ids}
                for batch_id, found in found_by_batch.items():
                    results.setdefault(batch_id, []).extend(found)
            for batch_id in batch_ids:
                found = results[batch_id]
                held = [r for r in found if r["outcome"] == "failed" and r.get("blocking")]
                state = "held" if held else "promoted"
                shown = [r for r in found if r["outcome"] in ("failed", "warn")]
                wh.execute("UPDATE batches SET state = ?, checks = ?, updated_at = ? "
                           "WHERE batch_id = ? AND state = 'pending'",
                           [state, json.dumps(shown, default=str), now, batch_id])
                if held:
                    wh.execute("INSERT INTO batch_decisions (batch_id, action, from_state, to_state, decided_by, "
                               "reason, decided_at) VALUES (?, 'hold', 'pending', 'held', 'gate', ?, ?)",
                               [batch_id, "; ".join(r["check"] for r in held), now])
                decided[batch_id] = state
    return decided


# Copies of one event share its client time, so their event times lie within the 72-hour
# lateness window of each other: earlier copies are looked up only among the days the batch
# touches, widened by that window. Random event ids cannot prune micro-partitions; event_date
# (the clustering key of stg_events) can: a few days are read instead of 180 (docs/snowflake.md).
COPY_WINDOW = dt.timedelta(hours=72)


def copies_window(first: dt.date | None, last: dt.date | None) -> str:
    """The stg_events predicate (date literals, so Snowflake prunes at compile time) for copies
    of events dated first..last."""
    if first is None or last is None:
        return "1 = 0"
    days = COPY_WINDOW.days + (1 if COPY_WINDOW % dt.timedelta(days=1) else 0)
    lo, hi = first - dt.timedelta(days=days), last + dt.timedelta(days=days)
    return f"event_date BETWEEN CAST('{lo.isoformat()}' AS DATE) AND CAST('{hi.isoformat()}' AS DATE)"


def promote(wh: Warehouse) -> PromoteResult:
    """Move valid events of promoted/released batches into stg_events, one kept copy per event_id:
    the earliest received_at (tie: smaller file path, line number), whatever the order of arrival."""
    res = PromoteResult()
    ready = [r[0] for r in wh.query(
        "SELECT DISTINCT b.batch_id FROM stg_pending p JOIN batches b ON b.load_id = p.load_id "
        "AND b.platform = p.platform WHERE b.state IN ('promoted', 'released') ORDER BY 1")]
    if not ready:
        return res
    part = in_batches(wh.engine.in_list(ready))
    cols = ", ".join(EVENT_COLS)
    keys = "load_id, file_path, line_number"
    now = clock.now()
    first, last = wh.query(f"SELECT MIN(event_date), MAX(event_date) FROM stg_pending WHERE {part}")[0]
    window = copies_window(first, last)
    # Rank on the key columns only (before the transaction: Snowflake commits at DDL); whole
    # rows then move once, straight to their table, in one transaction.
    with wh.bulk():
        wh.execute(
            "CREATE OR REPLACE TEMP TABLE _nova_rank AS SELECT event_id, load_id, file_path, line_number, is_new, "
            "ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY received_at, file_path, line_number, load_id) AS rn "
            f"FROM (SELECT event_id, received_at, {keys}, 1 AS is_new FROM stg_pending WHERE {part} "
            f"UNION ALL SELECT event_id, received_at, {keys}, 0 AS is_new FROM stg_events "
            f"WHERE {window} AND event_id IN (SELECT event_id FROM stg_pending WHERE {part})) c")
    with wh.transaction(), wh.bulk():
        losers = "SELECT event_id FROM _nova_rank WHERE is_new = 0 AND rn > 1"
        # Kept copies beaten by an earlier copy that arrived late: they become duplicates.
        wh.execute("INSERT INTO pending_changes (event_date, workspace_id, user_id, change, created_at, event_id) "
                   "SELECT event_date, workspace_id, user_id, 'removed', ?, event_id FROM stg_events "
                   f"WHERE event_id IN ({losers})", [now])
        wh.execute(f"INSERT INTO stg_duplicates ({cols}) SELECT {cols} FROM stg_events WHERE event_id IN ({losers})")
        wh.execute(f"DELETE FROM stg_events WHERE event_id IN ({losers})")
        for target, cond in (("stg_events", "rn = 1"), ("stg_duplicates", "rn > 1")):
            wh.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM stg_pending "
                       f"WHERE {part} AND ({keys}) IN "
                       f"(SELECT {keys} FROM _nova_rank WHERE is_new = 1 AND {cond})")
        # With the event id: curate appends the event instead of rewriting its whole unit.
        wh.execute("INSERT INTO pending_changes (event_date, workspace_id, user_id, change, created_at, event_id) "
                   f"SELECT event_date, workspace_id, user_id, 'added', ?, event_id FROM stg_pending WHERE {part} "
                   f"AND ({keys}) IN (SELECT {keys} FROM _nova_rank WHERE is_new = 1 AND rn = 1)", [now])
        counts = wh.query("SELECT SUM(CASE WHEN is_new = 1 AND rn = 1 THEN 1 ELSE 0 END), "
                          "SUM(CASE WHEN is_new = 1 AND rn > 1 THEN 1 ELSE 0 END), "
                          "SUM(CASE WHEN is_new = 0 AND rn > 1 THEN 1 ELSE 0 END) FROM _nova_rank")[0]
        wh.execute(f"DELETE FROM stg_pending WHERE {part}")
        crash_point("promote:before_commit")
    wh.execute("DROP TABLE IF EXISTS _nova_rank")
    res.batches = ready
    res.kept, res.duplicates, res.taken_over = (int(x or 0) for x in counts)
    return res


def replay_quarantine(wh: Warehouse, reg: Registry, reason: str) -> StageResult:
    """Re-apply the current contracts to quarantined lines of one reason; lines that now pass
    are staged (and deduplicated by the next promotion), the others keep their new verdict."""
    keys = "(load_id, file_path, line_number)"
    with wh.transaction():
        sync_feature_lookup(wh, reg)
    wh.execute("CREATE OR REPLACE TEMP TABLE _nova_replay AS SELECT load_id, file_path, line_number "
               "FROM quarantined_events WHERE reason = ?", [reason])
    _classify_into_temp(
        wh, reg, f"SELECT r.* FROM raw_events r WHERE {keys} IN (SELECT {keys} FROM _nova_replay)")
    broken = quarantine_broken(wh, reg.rules, CLASSIFIED)
    with wh.transaction():
        wh.execute(f"DELETE FROM quarantined_events WHERE {keys} IN (SELECT {keys} FROM _nova_replay)")
        res = _write_outcomes(wh)
    wh.execute(f"DROP TABLE IF EXISTS {CLASSIFIED}")
    wh.execute("DROP TABLE IF EXISTS _nova_replay")
    record_failures(wh, broken)
    res.failures = broken
    return res
