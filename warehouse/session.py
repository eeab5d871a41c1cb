"""The one object that talks to the warehouse. SQLAlchemy makes the connection from the
configured URL; statements run on its DBAPI connection, with explicit transactions."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from config import Settings, get_settings
from nova.errors import Exit, NovaError
from warehouse.engine import DuckDBEngine, Engine, engine_for_url
from warehouse.schema import TABLES, Table, create_table_sql

_LOG_SQL = os.environ.get("NOVA_LOG_SQL") == "1"  # every statement and its duration, on stderr


class Warehouse:
    def __init__(self, settings: Settings | None = None, *, read_only: bool = False):
        self.settings = settings or get_settings()
        url = self.settings.warehouse_url
        try:
            self.engine: Engine = engine_for_url(url)
        except ValueError as exc:
            raise NovaError(str(exc), hint="set NOVA_WAREHOUSE_URL", code=Exit.CONFIG) from exc
        connect_args: dict[str, Any] = {}
        if isinstance(self.engine, DuckDBEngine):
            db = sa.engine.make_url(url).database
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            connect_args = {"read_only": read_only, "config": {
                "memory_limit": self.settings.duckdb_memory_limit,
                "threads": self.settings.duckdb_threads,
            }}
        else:
            connect_args = self.engine.connect_args(self.settings)
        try:
            self.sa_engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.StaticPool,
                                             **self.engine.sqlalchemy_options())
            self.dbapi = self.sa_engine.raw_connection()
        except Exception as exc:
            msg = str(exc).splitlines()[0]
            hint = "another nova process may hold the DuckDB file" if "lock" in msg.lower() else ""
            raise NovaError(f"cannot open the warehouse: {msg}", hint=hint, code=Exit.CONFIG) from exc
        self._cursor = self.dbapi.cursor()
        self._in_tx = False
        self._restore_order = False
        if self.is_duckdb:
            # Set after connecting: the built-in ICU extension is not loaded yet at connect time.
            self.execute("SET TimeZone = 'UTC'")

    @property
    def is_duckdb(self) -> bool:
        return isinstance(self.engine, DuckDBEngine)

    def native(self) -> Any:
        """The DuckDB connection itself (Arrow registration); DuckDB only."""
        return self.dbapi.driver_connection

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        cur = self._cursor
        t0 = time.perf_counter() if _LOG_SQL else 0.0
        cur.execute(sql, params) if params is not None else cur.execute(sql)
        if _LOG_SQL:
            print(f"[sql {time.perf_counter() - t0:7.3f}s] {' '.join(sql.split())[:160]}", file=sys.stderr)
        return cur

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return list(self.execute(sql, params).fetchall())

    def query_dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.execute(sql, params)
        names = [self.engine.column_key(d[0]) for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """All or nothing; nested use joins the outer transaction."""
        if self._in_tx:
            yield self
            return
        self.execute("BEGIN TRANSACTION")
        self._in_tx = True
        try:
            yield self
        except BaseException:
            self._in_tx = False
            self.execute("ROLLBACK")
            if self._restore_order:
                self._restore_order = False
                self.execute("SET preserve_insertion_order = true")
            raise
        self._in_tx = False
        self.execute("COMMIT")

    @contextlib.contextmanager
    def bulk(self) -> Iterator[Warehouse]:
        """Large INSERT ... SELECT statements: DuckDB may write them on every thread when it need
        not keep the source's row order (no table here relies on physical order)."""
        if not self.is_duckdb:
            yield self
            return
        self.execute("SET preserve_insertion_order = false")
        try:
            yield self
        except BaseException:
            try:
                self.execute("SET preserve_insertion_order = true")
            except Exception:  # an aborted transaction refuses it: set again after its ROLLBACK
                self._restore_order = True
            raise  # the original error, never the refused SET
        self.execute("SET preserve_insertion_order = true")

    def ensure_schema(self) -> None:
        self.ensure_tables(TABLES)

    def ensure_tables(self, tables: Sequence[Table]) -> list[tuple[str, str]]:
        """Create missing tables, and add the columns a newer release declares to existing ones;
        returns the (table, column) pairs added (the caller fills them where NULL would be wrong)."""
        have: dict[str, set[str]] = {}
        for table, column in self.query(
                "SELECT lower(table_name), lower(column_name) FROM information_schema.columns "
                "WHERE table_schema = current_schema()"):
            have.setdefault(table, set()).add(column)
        added = []
        for table in tables:
            if table.name not in have:
                self.execute(create_table_sql(table, self.engine))
                continue
            for name, kind in table.columns:
                if name not in have[table.name]:
                    self.execute(f"ALTER TABLE {table.name} ADD COLUMN {name} {self.engine.t(kind)}")
                    added.append((table.name, name))
        return added

    def table_exists(self, name: str) -> bool:
        return bool(self.scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE lower(table_name) = lower(?)", [name]))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.dbapi.close()
        self.sa_engine.dispose()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_warehouse(settings: Settings | None = None, *, read_only: bool = False) -> Warehouse:
    wh = Warehouse(settings, read_only=read_only)
    if not read_only:
        wh.ensure_schema()
    return wh
