"""`nova query`: one read-only query on the configured warehouse.

The statement is parsed with sqlglot in the warehouse's dialect and must be a single query
(SELECT, WITH … SELECT, or a set operation of them) with no write hidden inside; DuckDB files are
also opened read-only, so the check is not the only guard there.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlglot
from pydantic import BaseModel, ConfigDict
from sqlglot import exp
from sqlglot.errors import ParseError

from config import Settings
from nova.errors import Exit, NovaError
from warehouse.engine import DuckDBEngine, engine_for_url
from warehouse.session import Warehouse, open_reader

# Nodes that write or change the session, wherever they appear in the tree.
_WRITES: tuple[type[exp.Expression], ...] = (
    exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.Command,
    exp.Into, exp.Copy, exp.TruncateTable, exp.Set, exp.Use, exp.Transaction, exp.Commit, exp.Rollback,
)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class QueryResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool = False


def check_read_only(sql: str, dialect: str) -> exp.Query:
    """The parsed query, or a NovaError saying why it may not run."""
    try:
        parsed = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as exc:
        raise NovaError(f"cannot parse the query: {str(exc).splitlines()[0]}", code=Exit.USAGE) from exc
    if len(parsed) != 1:
        raise NovaError(f"one statement per query, got {len(parsed)}", code=Exit.USAGE)
    stmt = parsed[0]
    if not isinstance(stmt, exp.Query):
        raise NovaError(f"only read-only queries run here (SELECT or WITH … SELECT), not {stmt.key.upper()}",
                        hint="curated tables are written by `nova run` and `nova backfill`", code=Exit.USAGE)
    write = next((n for n in stmt.walk() if isinstance(n, _WRITES)), None)
    if write is not None:
        raise NovaError(f"the query contains a write ({write.key.upper()}); only reads run here", code=Exit.USAGE)
    return stmt


def _duckdb_file(url: str) -> str | None:
    db = sa.engine.make_url(url).database
    return db if db and db != ":memory:" else None


def run_query(settings: Settings, sql: str, *, limit: int | None = None) -> QueryResult:
    """Check, then run the query; DuckDB files are opened read-only (no lock on writers' tables)."""
    try:
        engine = engine_for_url(settings.warehouse_url)
    except ValueError as exc:
        raise NovaError(str(exc), hint="set NOVA_WAREHOUSE_URL", code=Exit.CONFIG) from exc
    check_read_only(sql, engine.dialect)
    read_only = False
    if isinstance(engine, DuckDBEngine):
        path = _duckdb_file(settings.warehouse_url)
        if path is not None and not Path(path).exists():
            raise NovaError(f"no warehouse at {path}", hint="run `nova run` (or `nova demo`) first", code=Exit.CONFIG)
        read_only = path is not None
    # A DuckDB file is read through open_reader: while the daemon's job holds it, the query waits.
    with open_reader(settings) if read_only else Warehouse(settings) as wh:
        try:
            cur = wh.execute(sql)
        except Exception as exc:  # the database's own message is what the person needs
            raise NovaError(f"the query failed: {str(exc).splitlines()[0]}", code=Exit.USAGE) from exc
        columns = tuple(wh.engine.result_name(d[0]) for d in cur.description)
        rows = cur.fetchmany(limit + 1) if limit is not None else cur.fetchall()
    truncated = limit is not None and len(rows) > limit
    return QueryResult(columns=columns, rows=tuple(tuple(r) for r in rows[:limit]), truncated=truncated)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def to_csv(result: QueryResult) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows([[_plain(v) for v in row] for row in result.rows])
    return buf.getvalue()


def to_json(result: QueryResult) -> str:
    return json.dumps([dict(zip(result.columns, (_plain(v) for v in row), strict=True)) for row in result.rows],
                      indent=2, default=str)
