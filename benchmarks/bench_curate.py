"""Cost of the curate step: an incremental run after a batch of 100,000 events on top of 1 and of
30 days of history, and the full rebuild of 30 days.

Targets (the issue): incremental on 30 days ≤ 1.5x the one on 1 day (cost follows the batch, not
the history) and ≥ 10x faster than a full rebuild. Staged events are synthetic and inserted with
SQL (DuckDB generate_series / random), with pending_changes rows for the new batch as the staging
layer writes them. Run: `.venv/bin/python benchmarks/bench_curate.py [--events N] [--days 1,30]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.settings import Settings
from contracts.registry import load_registry
from pipeline.curate import curate, rebuild_all
from warehouse.schema import EVENT_COLUMNS
from warehouse.session import Warehouse, open_warehouse

REPO = Path(__file__).resolve().parents[1]
BATCH_DAY = dt.date(2026, 11, 25)  # a Wednesday: its week and month hold history on both sides
USERS, WORKSPACES = 40_000, 4_000
LATE_SHARE = 0.03  # events of the batch that happened up to 70 h before they were received
COLS = ", ".join(c for c, _ in EVENT_COLUMNS)


def _events_sql(n: int, day: dt.date, prefix: str, *, late_share: float) -> str:
    """n staged events received on `day`: users keep a handful of favourite features (a skewed
    mix over the catalog), mostly on one platform; `late_share` of them happened up to 70 h earlier."""
    start = f"TIMESTAMP '{day.isoformat()} 00:00:00'"
    return f"""
INSERT INTO stg_events ({COLS})
WITH base AS (
  SELECT i, CAST(floor(random() * {USERS}) AS BIGINT) AS u, random() AS r_feat, random() AS r_plat,
         random() AS r_time, random() AS r_late, random() AS r_lag
  FROM range({n}) t(i)
), ev AS (
  SELECT b.i, b.u, f.feature_id,
         CASE WHEN b.r_plat < 0.85 THEN ['web', 'ios', 'android', 'backend'][1 + CAST(b.u % 4 AS INTEGER)]
              ELSE ['web', 'ios', 'android', 'backend'][1 + CAST(floor(b.r_plat * 40) % 4 AS INTEGER)] END AS platform,
         {start} + to_microseconds(CAST(b.r_time * 86400e6 AS BIGINT)) AS received_at,
         CASE WHEN b.r_late < {late_share} THEN to_microseconds(CAST(b.r_lag * 70 * 3600e6 AS BIGINT))
              ELSE to_microseconds(CAST(2e6 * b.r_lag AS BIGINT)) END AS lag
  FROM base b
  JOIN bench_features f
    ON f.idx = (b.u * 7 + CAST(floor(pow(b.r_feat, 3) * 40) AS BIGINT)) % (SELECT COUNT(*) FROM bench_features)
)
SELECT '{prefix}' || CAST(i AS VARCHAR), 'feature_used', feature_id, feature_id, 'used',
       'u_' || lpad(CAST(u AS VARCHAR), 6, '0'), NULL, 'ws_' || lpad(CAST(u % {WORKSPACES} AS VARCHAR), 5, '0'),
       platform, '5.1.0', '1.0.0', received_at - lag, NULL, received_at, received_at - lag,
       CAST(received_at - lag AS DATE), epoch(lag), lag > INTERVAL 24 HOUR, FALSE,
       CAST('{{"source": "toolbar"}}' AS JSON), 'L_{prefix}', 'bench/{prefix}.jsonl', i, received_at
