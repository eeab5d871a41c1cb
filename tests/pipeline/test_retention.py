"""Retention: event-level rows leave after raw_retention_days (a line with all it became),
aggregates after aggregate_retention_days (whole periods only); the ledger stays; reconcile
still adds up; a dry run deletes nothing; applying twice changes nothing the second time."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from pipeline import gdpr
from pipeline.cli import run_pipeline
from pipeline.landing import Landing
from pipeline.load import load
from pipeline.reconcile import adds_up, reconcile
from pipeline.retention import apply_retention, cutoffs
from tests.conftest import write_landing
from tests.pipeline.helpers import web
from warehouse.session import Warehouse

NOW = dt.datetime(2026, 11, 25, 18, 0)
RECENT = dt.datetime(2026, 11, 24, 10, 0)
OLD = dt.datetime(2026, 5, 6, 10, 0)  # 203 days: past raw retention (180), within aggregates
ANCIENT = dt.datetime(2023, 1, 11, 10, 0)  # past aggregate retention (1095 days)
HAS_CURATE = importlib.util.find_spec("pipeline.curate") is not None


def at(mid: str, user: str, when: dt.datetime, **over: Any) -> dict[str, Any]:
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731
    return web(mid, userId=user, originalTimestamp=iso(when), sentAt=iso(when + dt.timedelta(seconds=1)),
               received_at=iso(when + dt.timedelta(seconds=2)), **over)


LINES = [
    at("r1", "u_now", RECENT), at("r2", "u_both", RECENT),
    at("o1", "u_old", OLD), at("o2", "u_both", OLD), at("o3", "u_old", OLD, type="page"),
    at("o4", "u_old", OLD, properties={"feature": "nope.nope", "workspaceId": "ws_001"}),
    at("O1", "u_old", OLD + dt.timedelta(hours=1)),  # duplicate of o1 (ids are lower-cased)
    at("a1", "u_gone", ANCIENT), at("a2", "u_both", ANCIENT),
]


@pytest.fixture
def loaded(landing: Path, registry: Any, wh: Warehouse) -> Warehouse:
    # A collector's received_at is trusted within a year of the file's arrival (docs/pipeline.md):
    # the ancient lines come in a file of their own time.
    ancient = [x for x in LINES if x["received_at"].startswith(str(ANCIENT.year))]
    write_landing(landing, "web", "x.jsonl", [x for x in LINES if x not in ancient])
    write_landing(landing, "web", "a.jsonl", ancient, day=ANCIENT.date().isoformat(),
                  mtime=(ANCIENT + dt.timedelta(hours=1)).replace(tzinfo=dt.UTC))
    load(wh, Landing(str(landing)))
    run_pipeline(wh, registry)
    return wh


def counts(wh: Warehouse) -> dict[str, int]:
    tables = [r[0] for r in wh.query("SELECT table_name FROM information_schema.tables "
                                     "WHERE table_catalog = current_database() AND table_type = 'BASE TABLE'")]
    return {t: int(wh.scalar(f"SELECT COUNT(*) FROM {t}")) for t in sorted(tables)}


def test_cutoffs_are_pure_dates() -> None:
    c = cutoffs(Settings(), NOW)
    assert c.events == dt.date(2026, 5, 29)
    assert c.aggregates == dt.date(2023, 11, 26)
    assert c.aggregate_week == dt.date(2023, 11, 20) and c.aggregate_month == dt.date(2023, 11, 1)


def test_dry_run_counts_and_deletes_nothing(loaded: Warehouse) -> None:
    before = counts(loaded)
    preview = apply_retention(loaded, Settings(), now=NOW, dry_run=True)
    assert counts(loaded) == before
    applied = apply_retention(loaded, Settings(), now=NOW)
    assert preview == applied
    assert applied["raw_events"] == 7 and applied["stg_events"] == 4 and applied["stg_duplicates"] == 1
    assert applied["quarantined_events"] == 1 and applied["ignored_events"] == 1
    assert all(v == 0 for v in apply_retention(loaded, Settings(), now=NOW).values())


def test_event_level_rows_leave_together_and_reconcile_adds_up(loaded: Warehouse, landing: Path) -> None:
    apply_retention(loaded, Settings(), now=NOW)
    assert {r[0] for r in loaded.query("SELECT event_id FROM stg_events")} == {"r1", "r2"}
    assert loaded.scalar("SELECT COUNT(*) FROM raw_events") == 2
    rec = reconcile(loaded)
    assert all(adds_up(r) for r in rec["loads"]) and rec["total"]["received"] == 2
    # The ledger stays: the file, still in the landing folder, is not loaded again.
    assert loaded.scalar("SELECT COUNT(*) FROM load_ledger") == 2  # x.jsonl and a.jsonl
    assert load(loaded, Landing(str(landing))).load_id is None


@pytest.mark.skipif(not HAS_CURATE, reason="pipeline.curate is not installed")
def test_aggregates_keep_three_years_in_whole_periods(loaded: Warehouse, registry: Any) -> None:
    removed = apply_retention(loaded, Settings(), now=NOW)
    days = {r[0] for r in loaded.query("SELECT DISTINCT event_date FROM feature_usage_daily")}
    assert days == {OLD.date(), RECENT.date()}  # the old day outlives its events, the ancient one is gone
    assert loaded.scalar("SELECT COUNT(*) FROM fct_feature_events WHERE event_date < ?", [OLD.date()
                                                                                          + dt.timedelta(days=1)]) == 0
    weeks = {r[0] for r in loaded.query("SELECT DISTINCT week_start FROM feature_usage_weekly")}
    assert min(weeks) == dt.date(2026, 5, 4)
    months = {r[0] for r in loaded.query("SELECT DISTINCT period_start FROM feature_adoption_by_workspace "
                                         "WHERE period = 'month'")}
    assert months == {dt.date(2026, 5, 1), dt.date(2026, 11, 1)}
    assert removed["user_feature_last_seen"] == 1  # u_gone, seen last in 2023
    assert removed["user_feature_last_seen:trimmed"] == 1  # u_both loses its 2023 use
    row = loaded.query_dicts("SELECT * FROM user_feature_last_seen WHERE user_id = 'u_both'")[0]
    assert row["event_count"] == 2 and row["first_seen_at"].date() == OLD.date()


def test_whole_periods_only_at_the_aggregate_cutoff(loaded: Warehouse) -> None:
    # Cutoff on a Wednesday mid-month: the week and the month holding it stay.
    now = dt.datetime(2026, 1, 14, 12) + dt.timedelta(days=1095)
    c = cutoffs(Settings(), now)
    assert c.aggregates == dt.date(2026, 1, 14)
    assert (c.aggregate_week, c.aggregate_month) == (dt.date(2026, 1, 12), dt.date(2026, 1, 1))


@pytest.mark.skipif(not HAS_CURATE, reason="pipeline.curate is not installed")
def test_incremental_runs_after_retention_keep_old_aggregates(loaded: Warehouse, landing: Path,
                                                               registry: Any) -> None:
    apply_retention(loaded, Settings(), now=NOW)
    old_day = sorted(loaded.query("SELECT * FROM feature_usage_daily WHERE event_date = ?", [OLD.date()]))
    write_landing(landing, "web", "y.jsonl", [at("n1", "u_now", RECENT + dt.timedelta(hours=2)),
                                              at("n2", "u_both", RECENT + dt.timedelta(hours=3))])
    load(loaded, Landing(str(landing)))
    run_pipeline(loaded, registry)
    assert sorted(loaded.query("SELECT * FROM feature_usage_daily WHERE event_date = ?", [OLD.date()])) == old_day
    # The trimmed summary and curate's own arithmetic agree: 2 kept uses + 1 new, first in May.
    row = loaded.query_dicts("SELECT * FROM user_feature_last_seen WHERE user_id = 'u_both'")[0]
    assert row["event_count"] == 3 and row["first_seen_at"].date() == OLD.date()


@pytest.mark.skipif(not HAS_CURATE, reason="pipeline.curate is not installed")
def test_erasure_reaches_curated_rows_whose_events_are_past_raw_retention(loaded: Warehouse, landing: Path,
                                                                          registry: Any) -> None:
    apply_retention(loaded, Settings(), now=NOW)
    assert loaded.scalar("SELECT COUNT(*) FROM stg_events WHERE user_id = 'u_old'") == 0
    assert loaded.scalar("SELECT COUNT(*) FROM int_user_feature_daily WHERE user_id = 'u_old'") == 1
    users_before = loaded.scalar("SELECT user_count FROM feature_usage_daily WHERE event_date = ? "
                                 "AND feature_id = 'editor' AND platform = 'all'", [OLD.date()])
    gdpr.record_request(loaded, Settings(), "u_old")
    [res] = gdpr.process_pending(loaded, Landing(str(landing)), registry)
    assert res.completed, res.problem
    assert gdpr.residue(loaded, "u_old", exclude=()) == {}
    assert loaded.scalar("SELECT user_count FROM feature_usage_daily WHERE event_date = ? "
                         "AND feature_id = 'editor' AND platform = 'all'", [OLD.date()]) == users_before - 1
    # The landing folder has no lifecycle rule: the file still held the user's expired lines.
    text = (landing / "platform=web/dt=2026-11-25/hour=17/x.jsonl").read_text()
    assert "u_old" not in text and "u_both" in text
