"""Soda (4.x, offline) runs the column-level checks it is made for, from Soda contract files
GENERATED from our contracts: valid feature ids come from the catalog, valid platforms from the
registry, the required keys from SEMANTICS (event id, user, workspace, feature, time).

On DuckDB the warehouse's own connection is handed to Soda (a second handle on the file would
conflict); on Snowflake Soda connects with the data-source file rendered from our settings.
Results are stored in check_results with source `soda`, beside ours.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from contracts.registry import Registry
from monitors.store import CheckResult
from warehouse import clock
from warehouse.engine import Engine
from warehouse.session import Warehouse

os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")  # offline: nothing is sent anywhere
DATA_SOURCE = "nova"


@dataclass(frozen=True)
class SodaTable:
    table: str
    date_column: str  # the run filters on recent partitions of it
    required: tuple[str, ...]  # missing checks
    unique: tuple[str, ...] = ()  # duplicate checks (over the columns together)
    feature_column: str | None = "feature_id"
    platforms: tuple[str, ...] = ()  # extra valid platform values besides the registry's
    fresh_column: str | None = None


TABLES: tuple[SodaTable, ...] = (
    SodaTable("fct_feature_events", "event_date", ("event_id", "user_id", "workspace_id", "feature_id", "event_ts"),
              unique=("event_id",), fresh_column="received_at"),
    SodaTable("feature_usage_daily", "event_date", ("event_date", "feature_id", "platform"),
              unique=("event_date", "feature_id", "platform"), platforms=("all",)),
)


def contract_yaml(t: SodaTable, reg: Registry, e: Engine, schema: str, freshness_hours: float) -> str:
    """A Soda contract for one curated table, from our contracts and catalog."""
    n = e.catalog_name
    columns: dict[str, dict[str, Any]] = {}

    def col(name: str) -> list[dict[str, Any]]:
        return columns.setdefault(name, {"name": n(name), "checks": []})["checks"]

    for c in t.required:
        col(c).append({"missing": None})
    if t.feature_column:
        # The catalog as the warehouse holds it (dim_feature, synced from contracts/catalog by every
        # curate run): a 400-value list inlined in the contract makes Soda's query builder ~100x slower.
        col(t.feature_column).append({"invalid": {"valid_reference_data": {
            "dataset": f"{DATA_SOURCE}/{schema}/{n('dim_feature')}", "column": n("feature_id")}}})
    col("platform").append({"invalid": {"valid_values": sorted([*reg.contracts, *t.platforms])}})
    checks: list[dict[str, Any]] = [{"row_count": {"threshold": {"must_be_greater_than": 0}}}]
    if len(t.unique) == 1:
        col(t.unique[0]).append({"duplicate": None})
    elif t.unique:
        checks.append({"duplicate": {"columns": [n(c) for c in t.unique]}})
    if t.fresh_column:
        checks.append({"freshness": {"column": n(t.fresh_column),
                                     "threshold": {"unit": "hour", "must_be_less_than": freshness_hours}}})
    doc = {
        "dataset": f"{DATA_SOURCE}/{schema}/{n(t.table)}",
        "variables": {"since": {"default": "2000-01-01"}},
        "filter": f"{n(t.date_column)} >= '${{var.since}}'",
        "columns": list(columns.values()),
        "checks": checks,
    }
    return yaml.safe_dump(doc, sort_keys=False, width=10_000)


def snowflake_data_source_yaml(url: str, settings: Any = None) -> str:
    """Soda's data-source file for the configured Snowflake URL and the connection settings nova uses
    itself (snowflake_host / _port / _protocol: PrivateLink, a proxy, a test server); the password stays
    in the environment."""
    u = sa.engine.make_url(url)
    db, _, _schema = (u.database or "").partition("/")
    conn: dict[str, Any] = {"account": u.host, "user": u.username, "password": "${env.NOVA_SNOWFLAKE_PASSWORD}",
                            "database": db or None, "warehouse": u.query.get("warehouse"),
                            "role": u.query.get("role"), "session_parameters": {"TIMEZONE": "UTC"}}
    for name in ("host", "port", "protocol"):  # Soda passes these through to the connector, as nova does
        value = getattr(settings, f"snowflake_{name}", None) if settings is not None else None
        if value is not None:
            conn[name] = value
    return yaml.safe_dump({"type": "snowflake", "name": DATA_SOURCE,
                           "connection": {k: v for k, v in conn.items() if v is not None}}, sort_keys=False)


def run_soda(wh: Warehouse, reg: Registry, *, since: dt.date | None = None) -> list[CheckResult]:
    """Every generated contract verified on the warehouse; one CheckResult per Soda check."""
    from soda_core.contracts import verify_contract_locally

    cfg = wh.settings.monitor
    since = since or (clock.now() - dt.timedelta(hours=72)).date()  # the partitions late events still reach
    folder = Path(wh.settings.state_dir) / "soda"
    folder.mkdir(parents=True, exist_ok=True)
    if wh.is_duckdb:
        from soda_duckdb.common.data_sources.duckdb_data_source import DuckDBDataSourceImpl

        schema = wh.scalar("SELECT current_schema()")
        cursor = wh.duckdb_cursor()
        kwargs: dict[str, Any] = {"data_sources": [DuckDBDataSourceImpl.from_existing_cursor(cursor,
                                                                                             name=DATA_SOURCE)]}
    else:
        schema = wh.engine.catalog_name(str(sa.engine.make_url(wh.settings.warehouse_url).database or "")
                                        .partition("/")[2] or "PUBLIC")
        ds = folder / "snowflake_data_source.yml"
        ds.write_text(snowflake_data_source_yaml(wh.settings.warehouse_url, wh.settings))
        kwargs = {"data_source_file_path": str(ds)}
    results: list[CheckResult] = []
    now = clock.now().replace(tzinfo=dt.UTC).isoformat()
    for t in TABLES:
        if not wh.table_exists(t.table):
            continue
        path = folder / f"{t.table}.yml"
        path.write_text(contract_yaml(t, reg, wh.engine, schema, cfg.soda_freshness_hours))
        scope = f"table={t.table}"
        try:
            res = verify_contract_locally(contract_file_path=str(path), variables={"since": since.isoformat()},
                                          data_timestamp=now, **kwargs)
        except Exception as exc:  # a query Soda could not run: the round's other checks still count
            results.append(CheckResult("soda_contract", "soda", scope, "not_evaluated", scope_type="table",
                                       detail={"errors": f"{type(exc).__name__}: {exc}"[:2000]}))
            continue
        if res.has_errors and not res.number_of_checks:
            results.append(CheckResult("soda_contract", "soda", scope, "not_evaluated", scope_type="table",
                                       detail={"errors": res.get_errors_str()[:2000]}))
            continue
        for cvr in res.contract_verification_results:
            for cr in cvr.check_results:
                check = cr.check
                name = f"soda_{check.type}" + (f"_{check.column_name.lower()}" if check.column_name else "")
                outcome = {"PASSED": "passed", "FAILED": "failed", "WARN": "warn"}.get(cr.outcome.name,
                                                                                     "not_evaluated")
                value = cr.threshold_value
                results.append(CheckResult(
                    name, "soda", scope, outcome, value=float(value) if isinstance(value, int | float) else None,
                    scope_type="table", blocking=False,
                    detail={"metrics": {k: v for k, v in (cr.diagnostic_metric_values or {}).items()},
                            "since": since.isoformat(), "contract": str(path)}))
    return results
