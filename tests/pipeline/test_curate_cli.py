"""`nova plan`, `nova backfill`, `nova query` through the CLI, on a DuckDB file (NOVA_WAREHOUSE_URL)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from nova.cli import app
from nova.errors import Exit, NovaError
from tests.pipeline.stg_factory import event, insert
from warehouse.session import open_warehouse

runner = CliRunner()


@pytest.fixture
def staged() -> None:
    """Three days of staged events with their pending changes; the warehouse is closed again (the
    commands open the file themselves)."""
    with open_warehouse() as wh:
        insert(wh, [event(f"e{d}{u}", user=u, at=f"2026-11-2{d} 10:00:00") for d in (3, 4, 5) for u in ("u1", "u2")])


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_plan_prints_the_next_run_without_running_it(staged) -> None:
    res = invoke("plan")
    assert res.exit_code == 0, res.output
    assert "6 pending change(s)" in res.output and "3 date(s), 1 week(s), 1 month(s), 2 user(s)" in res.output
    assert "feature_usage_weekly" in res.output
    assert "6 pending" in invoke("plan").output  # still pending: plan ran nothing


def test_backfill_shows_progress_and_resumes(staged) -> None:
    res = invoke("backfill", "--from", "2026-11-23", "--to", "2026-11-25")
    assert res.exit_code == 0, res.output
    assert "3 day(s) rebuilt, 0 already done" in res.output
    assert "0 day(s) rebuilt, 3 already done" in invoke("backfill", "--from", "2026-11-23", "--to", "2026-11-25").output
    again = invoke("backfill", "--from", "2026-11-23", "--to", "2026-11-25", "--restart",
                   "--model", "fct_feature_events")
    assert "3 day(s) rebuilt" in again.output and "(fct_feature_events)" in again.output
    with open_warehouse() as wh:
        assert wh.scalar("SELECT COUNT(*) FROM fct_feature_events") == 6
        assert wh.scalar("SELECT SUM(event_count) FROM feature_usage_daily WHERE platform = 'all' "
                         "AND feature_id = 'editor'") == 6


@pytest.mark.parametrize("args", [["--model", "nope"], ["--to", "2026-11-01"]])
def test_backfill_refuses_bad_arguments(staged, args: list[str]) -> None:
    base = {"--from": "2026-11-23", "--to": "2026-11-25"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    res = invoke("backfill", *[x for kv in base.items() for x in kv])
    assert isinstance(res.exception, NovaError) and res.exception.code == Exit.USAGE


def test_query_prints_table_csv_and_json(staged) -> None:
    invoke("backfill", "--from", "2026-11-23", "--to", "2026-11-25")
    sql = ("SELECT event_date, user_count FROM feature_usage_daily WHERE feature_id = 'editor' "
           "AND platform = 'all' ORDER BY event_date")
    as_json = invoke("query", sql, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == [{"event_date": f"2026-11-2{d}", "user_count": 2} for d in (3, 4, 5)]
    as_csv = list(csv.reader(io.StringIO(invoke("query", sql, "-f", "csv").output)))
    assert as_csv == [["event_date", "user_count"], *[[f"2026-11-2{d}", "2"] for d in (3, 4, 5)]]
    table = invoke("query", sql, "--limit", "2")
    assert "2026-11-24" in table.output and "2026-11-25" not in table.output and "more rows exist" in table.output


@pytest.mark.parametrize("sql", ["DELETE FROM stg_events", "SELECT 1; DROP TABLE stg_events",
                                 "WITH x AS (SELECT 1) DELETE FROM stg_events"])
def test_query_refuses_anything_but_a_read(staged, sql: str) -> None:
    res = invoke("query", sql)
    assert isinstance(res.exception, NovaError) and res.exception.code == Exit.USAGE
    with open_warehouse() as wh:
        assert wh.scalar("SELECT COUNT(*) FROM stg_events") == 6


def test_query_reports_database_errors_without_a_traceback(staged) -> None:
    res = invoke("query", "SELECT * FROM no_such_table")
    assert isinstance(res.exception, NovaError) and "no_such_table" in res.exception.message


@pytest.mark.parametrize("command", ["plan", "backfill", "query"])
def test_every_command_has_help(command: str) -> None:
    res = invoke(command, "--help")
    assert res.exit_code == 0 and len(res.output) > 200
