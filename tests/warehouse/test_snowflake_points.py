"""Smaller Snowflake points of issue 17 (7, 9, 11): what the rendered SQL must and must not do."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from config import Settings
from pipeline.curate.definition import Scope
from pipeline.curate.models import render
from pipeline.gdpr_landing import _candidates
from pipeline.landing import Landing
from pipeline.snowflake_cli import stage_statements
from pipeline.snowflake_load import SnowflakeLanding, validate_sql
from tests.conftest import write_landing
from warehouse.engine import DuckDBEngine, SnowflakeEngine


def test_the_replaced_view_keeps_the_analysts_grants_on_snowflake() -> None:
    sf = render("feature_adoption_by_workspace", SnowflakeEngine(), Scope())
    assert "CREATE OR REPLACE VIEW feature_adoption_by_workspace COPY GRANTS AS" in sf
    sqlglot.parse_one(sf, read="snowflake")  # valid Snowflake
    assert "COPY GRANTS" not in render("feature_adoption_by_workspace", DuckDBEngine(), Scope())


def test_rejected_rows_come_from_copy_history_not_validate() -> None:
    sql = validate_sql(SnowflakeLanding.from_settings(Settings(landing_path="s3://novasuite-events-landing/events")))
    assert "VALIDATE(" not in sql and "COPY_HISTORY" in sql and "ERROR_COUNT > 0" in sql
    assert "FIRST_ERROR_LINE_NUMBER" in sql


def test_properties_are_cut_from_an_object_without_an_implicit_cast(registry: Any) -> None:
    staging = " ".join(s.sql for s in stage_statements(registry))
    assert "IS_OBJECT(" not in staging
    assert "OBJECT_DELETE(AS_OBJECT(GET_PATH(doc, '\"props\"'))" in staging
    assert "AS_OBJECT(TRY_PARSE_JSON(" in staging


def test_row_key_text_is_null_safe_and_injective_on_both_engines() -> None:
    text = DuckDBEngine.key_text(["a", "b", "c"])
    con = duckdb.connect()
    rows = [("x", None, "y"), ("x", "", "y"), (None, "x", "y"), ("", "x", "y"), ("x", "y", None), ("x", "y", "")]
    keys = [con.execute(f"SELECT {text} FROM (SELECT ?::VARCHAR a, ?::VARCHAR b, ?::VARCHAR c)", list(r)).fetchone()[0]
            for r in rows]
    assert None not in keys and len(set(keys)) == len(rows)
    # Snowflake's CONCAT_WS returns NULL on a NULL argument: every argument must be NULL-proof.
    sf = sqlglot.parse_one(SnowflakeEngine().row_key(["a", "b", "c"]), read="snowflake")
    concat = sf.find(exp.ConcatWs)
    assert concat is not None
    for arg in concat.expressions[1:]:
        assert isinstance(arg, exp.Coalesce), arg.sql("snowflake")


def test_a_ledger_size_missing_from_copy_history_does_not_stop_the_landing_scan(wh: Any, landing: Any) -> None:
    write_landing(landing, "web", "a.jsonl", ['{"x": 1}'])
    wh.execute("INSERT INTO raw_events (load_id, file_path, line_number, raw_line) "
               "VALUES ('L1', 'platform=web/dt=2026-11-25/hour=17/a.jsonl', 1, '{}')")
    wh.execute("INSERT INTO load_ledger (file_path, size_bytes, checksum, load_id, line_count, loaded_at) "
               "VALUES ('platform=web/dt=2026-11-25/hour=17/a.jsonl', NULL, NULL, 'L1', 1, ?)",
               [dt.datetime(2026, 11, 25)])
    files = _candidates(wh, Landing(str(landing)), {})
    assert [f.rel_path for f in files] == ["platform=web/dt=2026-11-25/hour=17/a.jsonl"]  # read, not trusted


def test_duckdb_finds_a_duplicate_key_written_with_an_escape_as_snowflake_does() -> None:
    """Point 8 (parity corpus): names compare decoded, so `"sourc\\u0065"` repeats `"source"`;
    Snowflake's strict TRY_PARSE_JSON refuses the line, and so does DuckDB in the objects it reads."""
    con, e = duckdb.connect(), DuckDBEngine()
    lines = {r'{"p":{"source":"a","sourc\u0065":"b"}}': True, r'{"k\u00e9y":1,"kéy":2}': True,
             r'{"source":"a","source":"b"}': True, r'{"a":"x\\y","b":"\u00e9"}': False,
             r'{"k\u00e9y":1,"key":2}': False, '{"a":{"a":1}}': False}
    for text, strict_refuses in lines.items():  # `p` is an object the contract reads from
        sql = f"SELECT {e.json_not_strict('$1', ['p.source'])}"
        assert con.execute(sql, [text]).fetchone()[0] is strict_refuses, text
