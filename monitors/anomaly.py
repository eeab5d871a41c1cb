"""One round of the volume detector over the warehouse: metric_history → check_results + volume_expectations.

1. `record_series` refreshes the hourly counts of the touched buckets (monitors/series.py).
2. The arrival-delay distribution (received_at - event_ts of staged events received in the last
   `delay_sample_days`) says how long after its end a bucket is complete up to
   `readiness_share`: buckets are judged only once that long has passed (the horizon is the
   latest received_at, i.e. the pipeline's "now"), and the few late events still to come are
   allowed for by scaling the expected value by the arrived share.
3. Every series is judged from its last judged bucket on (a first round: the last
   `max_catchup_days`), in time order and across series at once (the detector's FDR correction).
4. Per series judged: one `check_results` row per anomaly episode (outcome failed; consecutive
   anomalous buckets of one direction are one episode), else one passed row; a series without
   enough history gets one not_evaluated row. Judged buckets and the next `forecast_buckets`
   buckets are stored in `volume_expectations`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from config import Settings, get_settings
from config.detector import DetectorConfig
from monitors.detector import (
    Detector,
    Judgement,
    Series,
    arrival_readiness,
    bucket_index,
    bucket_time,
    completeness,
    episodes,
)
from monitors.series import METRIC, record_series
from monitors.store import put_metrics
from warehouse import clock
from warehouse.results import RESULT_COLUMNS, ResultRow, insert_check_results
from warehouse.session import Warehouse

CHECK_NAME = "volume_anomaly"
SOURCE = "detector"
RESIDUAL_WARMUP = dt.timedelta(days=8)  # the scale needs a week of judged residuals before reporting
DELAY_PROBS = tuple(np.round(np.linspace(0.0, 1.0, 41), 3))  # the arrival CDF kept as 41 quantiles
DELAY_METRIC = "detector.arrival_delay_seconds"  # its quantiles, scope `p=<prob>`, per day (the gate reads them)


def arrival_delays(wh: Warehouse, cfg: DetectorConfig, horizon: dt.datetime) -> np.ndarray:
    """Quantiles of received_at - event_ts (seconds) over staged events received recently."""
    e = wh.engine
    delay = e.seconds_between("event_ts", "received_at")
    row = wh.query(f"SELECT {e.percentiles(delay, [float(q) for q in DELAY_PROBS])} FROM stg_events "
                   "WHERE received_at >= ? AND received_at <= ?",
                   [horizon - dt.timedelta(days=cfg.delay_sample_days), horizon])[0]
    return np.array([float(x) for x in e.percentile_values(row) if x is not None])


def learned_holidays(wh: Warehouse) -> dict[str, dict[dt.date, str]]:
    """Days on-call acknowledged as expected (incidents.acknowledged_as = 'expected'), per series scope."""
    out: dict[str, dict[dt.date, str]] = {}
    for scope, result_ids, opened in wh.query(
            "SELECT scope, result_ids, opened_at FROM incidents WHERE acknowledged_as = 'expected'"):
        days: set[dt.date] = set()
        ids = _id_list(result_ids)
        if ids:
            marks = ", ".join("?" for _ in ids)
            for (detail,) in wh.query(f"SELECT detail FROM check_results WHERE result_id IN ({marks}) "
                                      f"AND source = '{SOURCE}'", ids):
                d = json.loads(detail or "{}")
                for key in ("first_anomalous_bucket", "last_anomalous_bucket"):
                    if d.get(key):
                        days.add(dt.datetime.fromisoformat(d[key]).date())
        if not days and opened is not None:
            days.add(opened.date())
        for day in days:
            out.setdefault(scope, {})[day] = "acknowledged as expected"
    return out


def _id_list(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        v = json.loads(text)
        return [str(x) for x in v] if isinstance(v, list) else [str(v)]
    except ValueError:
        return [x.strip() for x in text.split(",") if x.strip()]


def detect_volume_anomalies(wh: Warehouse, reg: Any = None, *, settings: Settings | None = None,
                            run_id: str | None = None) -> list[dict[str, Any]]:
    """One detector round; returns the check_results rows written (as dicts)."""
    settings = settings or get_settings()
    cfg = settings.detector
    B = cfg.bucket_seconds
    step = dt.timedelta(seconds=B)
    run_id = run_id or f"R{clock.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    record_series(wh, cfg)
    received = wh.scalar("SELECT MAX(received_at) FROM stg_events")
    pending = wh.scalar("SELECT MAX(received_at) FROM stg_pending")
    horizon = max([t for t in (received, pending) if t is not None], default=None)
    if horizon is None:
        return []
    horizon = min(horizon, clock.now())
    delays = arrival_delays(wh, cfg, horizon)
    ready_delay = arrival_readiness(delays, cfg.readiness_share)
    # Buckets starting before `end` have ended at least `ready_delay` before the horizon.
    end = bucket_time(bucket_index(horizon - dt.timedelta(seconds=ready_delay), B), B)
    lookback = dt.timedelta(days=cfg.max_catchup_days + 7 * cfg.baseline_weeks + 9)
    rows = wh.query("SELECT scope, bucket_start, value FROM metric_history WHERE metric = ? AND bucket_seconds = ? "
                    "AND bucket_start >= ? AND bucket_start < ? ORDER BY scope, bucket_start",
                    [METRIC, B, end - lookback, end])
    by_scope: dict[str, tuple[list[dt.datetime], list[float]]] = {}
    for scope, b, v in rows:
        s = by_scope.setdefault(scope, ([], []))
        s[0].append(b)
        s[1].append(float(v))
    state = _stored_state(wh, B, end - lookback)
    learned = learned_holidays(wh)
    series: list[Series] = []
    report_from: dict[str, dt.datetime] = {}
    for scope, (starts, values) in by_scope.items():
        s = Series.from_points(scope, starts, values, B)
        last, known = state.get(scope, (None, {}))
        s.known_anomalous = np.array([known.get(bucket_time(s.start_index + i, B), False)
                                      for i in range(len(s.values))], bool)
        ages = [(horizon - bucket_time(s.start_index + i + 1, B)).total_seconds() for i in range(len(s.values))]
        s.completeness = np.array([completeness(delays, a, B) if a < 3 * 86_400 else 1.0 for a in ages])
        s.holidays = learned.get(scope, {})
        series.append(s)
        report_from[scope] = last + step if last is not None else max(
            bucket_time(s.start_index, B), end - dt.timedelta(days=cfg.max_catchup_days))
    if not series:
        return []
    det = Detector(cfg, cfg.holiday_names())
    start = min(report_from.values()) - RESIDUAL_WARMUP
    judged = det.run(series, report_from=report_from, start=start)
    now = clock.now()
    results: list[dict[str, Any]] = []
    exp_rows: list[tuple[Any, ...]] = []
    for s in series:
        js = judged.get(s.key, [])
        window = (report_from[s.key], min(end, bucket_time(s.end_index, B)))
        if window[0] >= window[1]:
            continue  # nothing new is ready for this series
        if not js:
            results.append(_result(run_id, s.key, "not_evaluated", None, window, now, ready_delay,
                                   note="not enough history to judge (min_history_days)"))
            continue
        for j in js:
            exp_rows.append((s.key, j.bucket_start, B, j.value, j.expected, j.lower, j.upper, j.confidence,
                             j.score, j.p_value, j.direction, j.anomalous, j.episode_start, True, now))
        eps = episodes(js)
        if eps:
            results.extend(_result(run_id, s.key, "failed", ep, window, now, ready_delay) for ep in eps)
        else:
            results.append(_result(run_id, s.key, "passed", js, window, now, ready_delay))
        if cfg.forecast_buckets:
            for b, e, (lo, hi) in det.forecast(s.key, cfg.forecast_buckets):
                exp_rows.append((s.key, b, B, None, e.expected, lo, hi, e.confidence, None, None, None, None, None,
                                 False, now))
    _store(wh, exp_rows, results, B, delay_rows(delays, horizon))
    return results


def _stored_state(wh: Warehouse, seconds: int, since: dt.datetime
                  ) -> dict[str, tuple[dt.datetime | None, dict[dt.datetime, bool]]]:
    """Per scope: the last judged bucket and the anomalous decisions already taken."""
    out: dict[str, tuple[dt.datetime | None, dict[dt.datetime, bool]]] = {}
    for scope, b, anomalous in wh.query(
            "SELECT scope, bucket_start, anomalous FROM volume_expectations WHERE judged AND bucket_seconds = ? "
            "AND bucket_start >= ? ORDER BY scope, bucket_start", [seconds, since]):
        known = out.get(scope, (None, {}))[1]
        known[b] = bool(anomalous)
        out[scope] = (b, known)
    return out


def _scope_fields(scope: str) -> tuple[str | None, str | None]:
    kind, _, name = scope.partition("=")
    return (name if kind == "platform" else None), (name if kind in ("feature", "area") else None)


def _result(run_id: str, scope: str, outcome: str, js: Sequence[Judgement] | None,
            window: tuple[dt.datetime, dt.datetime], now: dt.datetime, ready_delay: float,
            note: str = "") -> dict[str, Any]:
    platform, feature = _scope_fields(scope)
    detail: dict[str, Any] = {"window_start": window[0].isoformat(), "window_end": window[1].isoformat(),
                              "readiness_delay_minutes": round(ready_delay / 60, 1)}
    value = threshold = normal = None
    if note:
        detail["note"] = note
    if js:
        worst = max(js, key=lambda j: abs(j.score)) if outcome == "failed" else js[-1]
        value, normal = worst.value, worst.expected
        threshold = worst.lower if worst.direction == "drop" else worst.upper
        detail.update({
            "expected": round(worst.expected, 3), "lower": round(worst.lower, 3), "upper": round(worst.upper, 3),
            "value": worst.value, "direction": worst.direction, "score": round(worst.score, 3),
            "p_value": worst.p_value, "confidence": worst.confidence, "history_days": round(worst.history_days, 2),
            "buckets_judged": len(js)})
        if outcome == "failed":
            severity = worst.severity
            if severity == "critical" and not scope.startswith("platform="):
                severity = "high"  # near zero on a platform is the most important alert there is
            detail.update({
                "first_anomalous_bucket": js[0].bucket_start.isoformat(),
                "last_anomalous_bucket": js[-1].bucket_start.isoformat(),
                "episode_start": (js[0].episode_start or js[0].bucket_start).isoformat(),
                "anomalous_buckets": len(js), "severity": severity,
                "holiday": worst.holiday,
                "observed_total": float(sum(j.value for j in js)),
                "expected_total": round(float(sum(j.expected for j in js)), 3)})
    key = f"{run_id}|{scope}|{detail.get('first_anomalous_bucket', '')}|{outcome}"
    return {
        "result_id": hashlib.sha256(key.encode()).hexdigest()[:20], "run_id": run_id, "check_name": CHECK_NAME,
        "source": SOURCE, "scope_type": "series", "scope": scope, "batch_id": None, "platform": platform,
        "feature_id": feature, "value": value, "threshold": threshold, "normal": normal, "outcome": outcome,
        "blocking": False, "detail": json.dumps(detail, sort_keys=True), "checked_at": now}


EXPECTATION_COLUMNS = ("scope", "bucket_start", "bucket_seconds", "value", "expected", "lower", "upper", "confidence",
                       "score", "p_value", "direction", "anomalous", "episode_start", "judged", "computed_at")


def delay_rows(delays: np.ndarray, horizon: dt.datetime) -> list[tuple[str, str, dt.datetime, int, float]]:
    """The round's arrival-delay quantiles as metric_history rows (one set per day, the latest round's),
    which the gate's volume check converts the expectations to arrival time with."""
    day = horizon.replace(hour=0, minute=0, second=0, microsecond=0)
    if len(delays) != len(DELAY_PROBS):
        return []
    return [(DELAY_METRIC, f"p={p:.3f}", day, 86_400, float(v)) for p, v in zip(DELAY_PROBS, delays, strict=True)]


