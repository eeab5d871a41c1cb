"""The gate's evaluator: every check of every platform part of a load from ONE aggregate query,
judged against the scope's recent normal, stored in check_results and metric_history.

`gate_checks` is what pipeline.stage.gate calls (the command layer passes it in; it is also
registered in pipeline.stage.BLOCKING_CHECKS on import). The volume bound is one hook,
`volume_expectation`, that the seasonal detector can replace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from monitors.checks import RULES, Comparison, GateRule, Outcome, judge, rule_for, unknown_check_names
from monitors.gate_sql import gate_metrics_sql, hourly_volume_sql
from monitors.store import CheckResult, median, metric_values, new_run_id, put_metrics, store_results
from nova.errors import Exit, NovaError
from pipeline.stage import BLOCKING_CHECKS
from warehouse import clock
from warehouse.session import Warehouse

HOUR = dt.timedelta(hours=1)
VOLUME_METRIC = "volume.valid_lines"
MIN_VOLUME_SPAN = dt.timedelta(minutes=5)

Expectation = tuple[float, float, float]  # expected, lower, upper


def scope_of(platform: str) -> str:
    return f"platform={platform}"


def metric_name(rule: GateRule) -> str:
    return f"gate.{rule.name}"


def volume_expectation(wh: Warehouse, platform: str, hour: dt.datetime) -> Expectation | None:
    """Valid lines expected in one hour of arrival: the median of the same hour on the last
    `lookback_days` days (at least `min_history` of them), / and x `volume_factor`. None on a cold start.
    The single hook the seasonal detector replaces (assign `monitors.gate.VOLUME_EXPECTATION`)."""
    cfg = wh.settings.monitor
    history = _volume_history(wh, platform, hour - dt.timedelta(days=cfg.lookback_days), hour)
    days = [hour - dt.timedelta(days=k) for k in range(1, cfg.lookback_days + 1)]
    mid = median([history[d] for d in days if d in history], cfg.min_history)
    if mid is None:
        return None
    return mid, mid / cfg.volume_factor, mid * cfg.volume_factor


# Hourly volume rows read once per gate evaluation (one query instead of one per hour and platform).
_volume_cache: dict[str, dict[dt.datetime, float]] | None = None


def _volume_history(wh: Warehouse, platform: str, since: dt.datetime, until: dt.datetime) -> dict[dt.datetime, float]:
    if _volume_cache is not None and platform in _volume_cache:
        return _volume_cache[platform]
    return {start: float(v) for start, v in wh.query(
        "SELECT bucket_start, value FROM metric_history WHERE metric = ? AND scope = ? AND bucket_seconds = 3600 "
        "AND bucket_start >= ? AND bucket_start < ?", [VOLUME_METRIC, scope_of(platform), since, until])}


VOLUME_EXPECTATION: Callable[[Warehouse, str, dt.datetime], Expectation | None] = volume_expectation


def part_expectation(wh: Warehouse, platform: str, first: dt.datetime | None,
                     last: dt.datetime | None) -> Expectation | None:
    """The expectation over the hours a batch covers, each hour weighted by the share of it covered."""
    if first is None or last is None or last - first < MIN_VOLUME_SPAN:
        return None
    total = [0.0, 0.0, 0.0]
    hour = first.replace(minute=0, second=0, microsecond=0)
    while hour <= last:
        share = (min(hour + HOUR, last) - max(hour, first)) / HOUR
        exp = VOLUME_EXPECTATION(wh, platform, hour)
        if exp is None:
            return None
        for i in range(3):
            total[i] += exp[i] * share
        hour += HOUR
    return total[0], total[1], total[2]


def _value(rule: GateRule, row: dict[str, Any]) -> tuple[float | None, int]:
    """(value, lines the check is judged on) of one rule on one batch's metrics row."""
    raw = row.get(rule.metric)
    denominator = int(row.get(rule.per) or 0) if rule.per else int(row.get("drift_measured" if rule.evidence
                                                                              == "drift" else "lines") or 0)
    if raw is None:
        return None, denominator
    if rule.per:
        return (float(raw) / denominator if denominator else None), denominator
    return float(raw), denominator


