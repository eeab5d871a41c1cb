"""The gate's volume check on the seasonal detector's expectation, over generated traffic replayed in
daily waves as the daemon would see it (load, run with the gate, then a detector round): Christmas,
Boxing Day and a Sunday pass on every platform (the simple bound would have warned on Christmas),
an iOS outage the next Monday warns on iOS only and holds nothing; the fallback and cold start say
which expectation they used, or why none."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitors.anomaly import detect_volume_anomalies
from monitors.volume import arrival_kernel, convolve
from pipeline.cli import run_pipeline
from pipeline.landing import Landing
from pipeline.load import load
from tests.monitors.parts import T0, make_part
from traffic import GeneratorConfig, Incident, generate, quirk_rates
from warehouse import clock

HISTORY_UNTIL = dt.date(2026, 12, 24)  # 8 days from Thursday 17 December, Christmas Eve included
WAVES = (dt.date(2026, 12, 25), dt.date(2026, 12, 26), dt.date(2026, 12, 27), dt.date(2026, 12, 28))


def _wave_files(staging: Path) -> dict[dt.date, list[Path]]:
    out: dict[dt.date, list[Path]] = {}
    for p in sorted(staging.rglob("*")):
        day = next((part[3:] for part in p.parts if part.startswith("dt=")), None)
        if p.is_file() and day:
            out.setdefault(dt.date.fromisoformat(day), []).append(p)
    return out


def _deliver(files: list[Path], staging: Path, landing: Path) -> None:
    for p in files:
        target = landing / p.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, target)


def _volume(wh: Any, load_id: str) -> dict[str, dict[str, Any]]:
    return {r["platform"]: {**r, "detail": json.loads(r["detail"])} for r in wh.query_dicts(
        "SELECT c.platform, c.outcome, c.value, c.threshold, c.normal, c.detail, b.state FROM check_results c "
        "JOIN batches b ON b.batch_id = c.batch_id WHERE c.check_name = 'volume' AND b.load_id = ?", [load_id])}


def test_holidays_and_weekends_pass_an_outage_warns(wh: Any, registry: Any, tmp_path: Path) -> None:
    staging, landing = tmp_path / "staging", Path(wh.settings.landing_path)
    outage = Incident.parse("outage-ios:2026-12-28T06:16")
    generate(GeneratorConfig(out=staging, start=dt.date(2026, 12, 17), days=12, events_per_day=3000, seed=7,
                             quirks=quirk_rates("realistic"), incidents=[outage]), registry.catalog)
    waves = _wave_files(staging)
    # A detector round once a day (the daemon runs one every few minutes): the forecast must reach past
    # the next day's last arrivals, beyond the default 24 buckets.
    det = wh.settings.model_copy(update={"detector": wh.settings.detector.model_copy(update={"forecast_buckets": 36})})
    _deliver([p for day, files in waves.items() if day <= HISTORY_UNTIL for p in files], staging, landing)
    with clock.set_now(dt.datetime.combine(HISTORY_UNTIL + dt.timedelta(days=1), dt.time())):
        load(wh, Landing(str(landing)))
        run_pipeline(wh, registry)
        detect_volume_anomalies(wh, registry, settings=det)
    seen: dict[dt.date, dict[str, dict[str, Any]]] = {}
    for day in WAVES:
        _deliver(waves[day], staging, landing)
        with clock.set_now(dt.datetime.combine(day + dt.timedelta(days=1), dt.time())):
            res = load(wh, Landing(str(landing)))
            run_pipeline(wh, registry)
            seen[day] = _volume(wh, res.load_id)
            detect_volume_anomalies(wh, registry, settings=det)

    for day in WAVES[:3]:  # Christmas (Friday), Boxing Day (Saturday), Sunday
        assert {p: (v["outcome"], v["detail"]["expectation_source"]) for p, v in seen[day].items()} == {
            p: ("passed", "detector") for p in ("android", "backend", "ios", "web")}, (day, seen[day])
    monday = seen[WAVES[3]]
    assert {p: v["outcome"] for p, v in monday.items()} == {
        "android": "passed", "backend": "passed", "ios": "warn", "web": "passed"}, monday
    ios = monday["ios"]
    assert ios["value"] < ios["threshold"] == pytest.approx(ios["detail"]["lower"]), ios
    assert ios["state"] == "promoted"  # volume warns, it does not hold
    # The detector's expectation follows the holiday; the simple bound (same hour, last 7 days) would
    # have warned on Christmas: its lower bound is above the day's valid lines.
    xmas = seen[WAVES[0]]["web"]
    assert xmas["detail"]["quantity"] == "new_events" and xmas["value"] < xmas["detail"]["valid"]
    by_hour = dict(wh.query("SELECT bucket_start, value FROM metric_history WHERE metric = 'volume.valid_lines' "
                            "AND scope = 'platform=web'"))
    day0 = dt.datetime.combine(WAVES[0], dt.time())
    lower = sum(np.median([by_hour.get(day0 + dt.timedelta(hours=h) - dt.timedelta(days=k), 0.0)
                           for k in range(1, 8)]) for h in range(24)) / wh.settings.monitor.volume_factor
    assert xmas["detail"]["valid"] < lower, (xmas["detail"]["valid"], lower)


def test_fallback_to_the_simple_bound_and_cold_start_say_so(wh: Any) -> None:
    from monitors.gate import evaluate_batches
    from monitors.store import put_metrics

    hours = [T0 - dt.timedelta(days=d) for d in range(1, 8)]
    with wh.transaction():
        put_metrics(wh, [("volume.valid_lines", "platform=ios", h, 3600, 400.0) for h in hours], add=True)
        # The detector forecast ios up to T0 only: the part's hour is beyond its last round.
        wh.execute("INSERT INTO volume_expectations (scope, bucket_start, bucket_seconds, expected, lower, upper, "
                   "judged, computed_at) VALUES ('platform=ios', ?, 3600, 500, 300, 700, FALSE, ?)",
                   [T0 - dt.timedelta(hours=1), T0])
    parts = [make_part(wh, "La", "ios", valid=400), make_part(wh, "La", "web", valid=400)]
    got = {r.platform: r for r in evaluate_batches(wh, parts) if r.check == "volume"}
    ios, web = got["ios"], got["web"]
    assert (ios.outcome, ios.detail["expectation_source"], ios.detail["quantity"]) == (
        "passed", "simple_bound", "valid_lines")
    assert ios.detail["fallback_reason"].startswith("the seasonal detector has no expectation for 1 bucket(s)")
    assert (web.outcome, web.detail["expectation_source"]) == ("not_evaluated", None)
    assert web.detail["reason"].startswith("cold start")


def test_the_detector_expectation_is_converted_to_arrival_time() -> None:
    # Half of each hour's events arrive within the hour, half exactly one hour later.
    delays = np.array([0.0] * 20 + [3600.0] * 21)
    q = arrival_kernel(delays, 3600)
    assert q[:3].sum() == pytest.approx(1.0) and q[0] == pytest.approx(0.5, abs=0.05)
    h = dt.datetime(2026, 12, 1, 10)
    step = dt.timedelta(hours=1)
    rows = {h - step: (100.0, 0.04), h: (300.0, 0.01)}  # (expected, model variance) per event-time hour
    exp, extra = convolve(rows, h, step, q)
    # H - 2, never judged by the detector, counts as H itself
    assert exp == pytest.approx(q[0] * 300 + q[1] * 100 + q[2] * 300)
    assert 0.01 < extra < 0.04
    assert convolve(rows, h + step, step, q) is None  # no expectation for the bucket itself
