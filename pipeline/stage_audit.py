"""The staged layer cannot hold an impossible row (issue 18).

Two guards. The warehouse declares NOT NULL on what the curated models key on
(`schema.EVENT_NOT_NULL`, both engines). And before the stage step writes, an audit (a SELECT
of the bad rows, STYLE) checks every valid line against what no engine can declare: times
representable and within their windows, `event_date` the date of `event_ts`. A line that breaks
either is a bug in staging, not in the line: it is quarantined as `stage_error` (conservation
holds: it is in exactly one state), the failure names the batch and the lines, and the rest of
the batch stages. Warehouses created before the declaration get it here, once (`ensure_declared`).
"""

from __future__ import annotations

from contracts.registry import Rules
from pipeline.failures import SAMPLE_LINES, StepFailure, batch_id
from warehouse import clock
from warehouse.engine import Engine
from warehouse.schema import EVENT_NOT_NULL, LINE_KEY, TABLES_BY_NAME
from warehouse.session import Warehouse

STAGED_TABLES = ("stg_pending", "stg_events", "stg_duplicates")
REASON = "stage_error"


def broken_rule(e: Engine, rules: Rules, alias: str = "") -> str:
    """The first invariant a staged row breaks, by name; NULL when it breaks none."""
    a = f"{alias}." if alias else ""
    window = rules.plausible_time_days * 86_400_000_000
    late = rules.max_lateness_hours * 3_600_000_000
    ahead = rules.clock_ahead_tolerance_minutes * 60_000_000

    def holds(cond: str) -> str:
        return f"COALESCE({cond}, FALSE)"  # a comparison with an infinity or NULL is a breach

    checks = [(f"{a}{c} IS NULL", f"null {c}") for c in EVENT_NOT_NULL]
    checks += [
        (f"NOT {holds(e.ts_representable(a + 'received_at'))}", "received_at outside 1970-2200"),
        (f"NOT {holds(e.ts_within(a + 'client_ts', a + 'received_at', window, window))}",
         "client_ts not within the plausible window of received_at"),
        (f"NOT {holds(e.ts_within(a + 'event_ts', a + 'received_at', late, ahead))}",
         "event_ts not within [received_at - max lateness, received_at + clock-ahead tolerance]"),
        (f"NOT {holds(a + 'event_date = ' + e.to_date(a + 'event_ts'))}", "event_date is not the date of event_ts"),
    ]
    return "CASE " + " ".join(f"WHEN {cond} THEN {e.lit(name)}" for cond, name in checks) + " END"


def quarantine_broken(wh: Warehouse, rules: Rules, table: str) -> list[StepFailure]:
    """Valid lines of the classified `table` that break an invariant become `stage_error`, with
    their raw line; returns one failure per batch part (load, platform) with sample lines."""
    rule = broken_rule(wh.engine, rules)
    if not wh.scalar(f"SELECT COUNT(*) FROM {table} WHERE reason IS NULL AND ({rule}) IS NOT NULL"):
        return []
    rows = wh.query(
        f"SELECT load_id, platform, rule, file_path, line_number, n FROM ("
        f"SELECT load_id, platform, rule, file_path, line_number, COUNT(*) OVER (PARTITION BY load_id, platform) AS n, "
        f"ROW_NUMBER() OVER (PARTITION BY load_id, platform ORDER BY file_path, line_number) AS rn "
        f"FROM (SELECT *, {rule} AS rule FROM {table} WHERE reason IS NULL) x WHERE rule IS NOT NULL) y "
        f"WHERE rn <= {SAMPLE_LINES} ORDER BY load_id, platform, file_path, line_number")
    wh.execute(f"UPDATE {table} SET reason = {wh.engine.lit(REASON)} WHERE reason IS NULL AND ({rule}) IS NOT NULL")
    match = " AND ".join(f"{table}.{k} = r.{k}" for k in LINE_KEY)
    wh.execute(f"UPDATE {table} SET raw_line = r.raw_line FROM raw_events r "
               f"WHERE {table}.reason = {wh.engine.lit(REASON)} AND {match}")
    failures: dict[tuple[str, str], StepFailure] = {}
    for load_id, platform, why, path, line, n in rows:
        f = failures.setdefault((load_id, platform), StepFailure(
            step="stage", check_name="stage_invariants", batch_id=batch_id(load_id, platform), platform=platform,
            error=f"staging produced impossible rows ({why}); quarantined as {REASON}", line_count=int(n)))
        f.lines.append(f"{path}:{line}")
    return list(failures.values())


def ensure_declared(wh: Warehouse, rules: Rules) -> list[StepFailure]:
    """Declare NOT NULL on staged tables created before it existed. Rows that would refuse it
    (and rows no engine can hold sensibly, such as an infinite date) were staged by an older
    release: they move to quarantine as `stage_error`, the changes they queued for curate are
    dropped, and the constraint is added. Cheap when there is nothing to do (one metadata query)."""
    nullable = {(t, c) for t, c in wh.query(
        "SELECT lower(table_name), lower(column_name) FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_nullable = 'YES'")}
    todo = [(t, c) for t in STAGED_TABLES for c in TABLES_BY_NAME[t].not_null if (t, c) in nullable]
    if not todo:
        return []
    e = wh.engine
    rule = broken_rule(e, rules, "s")
    failures: list[StepFailure] = []
    with wh.transaction():
        for t in STAGED_TABLES:
            bad = f"SELECT {', '.join(LINE_KEY)} FROM {t} s WHERE ({rule}) IS NOT NULL"
            n = int(wh.scalar(f"SELECT COUNT(*) FROM ({bad}) b") or 0)
            if not n:
                continue
            sample = [f"{p}:{ln}" for p, ln in wh.query(
                f"SELECT file_path, line_number FROM {t} s WHERE ({rule}) IS NOT NULL "
                f"ORDER BY file_path, line_number LIMIT {SAMPLE_LINES}")]
            wh.execute(
                "INSERT INTO quarantined_events (load_id, file_path, line_number, platform, raw_line, reason, "
                "contract_version, event_id, user_id, quarantined_at) "
                f"SELECT s.load_id, s.file_path, s.line_number, s.platform, r.raw_line, {e.lit(REASON)}, "
                f"s.contract_version, s.event_id, s.user_id, ? FROM {t} s LEFT JOIN raw_events r "
                f"ON r.load_id = s.load_id AND r.file_path = s.file_path AND r.line_number = s.line_number "
                f"WHERE ({rule}) IS NOT NULL", [clock.now()])
            wh.execute(f"DELETE FROM {t} WHERE ({', '.join(LINE_KEY)}) IN ({bad})")
            failures.append(StepFailure(
                step="stage", check_name="stage_invariants", scope=t, line_count=n, lines=sample,
                error=f"{n} impossible row(s) staged by an older release moved from {t} to quarantine ({REASON})"))
        # Changes queued for dates no partition can have (NULL, infinite) cannot be curated.
        wh.execute(f"DELETE FROM pending_changes WHERE event_date IS NULL OR NOT COALESCE("
                   f"{e.ts_representable('event_date')}, FALSE)")
        for t, c in todo:
            wh.execute(f"ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL")
    return failures
