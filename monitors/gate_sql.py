"""The gate's SQL, pure (engine in, text out): ONE aggregate query computes every check's metric
for every platform part of the loads being gated, over their pending (valid) and quarantined lines.
Rendered through warehouse.engine, so the same source runs on DuckDB and Snowflake (golden tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitors.checks import RULES
from warehouse.engine import Engine
from warehouse.schema import batch_platform

REASON_METRICS = tuple(r.evidence.split(":", 1)[1] for r in RULES if r.evidence.startswith("reason:"))


def clock_offset(e: Engine, alias: str = "p") -> str:
    """How far the client clock is off, in seconds: received_at - sent_at (both read when the line was
    sent, so the delivery delay cancels out); NULL where the client sent no send time."""
    seconds = e.seconds_between(f"{alias}.sent_at", f"{alias}.received_at")
    return f"CASE WHEN {alias}.sent_at IS NOT NULL THEN {seconds} END"


def _limit_by_platform(e: Engine, limits: Mapping[str, float], default: float) -> str:
    if not limits:
        return repr(float(default))
    cases = " ".join(f"WHEN {e.lit(p)} THEN {float(v)!r}" for p, v in sorted(limits.items()))
    return f"CASE l.platform {cases} ELSE {float(default)!r} END"


def gate_metrics_sql(e: Engine, load_ids: Sequence[str], drift_limits: Mapping[str, float],
                     default_limit: float) -> str:
    """One row per (load_id, platform): lines, valid, n_<reason> per quarantine reason, n_duplicate,
    drift_measured, n_drift, drift_median, first/last received_at."""
    ids = e.in_list(load_ids)
    reasons = ",\n  ".join(f"SUM(CASE WHEN l.reason = {e.lit(r)} THEN 1 ELSE 0 END) AS n_{r}" for r in REASON_METRICS)
    limit = _limit_by_platform(e, drift_limits, default_limit)
    return (
        "SELECT l.load_id, l.platform,\n"
        "  COUNT(*) AS lines,\n"
        "  SUM(CASE WHEN l.reason IS NULL THEN 1 ELSE 0 END) AS valid,\n"
        f"  {reasons},\n"
        # Valid lines minus the event ids they bring for the first time: what will be duplicates.
        "  SUM(CASE WHEN l.reason IS NULL THEN 1 ELSE 0 END)"
        " - COUNT(DISTINCT CASE WHEN l.seen = 0 THEN l.event_id END) AS n_duplicate,\n"
        "  COUNT(l.clock_offset) AS drift_measured,\n"
        f"  SUM(CASE WHEN ABS(l.clock_offset) > {limit} THEN 1 ELSE 0 END) AS n_drift,\n"
        "  MEDIAN(l.clock_offset) AS drift_median,\n"
        "  MIN(l.received_at) AS first_received_at,\n"
        "  MAX(l.received_at) AS last_received_at\n"
        "FROM (\n"
        "  SELECT p.load_id, p.platform, CAST(NULL AS VARCHAR) AS reason, p.event_id,\n"
        "    CASE WHEN k.event_id IS NULL THEN 0 ELSE 1 END AS seen,\n"
        f"    {clock_offset(e)} AS clock_offset, p.received_at\n"
        f"  FROM stg_pending p LEFT JOIN stg_events k ON k.event_id = p.event_id\n"
        f"  WHERE p.load_id IN {ids}\n"
        "  UNION ALL\n"
        f"  SELECT q.load_id, {batch_platform('q.platform')}, q.reason, CAST(NULL AS VARCHAR), 0,\n"
        "    CAST(NULL AS DOUBLE), CAST(NULL AS TIMESTAMP)\n"
        f"  FROM quarantined_events q WHERE q.load_id IN {ids} AND q.reason <> 'unknown_platform'\n"
        ") l\n"
        "GROUP BY l.load_id, l.platform\n"
        "ORDER BY l.load_id, l.platform"
    )


def hourly_volume_sql(e: Engine, load_ids: Sequence[str]) -> str:
    """In-scope lines of these loads per platform and hour of arrival (the volume history)."""
    ids = e.in_list(load_ids)
    hour = "DATE_TRUNC('HOUR', received_at)"
    return (f"SELECT platform, {hour} AS hour, COUNT(*) AS lines FROM stg_pending WHERE load_id IN {ids} "
            f"GROUP BY 1, 2 ORDER BY 1, 2")
