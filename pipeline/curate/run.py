"""The curate step: consume pending_changes and recompute exactly the partitions they name.

One transaction per run: the work it consumes, the curated rows it writes and the deletion of
the consumed pending_changes commit together, so a crash or a re-run neither loses nor doubles
anything (ARCHITECTURE invariants 2 and 3).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time

from contracts.registry import Registry
from pipeline.curate.definition import MODELS, MODELS_BY_NAME, CurateResult, ModelPlan, Plan, Scope
from pipeline.curate.dim import pending_hierarchy_change, sync_closure, sync_dim
from pipeline.curate.models import (
    clear_work,
    consume_pending,
    derive_work,
    ensure_curate_schema,
    in_ranges,
    read_scope,
    record_state,
    run_models,
    snapshot_pending,
)
from pipeline.failures import SAMPLE_LINES, StepFailure
from pipeline.failures import record as record_failures
from warehouse import clock
from warehouse.crashpoint import crash_point
from warehouse.session import Warehouse

HIERARCHY_MODELS = frozenset(m.name for m in MODELS if m.hierarchy)
FROM_STAGED = frozenset({"fct_feature_events", "int_user_feature_daily"})


def curate(wh: Warehouse, registry: Registry, *, now: dt.datetime | None = None) -> CurateResult:
    """Consume every pending change: refresh the dimension, then apply the changes of the touched
    partitions to each model (every partition of the roll-ups when the catalog hierarchy changed)."""
    return _step(wh, registry, rebuild=False, now=now)


def rebuild_all(wh: Warehouse, registry: Registry, *, now: dt.datetime | None = None) -> CurateResult:
    """Every curated table recomputed from stg_events (days before the first staged day keep their
    event-level and daily rows: retention removed their events); pending changes are consumed."""
    return _step(wh, registry, rebuild=True, now=now)


def curate_isolating(wh: Warehouse, registry: Registry, *,
                     now: dt.datetime | None = None) -> tuple[list[CurateResult], list[StepFailure]]:
    """`curate`, and when it fails, the pending changes one event date at a time, each in its own
    transaction: a date that fails keeps its changes for the next run and is recorded
    (check_results, source pipeline), the other dates are curated. Nothing freezes silently."""
    try:
        return [curate(wh, registry, now=now)], []
    except Exception as whole:  # any error: find the dates it belongs to
        first_error = whole
    results, failures = [], []
    # As text: a date no client library represents (a BC year) must still be selectable.
    keys = [r[0] for r in wh.query("SELECT DISTINCT CAST(event_date AS VARCHAR) FROM pending_changes ORDER BY 1")]
    for key in keys:
        where = "event_date IS NULL" if key is None else f"CAST(event_date AS VARCHAR) = {wh.engine.lit(key)}"
        try:
            results.append(_step(wh, registry, rebuild=False, now=now, where=where))
        except Exception as exc:
            failures.append(_curate_failed(wh, key, where, exc))
    if not keys:  # not a data problem (e.g. the catalog): still say so, never freeze silently
        failures.append(StepFailure(step="curate", check_name="curate_failed", scope="curate",
                                    error=_error_text(first_error)))
    record_failures(wh, failures)
    return results, failures


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]


def _curate_failed(wh: Warehouse, key: str | None, where: str, exc: Exception) -> StepFailure:
    changes = int(wh.scalar(f"SELECT COUNT(*) FROM pending_changes WHERE {where}") or 0)
    # The newest staged lines of that date: where whoever looks at it starts.
    sample = [f"{p}:{n}" for p, n in wh.query(
        f"SELECT file_path, line_number FROM stg_events WHERE {where} "
        f"ORDER BY staged_at DESC, file_path, line_number LIMIT {SAMPLE_LINES}")]
    return StepFailure(step="curate", check_name="curate_failed", scope=f"event_date {key or 'NULL'}",
                       error=f"curating event_date {key or 'NULL'} failed ({changes} pending change(s) kept for "
                             f"the next run): {_error_text(exc)}", lines=sample, line_count=len(sample))


def _step(wh: Warehouse, registry: Registry, *, rebuild: bool, now: dt.datetime | None,
          where: str | None = None) -> CurateResult:
    started, now = time.perf_counter(), now or clock.now()
    ensure_curate_schema(wh)
    with wh.transaction():
        clear_work(wh)
        consumed = snapshot_pending(wh, where)
        opened, closed = sync_dim(wh, registry.catalog, now)
        changed = sync_closure(wh, registry.catalog, force=rebuild)
        if rebuild:
            scope = read_scope(wh, "(SELECT DISTINCT event_date, workspace_id, user_id FROM stg_events)")
            scope = scope.model_copy(update={"rebuild_from": staged_since(wh)})
            runs = run_models(wh, MODELS, scope, {}, default="full")
        else:
            scope = derive_work(wh)
            # Deltas append in any order, so they may insert on every thread; a model recomputed in
            # full keeps its ORDER BY (the clustering that lets later runs read only their periods).
            with contextlib.nullcontext() if changed else wh.bulk():
                runs = run_models(wh, MODELS, scope, dict.fromkeys(HIERARCHY_MODELS, "full") if changed else {})
        mode = "rebuild" if rebuild else "incremental"
        record_state(wh, runs, mode, now)
        consume_pending(wh)
        clear_work(wh)
        crash_point("curate:before_commit")
    return CurateResult(mode=mode, changes_consumed=consumed, scope=scope, hierarchy_changed=changed,
                        dim_opened=opened, dim_closed=closed, models=tuple(runs),
                        seconds=time.perf_counter() - started)


def staged_since(wh: Warehouse) -> dt.date:
    """The first day with staged events (a far future day when there is none: nothing to rebuild)."""
    first = wh.scalar("SELECT MIN(event_date) FROM stg_events")
    return first if first is not None else dt.date.max


def plan(wh: Warehouse, registry: Registry | None = None) -> Plan:
    """What the next `curate` would recompute, without writing anything. With a registry, also
    whether a catalog hierarchy change forces the roll-ups to be recomputed in full."""
    if not wh.table_exists("pending_changes"):
        return Plan(pending_changes=0, scope=Scope())
    units = "(SELECT DISTINCT event_date, workspace_id, user_id FROM pending_changes)"
    pending = int(wh.scalar("SELECT COUNT(*) FROM pending_changes") or 0)
    scope = read_scope(wh, units)
    built = wh.table_exists("feature_ancestors")
    changed = bool(registry is not None and built and pending_hierarchy_change(wh, registry.catalog))
    if scope.empty and not changed:
        return Plan(pending_changes=pending, scope=scope)
    models = []
    for m in MODELS:
        full = changed and m.name in HIERARCHY_MODELS
        sql = _estimate_sql(m.name, scope, units, full=full)
        rows = int(wh.scalar(sql) or 0) if built or (m.name in FROM_STAGED and not full) else 0
        models.append(ModelPlan(model=m.name, full=full, estimated_rows=rows,
                                partitions="all" if full else scope.describe(m.partition)))
    return Plan(pending_changes=pending, scope=scope, hierarchy_changed=changed, models=tuple(models))


def _estimate_sql(model: str, scope: Scope, units: str, *, full: bool) -> str:
    """Rows a model starts from: the staged rows of the dirty units for the two models that read
    stg_events, the daily rows of those units (what the deltas come from) for the others; the
    whole input table of a model recomputed in full."""
    if full:
        upstream = MODELS_BY_NAME[model].upstream
        return f"SELECT COUNT(*) FROM {upstream[0] if upstream else 'stg_events'}"
    source = "stg_events" if model in FROM_STAGED else "int_user_feature_daily"
    return (f"SELECT COUNT(*) FROM {source} x JOIN {units} u ON u.event_date = x.event_date "
            f"AND u.workspace_id = x.workspace_id AND u.user_id = x.user_id "
            f"WHERE {in_ranges('x.event_date', scope.date_ranges)}")
