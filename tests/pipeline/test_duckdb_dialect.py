"""DuckDB: the statements the embedded warehouse runs, pinned like the Snowflake ones, so a change
to the engine or the staging SQL shows in review as a diff of tests/pipeline/golden/duckdb/.

After an intended change: NOVA_UPDATE_GOLDEN=1 pytest tests/pipeline/test_duckdb_dialect.py.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from contracts.registry import Registry, load_registry
from pipeline.snowflake_cli import run_statements
from pipeline.stage_sql import INPUT, classify_sql, unknown_platform_sql
from tests.conftest import REPO
from tests.pipeline.golden import assert_golden
from warehouse.engine import DuckDBEngine
from warehouse.schema import TABLES, create_table_sql

GOLDEN = Path(__file__).parent / "golden" / "duckdb"
E = DuckDBEngine()
PLATFORMS = ("web", "ios", "android", "backend")
# The DuckDB load inserts raw rows from Python (pipeline/load.py); this is its one SQL expression.
RECEIVED_AT = f"SELECT {E.received_at_of_line('raw_line', 'decode_error', 'file_mtime')} FROM raw_events"


@cache
def registry() -> Registry:
    return load_registry(REPO / "contracts")


@cache
def rendered() -> dict[str, list[str]]:
    reg = registry()
    out: dict[str, list[str]] = {f"ddl_{t.name}": [create_table_sql(t, E)] for t in TABLES}
    out |= {f"classify_{p}": [classify_sql(reg.contracts[p], reg.rules, E)] for p in PLATFORMS}
    out |= {
        "unknown_platform": [unknown_platform_sql(list(reg.contracts), E)],
        "received_at": [RECEIVED_AT],
        "run_statements": [s.sql for s in run_statements(E, reg)],
    }
    return out


NAMES = sorted(rendered())


@pytest.mark.parametrize("name", NAMES)
def test_golden(name: str) -> None:
    assert_golden(GOLDEN / f"{name}.sql", "\n\n".join(s + ";" for s in rendered()[name]) + "\n")


def test_every_golden_file_is_rendered() -> None:
    stale = {p.stem for p in GOLDEN.glob("*.sql")} - set(NAMES)
    assert not stale, f"golden files nothing renders any more: {sorted(stale)}"


@pytest.mark.parametrize("name", NAMES)
def test_sqlglot_parses_every_statement(name: str) -> None:
    for sql in rendered()[name]:
        # sqlglot does not know DuckDB's per-column `USING COMPRESSION` clause; the statement is
        # executed for real by test_duckdb_runs_the_pinned_ddl_and_staging_sql.
        parsed = sqlglot.parse(re.sub(r" USING COMPRESSION \w+", "", sql), read="duckdb")
        assert len(parsed) == 1 and parsed[0] is not None, f"{name}: not exactly one statement"
        assert not isinstance(parsed[0], exp.Command), f"{name}: sqlglot fell back to an opaque Command"


def test_duckdb_runs_the_pinned_ddl_and_staging_sql() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for t in TABLES:
        con.execute(create_table_sql(t, E))
    con.execute("INSERT INTO raw_events VALUES ('L1', 'platform=web/a.jsonl', 1, 'web', "
                "'{\"received_at\": \"2026-11-25T17:00:02.350Z\"}', FALSE, NULL, TIMESTAMP '2026-11-25 18:00:00', "
                "TIMESTAMP '2026-11-25 18:01:00', NULL), ('L1', 'x/b.jsonl', 1, NULL, 'not json', FALSE, NULL, "
                "TIMESTAMP '2026-11-25 18:00:00', TIMESTAMP '2026-11-25 18:01:00', NULL)")
    con.execute(f"CREATE TEMP VIEW {INPUT} AS SELECT * FROM raw_events")
    names = rendered()
    for p in PLATFORMS:
        con.execute(names[f"classify_{p}"][0]).fetchall()
    assert con.execute(names["unknown_platform"][0]).fetchall()[0][-1] == "unknown_platform"
    received = [str(r[0]) for r in con.execute(RECEIVED_AT + " ORDER BY line_number, file_path").fetchall()]
    assert received == ["2026-11-25 17:00:02.350000", "2026-11-25 18:00:00"]