def evaluate_batches(wh: Warehouse, batch_ids: list[str], *, run_id: str | None = None) -> list[CheckResult]:
    """Every rule on every batch of the given ids (all of one or more loads); results and metrics stored."""
    cfg = wh.settings.monitor
    if unknown_check_names(cfg):
        raise NovaError(f"[monitor] names unknown checks: {', '.join(unknown_check_names(cfg))}",
                        hint="docs/monitoring.md lists the checks", code=Exit.CONFIG)
    e = wh.engine
    parts = {b: wh.query_dicts("SELECT batch_id, load_id, platform, created_at FROM batches WHERE batch_id = ?",
                               [b])[0] for b in batch_ids}
    load_ids = sorted({p["load_id"] for p in parts.values()})
    platforms = sorted({p["platform"] for p in parts.values()})
    limits = {p: rule_for("clock_drift", p, cfg).limit or 3600.0 for p in platforms}
    default_limit = rule_for("clock_drift", "", cfg).limit or 3600.0
    metrics = {(r["load_id"], r["platform"]): r for r in wh.query_dicts(
        gate_metrics_sql(e, load_ids, limits, default_limit))}
    since = clock.now() - dt.timedelta(days=cfg.lookback_days)
    normals = metric_values(wh, "gate.", since)
    _prefetch_volume(wh, platforms, metrics.values())
    run_id = run_id or new_run_id("gate")
    results: list[CheckResult] = []
    history: list[tuple[str, str, dt.datetime, int, float]] = []
    for batch_id, part in parts.items():
        platform, scope = part["platform"], scope_of(part["platform"])
        row = metrics.get((part["load_id"], platform), {"lines": 0, "valid": 0})
        for base in RULES:
            rule = rule_for(base.name, platform, cfg)
            value, n = _value(rule, row)
            detail: dict[str, Any] = {"lines": int(row.get("lines") or 0), "valid": int(row.get("valid") or 0)}
            if rule.comparison is Comparison.outside:
                exp = part_expectation(wh, platform, row.get("first_received_at"), row.get("last_received_at"))
                normal = exp[0] if exp else None
                outcome, limit = judge(rule, value, normal, n, (exp[1], exp[2]) if exp else None)
                if exp:
                    detail |= {"expected": exp[0], "lower": exp[1], "upper": exp[2]}
            else:
                normal = median(normals.get((metric_name(rule), scope), []), cfg.min_history)
                outcome, limit = judge(rule, value, normal, n)
                if rule.limit is not None:
                    detail["limit_seconds"] = rule.limit
            if outcome is not Outcome.not_evaluated and rule.comparison is not Comparison.outside:
                history.append((metric_name(rule), scope, part["created_at"], 0, float(value or 0.0)))
            results.append(CheckResult(
                check=rule.name, source="gate", scope=scope, scope_type="platform", outcome=outcome.value,
                value=value, threshold=limit, normal=normal, blocking=rule.blocking, batch_id=batch_id,
                platform=platform, detail=detail | {"cold_start": normal is None}))
        history.append(("gate.lines", scope, part["created_at"], 0, float(row.get("lines") or 0)))
    hourly = [(VOLUME_METRIC, scope_of(p), hour, 3600, float(n))
              for p, hour, n in wh.query(hourly_volume_sql(e, load_ids)) if p in platforms]
    global _volume_cache
    _volume_cache = None
    with wh.transaction():
        put_metrics(wh, history)
        put_metrics(wh, hourly, add=True)
        store_results(wh, run_id, results)
    return results


def _prefetch_volume(wh: Warehouse, platforms: list[str], rows: Any) -> None:
    """Every hourly volume row the batches' expectations can need, in one query."""
    global _volume_cache
    firsts = [r["first_received_at"] for r in rows if r.get("first_received_at") is not None]
    lasts = [r["last_received_at"] for r in rows if r.get("last_received_at") is not None]
    _volume_cache = {p: {} for p in platforms}
    if not firsts:
        return
    since = min(firsts) - dt.timedelta(days=wh.settings.monitor.lookback_days + 1)
    for scope, start, v in wh.query(
            "SELECT scope, bucket_start, value FROM metric_history WHERE metric = ? AND bucket_seconds = 3600 "
            "AND bucket_start >= ? AND bucket_start < ?", [VOLUME_METRIC, since, max(lasts)]):
        plat = scope.split("=", 1)[1]
        if plat in _volume_cache:
            _volume_cache[plat][start] = float(v)


def gate_checks(wh: Warehouse, batch_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The evaluator pipeline.stage.gate calls: per batch id, its results as dicts."""
    out: dict[str, list[dict[str, Any]]] = {b: [] for b in batch_ids}
    for r in evaluate_batches(wh, batch_ids):
        out[r.batch_id or ""].append(r.public())
    return out


if gate_checks not in BLOCKING_CHECKS:
    BLOCKING_CHECKS.append(gate_checks)
