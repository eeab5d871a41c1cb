"""Running the curated layer: plan, model_state, hierarchy changes, backfill, crash recovery."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
from typing import Any

import pytest

from pipeline.curate import backfill, curate, plan, rebuild_all
from pipeline.curate.definition import MODELS
from tests.conftest import REPO
from tests.pipeline.stg_factory import event, insert, rows
from warehouse.session import open_warehouse

D = dt.datetime
PUBLIC = ("fct_feature_events", "feature_usage_daily", "feature_usage_weekly", "feature_adoption_by_workspace",
          "user_feature_last_seen")
DAYS = [D(2026, 11, 23, 10), D(2026, 11, 24, 10), D(2026, 11, 25, 10)]


def three_days(wh: Any) -> None:
    insert(wh, [event(f"e{i}{u}", user=u, ws=f"w{i % 2}", at=t, feature=f)
                for i, t in enumerate(DAYS) for u in ("u1", "u2")
                for f in ("editor.comments.mention", "editor.text.bold")])


def snapshot(wh: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {t: rows(wh, t) for t in PUBLIC}


def moved(registry: Any, feature: str, parent: str) -> Any:
    """The registry with one feature moved under another parent."""
    feats = [f.model_copy(update={"parent": parent}) if f.id == feature else f for f in registry.catalog.features]
    return dataclasses.replace(registry, catalog=registry.catalog.model_copy(update={"features": feats}))


def test_plan_says_what_the_next_run_recomputes(wh, registry) -> None:
    three_days(wh)
    p = plan(wh, registry)
    assert p.pending_changes == 12 and p.scope.dates == tuple(t.date() for t in DAYS)
    assert p.scope.weeks == (dt.date(2026, 11, 23),) and p.scope.users == 2 and not p.hierarchy_changed
    assert [m.model for m in p.models] == [m.name for m in MODELS]
    assert p.models[0].estimated_rows == 12
    text = p.render()
    assert "3 date(s), 1 week(s), 1 month(s), 2 user(s)" in text and "feature_usage_weekly" in text
    # Planning ran nothing: no curated table yet, every change still pending.
    assert not wh.table_exists("fct_feature_events") and wh.scalar("SELECT COUNT(*) FROM pending_changes") == 12
    curate(wh, registry)
    assert plan(wh, registry).empty


def test_curate_records_model_state_and_consumes_pending(wh, registry) -> None:
    three_days(wh)
    res = curate(wh, registry)
    assert res.changes_consumed == 12 and not res.hierarchy_changed and "12 change(s)" in str(res)
    state = {r["model"]: r for r in wh.query_dicts("SELECT * FROM model_state")}
    assert set(state) == {m.name for m in MODELS}
    assert state["fct_feature_events"]["rows_written"] == 12 and state["fct_feature_events"]["mode"] == "incremental"
    assert state["fct_feature_events"]["rows_deleted"] == 0  # new events are appended
    assert wh.scalar("SELECT COUNT(*) FROM pending_changes") == 0
    again = curate(wh, registry)  # nothing pending: nothing rewritten
    assert again.changes_consumed == 0 and again.models == ()


def test_a_run_rewrites_only_the_events_and_daily_rows_that_changed(wh, registry) -> None:
    """Issue 17 point 6: a new event of a (date, workspace, user) unit already curated is appended
    (the unit's other events stay where they are), and of the unit's daily rows only the one of
    the event's feature is rewritten; the result is still what a full rebuild gives."""
    three_days(wh)
    curate(wh, registry)
    insert(wh, [event("more", user="u1", ws="w0", at=DAYS[0] + dt.timedelta(hours=1))])
    runs = {m.model: m for m in curate(wh, registry).models}
    assert (runs["fct_feature_events"].rows_deleted, runs["fct_feature_events"].rows_written) == (0, 1)
    assert (runs["int_user_feature_daily"].rows_deleted, runs["int_user_feature_daily"].rows_written) == (1, 1)
    assert wh.scalar("SELECT event_count FROM int_user_feature_daily WHERE user_id = 'u1' AND event_date = ? "
                     "AND feature_id = 'editor.comments.mention'", [DAYS[0].date()]) == 2
    after = snapshot(wh)
    rebuild_all(wh, registry)
    assert snapshot(wh) == after


def test_events_a_backfill_curated_before_their_change_are_not_doubled(wh, registry) -> None:
    three_days(wh)
    curate(wh, registry)
    insert(wh, [event("new", user="u3", ws="w1", at=DAYS[1])])
    backfill(wh, registry, DAYS[1].date(), DAYS[1].date())  # curates it; its pending change stays
    assert wh.scalar("SELECT COUNT(*) FROM pending_changes WHERE event_id = 'new'") == 1
    curate(wh, registry)
    assert wh.scalar("SELECT COUNT(*) FROM fct_feature_events WHERE event_id = 'new'") == 1
    after = snapshot(wh)
    rebuild_all(wh, registry)
    assert snapshot(wh) == after


def test_dim_feature_keeps_scd2_history_and_a_hierarchy_change_recomputes_roll_ups(wh, registry) -> None:
    three_days(wh)
    curate(wh, registry, now=D(2026, 11, 26))
    assert wh.scalar("SELECT COUNT(*) FROM dim_feature WHERE is_current") == len(registry.catalog.features)
    assert wh.query("SELECT path, depth FROM dim_feature WHERE feature_id = 'editor.comments.mention'") == [
        ("Editor > Comments > Mention", 2)]
    assert wh.query("SELECT depth_diff FROM feature_ancestors WHERE feature_id = 'editor.comments.mention' "
                    "AND ancestor_id = 'editor'") == [(2,)]
    new = moved(registry, "editor.comments.mention", "editor.text")
    assert plan(wh, new).hierarchy_changed
    res = curate(wh, new, now=D(2026, 11, 27))
    assert res.hierarchy_changed and {m.model for m in res.models if m.full} == {
        "int_usage_presence", "feature_usage_daily", "feature_usage_weekly", "int_adoption_presence",
        "int_workspace_active", "int_adoption_feature"}
    versions = wh.query("SELECT path, valid_from, valid_to, is_current FROM dim_feature "
                        "WHERE feature_id = 'editor.comments.mention' ORDER BY valid_from")
    assert versions == [("Editor > Comments > Mention", D(2026, 11, 26), D(2026, 11, 27), False),
                        ("Editor > Text > Mention", D(2026, 11, 27), None, True)]
    assert wh.query("SELECT event_count FROM feature_usage_weekly WHERE feature_id = 'editor.text' "
                    "AND platform = 'all'") == [(12,)]
    assert wh.scalar("SELECT COUNT(*) FROM feature_usage_weekly WHERE feature_id = 'editor.comments'") == 0
    after = snapshot(wh)
    rebuild_all(wh, new)
    assert snapshot(wh) == after


def test_backfill_rebuilds_a_range_from_stg_events(wh, registry) -> None:
    three_days(wh)
    curate(wh, registry)
    # A fix changed stg_events without telling curate (no pending change).
    wh.execute("DELETE FROM stg_events WHERE event_id = 'e1u1' OR event_id LIKE 'e2%'")
    res = backfill(wh, registry, dt.date(2026, 11, 24), dt.date(2026, 11, 25))
    assert res.chunks_run == (dt.date(2026, 11, 24), dt.date(2026, 11, 25)) and not res.chunks_skipped
    fixed = snapshot(wh)
    rebuild_all(wh, registry)
    assert snapshot(wh) == fixed


def test_backfill_resumes_after_an_interruption(wh, registry) -> None:
    three_days(wh)
    curate(wh, registry)
    start, end = DAYS[0].date(), DAYS[-1].date()

    def stop_after_first(day: dt.date, skipped: bool, rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backfill(wh, registry, start, end, on_chunk=stop_after_first)
    res = backfill(wh, registry, start, end)
    assert res.chunks_skipped == (start,) and res.chunks_run == tuple(t.date() for t in DAYS[1:])
    assert backfill(wh, registry, start, end).chunks_run == ()  # all done: idempotent
    assert len(backfill(wh, registry, start, end, restart=True).chunks_run) == 3
    before = snapshot(wh)
    rebuild_all(wh, registry)
    assert snapshot(wh) == before


def test_backfill_of_one_model_runs_only_it_and_what_it_reads(wh, registry) -> None:
    three_days(wh)
    curate(wh, registry)
    res = backfill(wh, registry, DAYS[0].date(), DAYS[0].date(), model="feature_usage_daily")
    assert res.models == ("int_user_feature_daily", "feature_usage_daily")
    assert {r[0] for r in wh.query("SELECT model FROM model_state WHERE mode = 'backfill'")} == set(res.models)


def test_backfill_after_a_hierarchy_change_rebuilds_everything(wh, registry) -> None:
    three_days(wh)
    curate(wh, registry)
    res = backfill(wh, moved(registry, "editor.text.bold", "editor.comments"), DAYS[0].date(), DAYS[0].date())
    assert res.rebuilt_all
    assert wh.query("SELECT event_count FROM feature_usage_weekly WHERE feature_id = 'editor.comments' "
                    "AND platform = 'all'") == [(12,)]


def test_a_crash_before_commit_loses_and_doubles_nothing(wh, registry) -> None:
    three_days(wh)
    url = os.environ["NOVA_WAREHOUSE_URL"]
    wh.close()
    code = ("from contracts.registry import load_registry; from pipeline.curate import curate; "
            "from warehouse.session import open_warehouse; "
            f"curate(open_warehouse(), load_registry({str(REPO / 'contracts')!r}))")
    env = {**os.environ, "NOVA_CRASH_AT": "curate:before_commit", "NOVA_WAREHOUSE_URL": url}
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    with open_warehouse() as again:
        assert again.scalar("SELECT COUNT(*) FROM pending_changes") == 12  # rolled back
        assert again.scalar("SELECT COUNT(*) FROM fct_feature_events") == 0
        curate(again, registry)
        done = snapshot(again)
        assert len(done["fct_feature_events"]) == 12
        rebuild_all(again, registry)
        assert snapshot(again) == done


def test_days_whose_events_left_by_retention_keep_their_aggregates(wh, registry) -> None:
    """Retention drops staged events (and fct rows) after 180 days but keeps daily rows and
    aggregates for 3 years: a rebuild or a backfill must not wipe what it cannot rebuild."""
    three_days(wh)
    curate(wh, registry)
    first = DAYS[0].date()
    wh.execute(f"DELETE FROM stg_events WHERE event_date = DATE '{first}'")
    wh.execute(f"DELETE FROM fct_feature_events WHERE event_date = DATE '{first}'")
    before = {t: rows(wh, t) for t in (*PUBLIC, "int_user_feature_daily")}
    rebuild_all(wh, registry)
    assert {t: rows(wh, t) for t in before} == before
    res = backfill(wh, registry, first, DAYS[1].date())
    assert res.chunks_expired == (first,) and res.chunks_run == (DAYS[1].date(),)
    assert {t: rows(wh, t) for t in before} == before


def test_ids_holding_the_key_separator_stay_distinct_across_runs(wh, registry) -> None:
    """Presence rows are found by a hash of their key columns: the text hashed keeps the columns
    apart (length prefixes), so ("w<US>1", "u") and ("w", "1<US>u") are two adoption rows."""
    sep = chr(31)
    insert(wh, [event("a1", user="u", ws=f"w{sep}1", at=DAYS[0])])
    curate(wh, registry)
    insert(wh, [event("a2", user=f"1{sep}u", ws="w", at=DAYS[1])])  # same week, next run
    curate(wh, registry)
    adoption = {(r[0], r[2]): r for r in wh.query(
        "SELECT workspace_id, feature_id, period, feature_users FROM feature_adoption_by_workspace "
        "WHERE feature_id = 'editor.comments.mention'")}
    assert adoption[(f"w{sep}1", "week")][3] == 1 and adoption[("w", "week")][3] == 1
    incremental = snapshot(wh)
    rebuild_all(wh, registry)
    assert snapshot(wh) == incremental


def test_a_warehouse_curated_before_presence_keys_is_keyed_on_open(wh, registry) -> None:
    """An older release's presence tables have no row_key: opening keys their rows, so the next
    incremental run still finds them (unkeyed rows would be counted again)."""
    three_days(wh)
    curate(wh, registry)
    for table in ("int_usage_presence", "int_adoption_presence"):
        wh.execute(f"ALTER TABLE {table} DROP COLUMN row_key")
    wh.close()
    with open_warehouse() as again:
        # New daily rows (another platform) of users and a workspace the week already counts.
        insert(again, [event(f"ios{u}", user=u, ws="w0", platform="ios", at=DAYS[2] + dt.timedelta(hours=3))
                       for u in ("u1", "u2")])
        curate(again, registry)
        assert again.scalar("SELECT COUNT(*) FROM int_usage_presence WHERE row_key IS NULL") == 0
        incremental = snapshot(again)
        weekly = again.query("SELECT user_count, workspace_count FROM feature_usage_weekly "
                             "WHERE feature_id = 'editor.comments.mention' AND platform = 'all'")
        assert weekly == [(2, 2)]
        rebuild_all(again, registry)
        assert snapshot(again) == incremental
