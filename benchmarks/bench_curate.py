"""Cost of the curate step: an incremental run after a batch of 100,000 events on top of 1 and of
30 days of history, and the full rebuild of 30 days.

Targets (the issue): incremental on 30 days ≤ 1.5x the one on 1 day (cost follows the batch, not
the history) and ≥ 10x faster than a full rebuild. Staged events are synthetic and inserted with
SQL (DuckDB generate_series / random), with pending_changes rows for the new batch as the staging
layer writes them. Run: `.venv/bin/python benchmarks/bench_curate.py [--events N] [--days 1,30]`.

`--rewrite` measures instead what one incremental run rewrites (issue 17 point 6): for each
curated and intermediate table, the rows it deleted and inserted, their bytes (rows × the table's
average row width, uncompressed: 8 bytes per number or timestamp, 4 per date, 16 per key, the
average length of text and JSON), and what share of the table's rows in the run's partitions (its
days, weeks and months; the whole table for the per-user tables) that is, and how many storage
blocks hold a row a DELETE of the run matches (the micro-partitions Snowflake would rewrite).
The day already holds `--today` events, curated; the batch is `--events` events received on it.
Run: `.venv/bin/python benchmarks/bench_curate.py --rewrite --days 1 --per-day 1000000
--today 2000000 --events 1000000 --users 200000` (docs/curated.md quotes it).
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
from pipeline.curate.definition import CURATED_TABLES
from warehouse.schema import EVENT_COLUMNS
from warehouse.session import Warehouse, open_warehouse

REPO = Path(__file__).resolve().parents[1]
BATCH_DAY = dt.date(2026, 11, 25)  # a Wednesday: its week and month hold history on both sides
USERS, WORKSPACES = 40_000, 4_000  # --users sets both (ten users per workspace)
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


def add_batch(wh: Warehouse, n: int, prefix: str = "b_") -> None:
    """The new batch, with its pending_changes rows (one per inserted event, as staging writes them:
    with the event id where the warehouse has the column)."""
    wh.execute(_events_sql(n, BATCH_DAY, prefix, late_share=LATE_SHARE))
    has_id = bool(wh.scalar("SELECT COUNT(*) FROM information_schema.columns "
                            "WHERE table_name = 'pending_changes' AND column_name = 'event_id'"))
    wh.execute(f"INSERT INTO pending_changes (event_date, workspace_id, user_id, change, created_at"
               f"{', event_id' if has_id else ''}) SELECT event_date, workspace_id, user_id, 'added', "
               f"CURRENT_TIMESTAMP{', event_id' if has_id else ''} FROM stg_events WHERE load_id = 'L_{prefix}'")


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


# --- what one run rewrites ---------------------------------------------------------------
_WIDTH = {"int": 8, "float": 8, "ts": 8, "date": 4, "bool": 1, "key": 16}
_DAY_COLUMN = {"fct_feature_events": "event_date", "int_user_feature_daily": "event_date",
               "feature_usage_daily": "event_date", "feature_usage_weekly": "week_start",
               "int_usage_presence": "period_start", "int_adoption_presence": "period_start",
               "int_workspace_active": "period_start", "int_adoption_feature": "period_start"}
_PER_USER = ("int_user_feature_last", "user_feature_last_seen")
_MODELLED = [t for t in CURATED_TABLES if t.layer in ("curated", "intermediate")]


def row_width(wh: Warehouse, table: str) -> float:
    """Average uncompressed width of a row: fixed widths for numbers, times and keys, the average
    length of text and JSON."""
    cols = next(t for t in _MODELLED if t.name == table).columns
    parts = [f"COALESCE(AVG(strlen(CAST({c} AS VARCHAR))), 0)" for c, k in cols if k in ("text", "json")]
    fixed = sum(_WIDTH.get(k, 0) for _, k in cols)
    return fixed + float(wh.scalar(f"SELECT {' + '.join(parts) or '0'} FROM {table}") or 0)


def _day_rows(wh: Warehouse, table: str) -> int:
    """Rows of the run's partitions: the days of its pending changes (their weeks and months for the
    period tables); every row of a per-user table."""
    col = _DAY_COLUMN.get(table)
    if col is None:
        return int(wh.scalar(f"SELECT COUNT(*) FROM {table}") or 0)
    days = "(SELECT DISTINCT event_date FROM pending_changes)"
    weeks = f"(SELECT DISTINCT CAST(date_trunc('week', event_date) AS DATE) FROM {days} d)"
    months = f"(SELECT DISTINCT CAST(date_trunc('month', event_date) AS DATE) FROM {days} d)"
    if col == "event_date":
        where = f"event_date IN {days}"
    elif col == "week_start":
        where = f"week_start IN {weeks}"
    elif table == "int_usage_presence":
        where = f"period_start IN {weeks}"
    else:
        where = f"((period = 'week' AND period_start IN {weeks}) OR (period = 'month' AND period_start IN {months}))"
    return int(wh.scalar(f"SELECT COUNT(*) FROM {table} WHERE {where}") or 0)


def rewrite_scenario(args: argparse.Namespace) -> None:
    """History, a day holding `--today` curated events, then one incremental run of a batch of
    `--events` events: rows and bytes each table deleted and inserted, against its rows in the run's
    partitions (its days, weeks and months; the whole table for the per-user tables)."""
    global USERS, WORKSPACES
    USERS, WORKSPACES = args.users, max(1, args.users // 10)
    reg = load_registry(REPO / "contracts")
    parents = {f.parent for f in reg.catalog.features}
    leaves = [f.id for f in reg.catalog.features if f.id not in parents]
    features = leaves + [f.id for f in reg.catalog.features if f.id in parents][:20]
    history = int(args.days.split(",")[0])
    with tempfile.TemporaryDirectory() as tmp, \
            open_warehouse(Settings(warehouse_url=f"duckdb:///{Path(tmp) / 'bench.duckdb'}")) as wh:
        build(wh, features, history, args.per_day)
        if args.today:
            wh.execute(_events_sql(args.today, BATCH_DAY, "t_", late_share=0.0))
        t = time.perf_counter()
        rebuild_all(wh, reg)
        rebuilt = time.perf_counter() - t
        # The per-user rows before: which of them the run changes, and how long ago they were last seen.
        wh.execute("CREATE OR REPLACE TEMP TABLE bench_last_before AS SELECT user_id, feature_id, "
                   "CAST(last_ts AS DATE) AS last_day, event_count FROM int_user_feature_last")
        add_batch(wh, args.events)
        wh.execute("CHECKPOINT")
        blocks = blocks_touched(wh)
        before = {t.name: (int(wh.scalar(f"SELECT COUNT(*) FROM {t.name}") or 0), _day_rows(wh, t.name))
                  for t in _MODELLED}
        os.sync()
        res = curate(wh, reg)
        written = {m.model: m for m in res.models}
        print(f"{history} day(s) of history × {args.per_day:,} events, {args.today:,} events already curated on "
              f"{BATCH_DAY}, {args.users:,} users in {WORKSPACES:,} workspaces (full rebuild {rebuilt:.1f}s); "
              f"batch of {args.events:,} events ({LATE_SHARE:.0%} late): incremental run {res.seconds:.2f}s, "
              f"{res.scope.units:,} units, {res.scope.users:,} users")
        print(f"{'table':<24} {'rows in scope':>15} {'deleted':>11} {'inserted':>11} {'B/row':>6} "
              f"{'rewritten MB':>12} {'share':>7}")
        total = 0.0
        for t in _MODELLED:
            run = written.get(t.name)
            count_after = int(wh.scalar(f"SELECT COUNT(*) FROM {t.name}") or 0)
            ins = run.rows_written if run else 0
            dele = before[t.name][0] + ins - count_after  # only INSERT and DELETE touch a model's table
            if run is not None and getattr(run, "rows_deleted", dele) != dele:
                raise SystemExit(f"{t.name}: rows_deleted {run.rows_deleted} but the counts say {dele}")
            width = row_width(wh, t.name)
            mb = (dele + ins) * width / 1e6
            total += mb
            day = before[t.name][1]
            share = f"{(dele + ins) / day:.1%}" if day else "-"
            print(f"{t.name:<24} {day:>15,} {dele:>11,} {ins:>11,} {width:>6.0f} {mb:>12.1f} {share:>7}")
        print(f"{'total':<24} {'':>15} {'':>11} {'':>11} {'':>6} {total:>12.1f}")
        # Per-user rows the run changed, by when their key was last seen before it.
        ages = wh.query(
            f"SELECT CASE WHEN b.user_id IS NULL THEN 'new key' WHEN b.last_day = DATE '{BATCH_DAY}' THEN 'today' "
            f"WHEN b.last_day >= DATE '{BATCH_DAY}' - 1 THEN 'yesterday' "
            f"WHEN b.last_day >= DATE '{BATCH_DAY}' - 7 THEN '2-7 days' ELSE 'older' END AS age, COUNT(*) "
            "FROM int_user_feature_last n LEFT JOIN bench_last_before b "
            "ON b.user_id = n.user_id AND b.feature_id = n.feature_id "
            "WHERE b.user_id IS NULL OR b.event_count <> n.event_count GROUP BY 1 ORDER BY 1")
        held = dict(wh.query(
            f"SELECT CASE WHEN last_day = DATE '{BATCH_DAY}' THEN 'today' "
            f"WHEN last_day >= DATE '{BATCH_DAY}' - 1 THEN 'yesterday' "
            f"WHEN last_day >= DATE '{BATCH_DAY}' - 7 THEN '2-7 days' ELSE 'older' END, COUNT(*) "
            "FROM bench_last_before GROUP BY 1"))
        print("int_user_feature_last keys changed by the run, by when they were last seen before it "
              "(and the table's rows last seen then):")
        for age, n in ages:
            print(f"  {age:<10} {n:>10,} changed of {held.get(age, 0):>10,} rows")
        print(f"storage blocks of {BLOCK:,} consecutive rows (a DuckDB row group; the analogue of a Snowflake "
              "micro-partition) holding a row that a DELETE of this run matches:")
        for what, (hit, of) in blocks.items():
            print(f"  {what:<66} {hit:>6,} of {of:>6,} ({hit / of if of else 0:.0%})")
        appended = {m.model: m.rows_written for m in res.models}
        print(f"  appended blocks: fct_feature_events {-(-appended.get('fct_feature_events', 0) // BLOCK)}, "
              f"int_user_feature_daily {-(-appended.get('int_user_feature_daily', 0) // BLOCK)}")


BLOCK = 122_880


def blocks_touched(wh: Warehouse) -> dict[str, tuple[int, int]]:
    """Before the run: how many storage blocks hold a row that deleting whole dirty units, only the
    changed rows, or only the changed per-user keys would match, against the blocks of the same days
    (the whole table for the per-user tables). Block = rowid // BLOCK (storage order)."""
    units = "(SELECT DISTINCT event_date, workspace_id, user_id FROM pending_changes)"
    days = "(SELECT DISTINCT event_date FROM pending_changes)"
    keys5 = ("(SELECT DISTINCT event_date, platform, workspace_id, user_id, feature_id FROM stg_events "
             "WHERE load_id = 'L_b_')")
    keys2 = "(SELECT DISTINCT user_id, feature_id FROM stg_events WHERE load_id = 'L_b_')"

    def one(sql: str) -> int:
        return int(wh.scalar(sql) or 0)

    out = {}
    for table in ("fct_feature_events", "int_user_feature_daily"):
        of = one(f"SELECT COUNT(DISTINCT rowid // {BLOCK}) FROM {table} WHERE event_date IN {days}")
        out[f"{table}: whole dirty units (before)"] = (one(
            f"SELECT COUNT(DISTINCT t.rowid // {BLOCK}) FROM {table} t JOIN {units} u ON u.event_date = t.event_date "
            "AND u.workspace_id = t.workspace_id AND u.user_id = t.user_id"), of)
    if one("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'pending_changes' "
           "AND column_name = 'event_id'"):  # the copies taken over are all the fact deletes now
        out["fct_feature_events: removed copies only (now)"] = (one(
            f"SELECT COUNT(DISTINCT rowid // {BLOCK}) FROM fct_feature_events WHERE event_id IN "
            "(SELECT event_id FROM pending_changes WHERE change <> 'added')"),
            out["fct_feature_events: whole dirty units (before)"][1])
    out["int_user_feature_daily: changed rows only (now)"] = (one(
        f"SELECT COUNT(DISTINCT t.rowid // {BLOCK}) FROM int_user_feature_daily t JOIN {keys5} k "
        "ON k.event_date = t.event_date AND k.platform = t.platform AND k.workspace_id = t.workspace_id "
        "AND k.user_id = t.user_id AND k.feature_id = t.feature_id"),
        out["int_user_feature_daily: whole dirty units (before)"][1])
    whole = one(f"SELECT COUNT(DISTINCT rowid // {BLOCK}) FROM int_user_feature_last")
    out["int_user_feature_last: changed keys, as stored (unclustered)"] = (one(
        f"SELECT COUNT(DISTINCT t.rowid // {BLOCK}) FROM int_user_feature_last t JOIN {keys2} k "
        "ON k.user_id = t.user_id AND k.feature_id = t.feature_id"), whole)
    out["int_user_feature_last: changed keys, if clustered by day of last_ts"] = (one(
        f"SELECT COUNT(DISTINCT t.rn // {BLOCK}) FROM (SELECT user_id, feature_id, "
        "ROW_NUMBER() OVER (ORDER BY CAST(last_ts AS DATE), user_id, feature_id) - 1 AS rn "
        f"FROM int_user_feature_last) t JOIN {keys2} k ON k.user_id = t.user_id AND k.feature_id = t.feature_id"),
        whole)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000, help="events in the new batch")
    ap.add_argument("--per-day", type=int, default=100_000, help="events per day of history")
    ap.add_argument("--days", default="1,30", help="history sizes, comma-separated")
    ap.add_argument("--repeats", type=int, default=3, help="incremental runs per history size (median reported)")
    ap.add_argument("--rewrite", action="store_true",
                    help="measure the rows and bytes one incremental run deletes and inserts per table")
    ap.add_argument("--today", type=int, default=0, help="--rewrite: events already curated on the batch's day")
    ap.add_argument("--users", type=int, default=USERS, help="--rewrite: users (ten per workspace)")
    args = ap.parse_args()
    if args.rewrite:
        rewrite_scenario(args)
        return
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
