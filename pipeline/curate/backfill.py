"""`nova backfill`: rebuild a date range day by day, idempotent and resumable.

Each day is one transaction that recomputes the models' partitions of that day from their inputs
(range mode: the day's events and daily rows from stg_events, the day's usage, the users active
that day or before on it) and records the finished chunk in backfill_progress; the week and the
month of a day are recomputed with the last day of the range they contain (a week or month is read
whole, once). An interrupted backfill re-run with the same range skips the days already done.
Days before the first staged day are left as they are: retention removed their events, so they
cannot be rebuilt (their aggregates are kept longer than the events). Pending changes are left
to the next `nova run`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from contracts.registry import Registry
from pipeline.curate.definition import (
    MODELS,
    BackfillResult,
    Scope,
    days,
    missing_days,
    month_start,
    period_end,
    week_start,
    with_upstream,
)
from pipeline.curate.dim import pending_hierarchy_change, sync_closure, sync_dim
from pipeline.curate.models import (
    clear_work,
    date_lit,
    derive_work,
    ensure_curate_schema,
    record_state,
    run_models,
    ts_lit,
    units_of_days,
)
from pipeline.curate.run import rebuild_all, staged_since
from warehouse import clock
from warehouse.crashpoint import crash_point
from warehouse.lock import writer_lock
from warehouse.session import Warehouse

ALL = "*"  # backfill_progress.model when every model is rebuilt
OnChunk = Callable[[dt.date, bool, int], None]  # (day, skipped, rows written)


def chunk_scope(units: Scope, day: dt.date, end: dt.date) -> Scope:
    """The partitions the chunk of `day` recomputes: the day, plus its week and month when the day
    is their last one in the range (so each is read once, after all its days)."""
    last = day + dt.timedelta(days=1)
    week, month = week_start(day), month_start(day)
    closes = {"week": day == end or period_end("week", week) == last,
              "month": day == end or period_end("month", month) == last}
    return units.model_copy(update={"dates": (day,), "weeks": (week,) if closes["week"] else (),
                                    "months": (month,) if closes["month"] else ()})


def finished_chunks(wh: Warehouse, start: dt.date, end: dt.date, key: str) -> set[dt.date]:
    return {r[0] for r in wh.query(
        f"SELECT chunk_date FROM backfill_progress WHERE range_from = {date_lit(start)} "
        f"AND range_to = {date_lit(end)} AND model = ?", [key])}


def _mark(wh: Warehouse, start: dt.date, end: dt.date, key: str, day: dt.date, rows: int) -> None:
    wh.execute("INSERT INTO backfill_progress (range_from, range_to, model, chunk_date, rows_written, finished_at) "
               f"VALUES ({date_lit(start)}, {date_lit(end)}, ?, {date_lit(day)}, ?, {ts_lit(wh.engine, clock.now())})",
               [key, rows])


def backfill(wh: Warehouse, registry: Registry, start: dt.date, end: dt.date, *, model: str | None = None,
             restart: bool = False, on_chunk: OnChunk | None = None) -> BackfillResult:
    """Rebuild the days start..end (both included) of `model` and the models it reads (all models
    when None). Days finished by an earlier run of the same range are skipped unless `restart`.
    When the catalog hierarchy changed, every roll-up of every day is wrong: everything is rebuilt."""
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    with writer_lock(wh, f"backfill {start}..{end}"):
        return _backfill(wh, registry, start, end, model=model, restart=restart, on_chunk=on_chunk)


def _backfill(wh: Warehouse, registry: Registry, start: dt.date, end: dt.date, *, model: str | None,
              restart: bool, on_chunk: OnChunk | None) -> BackfillResult:
    models = with_upstream([model]) if model else MODELS
    key, names = model or ALL, tuple(m.name for m in models)
    started = time.perf_counter()
    ensure_curate_schema(wh)
    interval = (start, end + dt.timedelta(days=1))
    chunk_days = days(interval)
    if pending_hierarchy_change(wh, registry.catalog):
        res = rebuild_all(wh, registry)
        with wh.transaction():
            wh.execute(f"DELETE FROM backfill_progress WHERE range_from = {date_lit(start)} "
                       f"AND range_to = {date_lit(end)} AND model = ?", [key])
            for day in chunk_days:
                _mark(wh, start, end, key, day, 0)
        return BackfillResult(start=start, end=end, models=tuple(m.name for m in MODELS), rebuilt_all=True,
                              chunks_run=tuple(chunk_days), rows_written=res.rows_written,
                              seconds=time.perf_counter() - started)
    with wh.transaction():
        now = clock.now()
        sync_dim(wh, registry.catalog, now)
        sync_closure(wh, registry.catalog)  # only features new to the catalog: no roll-up changes
        if restart:
            wh.execute(f"DELETE FROM backfill_progress WHERE range_from = {date_lit(start)} "
                       f"AND range_to = {date_lit(end)} AND model = ?", [key])
    done = finished_chunks(wh, start, end, key)
    floor = staged_since(wh)  # earlier days have no staged events left (retention): keep them
    todo = [d for d in missing_days(interval, done) if d >= floor]
    ran: list[dt.date] = []
    total = 0
    for day in chunk_days:
        if day not in todo:
            if on_chunk:
                on_chunk(day, True, 0)
            continue
        with wh.transaction():
            clear_work(wh)
            units_of_days(wh, (day, day + dt.timedelta(days=1)))
            scope = chunk_scope(derive_work(wh), day, end)
            runs = run_models(wh, models, scope, {}, default="range")
            rows = sum(r.rows_written for r in runs)
            record_state(wh, runs, "backfill", clock.now())
            _mark(wh, start, end, key, day, rows)
            clear_work(wh)
            crash_point("backfill:chunk_before_commit")
        total += rows
        ran.append(day)
        if on_chunk:
            on_chunk(day, False, rows)
    return BackfillResult(start=start, end=end, models=names, chunks_run=tuple(ran),
                          chunks_skipped=tuple(d for d in chunk_days if d in done),
                          chunks_expired=tuple(d for d in chunk_days if d < floor and d not in done),
                          rows_written=total, seconds=time.perf_counter() - started)
