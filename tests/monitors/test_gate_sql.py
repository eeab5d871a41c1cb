"""The gate's one aggregate query, rendered for both engines: golden files, Snowflake parsed by
sqlglot, and the DuckDB rendering executed (tests/monitors/test_gate_checks.py runs it per check).
After an intended change: NOVA_UPDATE_GOLDEN=1 pytest tests/monitors/test_gate_sql.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from monitors.gate_sql import gate_metrics_sql, hourly_volume_sql
from tests.pipeline.golden import assert_golden
from warehouse.engine import DuckDBEngine, SnowflakeEngine

GOLDEN = Path(__file__).parent / "golden"
LOADS = ["L20261125T170000000-0a1b2c", "L20261125T180000000-3d4e5f"]
LIMITS = {"web": 7200.0}


@pytest.mark.parametrize("engine", [DuckDBEngine(), SnowflakeEngine()], ids=lambda e: e.name)
def test_gate_sql_is_pinned_per_dialect(engine) -> None:
    sql = gate_metrics_sql(engine, LOADS, LIMITS, 3600.0) + ";\n\n" + hourly_volume_sql(engine, LOADS) + ";\n"
    assert_golden(GOLDEN / engine.name / "gate_metrics.sql", sql)
    for statement in sql.split(";")[:-1]:
        sqlglot.parse_one(statement, read=engine.dialect)  # parses in its own dialect


def test_one_query_for_every_metric_of_every_platform() -> None:
    sql = gate_metrics_sql(DuckDBEngine(), LOADS, {}, 3600.0)
    assert sql.count("GROUP BY") == 1 and "stg_pending" in sql and "quarantined_events" in sql
    assert "DATE_PART(EPOCH_MICROSECOND" in gate_metrics_sql(SnowflakeEngine(), LOADS, {}, 3600.0)
