"""Reading what the trust scores are computed from: one aggregate query per source table and day.

Everything is counted by arrival (`received_at`) so that a day's numbers are the ones a dashboard
showed at the evaluation instant; staged, pending, held, duplicate and quarantined lines all come
with their platform and (where the line names one) the catalog feature they belong to.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contracts.registry import Registry
from monitors.trust.definition import COMPLETENESS_REASONS, VALIDITY_REASONS
from warehouse.session import Warehouse

Key = tuple[str, str | None]  # (platform, catalog feature id or None when the line names none we know)
MEASURES = ("valid", "held", "waiting", "dup", "qc", "qv")


@dataclass
class QuarantineGroup:
    platform: str
    feature: str | None
    sent: str | None
    version: str | None
    reason: str
    hour: int
    n: int
    first_at: dt.datetime


@dataclass
class Facts:
    day: dt.date
    start: dt.datetime
    end: dt.datetime  # evaluation instant: the end of the day, or now while the day runs
    hours: int  # complete hours of the day up to `end`
    hourly: dict[Key, dict[str, np.ndarray]] = field(default_factory=dict)
    prior: dict[Key, float] = field(default_factory=dict)  # valid + quarantined over the baseline days
    quarantine: list[QuarantineGroup] = field(default_factory=list)
    oldest_waiting: dict[str, dt.datetime] = field(default_factory=dict)  # per platform
    held_since: dict[str, dt.datetime] = field(default_factory=dict)
    held_batches: list[dict[str, Any]] = field(default_factory=list)
    late_profile: dict[str, tuple[float, float]] = field(default_factory=dict)  # platform -> (late, total)
    last_arrival: dt.datetime | None = None
    freshness_checks: list[dict[str, Any]] = field(default_factory=list)
    model_runs: dict[str, dt.datetime] = field(default_factory=dict)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    expectations: dict[str, dict[int, tuple[float, float, float]]] = field(default_factory=dict)

    def arrays(self, key: Key) -> dict[str, np.ndarray]:
        if key not in self.hourly:
            self.hourly[key] = {m: np.zeros(24) for m in MEASURES}
        return self.hourly[key]


class Attributor:
    """A line's feature text → the catalog feature it belongs to: the id, a legacy id, else the longest
    known prefix (an unknown `editor.comments.mentionx` belongs to Editor > Comments), else the area a
    web SDK < 4.0 line names."""

    def __init__(self, reg: Registry):
        self.ids = {f.id for f in reg.catalog.features}
        self.legacy = {old: f.id for f in reg.catalog.features for old in f.legacy_ids}

    def __call__(self, sent: str | None, area: str | None) -> str | None:
        if sent:
            if sent in self.ids:
                return sent
            if sent in self.legacy:
                return self.legacy[sent]
            parts = sent.split(".")
            for n in range(len(parts) - 1, 0, -1):
                prefix = ".".join(parts[:n])
                if prefix in self.ids:
                    return prefix
        if area and area in self.ids:
            return area
        return None


def _columns(wh: Warehouse, table: str) -> set[str]:
    return {r[0].lower() for r in wh.query(
        "SELECT column_name FROM information_schema.columns WHERE lower(table_name) = lower(?)", [table])}


def _path_expr(wh: Warehouse, reg: Registry, field_name: str) -> str:
    """Per platform, the text of a canonical field read from the raw line (first present path wins)."""
    whens = []
    for platform, contract in reg.contracts.items():
        mapping = contract.mapping.get(field_name)
        if mapping is None:
            continue
        paths = [wh.engine.json_text_of_line("q.raw_line", p) for p in mapping.from_]
        expr = paths[0] if len(paths) == 1 else f"COALESCE({', '.join(paths)})"
        whens.append(f"WHEN {wh.engine.lit(platform)} THEN {expr}")
    return f"CASE q.platform {' '.join(whens)} END" if whens else "CAST(NULL AS VARCHAR)"


def read_facts(wh: Warehouse, reg: Registry, day: dt.date, now: dt.datetime, baseline_days: int) -> Facts:
    start = dt.datetime.combine(day, dt.time())
    end = min(now, start + dt.timedelta(days=1))
    hours = 24 if end >= start + dt.timedelta(days=1) else max(0, int((end - start).total_seconds() // 3600))
    facts = Facts(day=day, start=start, end=end, hours=hours)
    since = start - dt.timedelta(days=baseline_days)
    attrib = Attributor(reg)
    # Per-platform batches (batch_id = <load_id>/<platform>) when the gate stores them, else per load.
    bcols = _columns(wh, "batches")
    on_platform = " AND (b.platform IS NULL OR b.platform = p.platform)" if "platform" in bcols else ""
    rows = wh.query(
        "SELECT platform, feature_id, CAST(received_at AS DATE) AS d, EXTRACT(HOUR FROM received_at) AS h, "
        "status, COUNT(*), MIN(received_at) FROM ("
        " SELECT platform, feature_id, received_at, 'valid' AS status FROM stg_events"
        "  WHERE received_at >= ? AND received_at < ?"
        " UNION ALL"
        " SELECT p.platform, p.feature_id, p.received_at,"
        "  CASE WHEN b.state = 'held' THEN 'held' WHEN b.state = 'dropped' THEN 'dropped' ELSE 'waiting' END"
        f"  FROM stg_pending p LEFT JOIN batches b ON b.load_id = p.load_id{on_platform}"
        "  WHERE p.received_at >= ? AND p.received_at < ?"
        " UNION ALL"
        " SELECT platform, feature_id, received_at, 'dup' FROM stg_duplicates"
        "  WHERE received_at >= ? AND received_at < ?"
        ") x GROUP BY 1, 2, 3, 4, 5", [since, end] * 3)
    for platform, feature, d, h, status, n, first_at in rows:
        key = (platform, attrib(feature, None))
        if d < day:
            if status in ("valid", "held", "waiting"):
                facts.prior[key] = facts.prior.get(key, 0.0) + n
            continue
        arr = facts.arrays(key)
        if status == "dropped":
            continue
        if status in ("valid", "held", "waiting"):
            arr["valid"][int(h)] += n
        if status in ("held", "waiting", "dup"):
            arr[status][int(h)] += n
        if status == "waiting":
            facts.oldest_waiting[platform] = min(first_at, facts.oldest_waiting.get(platform, first_at))
        if status == "held":
            facts.held_since[platform] = min(first_at, facts.held_since.get(platform, first_at))

    feature_sql, area_sql = _path_expr(wh, reg, "feature"), _path_expr(wh, reg, "feature_area")
    version_sql = _path_expr(wh, reg, "app_version")
    arrived = "COALESCE(r.received_at, q.quarantined_at)"
    rows = wh.query(
        f"SELECT q.platform, {feature_sql}, {area_sql}, {version_sql}, q.reason, CAST({arrived} AS DATE), "
        f"EXTRACT(HOUR FROM {arrived}), COUNT(*), MIN({arrived}) "
        "FROM quarantined_events q LEFT JOIN raw_events r "
        "ON r.load_id = q.load_id AND r.file_path = q.file_path AND r.line_number = q.line_number "
        f"WHERE {arrived} >= ? AND {arrived} < ? GROUP BY 1, 2, 3, 4, 5, 6, 7", [since, end])
    for platform, sent, area, version, reason, d, h, n, first_at in rows:
        key = (platform, attrib(sent, area))
        if d < day:
            facts.prior[key] = facts.prior.get(key, 0.0) + n
            continue
        measure = "qc" if reason in COMPLETENESS_REASONS else "qv" if reason in VALIDITY_REASONS else None
        if measure:
            facts.arrays(key)[measure][int(h)] += n
        facts.quarantine.append(QuarantineGroup(platform, key[1], sent, version, reason, int(h), n, first_at))

    # Late data: of the events of each past day that had happened by the same time of day as this
    # day's evaluation instant, how many arrived after that time (the rest of the day is not late,
    # it has not happened yet).
    offset = (end - start).total_seconds()
    midnight = "CAST(event_date AS TIMESTAMP)"
    arrived_after = wh.engine.seconds_between(midnight, "received_at")
    happened = wh.engine.seconds_between(midnight, "event_ts")
    for platform, late, total in wh.query(
            f"SELECT platform, SUM(CASE WHEN {arrived_after} > ? THEN 1 ELSE 0 END), COUNT(*) FROM ("
            " SELECT platform, event_date, event_ts, received_at FROM stg_events"
            "  WHERE event_date >= ? AND event_date < ?"
            " UNION ALL SELECT platform, event_date, event_ts, received_at FROM stg_pending"
            f"  WHERE event_date >= ? AND event_date < ?) x WHERE {happened} < ? GROUP BY platform",
            [offset, since.date(), day, since.date(), day, offset]):
        facts.late_profile[platform] = (float(late or 0), float(total))

    # Lines loaded but not staged yet wait too (their batch is still being processed).
    for platform, first_at in wh.query(
            "SELECT r.platform, MIN(r.received_at) FROM raw_events r JOIN batches b ON b.load_id = r.load_id "
            "WHERE b.staged_at IS NULL AND b.state IN ('loading', 'pending') "
            "AND r.received_at >= ? AND r.received_at < ? GROUP BY r.platform", [start, end]):
        if first_at is not None:
            facts.oldest_waiting[platform] = min(first_at, facts.oldest_waiting.get(platform, first_at))
    facts.last_arrival = wh.scalar("SELECT MAX(received_at) FROM raw_events WHERE received_at < ?", [end])
    facts.freshness_checks = wh.query_dicts(
        "SELECT check_name, outcome, value, threshold, detail, checked_at FROM check_results "
        "WHERE check_name LIKE 'freshness.%' AND checked_at >= ? AND checked_at < ? ORDER BY checked_at",
        [start, end])
    if wh.table_exists("model_state"):
        facts.model_runs = {m: t for m, t in wh.query("SELECT model, last_run_at FROM model_state") if t}
    cols = "b.load_id, b.state, b.updated_at, b.checks, b.note" + (", b.batch_id, b.platform" if "platform" in bcols
                                                                   else "")
    facts.held_batches = wh.query_dicts(f"SELECT {cols} FROM batches b WHERE b.state = 'held'")
    for batch in facts.held_batches:
        bid = batch.get("batch_id") or batch["load_id"]
        batch["failed_checks"] = [r[0] for r in wh.query(
            "SELECT DISTINCT check_name FROM check_results WHERE outcome = 'failed' AND "
            "(batch_id = ? OR batch_id LIKE ?) ORDER BY 1", [bid, f"{batch['load_id']}/%"])]
        if not batch["failed_checks"] and batch.get("checks"):
            batch["failed_checks"] = _failed_from_text(batch["checks"])
    facts.incidents = wh.query_dicts(
        "SELECT incident_key, kind, scope, platform, area, feature_id, batch_id, severity, state, title, "
        "opened_at, resolved_at FROM incidents WHERE opened_at < ? AND (state = 'open' OR resolved_at >= ?) "
        "ORDER BY opened_at", [end, start])
    facts.expectations = _expectations(wh, start)
    return facts


def _expectations(wh: Warehouse, start: dt.datetime) -> dict[str, dict[int, tuple[float, float, float]]]:
    """The detector's band per series and hour of the day (buckets of an hour or less, summed per hour;
    a judged bucket wins over a forecast of it, the latest computation over older ones)."""
    cols = _columns(wh, "volume_expectations")
    if not {"scope", "bucket_start", "expected", "lower", "upper"} <= cols:
        return {}
    seconds = "bucket_seconds" if "bucket_seconds" in cols else "3600"
    order = ("judged DESC, " if "judged" in cols else "") + ("computed_at DESC" if "computed_at" in cols else "1")
    best: dict[tuple[str, dt.datetime], tuple[float, float, float]] = {}
    for scope, bucket, size, expected, lower, upper in wh.query(
            f"SELECT scope, bucket_start, {seconds}, expected, lower, upper FROM volume_expectations "
            f"WHERE bucket_start >= ? AND bucket_start < ? AND expected IS NOT NULL ORDER BY {order}",
            [start, start + dt.timedelta(days=1)]):
        if size is not None and int(size) <= 3600 and (scope, bucket) not in best:
            best[(scope, bucket)] = (float(expected), float(lower or 0.0), float(upper or expected))
    out: dict[str, dict[int, tuple[float, float, float]]] = {}
    for (scope, bucket), (e, lo, up) in best.items():
        prev = out.setdefault(scope, {}).get(bucket.hour, (0.0, 0.0, 0.0))
        out[scope][bucket.hour] = (prev[0] + e, prev[1] + lo, prev[2] + up)
    return out


def _failed_from_text(checks: str) -> list[str]:
    """The gate's own summary in `batches.checks` (JSON object name -> outcome, or free text)."""
    try:
        data = json.loads(checks)
    except (ValueError, TypeError):
        return [checks[:80]]
    if isinstance(data, dict):
        return sorted(k for k, v in data.items() if str(v).lower().startswith(("fail", "held")) or v is False)
    if isinstance(data, list):  # the gate's [{"check": ..., "outcome": "failed" | "warn", ...}]
        out = []
        for x in data:
            if isinstance(x, dict):
                if x.get("outcome", "failed") == "failed":
                    out.append(str(x.get("check") or x.get("check_name") or "a check"))
            else:
                out.append(str(x))
        return out[:5]
    return []


def group_by(rows: list[QuarantineGroup], attr: str) -> dict[Any, int]:
    out: dict[Any, int] = defaultdict(int)
    for r in rows:
        out[getattr(r, attr)] += r.n
    return dict(out)
