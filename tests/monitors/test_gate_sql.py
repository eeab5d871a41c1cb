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


def test_snowflake_rendering_computes_the_same_metrics_on_fakesnow(wh, snow_conn) -> None:
    """The Snowflake SQL run by fakesnow on the same batches as the DuckDB SQL: the same metrics."""
    from tests.monitors.parts import make_part
    from tests.pipeline.test_snowflake_dialect import FakesnowWarehouse, _copy_table, run_or_skip

    make_part(wh, LOADS[0], "ios", valid=300, repeats=30, reasons={"unknown_feature": 40, "invalid_json": 3},
              offsets=[5000.0] * 50 + [2.0] * 250)
    make_part(wh, LOADS[1], "web", valid=120, offsets=[-9000.0] * 20)
    fw = FakesnowWarehouse(snow_conn)
    fw.ensure_schema()
    for table in ("stg_pending", "quarantined_events", "stg_events"):
        _copy_table(wh, fw, table)
    expected = wh.query(gate_metrics_sql(DuckDBEngine(), LOADS, LIMITS, 3600.0))
    cur = run_or_skip(fw._cursor, gate_metrics_sql(SnowflakeEngine(), LOADS, LIMITS, 3600.0), what="the gate query")
    got = cur.fetchall()

    def norm(rows):
        return [tuple(round(float(v), 6) if isinstance(v, int | float) and not isinstance(v, bool) else v
                      for v in r) for r in rows]

    assert norm(got) == norm(expected)
    assert expected[0][2] == 343  # ios lines: 300 valid + 43 quarantined


def test_history_by_time_of_day_reads_the_same_on_fakesnow(wh, snow_conn) -> None:
    """The gate's normal reads each history value's second of the day in the warehouse: the same on both."""
    import datetime as dt

    from monitors.store import metric_values_by_time_of_day, put_metrics
    from tests.pipeline.test_snowflake_dialect import FakesnowWarehouse

    fw = FakesnowWarehouse(snow_conn)
    fw.ensure_schema()
    day = dt.datetime(2026, 11, 20)
    late = "gate.violation_too_late"
    rows = [(late, "platform=web", day + dt.timedelta(hours=23, minutes=59, seconds=59.5), 0, 0.04),
            (late, "platform=web", day + dt.timedelta(days=1, seconds=1), 0, 0.01),
            ("gate.null_user_id", "platform=ios", day + dt.timedelta(hours=3, minutes=15), 0, 0.002)]
    for w in (wh, fw):
        put_metrics(w, rows)
    expected = {(late, "platform=web"): [(1.0, 0.01), (86399.5, 0.04)], ("gate.null_user_id", "platform=ios"):
                [(11700.0, 0.002)]}
    for w in (wh, fw):
        got = metric_values_by_time_of_day(w, "gate.", day)
        assert {k: sorted(zip(*sv, strict=True)) for k, sv in got.items()} == expected, w.engine.name
