"""The same package with dbt-snowflake, against fakesnow's server mode standing in for Snowflake: the
sources resolve to the production database and schema of the settings, and the tests pass there too."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import snowflake.connector

from analytics.dbt_package import SOURCES
from pipeline.curate.definition import CURATED_TABLES
from tests.analytics.dbt_env import FAKESNOW, analyst_project, dbt, nova, require_dbt, results
from tests.conftest import write_landing
from tests.pipeline.helpers import android, backend, ios, load_and_run, web
from warehouse.engine import SnowflakeEngine
from warehouse.schema import TABLES_BY_NAME, create_table_sql


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fakesnow_server(tmp_path: Path) -> Iterator[int]:
    require_dbt()
    port = _free_port()
    (tmp_path / "fakesnow").mkdir()
    proc = subprocess.Popen([str(FAKESNOW), "-s", "-p", str(port), "-d", str(tmp_path / "fakesnow")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _connect(port: int) -> snowflake.connector.SnowflakeConnection:
    return snowflake.connector.connect(user="nova", password="fake", account="fakesnow", host="127.0.0.1",
                                       port=port, protocol="http", network_timeout=10)


def test_dbt_snowflake_builds_the_package_against_fakesnow(fakesnow_server: int, tmp_path: Path, wh, registry,
                                                            landing: Path) -> None:
    # A small curated layer on DuckDB, copied into "Snowflake" with the production DDL of the same tables.
    write_landing(landing, "web", "a.jsonl", [web("m1"), web("m2", userId="u_0009")])
    write_landing(landing, "ios", "b.jsonl", [ios("A1")])
    write_landing(landing, "android", "c.jsonl", [android("d1")])
    write_landing(landing, "backend", "d.jsonl", [backend("evt_1")])
    load_and_run(wh, registry, landing)
    engine = SnowflakeEngine()
    declared = {t.name: t for t in CURATED_TABLES} | dict(TABLES_BY_NAME)
    con = _connect(fakesnow_server)
    cur = con.cursor()
    cur.execute("CREATE DATABASE ANALYTICS")  # the analysts' own database (CREATE also makes it current)
    cur.execute("CREATE SCHEMA ANALYTICS.DBT_DEV")
    cur.execute("CREATE DATABASE NOVA")  # where nova writes in production (config/production.example.toml)
    cur.execute("CREATE SCHEMA NOVA.USAGE")
    cur.execute("USE SCHEMA NOVA.USAGE")
    wh.execute("INSERT INTO trust_scores (day, scope_type, scope, score, grade, components, reasons, computed_at) "
               "VALUES (DATE '2026-11-25', 'area', 'editor', 70.0, 'C', '{}', '[]', TIMESTAMP '2026-11-25 18:00:00')")
    for spec in (s for s in SOURCES if s.tested):
        cols = wh.query_dicts(f"DESCRIBE {spec.name}")
        names = [c["column_name"] for c in cols]
        if spec.name in declared:
            cur.execute(create_table_sql(declared[spec.name], engine))
        else:  # the view's columns as a table: dbt reads it the same way
            types = {"VARCHAR": "TEXT", "DOUBLE": "FLOAT", "BIGINT": "NUMBER", "INTEGER": "NUMBER",
                     "HUGEINT": "NUMBER", "DATE": "DATE", "TIMESTAMP": "TIMESTAMP_NTZ"}
            cur.execute(f"CREATE TABLE {spec.name} ("
                        + ", ".join(f"{c['column_name']} {types[c['column_type']]}" for c in cols) + ")")
        rows = wh.query(f"SELECT {', '.join(names)} FROM {spec.name}")
        if rows:
            marks = ", ".join(["%s"] * len(names))
            cur.executemany(f"INSERT INTO {spec.name} ({', '.join(names)}) VALUES ({marks})",
                            [tuple(str(v) if isinstance(v, dict) else v for v in r) for r in rows])
    con.close()
    package = tmp_path / "nova_curated"
    nova("dbt", "export", "--out", str(package), env={})
    output = {"type": "snowflake", "account": "fakesnow", "user": "analyst", "password": "fake",
              "database": "ANALYTICS", "schema": "DBT_DEV", "warehouse": "ANALYTICS_XS", "role": "ANALYST",
              "host": "127.0.0.1", "port": fakesnow_server, "protocol": "http", "threads": 1}
    project = analyst_project(tmp_path / "analytics", package, {"prod": output}, "prod")
    out = dbt(project, "build").stdout
    statuses = results(project)
    tests = {k: v for k, v in statuses.items() if k.startswith("test.")}
    assert len(tests) >= 90 and set(tests.values()) == {"pass"}, out[-3000:]
    assert statuses["model.nova_curated.nova_feature_usage_daily_with_trust"] == "success"
    compiled = next((project / "target" / "compiled").rglob("nova_feature_usage_daily_with_trust.sql")).read_text()
    assert "NOVA.USAGE.feature_usage_daily" in compiled  # the source follows the Snowflake target
