"""What the gate's time-of-day normal costs: the history read of one gate evaluation at the daemon's
default pace, before (values only, an all-hours median per rule and platform) and after (values with
their second of the day, a DayHistory per metric and platform, a normal by time of day per rule).

    .venv/bin/python benchmarks/gate_history_read.py [--days 7] [--interval 15]

A load every `--interval` seconds gives each platform one part per interval: 7 days at 15 s is 40,320
history values per metric and platform, 2.1M rows for the 13 `gate.*` metrics of 4 platforms. Not part
of run_all.py (a one-off measure; compare the two lines of one run, the machine's speed varies).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--interval", type=int, default=15, help="seconds between loads")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="nova_gate_read_")
    os.environ.update(NOVA_WAREHOUSE_URL=f"duckdb:///{work}/wh.duckdb", NOVA_STATE_DIR=f"{work}/state",
                      NOVA_LANDING_PATH=f"{work}/landing")
    from monitors.checks import RULES
    from monitors.normal import DayHistory, rate_normal
    from monitors.store import median, metric_values, metric_values_by_time_of_day
    from warehouse.session import open_warehouse

    t0 = dt.datetime(2026, 11, 20)
    rng = random.Random(7)
    metrics = [f"gate.{r.name}" for r in RULES if r.name != "volume"] + ["gate.lines"]
    scopes = [f"platform={p}" for p in ("web", "ios", "android", "backend")]
    n = args.days * 86400 // args.interval
    with open_warehouse() as wh:
        wh.insert_rows("metric_history", ("metric", "scope", "bucket_start", "bucket_seconds", "value", "updated_at"),
                       [(m, s, t0 + dt.timedelta(seconds=args.interval * i), 0, rng.random() * 0.05, t0)
                        for m in metrics for s in scopes for i in range(n)])
        print(f"{n:,} values per metric and platform, {n * len(metrics) * len(scopes):,} rows")
        at = t0 + dt.timedelta(days=args.days, hours=3)
        rates = [m for m in metrics if m != "gate.lines"]
        for _ in range(2):
            s = time.perf_counter()
            old = metric_values(wh, "gate.", t0)
            for m in rates:
                for sc in scopes:
                    median(old[(m, sc)], 3)
            before = time.perf_counter() - s
            s = time.perf_counter()
            read = metric_values_by_time_of_day(wh, "gate.", t0)
            hist = {k: DayHistory(*v) for k, v in read.items()}
            for m in rates:
                for sc in scopes:
                    rate_normal(hist[(m, sc)], at, 1.0, 3, dt.timedelta(seconds=args.interval))
            after = time.perf_counter() - s
            print(f"one gate evaluation (4 parts): all-hours median {before:.2f} s, by time of day {after:.2f} s "
                  f"({after / before:.2f}x)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
