"""Done-when of the monitor's gate: a generated week at realistic quirk rates, arriving in daily
loads, holds nothing until the injected incidents; each incident holds or warns its own platform's
part of that load while the other platforms' parts are curated; after `nova batches release --all`
and `nova run` the curated tables equal an ungated run and `nova reconcile` adds up."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from nova.demo import _waves
from pipeline.cli import run_pipeline
from pipeline.landing import Landing
from pipeline.load import load
from tests.e2e.test_pipeline_cli import nova
from traffic import GeneratorConfig, Incident, generate
from warehouse.session import open_warehouse

START = dt.date(2026, 11, 11)  # Wednesday: five clean days (a weekend among them), then the incidents
INCIDENTS = {  # (platform, arrival day) → (check, outcome)
    ("ios", "2026-11-16"): ("unknown_feature", "failed"),  # bad release
    ("web", "2026-11-16"): ("clock_drift", "warn"),  # clock-skew burst
    ("android", "2026-11-17"): ("null_workspace_id", "failed"),  # missing workspace ids
    ("backend", "2026-11-17"): ("duplicate_rate", "warn"),  # duplicate storm
}
CURATED = ("fct_feature_events", "feature_usage_daily", "feature_usage_weekly", "feature_adoption_by_workspace",
           "user_feature_last_seen")


def rows(wh: Any, table: str) -> list[tuple[str, ...]]:
    return sorted(tuple(str(v) for v in r) for r in wh.query(f"SELECT * FROM {table}"))


def test_incidents_hold_or_warn_their_platform_and_release_equals_ungated(
        tmp_path: Path, registry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    staging, landing = tmp_path / "staging", tmp_path / "landing"
    incidents = [Incident.parse(f"{kind}-{plat}:{day}T00:24") for kind, plat, day in (
        ("bad_release", "ios", "2026-11-16"), ("clock_skew", "web", "2026-11-16"),
        ("missing_workspace", "android", "2026-11-17"), ("duplicate_storm", "backend", "2026-11-17"))]
    generate(GeneratorConfig(out=staging, start=START, days=7, events_per_day=1500, seed=11, incidents=incidents))
    waves = _waves(staging)
    days = [d for d in waves if d < "2026-11-18"]
    day_of_load: dict[str, str] = {}
    with open_warehouse() as wh:
        for day in [*days, "later"]:
            files = waves[day] if day != "later" else [p for d, ps in waves.items() if d >= "2026-11-18" for p in ps]
            for p in files:
                target = landing / p.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(p, target)
            res = load(wh, Landing(str(landing)))
            run_pipeline(wh, registry)
            day_of_load[res.load_id or ""] = day
        results = wh.query_dicts("SELECT batch_id, platform, check_name, outcome FROM check_results "
                                 "WHERE source = 'gate' AND outcome IN ('failed', 'warn') AND check_name <> 'volume'")
        states = {b: s for b, s in wh.query("SELECT batch_id, state FROM batches")}
        bases = {(r[0].split("/")[0], json.loads(r[1])["normal_basis"].split(" (")[0]) for r in wh.query(
            "SELECT batch_id, detail FROM check_results WHERE source = 'gate' AND check_name = 'violation_too_late'")}
    found = {(r["platform"], day_of_load[r["batch_id"].split("/")[0]]): (r["check_name"], r["outcome"])
             for r in results}
    assert found == INCIDENTS  # nothing else failed or warned (volume warnings aside: no seasonality yet)
    # Daily parts span a day: no one time of day, so the all-hours normal of the days before (the
    # lookback counts back from their arrival, not from the wall clock); cold start only at first.
    assert {(day_of_load[ld], basis) for ld, basis in bases if day_of_load[ld] != "later"} == {
        (d, "cold start: fewer than min_history" if d < "2026-11-14" else "all hours") for d in days}
    held = sorted((b.split("/")[1], day_of_load[b.split("/")[0]]) for b, s in states.items() if s == "held")
    assert held == [("android", "2026-11-17"), ("ios", "2026-11-16")]
    incident_loads = [ld for ld, d in day_of_load.items() if d in ("2026-11-16", "2026-11-17")]
    assert all(states[f"{ld}/{p}"] == "promoted" for ld in incident_loads for p in ("web", "backend"))

    listed = json.loads(nova("batches", "list", "--state", "held", "--json").stdout)
    assert {b["batch_id"] for b in listed} == {b for b, s in states.items() if s == "held"}
    assert all(b["failed_checks"] and b["platform"] in ("ios", "android") and b["lines"] > 0 for b in listed)
    rec = json.loads(nova("reconcile", "--json").stdout)
    assert rec["held"] == sum(b["lines"] for b in listed) and rec["held"] > 0
    released = nova("batches", "release", "--all", "--by", "oncall", "--reason", "incident understood")
    assert released.returncode == 0 and released.stdout.count("released") == 2, released.stderr
    assert nova("run").returncode == 0
    rec = nova("reconcile", "--json")
    assert rec.returncode == 0 and json.loads(rec.stdout)["held"] == 0

    # The same files through an ungated pipeline, in one load: the same curated rows.
    monkeypatch.setattr("pipeline.stage.BLOCKING_CHECKS", [])
    with open_warehouse(Settings(warehouse_url=f"duckdb:///{tmp_path}/ungated.duckdb",
                                 landing_path=str(landing))) as ungated, open_warehouse() as gated:
        load(ungated, Landing(str(landing)))
        run_pipeline(ungated, registry)
        assert ungated.scalar("SELECT COUNT(*) FROM batches WHERE state <> 'promoted'") == 0
        for table in CURATED:
            assert rows(gated, table) == rows(ungated, table), table
        assert gated.query("SELECT decided_by, reason FROM batch_decisions WHERE action = 'release'") == [
            ("oncall", "incident understood")] * 2