def stored_delays(wh: Warehouse) -> np.ndarray:
    """The arrival-delay quantiles (seconds) of the detector's latest day; empty before its first round."""
    rows = wh.query("SELECT scope, value FROM metric_history WHERE metric = ? AND bucket_seconds = 86400 AND "
                    "bucket_start = (SELECT MAX(bucket_start) FROM metric_history WHERE metric = ?)",
                    [DELAY_METRIC, DELAY_METRIC])
    return np.array([v for _, v in sorted((float(scope[2:]), float(v)) for scope, v in rows)])


def _store(wh: Warehouse, exp_rows: list[tuple[Any, ...]], results: list[dict[str, Any]], seconds: int,
           delays: list[tuple[str, str, dt.datetime, int, float]]) -> None:
    with wh.transaction():
        put_metrics(wh, delays)
        if exp_rows:
            # Each series' rows cover one contiguous range of buckets: replace exactly that range.
            ranges: dict[str, tuple[dt.datetime, dt.datetime]] = {}
            for r in exp_rows:
                lo, hi = ranges.get(r[0], (r[1], r[1]))
                ranges[r[0]] = (min(lo, r[1]), max(hi, r[1]))
            wh.dbapi.cursor().executemany(
                "DELETE FROM volume_expectations WHERE scope = ? AND bucket_seconds = ? AND bucket_start >= ? "
                "AND bucket_start <= ?", [(scope, seconds, lo, hi) for scope, (lo, hi) in sorted(ranges.items())])
            wh.insert_rows("volume_expectations", EXPECTATION_COLUMNS, exp_rows)
        insert_check_results(wh, [ResultRow(**{c: r[c] for c in RESULT_COLUMNS}) for r in results])


def volume_expectation(wh: Warehouse, platform: str, hour: dt.datetime,
                       settings: Settings | None = None) -> tuple[float, float, float] | None:
    """(expected, lower, upper) of a platform's event count in the bucket holding `hour`, or None
    when the detector has no expectation for it yet (cold start, or not computed that far)."""
    cfg = (settings or get_settings()).detector
    b = bucket_time(bucket_index(hour, cfg.bucket_seconds), cfg.bucket_seconds)
    row = wh.query("SELECT expected, lower, upper FROM volume_expectations WHERE scope = ? AND bucket_start = ? "
                   "AND bucket_seconds = ? ORDER BY judged DESC, computed_at DESC LIMIT 1",
                   [f"platform={platform}", b, cfg.bucket_seconds])
    if not row or row[0][0] is None:
        return None
    return float(row[0][0]), float(row[0][1]), float(row[0][2])
