"""`detect_volume_anomalies` on generated traffic: two clean weeks, then a week with an outage, a
partial drop, a spike and a holiday (Thanksgiving, in the default calendar): one anomaly result
per incident, none on the clean weeks, expectations stored for the gate."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monitors.anomaly import detect_volume_anomalies, learned_holidays, volume_expectation
from tests.conftest import REPO
from tests.pipeline.helpers import load_and_run
from traffic import GeneratorConfig, Incident, generate, quirk_rates
from warehouse.session import open_warehouse

EVENTS_PER_DAY = 3000
INCIDENTS = {  # platform series -> (direction, first bucket)
    "platform=android": ("spike", dt.datetime(2026, 11, 23, 15)),
    "platform=ios": ("drop", dt.datetime(2026, 11, 24, 9)),
    "platform=web": ("drop", dt.datetime(2026, 11, 25, 13)),
}


def _generate(root: Path, registry: Any, start: dt.date, days: int, seed: int, incidents: list[str]) -> None:
    generate(GeneratorConfig(out=root, start=start, days=days, events_per_day=EVENTS_PER_DAY, seed=seed,
                             quirks=quirk_rates("low"), incidents=[Incident.parse(i) for i in incidents]),
             registry.catalog)


def _failed(results: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(r["scope"], json.loads(r["detail"])) for r in results if r["outcome"] == "failed"]


def test_one_anomaly_per_incident_and_none_on_clean_weeks(registry: Any, landing: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # The round's horizon is the latest arrival, capped by the clock: pin it after the generated weeks
    # (the in-process rounds and the `nova monitor` subprocess both read NOVA_NOW).
    monkeypatch.setenv("NOVA_NOW", "2026-12-02T00:00:00Z")
    _generate(landing, registry, dt.date(2026, 11, 9), 14, 11, [])
    with open_warehouse() as wh:
        load_and_run(wh, registry, landing)
        clean = detect_volume_anomalies(wh, registry)
        assert any(r["scope"] == "platform=web" and r["outcome"] == "passed" for r in clean)
        assert _failed(clean) == []
        judged = wh.scalar("SELECT COUNT(DISTINCT bucket_start) FROM volume_expectations WHERE judged "
                           "AND scope = 'platform=web'")
        assert judged >= 10 * 24  # the clean weeks were judged, after the minimum history

        _generate(landing, registry, dt.date(2026, 11, 23), 7, 12, [
            "spike-android:2026-11-23T15:3,factor=4",
            "outage-ios:2026-11-24T09:4",
            "outage-web:2026-11-25T13:3,share=0.5",
        ])
        load_and_run(wh, registry, landing)
    # the round as a user runs it: `nova monitor` (exit 1: anomalies found)
    res = subprocess.run([sys.executable, "-m", "nova.cli", "monitor", "--json"], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 1, res.stderr
    results = json.loads(res.stdout)
    failed = [(r["scope"], r["detail"]) for r in results if r["outcome"] == "failed"]
    platform_alerts = {scope: d for scope, d in failed if scope.startswith("platform=")}
    assert sorted(s for s, _ in failed if s.startswith("platform=")) == sorted(INCIDENTS)
    for scope, (direction, first) in INCIDENTS.items():
        d = platform_alerts[scope]
        assert d["direction"] == direction
        # caught within the incident's first two hours (a half drop at 3,000 events/day may need two)
        assert first <= dt.datetime.fromisoformat(d["first_anomalous_bucket"]) <= first + dt.timedelta(hours=1)
    assert platform_alerts["platform=ios"]["severity"] == "critical"  # near zero on a platform
    # area / feature series may echo a platform incident, never raise one of their own
    windows = [(first - dt.timedelta(hours=1), first + dt.timedelta(hours=5)) for _, first in INCIDENTS.values()]
    for scope, d in failed:
        at = dt.datetime.fromisoformat(d["first_anomalous_bucket"])
        assert any(lo <= at <= hi for lo, hi in windows), (scope, d)
    # Thanksgiving (2026-11-26, 27) is in the calendar: low, and no alert
    assert not any(dt.datetime.fromisoformat(d["first_anomalous_bucket"]).date() in
                   (dt.date(2026, 11, 26), dt.date(2026, 11, 27)) for _, d in failed)

    with open_warehouse() as wh:
        stored = wh.scalar("SELECT COUNT(*) FROM check_results WHERE source = 'detector' AND outcome = 'failed'")
        assert stored == len(failed)
        # The next round has nothing new to judge; the gate reads an expectation per platform hour.
        assert _failed(detect_volume_anomalies(wh, registry)) == []
        exp = volume_expectation(wh, "web", dt.datetime(2026, 11, 25, 14, 30))
        assert exp is not None and exp[1] < exp[0] < exp[2]
        observed = wh.scalar("SELECT value FROM metric_history WHERE scope = 'platform=web' "
                             "AND bucket_start = '2026-11-25 14:00:00'")
        assert observed < exp[1]  # the partial drop is below the band the gate sees
        assert volume_expectation(wh, "web", dt.datetime(2027, 3, 1)) is None


def test_days_of_alerts_acknowledged_as_expected_are_learned(wh: Any) -> None:
    detail = json.dumps({"first_anomalous_bucket": "2026-12-08T09:00:00", "last_anomalous_bucket":
                         "2026-12-08T17:00:00"})
    wh.execute("INSERT INTO check_results (result_id, source, scope, outcome, detail) "
               "VALUES ('r1', 'detector', 'platform=web', 'failed', ?)", [detail])
    wh.execute("INSERT INTO incidents (incident_key, scope, result_ids, opened_at, acknowledged_as) "
               "VALUES ('k1', 'platform=web', '[\"r1\"]', '2026-12-08 10:00:00', 'expected'), "
               "('k2', 'area=editor', NULL, '2026-12-09 03:00:00', 'expected'), "
               "('k3', 'platform=ios', NULL, '2026-12-09 03:00:00', NULL)")
    assert learned_holidays(wh) == {"platform=web": {dt.date(2026, 12, 8): "acknowledged as expected"},
                                    "area=editor": {dt.date(2026, 12, 9): "acknowledged as expected"}}


def test_a_round_on_an_empty_warehouse_writes_nothing(wh: Any, registry: Any) -> None:
    assert detect_volume_anomalies(wh, registry) == []
