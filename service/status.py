"""`nova status`: is the daemon running, what its jobs did, and how fresh the data is against the
service levels. Reads the lock and heartbeat files, then the warehouse as a reader (it waits for the
daemon's current job rather than failing)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from config import Settings
from service.jobs import JOBS, interval_of, unavailable
from service.state import heartbeat_path, holder, read_heartbeat
from warehouse import clock
from warehouse.session import Warehouse, open_reader


def _age(now: dt.datetime, t: Any) -> float | None:
    if t is None:
        return None
    if isinstance(t, str):
        t = clock.parse_instant(t)
    return round((now - t).total_seconds(), 1)


def landing_backlog(settings: Settings, loaded: set[tuple[str, int]]) -> tuple[int, dt.datetime | None]:
    """Landed files not loaded yet: their count and the oldest arrival (file mtime)."""
    from pipeline.landing import Landing

    root = settings.landing_path
    if not root.startswith("s3://") and not Path(root).exists():
        return 0, None
    files = [f for f in Landing(root).files() if (f.rel_path, f.size) not in loaded]
    return len(files), min((f.mtime for f in files), default=None)


def freshness(wh: Warehouse, settings: Settings, now: dt.datetime) -> dict[str, Any]:
    """Raw freshness: how long the oldest landed-but-unloaded file has waited (0 when none waits).
    Curated freshness: how long the oldest landed file whose events are not curated yet has waited:
    unloaded, loaded but its batch not promoted yet, or promoted after the last curate. Held and
    dropped batches wait for a person, not for the service: counted apart, not in the lag."""
    cfg = settings.daemon
    if not wh.table_exists("load_ledger"):
        return {"raw": None, "curated": None, "note": "no warehouse tables yet"}
    loaded = {(p, s) for p, s in wh.query("SELECT file_path, size_bytes FROM load_ledger")}
    waiting, oldest_unloaded = landing_backlog(settings, loaded)
    last_curate = wh.scalar("SELECT MAX(last_run_at) FROM model_state WHERE model = 'fct_feature_events'") \
        if wh.table_exists("model_state") else None
    platform_match = " AND b.platform = l.platform" if _has_column(wh, "batches", "platform") else ""
    pending = wh.query(
        "SELECT MIN(l.file_mtime), COUNT(*) FROM load_ledger l WHERE EXISTS (SELECT 1 FROM batches b "
        f"WHERE b.load_id = l.load_id{platform_match} AND (b.state IN ('loading', 'pending') "
        "OR (b.state IN ('promoted', 'released') AND (CAST(? AS TIMESTAMP) IS NULL OR b.updated_at > ?))))",
        [last_curate, last_curate])[0]
    held = wh.scalar(f"SELECT COUNT(*) FROM load_ledger l WHERE EXISTS (SELECT 1 FROM batches b "
                     f"WHERE b.load_id = l.load_id{platform_match} AND b.state = 'held')")
    last_loaded = wh.query("SELECT MAX(loaded_at), MAX(file_mtime) FROM load_ledger")[0]
    raw_lag = max(_age(now, oldest_unloaded) or 0.0, 0.0)
    oldest_uncurated = min((t for t in (oldest_unloaded, pending[0]) if t is not None), default=None)
    curated_lag = max(_age(now, oldest_uncurated) or 0.0, 0.0)
    return {
        "raw": {"lag_s": raw_lag, "slo_s": cfg.raw_freshness_slo_s, "ok": raw_lag <= cfg.raw_freshness_slo_s,
                "files_waiting": waiting, "oldest_waiting_since": oldest_unloaded, "last_loaded_at": last_loaded[0],
                "newest_loaded_file_at": last_loaded[1]},
        "curated": {"lag_s": curated_lag, "slo_s": cfg.curated_freshness_slo_s,
                    "ok": curated_lag <= cfg.curated_freshness_slo_s,
                    "files_waiting": waiting + int(pending[1] or 0), "oldest_waiting_since": oldest_uncurated,
                    "last_curate_at": last_curate, "files_held": int(held or 0)},
    }


def _has_column(wh: Warehouse, table: str, column: str) -> bool:
    return bool(wh.scalar("SELECT COUNT(*) FROM information_schema.columns WHERE lower(table_name) = ? "
                          "AND lower(column_name) = ?", [table, column]))


def last_runs(wh: Warehouse) -> dict[str, dict[str, Any]]:
    if not wh.table_exists("service_runs"):
        return {}
    rows = wh.query_dicts(
        "SELECT job, started_at, finished_at, seconds, outcome, attempt, error FROM ("
        "SELECT *, ROW_NUMBER() OVER (PARTITION BY job ORDER BY started_at DESC) AS n FROM service_runs) t "
        "WHERE n = 1")
    return {r["job"]: r for r in rows}


def collect_status(settings: Settings) -> dict[str, Any]:
    now = clock.now()
    cfg = settings.daemon
    lock = holder(settings)
    beat = read_heartbeat(settings) if lock else None
    beat_age = None
    if beat and beat.get("heartbeat_wall"):
        beat_age = round(clock.wall_now().timestamp() - float(beat["heartbeat_wall"]), 1)
    running = lock is not None and beat_age is not None and beat_age <= cfg.heartbeat_stale_s
    daemon = {"running": running, "pid": (lock or {}).get("pid"), "host": (lock or {}).get("host"),
              "started_at": (lock or {}).get("started_at"), "state": (beat or {}).get("state"),
              "heartbeat_at": (beat or {}).get("heartbeat_at"), "heartbeat_age_s": beat_age,
              "heartbeat_file": str(heartbeat_path(settings))}
    if lock and not running:
        daemon["problem"] = (f"the lock is held but the heartbeat is {beat_age}s old (limit {cfg.heartbeat_stale_s}s)"
                             if beat_age is not None else "the lock is held but there is no heartbeat")
    with open_reader(settings) as wh:
        fresh = freshness(wh, settings, now)
        recorded = last_runs(wh)
    beat_jobs = (beat or {}).get("jobs", {})
    jobs = []
    for job in JOBS:
        b, r = beat_jobs.get(job.name, {}), recorded.get(job.name, {})
        why = unavailable(job)
        jobs.append({
            "job": job.name, "command": job.command, "every_s": interval_of(job, settings),
            "after": job.after or None, "available": why is None, "unavailable_reason": why,
            "last_started_at": b.get("last_started_at") or r.get("started_at"),
            "last_seconds": b.get("last_seconds") if b.get("last_seconds") is not None else r.get("seconds"),
            "last_outcome": b.get("last_outcome") or r.get("outcome"),
            "last_error": b.get("last_error") if b else r.get("error"),
            "failures_in_a_row": b.get("failures", 0), "running_now": bool(b.get("running")),
            "next_run_at": b.get("next_run_at") if running else None,
        })
    levels_ok = all(fresh.get(k) is None or fresh[k]["ok"] for k in ("raw", "curated"))
    return {"checked_at": now, "healthy": running and levels_ok, "daemon": daemon, "jobs": jobs,
            "freshness": fresh, "warehouse_url": settings.warehouse_url}
