"""The evaluator's SQL is written once: rendered with the Snowflake engine, every statement parses as
Snowflake SQL (there is no account here; DuckDB runs the same statements in the other tests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlglot

from monitors.trust.compute import ensure_latest_view, store
from monitors.trust.definition import TrustScore
from monitors.trust.facts import read_facts
from warehouse.engine import SnowflakeEngine


class Recorder:
    """A warehouse that records statements and answers like an empty Snowflake schema with the
    gate's and the detector's columns."""

    def __init__(self) -> None:
        self.engine = SnowflakeEngine()
        self.sql: list[str] = []

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        self.sql.append(sql)
        if "information_schema.columns" in sql:
            table = params[0]
            cols = {"batches": ["load_id", "state", "batch_id", "platform"],
                    "volume_expectations": ["scope", "bucket_start", "bucket_seconds", "expected", "lower", "upper",
                                            "judged", "computed_at"]}.get(table, [])
            return [(c,) for c in cols]
        return []

    def query_dicts(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        self.sql.append(sql)
        return []

    def scalar(self, sql: str, params: Any = None) -> Any:
        self.sql.append(sql)
        return None

    def execute(self, sql: str, params: Any = None) -> None:
        self.sql.append(sql)

    def table_exists(self, name: str) -> bool:
        return name != "trust_scores_latest"

    def transaction(self) -> Any:
        import contextlib

        return contextlib.nullcontext(self)


def test_every_statement_parses_as_snowflake_sql(registry: Any) -> None:
    wh = Recorder()
    day = dt.date(2026, 11, 25)
    read_facts(wh, registry, day, dt.datetime(2026, 11, 25, 18, 0), 7)  # type: ignore[arg-type]
    store(wh, day, [TrustScore(day, "platform", "ios", "iOS", 80.0, "C", {}, ["\u221220: x"])],  # type: ignore
          dt.datetime(2026, 11, 25, 18, 0))
    ensure_latest_view(wh)  # type: ignore[arg-type]
    assert len(wh.sql) >= 10
    for sql in wh.sql:
        sqlglot.parse_one(sql, read="snowflake")  # raises on a DuckDB-only construct
    joined = "\n".join(wh.sql)
    assert "TRY_PARSE_JSON" in joined and "try(" not in joined  # the raw line is read the Snowflake way
    assert "b.platform = p.platform" in joined  # per-platform batches when the gate stores them
