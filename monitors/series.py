"""Hourly (configurable) event counts per platform, area and important feature → `metric_history`.

What is counted: every staged event, whatever its batch's state: `stg_events` (kept copies of
promoted or released batches) plus the events of `stg_pending` (batches not promoted yet or held)
that are not already kept, one per event_id. A held batch is exactly what on-call must see in
the series (a spike the gate stopped is still a spike); duplicates are never counted. A bucket is
the event's time (`event_ts`), so late events raise the count of the hour they happened in.

Idempotent and incremental: a pass recomputes the buckets between the earliest and latest
bucket touched by events staged since the last pass (plus the last 72 hours, which deletions
such as a dropped batch can lower), deletes those rows of metric `events` and writes them
again, zeros included for every scope seen before (a silent platform is a 0, not a gap).
Scopes: `platform=<p>`, `area=<top-level feature>`, `feature=<id>` (the id and its descendants;
the top N features one level below an area by volume over the last 14 days of data, plus
`detector.important_features`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from config.detector import DetectorConfig
from warehouse import clock
from warehouse.session import Warehouse

METRIC = "events"
LATE_WINDOW = dt.timedelta(hours=72)
SELECTION_WINDOW = dt.timedelta(days=14)


@dataclass
class SeriesUpdate:
    buckets: int = 0  # buckets recomputed
    rows: int = 0  # metric_history rows written
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    features: tuple[str, ...] = ()


def events_sql(wh: Warehouse, where: str = "TRUE") -> str:
    """Staged events (kept + pending not yet kept, one per event_id) with `where` applied to each part."""
    return (f"SELECT event_ts, platform, feature_id, staged_at FROM stg_events WHERE {where} "
            f"UNION ALL SELECT MIN(event_ts), MIN(platform), MIN(feature_id), MIN(staged_at) FROM stg_pending p "
            f"WHERE {where} AND NOT EXISTS (SELECT 1 FROM stg_events s WHERE s.event_id = p.event_id) "
            f"GROUP BY event_id")


def important_features(wh: Warehouse, cfg: DetectorConfig, until: dt.datetime) -> tuple[str, ...]:
    """Top N by volume (one level below an area) over the last 14 days of data, plus the configured list."""
    chosen: list[str] = []
    if cfg.top_features:
        e = wh.engine
        prefix = e.path_prefix("feature_id", 2)
        rows = wh.query(
            f"SELECT {prefix} AS f, COUNT(*) AS n FROM ({events_sql(wh, 'event_ts >= ? AND event_ts < ?')}) ev "
            f"WHERE {prefix} IS NOT NULL GROUP BY 1 ORDER BY n DESC, f LIMIT {int(cfg.top_features)}",
            [until - SELECTION_WINDOW, until, until - SELECTION_WINDOW, until])
        chosen = [r[0] for r in rows]
    for f in cfg.important_features:
        if f not in chosen:
            chosen.append(f)
    return tuple(chosen)


def counts_sql(wh: Warehouse, seconds: int, features: Iterable[str]) -> str:
    """(scope, bucket_start, events) over [?, ?) of event_ts; four parameters (the range, twice)."""
    e = wh.engine
    b = e.bucket_start("event_ts", seconds)
    ev = events_sql(wh, "event_ts >= ? AND event_ts < ?")
    parts = [f"SELECT 'platform=' || platform AS scope, {b} AS bucket_start, COUNT(*) AS n FROM ev GROUP BY 1, 2",
             f"SELECT 'area=' || split_part(feature_id, '.', 1), {b}, COUNT(*) FROM ev GROUP BY 1, 2"]
    feats = list(features)
    if feats:
        values = ", ".join(f"({e.lit(f)})" for f in feats)
        parts.append(
            f"SELECT 'feature=' || f.id, {b}, COUNT(*) FROM ev JOIN (VALUES {values}) AS f(id) "
            f"ON ev.feature_id = f.id OR LEFT(ev.feature_id, LENGTH(f.id) + 1) = f.id || '.' GROUP BY 1, 2")
    return f"WITH ev AS ({ev}) " + " UNION ALL ".join(parts)


def record_series(wh: Warehouse, cfg: DetectorConfig) -> SeriesUpdate:
    """Recompute the touched buckets of metric `events` in metric_history (idempotent)."""
    seconds = cfg.bucket_seconds
    step = dt.timedelta(seconds=seconds)
    since = wh.scalar("SELECT MAX(updated_at) FROM metric_history WHERE metric = ? AND bucket_seconds = ?",
                      [METRIC, seconds])
    where = "staged_at >= ?" if since is not None else "TRUE"
    params = [since, since] if since is not None else []
    lo, hi = wh.query(f"SELECT MIN(event_ts), MAX(event_ts) FROM ({events_sql(wh, where)}) t", params)[0]
    if lo is None:
        return SeriesUpdate()
    last_known = wh.scalar("SELECT MAX(bucket_start) FROM metric_history WHERE metric = ? AND bucket_seconds = ?",
                           [METRIC, seconds])
    if last_known is not None:
        lo = min(lo, last_known - LATE_WINDOW)
        hi = max(hi, last_known)
    first = _floor(lo, seconds)
    end = _floor(hi, seconds) + step
    features = important_features(wh, cfg, end)
    counted = wh.query(counts_sql(wh, seconds, features), [first, end, first, end])
    known = {r[0] for r in wh.query(
        "SELECT DISTINCT scope FROM metric_history WHERE metric = ? AND bucket_seconds = ? AND bucket_start >= ?",
        [METRIC, seconds, first - dt.timedelta(days=7)])}
    # A feature that left the top N is not written as zeros (it did not go silent).
    known = {k for k in known if not k.startswith("feature=")}
    scopes = sorted(known | {r[0] for r in counted if r[0] is not None}
                    | {f"feature={f}" for f in features})
    values = {(s, b): float(n) for s, b, n in counted if s is not None}
    now = clock.now()
    rows = []
    b = first
    while b < end:
        rows.extend((s, b, values.get((s, b), 0.0)) for s in scopes)
        b += step
    with wh.transaction():
        wh.execute("DELETE FROM metric_history WHERE metric = ? AND bucket_seconds = ? AND bucket_start >= ? "
                   "AND bucket_start < ?", [METRIC, seconds, first, end])
        wh.insert_rows("metric_history", ("metric", "scope", "bucket_start", "bucket_seconds", "value", "updated_at"),
                       [(METRIC, s, b, seconds, v, now) for s, b, v in rows])
    return SeriesUpdate(int((end - first) / step), len(rows), first, end, features)


def _floor(ts: dt.datetime, seconds: int) -> dt.datetime:
    epoch = dt.datetime(1970, 1, 1)
    return epoch + dt.timedelta(seconds=int((ts - epoch).total_seconds()) // seconds * seconds)
