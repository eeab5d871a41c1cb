"""The generated package with real dbt on DuckDB: an analyst's empty project adds it, builds it against a
generated warehouse (attached read-only), and sees a broken curated invariant fail."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.analytics.dbt_env import analyst_project, dbt, duckdb_output, nova, require_dbt, results
from tests.conftest import REPO, write_landing
from tests.pipeline.helpers import web

DAY = dt.date(2026, 11, 20)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    require_dbt()
    base = tmp_path_factory.mktemp("dbt_demo")
    warehouse = base / "warehouse.duckdb"
    # dbt's freshness reads the wall clock (DuckDB's now()), so the project's clock is pinned to it.
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    env = {"NOVA_WAREHOUSE_URL": f"duckdb:///{warehouse}", "NOVA_LANDING_PATH": str(base / "landing"),
           "NOVA_STATE_DIR": str(base / "state"), "NOVA_CONTRACTS_PATH": str(REPO / "contracts"),
           "NOVA_NOW": _iso(now)}
    nova("generate", "--days", "1", "--events-per-day", "1200", "--seed", "7", "--start", DAY.isoformat(), env=env)
    # ...and the newest line arrived a minute ago.
    sent = now - dt.timedelta(minutes=1)
    write_landing(base / "landing", "web", "fresh.jsonl",
                  [web("fresh-1", originalTimestamp=_iso(sent - dt.timedelta(seconds=3)), sentAt=_iso(sent),
                       received_at=_iso(sent))], day=sent.strftime("%Y-%m-%d"), hour=sent.strftime("%H"))
    nova("load", env=env)
    nova("run", env=env)
    with duckdb.connect(str(warehouse)) as con:  # what monitors.trust writes: a feature, its area, a table
        con.executemany("INSERT INTO trust_scores (day, scope_type, scope, score, grade, components, reasons, "
                        "computed_at) VALUES (?, ?, ?, ?, ?, '{}', '[]', ?)",
                        [(DAY, "feature", "editor.comments.mention", 91.0, "A", now),
                         (DAY, "area", "editor", 62.0, "C", now),
                         (DAY, "table", "feature_usage_daily", 88.0, "B", now)])
    package = base / "nova_curated"
    nova("dbt", "export", "--out", str(package), env=env)
    broken = base / "broken.duckdb"
    project = base / "analytics"
    analyst_project(project, package, {"local": duckdb_output(project, warehouse),
                                       "broken": duckdb_output(project, broken)}, "local")
    return {"warehouse": warehouse, "project": project, "broken": broken}


def test_parse_build_and_freshness_pass_on_a_generated_warehouse(demo: dict[str, Path]) -> None:
    project = demo["project"]
    dbt(project, "parse")
    out = dbt(project, "build").stdout
    statuses = results(project)
    tests = {k: v for k, v in statuses.items() if k.startswith("test.")}
    assert len(tests) >= 90 and set(tests.values()) == {"pass"}, out[-3000:]
    assert statuses["model.nova_curated.nova_feature_usage_daily_with_trust"] == "success"
    assert statuses["model.nova_curated.nova_weekly_feature_adoption_by_segment"] == "success"
    # the starter model shows each day's usage beside the narrowest trust score there is
    with duckdb.connect(str(project / "analytics.duckdb"), read_only=True) as con:
        con.execute(f"ATTACH '{demo['warehouse']}' AS nova (READ_ONLY)")
        rows = con.execute(
            "SELECT feature_id, area_id, trust_score, trust_grade, trust_scope_type "
            "FROM nova_feature_usage_daily_with_trust WHERE event_date = ? AND platform = 'all'", [DAY]).fetchall()
        segments = con.execute("SELECT DISTINCT workspace_segment FROM nova_weekly_feature_adoption_by_segment"
                               ).fetchall()
    by_feature = {r[0]: r[1:] for r in rows}
    assert by_feature["editor.comments.mention"] == ("editor", 91.0, "A", "feature")
    assert by_feature["editor"] == ("editor", 62.0, "C", "area")
    other = [v for f, v in by_feature.items() if v[0] != "editor"]
    assert other and all(v[1:] == (88.0, "B", "table") for v in other)
    assert {s for (s,) in segments} <= {"small", "medium", "large"} and segments
    # the curated layer is fresh: the newest event arrived a minute ago
    dbt(project, "source", "freshness")
    fresh = results(project, "sources.json")
    assert fresh == {"source.nova_curated.nova.fct_feature_events": "pass",
                     "source.nova_curated.nova.trust_scores": "pass"}


def test_a_broken_curated_invariant_fails_its_test(demo: dict[str, Path]) -> None:
    project, broken = demo["project"], demo["broken"]
    shutil.copy(demo["warehouse"], broken)
    with duckdb.connect(str(broken)) as con:
        # the grain broken (a daily row twice), a platform outside the registry, a feature not in the catalog
        con.execute("INSERT INTO feature_usage_daily SELECT * FROM feature_usage_daily LIMIT 1")
        con.execute("UPDATE fct_feature_events SET platform = 'windows' WHERE event_id = 'fresh-1'")
        con.execute("UPDATE fct_feature_events SET feature_id = 'editor.nope' WHERE event_id IN "
                    "(SELECT event_id FROM fct_feature_events WHERE event_id <> 'fresh-1' LIMIT 1)")
        # and the curated layer is 30 minutes behind (past the 15-minute service level)
        con.execute("UPDATE fct_feature_events SET received_at = received_at - INTERVAL 30 MINUTE")
    dbt(project, "test", "--select", "source:nova", "--target", "broken", expect=1)
    failed = {k for k, v in results(project).items() if v == "fail"}
    assert {k.rsplit(".", 1)[0] for k in failed} == {
        "test.nova_curated.source_nova_unique_grain_nova_feature_usage_daily_event_date__feature_id__platform",
        "test.nova_curated.source_accepted_values_nova_fct_feature_events_platform__android__backend__ios__web",
        "test.nova_curated.source_relationships_nova_fct_feature_events_feature_id__feature_id__source_nova_dim"
        "_feature_",
    }, failed
    dbt(project, "source", "freshness", "--target", "broken")
    assert results(project, "sources.json")["source.nova_curated.nova.fct_feature_events"] == "warn"
