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
from warehouse.schema import NO_PLATFORM, TABLES, Table, batch_platform, create_table_sql

_LOG_SQL = os.environ.get("NOVA_LOG_SQL") == "1"  # every statement and its duration, on stderr


class WarehouseBusy(NovaError):
    """The DuckDB file is held by another process (one writer, or readers while a writer waits)."""


def is_lock_error(message: str) -> bool:
    m = message.lower()
    return "could not set lock" in m or "conflicting lock" in m


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
                "checkpoint_threshold": self.settings.duckdb_checkpoint_threshold,
            }}
        else:
            connect_args = self.engine.connect_args(self.settings)
        try:
            self.sa_engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.StaticPool,
                                             **self.engine.sqlalchemy_options())
            self.dbapi = self.sa_engine.raw_connection()
        except Exception as exc:
            msg = str(exc).splitlines()[0]
            if is_lock_error(msg):
                raise WarehouseBusy(f"cannot open the warehouse: {msg}",
                                    hint="another nova process (the daemon?) holds the DuckDB file",
                                    code=Exit.CONFIG) from exc
            raise NovaError(f"cannot open the warehouse: {msg}", code=Exit.CONFIG) from exc
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

    def duckdb_cursor(self) -> Any:
        """A DuckDBPyConnection on the same database (for libraries that need the real class, e.g.
        Soda): its own handle, so it never meets an unfetched result of the session's; DuckDB only."""
        wrapper = self.dbapi.driver_connection
        con = getattr(wrapper, "_ConnectionWrapper__c", wrapper)  # duckdb_engine keeps the connection here
        return con.cursor()

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
        # fetchall, not fetchone: DuckDB keeps a result that was not fetched to its end open, and then
        # refuses other work on the connection (an Arrow registration) until it is finished.
        rows = self.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

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

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Many rows of Python values into `table` (DuckDB: one Arrow scan; else executemany)."""
        if not rows:
            return
        if self.is_duckdb:
            import pyarrow as pa

            data = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})
            con = self.native()
            con.register("_nova_insert_rows", data)
            try:
                self.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} "
                             "FROM _nova_insert_rows")
            finally:
                con.unregister("_nova_insert_rows")
            return
        marks = ", ".join("?" for _ in columns)
        self.dbapi.cursor().executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                        [tuple(r) for r in rows])

    def ensure_schema(self) -> None:
        self.ensure_tables(TABLES)
        self._split_batches_per_platform()

    def _split_batches_per_platform(self) -> None:
        """Warehouses from before the batch unit was one platform's part of a load hold one row per
        load (batch_id NULL): each becomes one row per platform of its raw lines, same state."""
        if not self.scalar("SELECT COUNT(*) FROM batches WHERE batch_id IS NULL"):
            return
        plat = batch_platform("r.platform")
        with self.transaction():
            self.execute(
                "INSERT INTO batches (batch_id, load_id, platform, state, created_at, updated_at, file_count, "
                "line_count, staged_at, checks, note) "
                f"SELECT b.load_id || '/' || p.platform, b.load_id, p.platform, b.state, b.created_at, b.updated_at, "
                "p.files, p.lines, b.staged_at, b.checks, b.note FROM batches b JOIN "
                f"(SELECT r.load_id, {plat} AS platform, COUNT(DISTINCT r.file_path) AS files, COUNT(*) AS lines "
                f"FROM raw_events r GROUP BY r.load_id, {plat}) p ON p.load_id = b.load_id WHERE b.batch_id IS NULL")
            # A load without raw lines left (erased) keeps one row of its own.
            self.execute(f"UPDATE batches SET batch_id = load_id || '/{NO_PLATFORM}', platform = '{NO_PLATFORM}' "
                         "WHERE batch_id IS NULL AND load_id NOT IN "
                         "(SELECT load_id FROM batches WHERE batch_id IS NOT NULL)")
            self.execute("DELETE FROM batches WHERE batch_id IS NULL")

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


def open_warehouse(settings: Settings | None = None, *, read_only: bool = False,
                   wait_s: float = 0.0) -> Warehouse:
    """Open the warehouse; with `wait_s`, wait that long (backing off) while another process holds
    the DuckDB file instead of failing at once (the daemon's jobs wait for readers this way)."""
    wh = _open_waiting(settings or get_settings(), read_only=read_only, wait_s=wait_s, marker=False)
    if not read_only:
        wh.ensure_schema()
    return wh


def open_reader(settings: Settings | None = None, *, wait_s: float | None = None) -> Warehouse:
    """The one way a read-only command opens the warehouse (batches list, query, reconcile, trust,
    status, ...): read-only, and while the daemon's current job holds the DuckDB file it waits up to
    `daemon.reader_wait_s` (backing off from 50 ms to 1 s) instead of failing with a lock error.
    While it waits it leaves a marker in `<state_dir>/readers/`, so the daemon holds its next job
    back and the reader gets in between two jobs (docs/service.md). A DuckDB file that does not
    exist yet is created (empty tables), as the writing commands would. On Snowflake readers never
    wait: it has no file lock."""
    settings = settings or get_settings()
    if not isinstance(_engine_or_none(settings.warehouse_url), DuckDBEngine):
        return open_warehouse(settings)
    db = sa.engine.make_url(settings.warehouse_url).database
    if not db or db == ":memory:" or not Path(db).exists():
        return open_warehouse(settings)
    wait = settings.daemon.reader_wait_s if wait_s is None else wait_s
    return _open_waiting(settings, read_only=True, wait_s=wait, marker=True)


def _engine_or_none(url: str) -> Engine | None:
    try:
        return engine_for_url(url)
    except ValueError:
        return None


def reader_marker_dir(settings: Settings) -> Path:
    return Path(settings.state_dir) / "readers"


def _open_waiting(settings: Settings, *, read_only: bool, wait_s: float, marker: bool) -> Warehouse:
    deadline = time.monotonic() + wait_s
    delay, mark = 0.05, None
    try:
        while True:
            try:
                wh = Warehouse(settings, read_only=read_only)
                waited = wait_s - max(deadline - time.monotonic(), 0.0)
                if marker and mark is not None and waited >= 0.5:
                    print(f"note: waited {waited:.1f}s for the warehouse (a job of the daemon held it)",
                          file=sys.stderr)
                return wh
            except WarehouseBusy as exc:
                left = deadline - time.monotonic()
                if left <= 0:
                    waited = f" after waiting {wait_s:.0f}s" if wait_s else ""
                    raise WarehouseBusy(exc.message + waited, hint=exc.hint + "; raise daemon.reader_wait_s "
                                        "or run `nova status` to see what the daemon is doing",
                                        code=exc.code) from exc
                if marker and mark is None:
                    mark = _leave_marker(settings)
                time.sleep(min(delay, left))
                delay = min(delay * 2, 1.0)
    finally:
        if mark is not None:
            with contextlib.suppress(OSError):
                mark.unlink()


def _leave_marker(settings: Settings) -> Path | None:
    try:
        folder = reader_marker_dir(settings)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{os.getpid()}.wait"
        path.write_text(str(os.getpid()))
        return path
    except OSError:  # a read-only state dir: waiting still works, only without priority
        return None
