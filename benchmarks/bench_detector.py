"""The seasonal detector against the hour-of-week z-score baseline, on labelled series.

    .venv/bin/python benchmarks/bench_detector.py [--quick] [--seeds N]

Series (traffic.series.benchmark_suite): hourly counts with daily and weekly cycles, holidays
in the calendar, a slow drift, a series with a cold start, and labelled incidents: outage,
partial drop, spike, and a day that repeats a holiday pattern but is not a holiday.

Per detector: incidents caught (an alert inside the incident's window), alert episodes outside
incidents (runs of consecutive alerting buckets), time to detection (from the incident's start
to the end of the first alerting bucket). The baseline is Elementary's `volume_anomalies` with
hour-of-week seasonality and a 28-day training period: mean and standard deviation of the same
hour-of-week slot over the previous 4 weeks (at least 3), alert when |z| > 3 (Elementary's default
sensitivity); it keeps every past value, incidents included, in its baseline.
No public labelled volume series with known causes ships as a PyPI package, so only
generated series are used. Writes the table to benchmarks/results/latest.json (key `detector`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.detector import DetectorConfig, Holiday
from monitors.detector import Detector, Series, bucket_index
from traffic.series import LabelledSeries, benchmark_suite

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def baseline_alerts(s: LabelledSeries, sensitivity: float = 3.0, weeks: int = 4, min_weeks: int = 3) -> np.ndarray:
    """Hour-of-week z-score (Elementary volume_anomalies, seasonality hour_of_week, training 28 days)."""
    v = s.values
    out = np.zeros(len(v), bool)
    for t in range(len(v)):
        past = v[t - 168::-168][:weeks] if t >= 168 else v[:0]
        if len(past) < min_weeks:
            continue
        mu, sd = float(np.mean(past)), float(np.std(past, ddof=1))
        if sd > 0:
            out[t] = abs(v[t] - mu) / sd > sensitivity
        else:
            out[t] = v[t] != mu
    return out


def detector_alerts(suite: list[LabelledSeries], config: DetectorConfig) -> dict[str, np.ndarray]:
    holidays = {h.date: h.name for h in config.holidays}
    det = Detector(config, holidays)
    series = [Series(s.name, bucket_index(s.start, 3600), s.values) for s in suite]
    res = det.run(series)
    out = {}
    for s in suite:
        flags = np.zeros(len(s.values), bool)
        lo = bucket_index(s.start, 3600)
        for j in res[s.name]:
            if j.anomalous:
                flags[bucket_index(j.bucket_start, 3600) - lo] = True
        out[s.name] = flags
    return out


def score(suite: list[LabelledSeries], alerts: dict[str, np.ndarray]) -> dict[str, object]:
    caught, total, ttd, false_eps = 0, 0, [], 0
    missed = []
    for s in suite:
        a = alerts[s.name]
        inside = np.zeros(len(a), bool)
        for inc in s.incidents:
            lo = int((inc.start - s.start).total_seconds() // 3600)
            hi = lo + inc.hours
            inside[lo:hi + 1] = True  # the bucket after the end may still show the tail
            total += 1
            hits = np.flatnonzero(a[lo:hi])
            if len(hits):
                caught += 1
                ttd.append(float(hits[0] + 1))
            else:
                missed.append(f"{s.name} {inc.kind} {inc.start:%m-%d %H}h")
        prev = False
        for t in range(len(a)):
            if a[t] and not inside[t] and not prev:
                false_eps += 1
            prev = bool(a[t]) and not inside[t]
    return {"incidents": total, "caught": caught, "missed": missed, "false_episodes": false_eps,
            "ttd_median_hours": float(np.median(ttd)) if ttd else math.nan,
            "ttd_max_hours": float(max(ttd)) if ttd else math.nan}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one seed, results file untouched (smoke run)")
    ap.add_argument("--seeds", type=int, default=5, help="independent draws of the suite")
    args = ap.parse_args()
    seeds = [7] if args.quick else [7 + 100 * k for k in range(args.seeds)]
    weeks = 8
    hol = [(dt.date(2026, 11, 26), "Thanksgiving"), (dt.date(2026, 11, 27), "Day after Thanksgiving"),
           (dt.date(2026, 10, 12), "Company holiday")]
    config = DetectorConfig(holidays=[Holiday(date=d, name=n) for d, n in hol])
    totals: dict[str, dict[str, object]] = {}
    rows = []
    for seed in seeds:
        suite = benchmark_suite(seed=seed, weeks=weeks)
        t0 = time.perf_counter()
        ours = score(suite, detector_alerts(suite, config))
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        base = score(suite, {s.name: baseline_alerts(s) for s in suite})
        t_base = time.perf_counter() - t0
        buckets = sum(len(s.values) for s in suite)
        rows.append((seed, ours, base))
        print(f"seed {seed}: {len(suite)} series, {buckets:,} buckets; detector {t_ours:.2f}s, baseline {t_base:.2f}s")
        for name, r in (("detector", ours), ("baseline", base)):
            agg = totals.setdefault(name, {"incidents": 0, "caught": 0, "false_episodes": 0, "ttd": [],
                                           "ttd_max": [], "missed": []})
            agg["ttd_max"].append(r["ttd_max_hours"])  # type: ignore[union-attr]
            for k in ("incidents", "caught", "false_episodes"):
                agg[k] += r[k]  # type: ignore[operator]
            agg["ttd"].append(r["ttd_median_hours"])  # type: ignore[union-attr]
            agg["missed"].extend(f"seed {seed}: {m}" for m in r["missed"])  # type: ignore[union-attr]
    table = {}
    print(f"\n{'detector':<34} {'caught':>10} {'false episodes':>15} {'median TTD (h)':>15} {'max TTD (h)':>12}")
    for name, label in (("detector", "seasonal detector (monitors/)"), ("baseline", "hour-of-week z-score |z|>3")):
        agg = totals[name]
        ttd = float(np.nanmedian(agg["ttd"])) if agg["ttd"] else math.nan  # type: ignore[arg-type]
        ttd_max = float(np.nanmax(agg["ttd_max"])) if agg["ttd_max"] else math.nan  # type: ignore[arg-type]
        table[name] = {"label": label, "incidents": agg["incidents"], "caught": agg["caught"],
                       "false_episodes": agg["false_episodes"], "median_ttd_hours": ttd, "max_ttd_hours": ttd_max,
                       "missed": agg["missed"]}
        print(f"{label:<34} {agg['caught']:>4} / {agg['incidents']:<3} {agg['false_episodes']:>15} {ttd:>15.1f} "
              f"{ttd_max:>12.1f}")
    d, b = table["detector"], table["baseline"]
    ok = d["caught"] == d["incidents"] and d["false_episodes"] * 3 <= max(b["false_episodes"], 0)
    ratio = (d["false_episodes"] / b["false_episodes"]) if b["false_episodes"] else math.nan
    print(f"false episodes detector / baseline = {ratio:.2f}; target (all caught, <= 1/3): "
          f"{'met' if ok else 'NOT met'}")
    for m in d["missed"]:
        print(f"  detector missed: {m}")
    if args.quick:
        print(f"quick run: {RESULTS.name} keeps the figures of the last full run")
        return 0
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data["detector"] = {"seeds": seeds, "weeks": weeks, "quick": args.quick, "table": table,
                        "false_ratio": ratio, "target_met": ok}
    RESULTS.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
