"""Render the SQL models for an engine and apply them: the one evaluator of the curated layer.

A model file holds the statements that refresh its table in one of three modes (definition.Mode).
The Jinja context is the Engine `e`, the run's Scope and the mode; anything dialect-specific goes
through `e`, so one file serves DuckDB and Snowflake.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import jinja2
from sqlglot.tokens import Tokenizer, TokenType

from pipeline.curate.definition import (
    ANY_FEATURE,
    CURATED_TABLES,
    PLATFORM_ALL,
    ROW_KEY_PARTS,
    VIEWS,
    WORK_TABLES,
    Interval,
    Mode,
    Model,
    ModelRun,
    Scope,
)
from warehouse.engine import Engine
from warehouse.schema import create_table_sql
from warehouse.session import Warehouse

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(MODELS_DIR),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)


# --- SQL fragments (dialect-neutral; the engine supplies types and date functions) ----------
def date_lit(d: dt.date) -> str:
    return f"CAST('{d.isoformat()}' AS DATE)"


def ts_lit(engine: Engine, t: dt.datetime) -> str:
    return f"CAST('{t.isoformat(sep=' ', timespec='microseconds')}' AS {engine.t('ts')})"


def in_ranges(column: str, ranges: Iterable[Interval]) -> str:
    """A predicate: the date column lies in one of the half-open intervals (prunes by range)."""
    parts = [f"({column} >= {date_lit(a)} AND {column} < {date_lit(b)})" for a, b in ranges]
    return "(" + " OR ".join(parts) + ")" if parts else "(1 = 0)"


def in_dates(column: str, dates: Sequence[dt.date]) -> str:
    return f"{column} IN ({', '.join(date_lit(d) for d in dates)})" if dates else "(1 = 0)"


def row_key(engine: Engine, table: str, alias: str) -> str:
    """The row_key of a `table` row (or of a row shaped like it) under `alias`."""
    return engine.row_key([f"{alias}.{c}" for c in ROW_KEY_PARTS[table]])


def render(name: str, engine: Engine, scope: Scope, mode: Mode = "full") -> str:
    return _env.get_template(f"{name}.sql").render(
        e=engine, scope=scope, mode=mode, platform_all=PLATFORM_ALL, any_feature=ANY_FEATURE,
        in_ranges=in_ranges, in_dates=in_dates, date_lit=date_lit, ts_lit=lambda t: ts_lit(engine, t),
        row_key=lambda table, alias: row_key(engine, table, alias),
    )


def split_statements(sql: str, dialect: str) -> list[str]:
    """Statements of a rendered file, split at top-level semicolons found by sqlglot's tokenizer
    (a semicolon inside a literal or comment does not split)."""
    cuts = [t.start for t in Tokenizer(dialect=dialect).tokenize(sql) if t.token_type == TokenType.SEMICOLON]
    out, prev = [], 0
    for cut in [*cuts, len(sql)]:
        stmt = sql[prev:cut].strip()
        if stmt:
            out.append(stmt)
        prev = cut + 1
    return out


def statements(name: str, engine: Engine, scope: Scope, mode: Mode = "full") -> list[str]:
    return split_statements(render(name, engine, scope, mode), engine.dialect)


# --- schema and working sets -------------------------------------------------------------
def ensure_curate_schema(wh: Warehouse) -> None:
    """Create the curated and ops tables, the views, and this session's work tables. DDL stays
    outside transactions (Snowflake commits an open transaction on DDL). Work tables are
    temporary: they never reach disk in DuckDB, and never outlive the session in either engine."""
    for table, column in wh.ensure_tables(CURATED_TABLES):
        if column == "row_key":  # a warehouse curated by an older release: key its rows
            wh.execute(f"UPDATE {table} SET row_key = {row_key(wh.engine, table, table)}")
    for table in WORK_TABLES:
        wh.execute(create_table_sql(table, wh.engine, temporary=True))
    for view in VIEWS:
        wh.execute(render(view, wh.engine, Scope()))


def clear_work(wh: Warehouse) -> None:
    for table in WORK_TABLES:
        wh.execute(f"DELETE FROM {table.name}")


def snapshot_pending(wh: Warehouse, where: str | None = None) -> int:
    """Copy the pending changes this run consumes (only these are deleted at commit) and their units;
    `where` limits them (a SQL condition on pending_changes: one date when a failure is isolated)."""
    wh.execute("INSERT INTO curate_work_pending (event_date, workspace_id, user_id, change, created_at, event_id) "
               "SELECT event_date, workspace_id, user_id, change, created_at, event_id FROM pending_changes"
               + (f" WHERE {where}" if where else ""))
    wh.execute("INSERT INTO curate_work_units (event_date, workspace_id, user_id) "
               "SELECT DISTINCT event_date, workspace_id, user_id FROM curate_work_pending")
    return int(wh.scalar("SELECT COUNT(*) FROM curate_work_pending") or 0)


def consume_pending(wh: Warehouse) -> None:
    wh.execute(
        "DELETE FROM pending_changes WHERE EXISTS (SELECT 1 FROM curate_work_pending w "
        "WHERE w.event_date = pending_changes.event_date AND w.workspace_id = pending_changes.workspace_id "
        "AND w.user_id = pending_changes.user_id AND w.change IS NOT DISTINCT FROM pending_changes.change "
        "AND w.created_at IS NOT DISTINCT FROM pending_changes.created_at "
        "AND w.event_id IS NOT DISTINCT FROM pending_changes.event_id)")


def units_of_days(wh: Warehouse, interval: Interval) -> None:
    """Every unit of these days, staged now or curated before (backfill)."""
    where = in_ranges("event_date", [interval])
    wh.execute("INSERT INTO curate_work_units (event_date, workspace_id, user_id) "
               f"SELECT event_date, workspace_id, user_id FROM stg_events WHERE {where} UNION "
               f"SELECT event_date, workspace_id, user_id FROM int_user_feature_daily WHERE {where}")


def derive_work(wh: Warehouse) -> Scope:
    """The users of the dirty units, and the Scope they make (with the earliest received_at of the
    staged events the changes name by id: fct_feature_events looks for their curated copies from there)."""
    wh.execute("INSERT INTO curate_work_users (user_id) SELECT DISTINCT user_id FROM curate_work_units")
    scope = read_scope(wh, "curate_work_units")
    if scope.empty:
        return scope
    received_from = wh.scalar(
        f"SELECT MIN(s.received_at) FROM stg_events s WHERE {in_ranges('s.event_date', scope.date_ranges)} "
        "AND s.event_id IN (SELECT event_id FROM curate_work_pending WHERE event_id IS NOT NULL)")
    return scope.model_copy(update={"received_from": received_from})


def read_scope(wh: Warehouse, units: str) -> Scope:
    """The Scope of a set of units (`units`: a table or a parenthesised query)."""
    e = wh.engine
    dates = [r[0] for r in wh.query(f"SELECT DISTINCT event_date FROM {units} w")]
    if not dates:
        return Scope()
    counts = wh.query(
        f"SELECT (SELECT COUNT(*) FROM {units} w), (SELECT COUNT(DISTINCT user_id) FROM {units} w), "
        f"(SELECT COUNT(*) FROM (SELECT DISTINCT workspace_id, {e.week_start('event_date')} AS s FROM {units} w) x), "
        f"(SELECT COUNT(*) FROM (SELECT DISTINCT workspace_id, {e.month_start('event_date')} AS s FROM {units} w) y)")
    n_units, users, ws_weeks, ws_months = (int(v or 0) for v in counts[0])
    return Scope.of_dates(dates, units=n_units, users=users, workspace_weeks=ws_weeks, workspace_months=ws_months)


# --- apply -------------------------------------------------------------------------------
_ONLY_IF = re.compile(r"^/\* only if: (.*?) \*/\s*", re.S)


def run_model(wh: Warehouse, model: Model, scope: Scope, mode: Mode) -> ModelRun:
    written, deleted, target = 0, 0, f"INSERT INTO {model.name} "
    gone = re.compile(rf"DELETE FROM {model.name}\b")
    for stmt in statements(model.name, wh.engine, scope, mode):
        guard = _ONLY_IF.match(stmt)
        if guard:  # a statement with nothing to do when its guard counts no row
            if not wh.scalar(guard.group(1)):
                continue
            stmt = stmt[guard.end():]
        result = wh.scalar(stmt)
        # DuckDB and Snowflake both answer an INSERT with the number of rows inserted.
        if stmt.startswith(target) and result is not None:
            written += int(result)
        elif gone.match(stmt) and result is not None:  # and a DELETE with the number deleted
            deleted += int(result)
    return ModelRun(model=model.name, full=mode == "full", rows_written=written, rows_deleted=deleted,
                    partitions="all" if mode == "full" else scope.describe(model.partition))


def run_models(wh: Warehouse, models: Sequence[Model], scope: Scope, modes: Mapping[str, Mode],
               default: Mode = "delta") -> list[ModelRun]:
    """Run the models in order, each in its mode; with an empty scope only full models have work."""
    runs = []
    for m in models:
        mode = modes.get(m.name, default)
        if mode == "full" or not scope.empty:
            runs.append(run_model(wh, m, scope, mode))
    return runs


def record_state(wh: Warehouse, runs: Sequence[ModelRun], mode: str, now: dt.datetime) -> None:
    for run in runs:
        wh.execute("DELETE FROM model_state WHERE model = ?", [run.model])
        parts = json.dumps({"full": run.full, "partitions": run.partitions})
        wh.execute("INSERT INTO model_state (model, last_run_at, rows_written, partitions, mode, rows_deleted) "
                   f"VALUES (?, {ts_lit(wh.engine, now)}, ?, ?, ?, ?)",
                   [run.model, run.rows_written, parts, mode, run.rows_deleted])
