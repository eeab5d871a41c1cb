"""The gate's evaluator: every check of every platform part of a load from ONE aggregate query,
judged against the scope's recent normal, stored in check_results and metric_history.

`gate_checks` is what pipeline.stage.gate calls (the command layer passes it in; it is also
registered in pipeline.stage.BLOCKING_CHECKS on import). The volume check's expectation (the
seasonal detector's, else the simple bound) comes from monitors/volume.py.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

from monitors.checks import RULES, Comparison, GateRule, Outcome, judge, rule_for, unknown_check_names
from monitors.gate_sql import gate_metrics_sql, hourly_volume_sql
from monitors.normal import DayHistory, arrival, rate_normal
from monitors.store import CheckResult, metric_values_by_time_of_day, new_run_id, put_metrics, store_results
from monitors.volume import HOUR, VOLUME_METRIC, Expectation, VolumeContext, scope_of, simple_expectation
from nova.errors import Exit, NovaError
from pipeline.stage import BLOCKING_CHECKS
from warehouse import clock
from warehouse.session import Warehouse


def metric_name(rule: GateRule) -> str:
    return f"gate.{rule.name}"


def volume_expectation(wh: Warehouse, platform: str, hour: dt.datetime) -> Expectation | None:
    """The simple bound of one hour of arrival (valid lines): the median of the same hour on the last
    `lookback_days` days (at least `min_history` of them), / and x `volume_factor`. None on a cold start.
    The gate uses it only where the seasonal detector has no expectation (monitors/volume.py)."""
    cfg = wh.settings.monitor
    history = VolumeContext(wh, [platform], [(hour, hour + HOUR)]).simple[platform]
    return simple_expectation(history, hour, cfg.lookback_days, cfg.min_history, cfg.volume_factor)


def history_stamp(arrived: dt.datetime, batch_id: str) -> dt.datetime:
    """The bucket_start of a part's history values: its arrival, plus under a second fixed by its batch id.
    put_metrics replaces a row of the same key, so two parts with the same midpoint (identical lines
    re-delivered under another path) would otherwise keep one value; a re-evaluation of the same part
    still replaces its own row."""
    return arrived + dt.timedelta(microseconds=zlib.crc32(batch_id.encode()) % 1_000_000)


def _received(metrics: dict[tuple[str, str], dict[str, Any]], part: dict[str, Any]) -> tuple[Any, Any]:
    row = metrics.get((part["load_id"], part["platform"]), {})
    return row.get("first_received_at"), row.get("last_received_at")


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
    # The lookback counts back from now, or from the parts' arrival when earlier (a replay of older
    # traffic finds the history of its own days).
    arrivals = {b: arrival(*_received(metrics, p), p["created_at"]) for b, p in parts.items()}
    since = min([clock.now(), *arrivals.values()]) - dt.timedelta(days=cfg.lookback_days)
    normals = {k: DayHistory(*sv) for k, sv in metric_values_by_time_of_day(wh, "gate.", since).items()}
    volume = VolumeContext(wh, platforms, [(r["first_received_at"], r["last_received_at"]) for r in metrics.values()
                                           if r.get("first_received_at") is not None])
    run_id = run_id or new_run_id("gate")
    results: list[CheckResult] = []
    history: list[tuple[str, str, dt.datetime, int, float]] = []
    for batch_id, part in parts.items():
        platform, scope = part["platform"], scope_of(part["platform"])
        row = metrics.get((part["load_id"], platform), {"lines": 0, "valid": 0})
        first, last = row.get("first_received_at"), row.get("last_received_at")
        arrived = arrivals[batch_id]
        span = (last - first) if first is not None and last is not None else dt.timedelta(0)
        stamp = history_stamp(arrived, batch_id)
        for base in RULES:
            rule = rule_for(base.name, platform, cfg)
            value, n = _value(rule, row)
            detail: dict[str, Any] = {"lines": int(row.get("lines") or 0), "valid": int(row.get("valid") or 0)}
            if rule.comparison is Comparison.outside:
                exp, why_not = volume.part(platform, row.get("first_received_at"), row.get("last_received_at"))
                if exp is not None and exp.quantity == "new_events" and value is not None:
                    value -= float(row.get("n_duplicate") or 0)  # the detector counts each event once
                normal = exp.expected if exp else None
                outcome, limit = judge(rule, value, normal, n, (exp.lower, exp.upper) if exp else None)
                detail |= exp.detail() if exp else {"expectation_source": None, "reason": why_not}
            else:
                basis = rate_normal(normals.get((metric_name(rule), scope), DayHistory([], [])), arrived,
                                    cfg.normal_window_hours, cfg.min_history, span)
                normal = basis.value
                outcome, limit = judge(rule, value, normal, n)
                detail |= {"normal_source": basis.basis.value, "normal_basis": basis.text, "normal_n": basis.n}
                if rule.limit is not None:
                    detail["limit_seconds"] = rule.limit
            if outcome is not Outcome.not_evaluated and rule.comparison is not Comparison.outside:
                history.append((metric_name(rule), scope, stamp, 0, float(value or 0.0)))
            results.append(CheckResult(
                check=rule.name, source="gate", scope=scope, scope_type="platform", outcome=outcome.value,
                value=value, threshold=limit, normal=normal, blocking=rule.blocking, batch_id=batch_id,
                platform=platform, detail=detail | {"cold_start": normal is None}))
        history.append(("gate.lines", scope, stamp, 0, float(row.get("lines") or 0)))
    hourly = [(VOLUME_METRIC, scope_of(p), hour, 3600, float(n))
              for p, hour, n in wh.query(hourly_volume_sql(e, load_ids)) if p in platforms]
    with wh.transaction():
        put_metrics(wh, history)
        put_metrics(wh, hourly, add=True)
        store_results(wh, run_id, results)
    return results


def gate_checks(wh: Warehouse, batch_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The evaluator pipeline.stage.gate calls: per batch id, its results as dicts."""
    out: dict[str, list[dict[str, Any]]] = {b: [] for b in batch_ids}
    for r in evaluate_batches(wh, batch_ids):
        out[r.batch_id or ""].append(r.public())
    return out


if gate_checks not in BLOCKING_CHECKS:
    BLOCKING_CHECKS.append(gate_checks)
