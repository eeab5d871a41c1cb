"""Alerts: what the on-call's message costs after a run (likely cause, incidents, outbox).

Two generated days, a bad iOS release on day 2 (06:00, 12 hours); each day loaded and run as one
batch; the gate's result rows for day 2 stood in (iOS failing). Measures the likely cause of the
iOS batch, process_incidents (grouping + cause + body + outbox row) and send_due (console), with
the floor beside it: one parse of the failing lines' app version, the least a cause can read.

    .venv/bin/python benchmarks/bench_alerts.py [--events 200000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import shutil
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000, help="events per day")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_alerts_"))
    os.environ["NOVA_WAREHOUSE_URL"] = f"duckdb:///{tmp}/wh.duckdb"
    os.environ.pop("NOVA_SLACK_TOKEN", None)
    os.environ.pop("NOVA_SLACK_WEBHOOK_URL", None)
    from alerts.cause import batch_cause
    from alerts.service import process_incidents, send_due
    from config.settings import Settings
    from contracts.registry import load_registry
    from pipeline.cli import run_pipeline
    from pipeline.landing import Landing
    from pipeline.load import load
    from traffic import GeneratorConfig, Incident, generate
    from warehouse import clock
    from warehouse.session import open_warehouse

    try:
        generate(GeneratorConfig(out=tmp / "staging", start=dt.date(2026, 11, 24), days=2, events_per_day=args.events,
                                 seed=7, incidents=[Incident.parse("bad_release-ios:2026-11-25T06:12")]))
        reg = load_registry(Path(__file__).resolve().parents[1] / "contracts")
        settings = Settings()
        with open_warehouse(settings) as wh:
            files = sorted(p for p in (tmp / "staging").rglob("*") if p.is_file())
            for day in ("2026-11-24", "2026-11-25"):
                for p in files:
                    if f"dt={day}" in p.parts:
                        target = tmp / "landing" / p.relative_to(tmp / "staging")
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(p, target)
                res = load(wh, Landing(str(tmp / "landing")))
                run_pipeline(wh, reg)
            lid = res.load_id
            at = dt.datetime(2026, 11, 26, 0, 5)
            for (platform,) in wh.query("SELECT DISTINCT platform FROM raw_events WHERE load_id = ?", [lid]):
                share = wh.scalar("SELECT COUNT(*) FROM quarantined_events WHERE load_id = ? AND platform = ? "
                                  "AND reason = 'unknown_feature'", [lid, platform]) / max(1, wh.scalar(
                                      "SELECT COUNT(*) FROM raw_events WHERE load_id = ? AND platform = ?",
                                      [lid, platform]))
                wh.execute("INSERT INTO check_results (result_id, check_name, source, scope_type, scope, batch_id, "
                           "platform, value, threshold, outcome, blocking, detail, checked_at) VALUES "
                           "(?, 'unknown_feature_share', 'gate', 'batch', ?, ?, ?, ?, 0.05, ?, TRUE, '{}', ?)",
                           [f"r-{platform}", f"{lid}/{platform}", f"{lid}/{platform}", platform, share,
                            "failed" if share > 0.05 else "passed", at])
            lines = wh.scalar("SELECT COUNT(*) FROM raw_events WHERE load_id = ? AND platform = 'ios'", [lid])
            failing = wh.scalar("SELECT COUNT(*) FROM quarantined_events WHERE load_id = ? AND platform = 'ios' "
                                "AND reason = 'unknown_feature'", [lid])
            t = time.perf_counter()
            wh.query(f"SELECT {wh.engine.json_text_of_line('raw_line', 'app.version')}, COUNT(*) FROM "
                     "quarantined_events WHERE load_id = ? AND platform = 'ios' AND reason = 'unknown_feature' "
                     "GROUP BY 1", [lid])
            floor = time.perf_counter() - t
            t = time.perf_counter()
            cause = batch_cause(wh, reg, f"{lid}/ios", "ios", ["unknown_feature_share"], [], settings.alerts)
            cause_s = time.perf_counter() - t
            with clock.set_now(at):
                t = time.perf_counter()
                inc = process_incidents(wh, reg, settings)
                process_s = time.perf_counter() - t
                t = time.perf_counter()
                with redirect_stdout(io.StringIO()):
                    sent = send_due(wh, settings)
                send_s = time.perf_counter() - t
        print(f"iOS batch: {lines:,} lines, {failing:,} unknown_feature lines")
        print(f"likely cause          {cause_s:6.2f} s   (floor: one parse of the failing lines {floor:.2f} s)")
        print(f"process_incidents     {process_s:6.2f} s   opened {len(inc['opened'])}")
        print(f"send_due (console)    {send_s:6.2f} s   sent {sent['sent']}")
        print(f"cause: {cause.summary if cause else 'none'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
