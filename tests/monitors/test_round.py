"""Table checks of a round, each at its threshold; Soda contracts generated from ours (run on DuckDB,
rendered for Snowflake); pandera invariants on the touched partitions."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from config import Settings
from config.monitor import MonitorConfig
from monitors import round as rnd
from monitors.invariants import check_touched
from monitors.soda import TABLES, contract_yaml, run_soda, snowflake_data_source_yaml
from monitors.store import put_metrics
from pipeline.curate.definition import Scope
from pipeline.curate.models import ensure_curate_schema
from pipeline.gdpr import ensure_gdpr_schema
from warehouse import clock
from warehouse.engine import SnowflakeEngine
from warehouse.session import open_warehouse

NOW = dt.datetime(2026, 11, 26, 12, 0)
MIN = dt.timedelta(minutes=1)


@pytest.fixture
def wq() -> Any:
    with open_warehouse(Settings(monitor=MonitorConfig(soda=False))) as w, clock.set_now(NOW):
        ensure_curate_schema(w)
        ensure_gdpr_schema(w)
        yield w


def one(results: list[Any], check: str) -> Any:
    found = [r for r in results if r.check == check]
    assert len(found) == 1, [r.check for r in results]
    return found[0]


@pytest.mark.parametrize(("minutes", "outcome"), [(1.9, "passed"), (2.1, "failed")])
def test_raw_freshness_from_the_file_arrival(wq: Any, registry: Any, minutes: float, outcome: str) -> None:
    wq.execute("INSERT INTO load_ledger (file_path, load_id, platform, file_mtime, loaded_at) VALUES "
               "('platform=ios/a.jsonl', 'L1', 'ios', ?, ?)", [NOW - 2 * MIN - minutes * MIN, NOW - 2 * MIN])
    r = one(rnd.freshness(wq, registry, NOW), "freshness_raw")
    assert (r.outcome, r.threshold) == (outcome, 2) and r.value == pytest.approx(minutes)


@pytest.mark.parametrize(("minutes", "state", "outcome"), [
    (14.5, "promoted", "passed"), (15.5, "promoted", "failed"), (14.5, "pending", "passed"),
    (15.5, "pending", "failed"), (60, "held", "not_evaluated")])
def test_curated_freshness(wq: Any, registry: Any, minutes: float, state: str, outcome: str) -> None:
    arrived = NOW - dt.timedelta(minutes=minutes)
    wq.execute("INSERT INTO load_ledger (file_path, load_id, platform, file_mtime, loaded_at) VALUES "
               "('platform=ios/a.jsonl', 'L1', 'ios', ?, ?)", [arrived, arrived + MIN])
    wq.execute("INSERT INTO batches (batch_id, load_id, platform, state, updated_at) VALUES ('L1/ios', 'L1', "
               "'ios', ?, ?)", [state, NOW])
    assert one(rnd.freshness(wq, registry, NOW), "freshness_curated").outcome == outcome


def test_gdpr_requests_near_and_past_their_deadline(wq: Any, registry: Any) -> None:
    for i, deadline in enumerate((NOW - MIN, NOW + dt.timedelta(days=6), NOW + dt.timedelta(days=20))):
        wq.execute("INSERT INTO gdpr_requests (request_id, deadline, status) VALUES (?, ?, 'pending')",
                   [f"r{i}", deadline])
    wq.execute("INSERT INTO gdpr_requests (request_id, deadline, status) VALUES ('done', ?, 'completed')",
               [NOW - dt.timedelta(days=9)])
    res = rnd.gdpr_deadlines(wq, registry, NOW)
    assert (one(res, "gdpr_past_deadline").outcome, one(res, "gdpr_past_deadline").value) == ("failed", 1)
    assert (one(res, "gdpr_near_deadline").outcome, one(res, "gdpr_near_deadline").value) == ("warn", 1)


@pytest.mark.parametrize(("late", "outcome"), [(10, "passed"), (11, "warn")])
def test_late_event_share(wq: Any, registry: Any, late: int, outcome: str) -> None:
    received = NOW - MIN  # every NOT NULL column of a staged row, as the stage writes it
    wq.dbapi.cursor().executemany(
        "INSERT INTO stg_events (event_id, feature_id, user_id, workspace_id, platform, client_ts, received_at, "
        "event_ts, event_date, load_id, file_path, line_number, is_late) VALUES (?, 'editor', 'u1', 'w1', 'web', "
        "?, ?, ?, ?, 'L1', 'platform=web/a.jsonl', ?, ?)",
        [(f"e{i}", received, received, received, received.date(), i + 1, i < late) for i in range(100)])
    r = one(rnd.late_share(wq, registry, NOW), "late_event_share")
    assert r.outcome == outcome and r.value == pytest.approx(late / 100)


@pytest.mark.parametrize(("lines", "outcome"), [(300, "passed"), (301, "warn")])
def test_quarantine_growth_against_the_daily_median(wq: Any, registry: Any, lines: int, outcome: str) -> None:
    assert one(rnd.quarantine_growth(wq, registry, NOW), "quarantine_growth").outcome == "not_evaluated"
    day = NOW.replace(hour=0)
    with wq.transaction():
        put_metrics(wq, [("quarantine.lines", "table=quarantined_events", day - dt.timedelta(days=d), 86400, 100.0)
                         for d in range(1, 4)])
    wq.dbapi.cursor().executemany("INSERT INTO quarantined_events (load_id, line_number, reason, quarantined_at) "
                                  "VALUES ('L', ?, 'too_late', ?)", [(i, NOW - MIN) for i in range(lines)])
    r = one(rnd.quarantine_growth(wq, registry, NOW), "quarantine_growth")
    assert (r.outcome, r.threshold, r.normal) == (outcome, 300.0, 100.0)


def _events(wq: Any, n: int, **over: Any) -> None:
    rows = []
    for i in range(n):
        r = {"event_id": f"e{i}", "event_date": NOW.date(), "event_ts": NOW, "received_at": NOW - MIN,
             "platform": "web", "feature_id": "editor", "user_id": "u1", "workspace_id": "w1"} | (
            over if i == 0 else {})
        rows.append(r)
    cols = list(rows[0])
    wq.dbapi.cursor().executemany(f"INSERT INTO fct_feature_events ({', '.join(cols)}) VALUES "
                                  f"({', '.join('?' for _ in cols)})", [tuple(r[c] for c in cols) for r in rows])


def test_null_and_validity_of_curated_events(wq: Any, registry: Any) -> None:
    _events(wq, 4, user_id=None)
    wq.execute("INSERT INTO fct_feature_events (event_id, event_date, platform, feature_id, user_id, workspace_id, "
               "event_ts) VALUES ('x', ?, 'windows', 'no.such.feature', 'u', 'w', ?)", [NOW.date(), NOW])
    res = rnd.null_and_validity(wq, registry, NOW)
    assert one(res, "null_user_id").outcome == "failed" and one(res, "null_user_id").value == pytest.approx(0.2)
    assert one(res, "invalid_feature_id").outcome == "failed" and one(res, "invalid_platform").outcome == "failed"
    assert one(res, "null_event_id").outcome == "passed"


def test_curated_volume_against_the_days_before(wq: Any, registry: Any) -> None:
    for d in range(2, 6):
        wq.execute("INSERT INTO fct_feature_events (event_id, event_date) SELECT 'e' || i, ? FROM range(100) t(i)",
                   [NOW.date() - dt.timedelta(days=d)])
    r = one(rnd.curated_volume(wq, registry, NOW), "curated_volume")
    assert (r.outcome, r.value, r.normal) == ("warn", 0.0, 100.0)  # yesterday empty: volume collapsed
    wq.execute("INSERT INTO fct_feature_events (event_id, event_date) SELECT 'y' || i, ? FROM range(90) t(i)",
               [NOW.date() - dt.timedelta(days=1)])
    assert one(rnd.curated_volume(wq, registry, NOW), "curated_volume").outcome == "passed"


def test_a_round_stores_every_result(wq: Any, registry: Any) -> None:
    res = rnd.run_round(wq, registry)
    stored = wq.query("SELECT check_name, source FROM check_results WHERE source = 'table' ORDER BY 1")
    assert sorted((r.check, r.source) for r in res if r.source == "table") == stored and stored


# --- Soda -------------------------------------------------------------------------------------
def test_soda_contracts_are_generated_from_ours_and_run_on_duckdb(wq: Any, registry: Any) -> None:
    doc = yaml.safe_load(contract_yaml(TABLES[0], registry, wq.engine, "main", 6))
    assert doc["dataset"] == "nova/main/fct_feature_events"
    checks = {c["name"]: c["checks"] for c in doc["columns"]}
    assert {"missing": None} in checks["workspace_id"] and {"duplicate": None} in checks["event_id"]
    assert checks["platform"][0]["invalid"]["valid_values"] == sorted(registry.contracts)
    _events(wq, 5)
    _events(wq, 1, event_id="e1", feature_id="no.such.feature", user_id=None)  # a duplicate id, invalid, null
    wq.execute("INSERT INTO dim_feature (feature_id, is_current) SELECT id, TRUE FROM (VALUES ('editor')) v(id)")
    res = {(r.scope, r.check): r for r in run_soda(wq, registry)}
    fct = "table=fct_feature_events"
    assert res[(fct, "soda_duplicate_event_id")].outcome == "failed"
    assert res[(fct, "soda_missing_user_id")].outcome == "failed"
    assert res[(fct, "soda_invalid_feature_id")].outcome == "failed"
    assert res[(fct, "soda_missing_workspace_id")].outcome == "passed"
    assert res[(fct, "soda_row_count")].value == 6 and res[(fct, "soda_freshness")].outcome == "passed"
    assert all(r.source == "soda" for r in res.values())


def test_soda_renders_for_snowflake(registry: Any) -> None:
    ds = yaml.safe_load(snowflake_data_source_yaml(
        "snowflake://nova_svc@acme-eu1/NOVA/USAGE?warehouse=NOVA_WH&role=NOVA_RW"))
    assert ds == {"type": "snowflake", "name": "nova", "connection": {
        "account": "acme-eu1", "user": "nova_svc", "password": "${env.NOVA_SNOWFLAKE_PASSWORD}",
        "database": "NOVA", "warehouse": "NOVA_WH", "role": "NOVA_RW", "session_parameters": {"TIMEZONE": "UTC"}}}
    # The connection settings nova itself uses (PrivateLink, a proxy, a test server) reach Soda's connector too.
    via = yaml.safe_load(snowflake_data_source_yaml("snowflake://nova_svc@acme-eu1/NOVA/USAGE", SimpleNamespace(
        snowflake_host="acme.privatelink.snowflakecomputing.com", snowflake_port=8443, snowflake_protocol=None)))
    assert (via["connection"]["host"], via["connection"]["port"]) == ("acme.privatelink.snowflakecomputing.com", 8443)
    assert "protocol" not in via["connection"]
    doc = yaml.safe_load(contract_yaml(TABLES[0], registry, SnowflakeEngine(), "USAGE", 6))
    assert doc["dataset"] == "nova/USAGE/FCT_FEATURE_EVENTS" and doc["filter"] == "EVENT_DATE >= '${var.since}'"
    assert {c["name"] for c in doc["columns"]} >= {"EVENT_ID", "USER_ID", "FEATURE_ID"}
    ref = next(c for c in doc["columns"] if c["name"] == "FEATURE_ID")["checks"][1]["invalid"]
    assert ref["valid_reference_data"] == {"dataset": "nova/USAGE/DIM_FEATURE", "column": "FEATURE_ID"}


# --- pandera ----------------------------------------------------------------------------------
def test_pandera_catches_a_model_bug_on_the_touched_partitions(wq: Any) -> None:
    day = dt.date(2026, 11, 25)  # a Wednesday
    wq.execute("INSERT INTO feature_usage_daily (event_date, feature_id, platform, event_count, user_count, "
               "workspace_count) VALUES (?, 'editor', 'web', 5, 3, 1), (?, 'editor', 'ios', 2, 3, 1), "
               "(?, 'editor', 'web', 1, 9, 1)", [day, day, day - dt.timedelta(days=1)])
    wq.execute("INSERT INTO feature_usage_weekly (week_start, feature_id, platform, event_count, user_count, "
               "workspace_count) VALUES (?, 'editor', 'web', 5, 3, 1)", [day])  # not a Monday
    res = {r.check: r for r in check_touched(wq, Scope.of_dates([day]))}
    bad = res["feature_usage_daily.users_le_events"]
    assert bad.outcome == "failed" and bad.value == 1  # the row of the untouched day is not read
    assert bad.detail["sample"][0]["platform"] == "ios"
    assert res["feature_usage_daily.events_positive"].outcome == "passed"
    assert res["feature_usage_weekly.week_start_monday"].outcome == "passed"  # its week was not touched
    stored = wq.scalar("SELECT COUNT(*) FROM check_results WHERE source = 'pandera' AND outcome = 'failed'")
    assert stored == 1
