"""What the monitor stores: every check result in `check_results`, every metric in `metric_history`.

Both are ordinary tables (BI tools read them; the detector, the alerts and the trust scores build
on them). A result is a plain dataclass so every source (gate, table, soda, pandera) shares it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from warehouse import clock
from warehouse.results import ResultRow, insert_check_results
from warehouse.session import Warehouse

SOURCES = ("gate", "table", "soda", "pandera")


@dataclass
class CheckResult:
    check: str
    source: str
    scope: str  # e.g. `platform=ios`, `table=feature_usage_daily`
    outcome: str  # passed / warn / failed / not_evaluated
    value: float | None = None
    threshold: float | None = None
    normal: float | None = None
    blocking: bool = False
    scope_type: str = ""
    batch_id: str | None = None
    platform: str | None = None
    feature_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The fields `nova monitor --json` and `nova batches list --json` print."""
        return {"check": self.check, "source": self.source, "scope": self.scope, "outcome": self.outcome,
                "value": self.value, "threshold": self.threshold, "normal": self.normal, "blocking": self.blocking,
                **({"batch_id": self.batch_id} if self.batch_id else {}),
                **({"detail": self.detail} if self.detail else {})}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_run_id(prefix: str) -> str:
    now = clock.now()
    return f"{prefix}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def store_results(wh: Warehouse, run_id: str, results: Sequence[CheckResult]) -> None:
    now = clock.now()
    insert_check_results(wh, [ResultRow(
        f"{run_id}/{i}", run_id, r.check, r.source, r.scope_type or r.scope.split("=", 1)[0], r.scope, r.batch_id,
        r.platform, r.feature_id, _num(r.value), _num(r.threshold), _num(r.normal), r.outcome, r.blocking,
        json.dumps(r.detail, default=str) if r.detail else None, now) for i, r in enumerate(results)])


def _num(v: float | None) -> float | None:
    return None if v is None else float(v)


def put_metrics(wh: Warehouse, rows: Iterable[tuple[str, str, dt.datetime, int, float]], *, add: bool = False) -> None:
    """(metric, scope, bucket_start, bucket_seconds, value) rows; a row of the same key is replaced,
    or, with `add`, increased (counts of an hour that later loads add to). Three statements in all."""
    merged: dict[tuple[str, str, dt.datetime, int], float] = {}
    for metric, scope, start, seconds, value in rows:
        key = (metric, scope, start, seconds)
        merged[key] = merged.get(key, 0.0) + float(value) if add else float(value)
    if not merged:
        return
    keys = list(merged)
    match = " OR ".join("(metric = ? AND scope = ? AND bucket_start = ? AND bucket_seconds = ?)" for _ in keys)
    params = [v for k in keys for v in k]
    if add:
        for metric, scope, start, seconds, old in wh.query(
                f"SELECT metric, scope, bucket_start, bucket_seconds, value FROM metric_history WHERE {match}", params):
            merged[(metric, scope, start, int(seconds))] += float(old or 0.0)
    now = clock.now()
    wh.execute(f"DELETE FROM metric_history WHERE {match}", params)
    wh.insert_rows("metric_history", ("metric", "scope", "bucket_start", "bucket_seconds", "value", "updated_at"),
                   [(*k, v, now) for k, v in merged.items()])


def metric_values(wh: Warehouse, metric_prefix: str, since: dt.datetime, *,
                  bucket_seconds: int = 0) -> dict[tuple[str, str], list[float]]:
    """Every value of the metrics starting with a prefix since a time, by (metric, scope): one query."""
    out: dict[tuple[str, str], list[float]] = {}
    for metric, scope, v in wh.query(
            "SELECT metric, scope, value FROM metric_history WHERE metric LIKE ? AND bucket_seconds = ? "
            "AND bucket_start >= ? AND value IS NOT NULL", [metric_prefix + "%", bucket_seconds, since]):
        out.setdefault((metric, scope), []).append(float(v))
    return out


def metric_values_by_time_of_day(wh: Warehouse, metric_prefix: str, since: dt.datetime, *, bucket_seconds: int = 0
                                 ) -> dict[tuple[str, str], tuple[list[float], list[float]]]:
    """Like metric_values, with the second of the day of each value's `bucket_start`, by (metric, scope):
    (seconds, values). One query; no ORDER BY (measured: sorting in the warehouse made the read 1.5x
    slower than sorting per metric in Python, monitors.normal.DayHistory)."""
    sod = wh.engine.second_of_day("bucket_start")
    out: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    for metric, scope, second, v in wh.query(
            f"SELECT metric, scope, {sod} AS second_of_day, value FROM metric_history WHERE metric LIKE ? "
            "AND bucket_seconds = ? AND bucket_start >= ? AND value IS NOT NULL",
            [metric_prefix + "%", bucket_seconds, since]):
        seconds, values = out.setdefault((metric, scope), ([], []))
        seconds.append(float(second))
        values.append(float(v))
    return out


def median(values: Sequence[float], min_count: int = 1) -> float | None:
    if len(values) < max(min_count, 1):
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def metric_median(wh: Warehouse, metric: str, scope: str, since: dt.datetime, *, bucket_seconds: int = 0,
                  min_count: int = 1) -> float | None:
    """Median of a metric's values since a time (the scope's recent normal); None below min_count values."""
    values = [float(v) for (v,) in wh.query(
        "SELECT value FROM metric_history WHERE metric = ? AND scope = ? AND bucket_seconds = ? "
        "AND bucket_start >= ? AND value IS NOT NULL", [metric, scope, bucket_seconds, since])]
    return median(values, min_count)
