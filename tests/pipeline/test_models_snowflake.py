"""The curated models rendered for Snowflake: every statement parses as Snowflake SQL, uses the
Snowflake spelling of what differs, and the whole curate step runs through fakesnow with the same
result as on DuckDB."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from config.settings import Settings
from contracts.registry import load_registry
from pipeline.curate import curate
from pipeline.curate.definition import CURATED_TABLES, MODELS, WORK_TABLES, Scope
from pipeline.curate.models import render, statements
from tests.conftest import REPO
from tests.pipeline.stg_factory import event, insert, remove, rows
from warehouse.engine import SnowflakeEngine
from warehouse.schema import TABLES_BY_NAME, create_table_sql
from warehouse.session import Warehouse, open_warehouse

SF = SnowflakeEngine()
SCOPE = Scope.of_dates([dt.date(2026, 11, 29), dt.date(2026, 12, 1)], units=3, users=2).model_copy(
    update={"received_from": dt.datetime(2026, 11, 29, 1, 2, 3, 456789)})
MODES = ("delta", "range", "full")
PUBLIC = ("fct_feature_events", "feature_usage_daily", "feature_usage_weekly", "feature_adoption_by_workspace",
          "user_feature_last_seen")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", [m.name for m in MODELS])
def test_every_statement_parses_as_snowflake(model: str, mode: str) -> None:
    for sql in statements(model, SF, SCOPE, mode):  # type: ignore[arg-type]
        tree = sqlglot.parse_one(sql, read="snowflake")
        assert isinstance(tree, exp.Insert | exp.Delete | exp.Update), sql[:80]
        # DuckDB spellings that must not reach Snowflake.
        for duck in ("DATE_TRUNC('week'", "::", "epoch_us", "json_extract", "DOUBLE", "GROUP BY ALL"):
            assert duck not in sql, f"{model}/{mode}: {duck}"


def test_the_snowflake_spelling_of_periods_and_types() -> None:
    sql = render("int_adoption_presence", SF, SCOPE, "full")
    assert "DATEADD(DAY, 1 - DAYOFWEEKISO(x.event_date), CAST(x.event_date AS DATE))" in sql
    assert "CAST(DATE_TRUNC('MONTH', x.event_date) AS DATE)" in sql
    view = render("feature_adoption_by_workspace", SF, Scope())
    assert "CAST(f.feature_users AS FLOAT) / a.active_users" in view
    assert isinstance(sqlglot.parse_one(view, read="snowflake"), exp.Create)


def test_tables_with_user_ids_are_transient_and_clustered() -> None:
    ddl = {t.name: create_table_sql(t, SF) for t in CURATED_TABLES}
    for name in ("fct_feature_events", "int_user_feature_daily", "int_usage_presence", "int_adoption_presence",
                 "int_user_feature_last", "user_feature_last_seen"):
        assert ddl[name].startswith(f"CREATE TRANSIENT TABLE IF NOT EXISTS {name}"), name
        assert "DATA_RETENTION_TIME_IN_DAYS = 1" in ddl[name]
    assert "CLUSTER BY (event_date)" in ddl["feature_usage_daily"]
    assert "TRANSIENT" not in ddl["feature_usage_weekly"]  # no user id: normal Time Travel
    for sql in ddl.values():
        sqlglot.parse_one(sql, read="snowflake")
    for t in WORK_TABLES:  # per session, never persisted
        assert create_table_sql(t, SF, temporary=True).startswith(f"CREATE TEMPORARY TABLE IF NOT EXISTS {t.name}")


# --- the whole step through fakesnow --------------------------------------------------------
def fakesnow_warehouse(conn: Any) -> Warehouse:
    """The project's Warehouse on a fakesnow connection (its execute/query/transaction as they are)."""
    wh = Warehouse.__new__(Warehouse)
    wh.settings = Settings()
    wh.engine = SF
    wh.dbapi = conn
    wh._cursor = conn.cursor()
    wh._in_tx = False
    for name in ("stg_events", "pending_changes"):
        wh.execute(create_table_sql(TABLES_BY_NAME[name], SF))
    return wh


@pytest.fixture
def snow() -> Iterator[Warehouse]:
    fakesnow = pytest.importorskip("fakesnow")
    import snowflake.connector

    with warnings.catch_warnings(), fakesnow.patch():
        warnings.simplefilter("ignore")
        conn = snowflake.connector.connect(database="nova", schema="curated", paramstyle="qmark")
        yield fakesnow_warehouse(conn)
        conn.close()


def batches() -> list[tuple[list[dict[str, Any]], list[str]]]:
    """(events to stage, event ids to remove first): a week and a month boundary, ties, a removal
    that takes away a user's latest event (the shrink path) and a late earlier copy."""
    t = dt.datetime(2026, 11, 29, 22)
    first = [event("e1", at=t), event("e2", user="u2", platform="ios", at=t),
             event("e3", feature="editor.comments", at=t + dt.timedelta(hours=3)),
             event("e4", user="u2", ws="w2", feature="editor.text.bold", at=t + dt.timedelta(days=2))]
    second = [event("e5", user="u3", platform="android", at=t + dt.timedelta(days=1)),
              event("e2", user="u2", platform="ios", at=t - dt.timedelta(hours=1))]  # earlier copy took over
    return [(first, []), (second, ["e3", "e2"])]


def run_batches(wh: Warehouse, registry: Any) -> dict[str, list[tuple[Any, ...]]]:
    for events, gone in batches():
        remove(wh, gone)
        insert(wh, events)
        curate(wh, registry)
    return {t: rows(wh, t) for t in PUBLIC}


@pytest.mark.slow
def test_curate_runs_on_fakesnow_like_on_duckdb(snow: Warehouse) -> None:
    registry = load_registry(REPO / "contracts")
    on_snowflake = run_batches(snow, registry)
    with open_warehouse(Settings(warehouse_url="duckdb:///:memory:")) as duck:
        on_duckdb = run_batches(duck, registry)
    assert on_duckdb["feature_usage_daily"]  # the scenario curates something
    for table in PUBLIC:
        assert on_snowflake[table] == on_duckdb[table], table
    assert snow.scalar("SELECT COUNT(*) FROM pending_changes") == 0
