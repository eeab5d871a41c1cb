"""pandera checks the curated tables' cross-column invariants on each run's touched partitions, so
a bug in a model is caught before a PM sees it (called by `nova run` after curate; results stored
in check_results with source `pandera`).

Partitions are fetched as polars frames (DuckDB: `con.sql(q).pl()`; Snowflake: rows) and validated
in memory; every failing invariant is one failed result with its failing rows counted and sampled.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandera.polars as pa
import polars as pl

from monitors.store import CheckResult, new_run_id, store_results
from warehouse.session import Warehouse

Expr = Callable[[], pl.Expr]
PERSONAL = ("user_id",)


@dataclass(frozen=True)
class Invariant:
    name: str
    table: str
    expr: Expr  # true on every valid row
    doc: str


def _weekday_monday(col: str) -> pl.Expr:
    return pl.col(col).dt.weekday() == 1


def _period_boundary() -> pl.Expr:
    start = pl.col("period_start")
    return pl.when(pl.col("period") == "week").then(start.dt.weekday() == 1).otherwise(
        (pl.col("period") == "month") & (start.dt.day() == 1))


INVARIANTS: tuple[Invariant, ...] = (
    Invariant("users_le_events", "feature_usage_daily", lambda: pl.col("user_count") <= pl.col("event_count"),
              "distinct users never exceed events"),
    Invariant("workspaces_le_events", "feature_usage_daily",
              lambda: pl.col("workspace_count") <= pl.col("event_count"), "distinct workspaces never exceed events"),
    Invariant("events_positive", "feature_usage_daily", lambda: pl.col("event_count") > 0,
              "a row exists only where events > 0"),
    Invariant("users_le_events", "feature_usage_weekly", lambda: pl.col("user_count") <= pl.col("event_count"),
              "distinct users never exceed events"),
    Invariant("week_start_monday", "feature_usage_weekly", lambda: _weekday_monday("week_start"),
              "week_start is a Monday"),
    Invariant("adoption_rate_0_1", "feature_adoption_by_workspace",
              lambda: pl.col("adoption_rate").is_between(0, 1), "adoption_rate within [0, 1]"),
    Invariant("feature_users_le_active", "feature_adoption_by_workspace",
              lambda: pl.col("feature_users") <= pl.col("active_users"), "feature users never exceed active users"),
    Invariant("period_start_boundary", "feature_adoption_by_workspace", _period_boundary,
              "period_start on a period boundary (Monday of a week, 1st of a month)"),
    Invariant("first_le_last_used", "feature_adoption_by_workspace",
              lambda: pl.col("first_used_at") <= pl.col("last_used_at"), "first_used_at not after last_used_at"),
    Invariant("last_seen_ge_first_seen", "user_feature_last_seen",
              lambda: pl.col("last_seen_at") >= pl.col("first_seen_at"), "last_seen_at not before first_seen_at"),
    Invariant("events_positive", "user_feature_last_seen", lambda: pl.col("event_count") >= 1,
              "at least one event per user and feature"),
)


def _dates(values: Any) -> str:
    return ", ".join(f"DATE '{d.isoformat()}'" for d in values)


def partition_filter(table: str, scope: Any) -> str | None:
    """The touched partitions of a table as a WHERE clause; None when the run touched none."""
    dates, weeks, months = tuple(scope.dates), tuple(scope.weeks), tuple(scope.months)
    if table == "feature_usage_daily":
        return f"event_date IN ({_dates(dates)})" if dates else None
    if table == "feature_usage_weekly":
        return f"week_start IN ({_dates(weeks)})" if weeks else None
    if table == "feature_adoption_by_workspace":
        parts = [f"(period = 'week' AND period_start IN ({_dates(weeks)}))" if weeks else "",
                 f"(period = 'month' AND period_start IN ({_dates(months)}))" if months else ""]
        parts = [p for p in parts if p]
        return " OR ".join(parts) if parts else None
    if table == "user_feature_last_seen" and dates:
        lo, hi = min(dates), max(dates) + dt.timedelta(days=1)
        return f"last_seen_at >= TIMESTAMP '{lo} 00:00:00' AND last_seen_at < TIMESTAMP '{hi} 00:00:00'"
    return None


def _frame(wh: Warehouse, sql: str) -> pl.DataFrame:
    if wh.is_duckdb:
        # Through the session's cursor (`con.sql` refuses while an earlier result is unfetched);
        # the Arrow result copies a partition once, which is small.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return pl.from_arrow(wh.execute(sql).to_arrow_table())  # type: ignore[return-value]
    return pl.DataFrame(wh.query_dicts(sql))


def validate(frame: pl.DataFrame, invariants: list[Invariant]) -> dict[str, tuple[int, list[dict[str, Any]]]]:
    """Per invariant name: (failing rows, a few of them), by one pandera schema per table."""
    schema = pa.DataFrameSchema(checks=[
        pa.Check(lambda data, inv=inv: data.lazyframe.select(inv.expr().fill_null(False)), name=inv.name,
                 error=inv.doc) for inv in invariants])
    failing: dict[str, tuple[int, list[dict[str, Any]]]] = {}
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors:
        for inv in invariants:
            bad = frame.filter(~inv.expr().fill_null(False))
            if bad.height:
                # No user id in a stored sample: check_results is not erased by GDPR processing.
                sample = bad.drop([c for c in PERSONAL if c in bad.columns]).head(3).to_dicts()
                failing[inv.name] = (bad.height, sample)
    return failing


def check_touched(wh: Warehouse, scope: Any, *, run_id: str | None = None) -> list[CheckResult]:
    """Every invariant on the partitions the run touched; results stored (source `pandera`)."""
    if scope is None or scope.empty:
        return []
    results: list[CheckResult] = []
    by_table: dict[str, list[Invariant]] = {}
    for inv in INVARIANTS:
        by_table.setdefault(inv.table, []).append(inv)
    for table, invs in by_table.items():
        where = partition_filter(table, scope)
        if where is None or not wh.table_exists(table):
            continue
        frame = _frame(wh, f"SELECT * FROM {table} WHERE {where}")
        failing = validate(frame, invs)
        for inv in invs:
            n, sample = failing.get(inv.name, (0, []))
            results.append(CheckResult(
                f"{table}.{inv.name}", "pandera", f"table={table}", "failed" if n else "passed", value=float(n),
                threshold=0.0, scope_type="table",
                detail={"rows_checked": frame.height, "partitions": where, "rule": inv.doc,
                        **({"sample": sample} if sample else {})}))
    with wh.transaction():
        store_results(wh, run_id or new_run_id("pandera"), results)
    return results