FROM ev
"""


def build(wh: Warehouse, features: list[str], history_days: int, per_day: int) -> None:
    wh.execute("CREATE OR REPLACE TABLE bench_features AS SELECT * FROM (VALUES "
               + ", ".join(f"({i}, '{f}')" for i, f in enumerate(features)) + ") v(idx, feature_id)")
    wh.execute("SELECT setseed(0.42)")
    for k in range(history_days, 0, -1):
        day = BATCH_DAY - dt.timedelta(days=k)
        wh.execute(_events_sql(per_day, day, f"h{k}_", late_share=0.0))


def add_batch(wh: Warehouse, n: int) -> None:
    """The new batch, with its pending_changes rows (one per inserted event, as staging writes them)."""
    wh.execute(_events_sql(n, BATCH_DAY, "b_", late_share=LATE_SHARE))
    wh.execute("INSERT INTO pending_changes (event_date, workspace_id, user_id, change, created_at) "
               "SELECT event_date, workspace_id, user_id, 'added', CURRENT_TIMESTAMP FROM stg_events "
               "WHERE load_id = 'L_b_'")


def scenario(history_days: int, per_day: int, batch: int, *, rebuild_after: bool, repeats: int) -> dict[str, float]:
    """The incremental run is timed `repeats` times on copies of the same warehouse file (the median
    is reported: one run on this shared 2-core machine varies by ±20 %); the full rebuild once.
    Each timed step starts after os.sync(), so none pays for writing back files written before it."""
    reg = load_registry(REPO / "contracts")
    # Events mostly on leaves, some on an area or a group (a non-leaf id counts for itself and up).
    parents = {f.parent for f in reg.catalog.features}
    leaves = [f.id for f in reg.catalog.features if f.id not in parents]
    features = leaves + [f.id for f in reg.catalog.features if f.id in parents][:20]
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db, snapshot = Path(tmp) / "bench.duckdb", Path(tmp) / "before-batch.duckdb"
        settings = Settings(warehouse_url=f"duckdb:///{db}")
        with open_warehouse(settings) as wh:
            build(wh, features, history_days, per_day)
            t = time.perf_counter()
            rebuild_all(wh, reg)
            out["rebuild_history"] = time.perf_counter() - t
            add_batch(wh, batch)
            wh.execute("CHECKPOINT")
        shutil.copyfile(db, snapshot)
        runs = []
        for i in range(repeats):
            if i:
                shutil.copyfile(snapshot, db)
            # Every timed run starts with the files written back to disk, as a warehouse file is
            # when `nova run` starts: otherwise the run's first commit (an fsync) would also pay
            # for writing back the copy just made, 0.7 s on 30 days.
            os.sync()
            with open_warehouse(settings) as wh:
                res = curate(wh, reg)
                runs.append(res.seconds)
                if i == repeats - 1:
                    out["dates"] = len(res.scope.dates)
                    out["units"] = res.scope.units
                    if rebuild_after:
                        os.sync()
                        t = time.perf_counter()
                        rebuild_all(wh, reg)
                        out["rebuild_after"] = time.perf_counter() - t
                    out["events"] = int(wh.scalar("SELECT COUNT(*) FROM stg_events"))
        out["incremental"] = statistics.median(runs)
        out["incremental_runs"] = runs  # type: ignore[assignment]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000, help="events in the new batch")
    ap.add_argument("--per-day", type=int, default=100_000, help="events per day of history")
    ap.add_argument("--days", default="1,30", help="history sizes, comma-separated")
    ap.add_argument("--repeats", type=int, default=3, help="incremental runs per history size (median reported)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.days.split(",")]
    results = {}
    for n in sizes:
        results[n] = scenario(n, args.per_day, args.events, rebuild_after=(n == max(sizes)), repeats=args.repeats)
        r = results[n]
        runs = ", ".join(f"{x:.2f}" for x in r["incremental_runs"])  # type: ignore[attr-defined]
        print(f"history {n:>2} day(s) ({r['events'] - args.events:,} events): incremental run after a batch of "
              f"{args.events:,} events: median {r['incremental']:.3f}s of [{runs}] "
              f"({r['dates']:.0f} dates, {r['units']:,.0f} units)")
    big, small = results[max(sizes)], results[min(sizes)]
    print(f"full rebuild of {max(sizes)} days + batch ({big['events']:,} events): {big['rebuild_after']:.3f}s")
    ratio = big["incremental"] / small["incremental"]
    speedup = big["rebuild_after"] / big["incremental"]
    print(f"incremental {max(sizes)}d / {min(sizes)}d = {ratio:.2f}x (target ≤ 1.5x); "
          f"full rebuild / incremental = {speedup:.1f}x (target ≥ 10x)")


if __name__ == "__main__":
    main()
