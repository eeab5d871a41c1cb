"""Snowflake: every statement the project renders is pinned (golden), parsed by sqlglot and, where
fakesnow can, executed.

There is no Snowflake account here. fakesnow (DuckDB underneath) runs what it supports; where it
lacks a function or a statement the test skips and names the gap instead of faking a result.
After an intended change: NOVA_UPDATE_GOLDEN=1 pytest tests/pipeline/test_snowflake_dialect.py,
then review the diff of tests/pipeline/golden/snowflake/.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlglot import exp
from typer.testing import CliRunner

from config import Settings
from contracts.registry import Registry, load_registry
from pipeline.landing import Landing, LandingFile
from pipeline.load import load
from pipeline.snowflake_cli import (
    EXAMPLE_LOAD_ID,
    EXAMPLE_SUSPECT_FILE,
    Statement,
    StatementRecorder,
    What,
    register,
    run_statements,
)
from pipeline.snowflake_load import (
    SnowflakeLanding,
    bytes_format_sql,
    claim_sql,
    copy_columns,
    copy_history_sql,
    copy_sql,
    file_format_sql,
    paths_pattern,
    pipe_sql,
    pipe_status_sql,
    refresh_pipe_sql,
    session_sql,
    sf_lit,
    stage_sql,
    unclaimed_sql,
    validate_pipe_sql,
    validate_sql,
)
from pipeline.stage import gate, promote, stage
from pipeline.stage_sql import classify_sql, unknown_platform_sql
from tests.conftest import REPO, write_landing
from tests.pipeline.golden import assert_golden
from tests.pipeline.helpers import android, backend, ios, web
from warehouse.engine import DuckDBEngine, Engine, SnowflakeEngine
from warehouse.schema import TABLES, TABLES_BY_NAME, create_table_sql
from warehouse.session import Warehouse

GOLDEN = Path(__file__).parent / "golden" / "snowflake"
E = SnowflakeEngine()
SETTINGS = Settings(landing_path="s3://novasuite-events-landing/events", snowflake_stage="NOVA_LANDING_STAGE",
                    snowflake_storage_integration="NOVA_S3_LANDING")
LAND = SnowflakeLanding.from_settings(SETTINGS)
PLATFORMS = ("web", "ios", "android", "backend")
# Statements sqlglot 30 reads only as an opaque Command (it has no CREATE PIPE / ALTER PIPE grammar).
COMMANDS = {"pipe", "refresh_pipe"}


@cache
def registry() -> Registry:
    return load_registry(REPO / "contracts")


def script(statements: list[str]) -> str:
    return "\n\n".join(s + ";" for s in statements)


@cache
def rendered() -> dict[str, list[str]]:
    """Every Snowflake statement, by golden file name."""
    reg = registry()
    out: dict[str, list[str]] = {f"ddl_{t.name}": [create_table_sql(t, E)] for t in TABLES}
    out |= {
        "session": session_sql(),
        "file_format": [file_format_sql(LAND), bytes_format_sql(LAND)],
        "stage": [stage_sql(LAND)],
        "copy": [copy_sql(LAND)],
        "copy_backfill": [copy_sql(LAND, files=["platform=web/dt=2026-11-25/hour=17/a.jsonl.gz"], force=True)],
        "pipe": [pipe_sql(LAND)],
        "unclaimed": [unclaimed_sql()],
        "claim": claim_sql(EXAMPLE_LOAD_ID, LAND, suspect_files=[EXAMPLE_SUSPECT_FILE]),
        "copy_history": [copy_history_sql(LAND)],
        "validate": [validate_sql(LAND)],
        "validate_pipe": [validate_pipe_sql(LAND)],
        "pipe_status": [pipe_status_sql(LAND)],
        "refresh_pipe": [refresh_pipe_sql(LAND)],
        "received_at": [f"SELECT {E.received_at_of_line('raw_line', 'decode_error', 'file_mtime')} FROM raw_events"],
        "unknown_platform": [unknown_platform_sql(list(reg.contracts), E)],
        "run_statements": [s.sql for s in run_statements(E, reg)],
    }
    out |= {f"classify_{p}": [classify_sql(reg.contracts[p], reg.rules, E)] for p in PLATFORMS}
    return out


NAMES = sorted(rendered())


# --- (a) pinned ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_golden(name: str) -> None:
    assert_golden(GOLDEN / f"{name}.sql", script(rendered()[name]) + "\n")


def test_every_golden_file_is_rendered() -> None:
    stale = {p.stem for p in GOLDEN.glob("*.sql")} - set(NAMES)
    assert not stale, f"golden files nothing renders any more: {sorted(stale)}"


# --- (b) parsed ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_sqlglot_parses_every_statement(name: str) -> None:
    for sql in rendered()[name]:
        parsed = sqlglot.parse(sql, read="snowflake")
        assert len(parsed) == 1 and parsed[0] is not None, f"{name}: not exactly one statement"
        if name in COMMANDS:
            assert isinstance(parsed[0], exp.Command)
        else:
            assert not isinstance(parsed[0], exp.Command), f"{name}: sqlglot fell back to an opaque Command"


def test_the_pipe_runs_the_bulk_copy() -> None:
    head, _, copy = pipe_sql(LAND).partition("\n  AS\n")
    assert copy == copy_sql(LAND) and "AUTO_INGEST = TRUE" in head
    assert isinstance(sqlglot.parse_one(copy, read="snowflake"), exp.Copy)


def test_copy_fills_every_raw_column_with_allowed_functions() -> None:
    assert list(copy_columns(LAND)) == TABLES_BY_NAME["raw_events"].column_names
    copy = sqlglot.parse_one(copy_sql(LAND), read="snowflake")
    used = {f.sql_name() if not isinstance(f, exp.Anonymous) else f.name.upper() for f in copy.find_all(exp.Func)}
    # Snowflake documents the functions COPY transformations accept; TRY_PARSE_JSON, COALESCE and
    # CONTAINS are not among them (the claim does that work).
    assert not used & {"TRY_PARSE_JSON", "PARSE_JSON", "COALESCE", "CONTAINS", "CURRENT_TIMESTAMP", "SYSDATE"}


def test_snowflake_literals_keep_regex_backslashes() -> None:
    pattern = r'"received_at"\s*:\s*"([^"\\]*)"\s*\}\s*$'
    parsed = sqlglot.parse_one(f"SELECT {E.regexp_extract('x', pattern)}", read="snowflake")
    assert pattern in [lit.this for lit in parsed.find_all(exp.Literal) if lit.is_string]


def test_the_utf8_check_of_the_claim_reads_only_the_suspect_files() -> None:
    odd = "platform=ios/dt=2026-11-25/hour=17/x (1)+[2].json"
    pattern = re.compile(paths_pattern([EXAMPLE_SUSPECT_FILE, odd]))
    for path in (EXAMPLE_SUSPECT_FILE, odd):
        assert pattern.match(path) and pattern.match("events/" + path), path  # stage-relative or full key
    for other in (EXAMPLE_SUSPECT_FILE.replace(".jsonl", "xjsonl"), EXAMPLE_SUSPECT_FILE + ".bak",
                  "platform=ios/dt=2026-11-25/hour=17/x 1+2.json", "aplatform=web/" + EXAMPLE_SUSPECT_FILE[13:]):
        assert not pattern.match(other), other
    assert claim_sql(EXAMPLE_LOAD_ID, LAND) == [s for s in claim_sql(EXAMPLE_LOAD_ID, LAND, suspect_files=[odd])
                                               if "NOVA_LINE_BYTES" not in s]  # no suspect: no re-read


def test_settings_names_are_validated_not_pasted() -> None:
    for bad in ("x; DROP TABLE raw_events", "a.b.c.d", "stage name", "\"quoted\""):
        with pytest.raises(ValueError, match="Snowflake object name"):
            SnowflakeLanding.from_settings(SETTINGS.model_copy(update={"snowflake_stage": bad}))
    for bad in ("data/landing", "s3://Bad_Bucket/x", "s3://bucket/a'b"):
        with pytest.raises(ValueError, match="landing_path"):
            SnowflakeLanding.from_settings(SETTINGS.model_copy(update={"landing_path": bad}))
    at_root = SnowflakeLanding.from_settings(SETTINGS.model_copy(update={"landing_path": "s3://novasuite-events"}))
    assert at_root.url == "s3://novasuite-events/" and at_root.prefix == ""
    assert sf_lit("it's a \\ path") == "'it\\'s a \\\\ path'"


# --- (c) executed where fakesnow can --------------------------------------------------------
FAKESNOW = f"fakesnow {version('fakesnow')}"
# What fakesnow does not implement, as it says so; any other error fails the test.
KNOWN_GAPS = (
    re.compile(r"Scalar Function with name (is_object|as_object|is_varchar|object_delete|try_to_timestamp_tz|"
               r"system\$pipe_status) does not exist"),
    re.compile(r'syntax error at or near "(PIPE|TABLE)"'),  # CREATE/ALTER PIPE, TABLE(table_function(...))
    re.compile(r"Unknown copy parameter: \w+"),
    re.compile(r"ALTER SESSION SET \w+ = .* not implemented"),
    re.compile(r"a single transaction can only write to a single attached database"),
)


def run_or_skip(cur: Any, sql: str, params: Any = None, *, what: str = "this statement") -> Any:
    try:
        return cur.execute(sql, params) if params is not None else cur.execute(sql)
    except Exception as exc:  # fakesnow raises connector errors, and ValueError from its COPY emulation
        for gap in KNOWN_GAPS:
            if m := gap.search(str(exc)):
                pytest.skip(f"{FAKESNOW} cannot run {what}: {m.group(0)}")
        raise


@pytest.fixture
def snow_conn() -> Iterator[Any]:
    fakesnow = pytest.importorskip("fakesnow")
    import snowflake.connector

    from tests.snowflake import gaps

    gaps.install()  # fakesnow's gaps filled as in the server session (tests/snowflake/gaps.py)
    with fakesnow.patch():
        # qmark: the placeholders pipeline/ code writes (the connector's default is pyformat).
        conn = snowflake.connector.connect(database="NOVA", schema="USAGE", paramstyle="qmark")
        yield conn
        conn.close()


@pytest.fixture
def snow(snow_conn: Any) -> Any:
    return snow_conn.cursor()


def test_fakesnow_creates_every_table(snow: Any) -> None:
    for t in TABLES:
        snow.execute(create_table_sql(t, E))
        snow.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                     "ORDER BY ordinal_position", [t.name.upper()])
        assert [r[0].lower() for r in snow.fetchall()] == t.column_names


def test_fakesnow_creates_file_format_and_stage(snow: Any) -> None:
    assert "successfully created" in snow.execute(file_format_sql(LAND)).fetchone()[0]
    assert "successfully created" in snow.execute(bytes_format_sql(LAND)).fetchone()[0]
    assert "successfully created" in snow.execute(stage_sql(LAND)).fetchone()[0]


@pytest.mark.parametrize("name", ["session", "copy", "pipe", "claim", "copy_history", "validate", "validate_pipe",
                                  "pipe_status", "refresh_pipe"])
def test_fakesnow_runs_load_statements_or_names_the_gap(snow: Any, name: str) -> None:
    for t in TABLES:
        snow.execute(create_table_sql(t, E))
    snow.execute(file_format_sql(LAND))
    snow.execute(stage_sql(LAND))
    for sql in rendered()[name]:
        run_or_skip(snow, sql, what=f"the {name} statement")


# The COPY's own expressions, with columns in place of $1 and METADATA$...: compared with landing.py.
PATHS = [
    "s3://novasuite-events-landing/events/platform=web/dt=2026-11-25/hour=17/a.jsonl",
    "events/platform=ios/dt=2026-11-25/hour=17/b.json.gz",
    "platform=android/dt=2026-11-25/hour=09/c.json",
    "misc/platform=backend/d.json",
    "misc/xplatform=web/e.json",
    "platform=/f.json",
    "no_platform.json",
]
LINES = ['{"a": 1}\r', "plain", "", "x\r\r", "bad \ufffd byte", '{"b": "\\r"}']


def test_copy_expressions_on_fakesnow_match_landing_semantics(snow: Any) -> None:
    cols = copy_columns(LAND, {"line": "src.line", "filename": "src.fname", "row": "src.rn",
                               "mtime": "src.mtime", "scan": "src.scan"})
    rows = [(LINES[i % len(LINES)], path, i + 1) for i, path in enumerate(PATHS)]
    values = ", ".join(f"({sf_lit(line)}, {sf_lit(path)}, {n}, TO_TIMESTAMP_NTZ('2026-11-25 18:00:00'), "
                       "'2026-11-25 19:30:00 +01:00'::TIMESTAMP_LTZ)" for line, path, n in rows)
    select = ", ".join(cols[c] for c in ("file_path", "platform", "raw_line", "decode_error", "loaded_at"))
    snow.execute(f"SELECT {select} FROM (SELECT column1 AS line, column2 AS fname, column3 AS rn, "
                 f"column4 AS mtime, column5 AS scan FROM VALUES {values}) src")
    for (line, path, _), (rel, platform, raw, bad, loaded) in zip(rows, snow.fetchall(), strict=True):
        expect_rel = path.removeprefix(LAND.url).removeprefix(LAND.prefix + "/")
        assert rel == expect_rel
        assert platform == LandingFile(expect_rel, 0, dt.datetime(2026, 1, 1)).platform
        assert raw == (line[:-1] if line.endswith("\r") else line)
        assert bad == ("\ufffd" in line)
        assert loaded == dt.datetime(2026, 11, 25, 18, 30)


# One expression, two engines: the pieces of the staging SQL that decide times and versions,
# on literal inputs (fakesnow resolves TRY_TO_TIMESTAMP_TZ only on literals).
def _lit_cases() -> list[tuple[str, Any]]:
    iso = ["2026-11-25T17:00:00.123Z", "2026-11-25T18:00:00.123+01:00", "2026-11-25T17:00:00.123456Z",
           "2026-11-25 18:00:00", "garbage", "2026-13-45T00:00:00Z",
           # issue 18 / 17.8: one language of times on both engines
           "2026-11-25 18:00:00 +0530", "2026-11-25T18:00:00+05", "infinity", "epoch", "2026-02-30T00:00:00Z",
           "0001-01-01T00:00:00Z", "2026-11-25T18:00:00 America/New_York", "2026-11-25"]
    cases: list[tuple[str, Any]] = [(f"iso {v!r}", lambda e, v=v: e.try_iso_timestamp(sf_lit(v))) for v in iso]
    for v, factor in [("1764090000123", 1000), ("1764090000.5", 1_000_000), ("-5", 1000), ("abc", 1000)]:
        cases.append((f"epoch {v}*{factor}", lambda e, v=v, f=factor:
                      e.epoch_micros_to_ts(f"round({e.try_double(sf_lit(v))} * {f})")))
    for v in ["4.9.1", "5.0", "5.1.2-beta", "10.0", "4", "x.y", "", "29385635013002076.1", "4.99999999999999999999"]:
        cases.append((f"version {v!r} < 5.0", lambda e, v=v: e.version_below(sf_lit(v), "5.0")))
    ts = "CAST('2026-11-25 17:00:02.350' AS TIMESTAMP)"
    cases += [
        ("micros", lambda e: e.ts_to_epoch_micros(ts)),
        ("skew", lambda e: e.add_micros(ts, "-2000000")),
        ("seconds", lambda e: e.seconds_between("CAST('2026-11-25 17:00:00' AS TIMESTAMP)", ts)),
    ]
    for d in ["2026-11-25", "2026-11-23", "2026-11-29", "2027-01-01"]:
        cases.append((f"week {d}", lambda e, d=d: e.week_start(f"CAST('{d}' AS DATE)")))
        cases.append((f"month {d}", lambda e, d=d: e.month_start(f"CAST('{d}' AS DATE)")))
    return cases


@pytest.mark.parametrize(("label", "render"), _lit_cases(), ids=[c[0] for c in _lit_cases()])
def test_engine_expressions_agree_on_fakesnow_and_duckdb(snow: Any, label: str, render: Any) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    expected = _norm(con.execute(f"SELECT {render(DuckDBEngine())}").fetchone()[0])
    got = _norm(run_or_skip(snow, f"SELECT {render(E)}", what=label).fetchone()[0])
    assert got == (pytest.approx(expected) if isinstance(expected, float) else expected), label


def _norm(v: Any) -> Any:
    if isinstance(v, Decimal | int) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC).replace(tzinfo=None)
    return v


# --- the pipeline's own stage/promote statements on fakesnow, against the DuckDB run -----------
class FakesnowWarehouse(Warehouse):
    """The real Warehouse methods over a fakesnow connection (skips only the SQLAlchemy set-up)."""

    def __init__(self, conn: Any):
        self.engine: Engine = E
        self.dbapi = conn
        self._cursor = conn.cursor()
        self._in_tx = False


def _landing_lines(root: Path) -> None:
    write_landing(root, "web", "a.jsonl", [web("m1"), web("m2", type="page"), "not json", web("m3", userId=""),
                                           web("m4", properties={"feature": "Mention", "area": "editor",
                                                                 "workspaceId": "ws_1"},
                                               context={"library": {"version": "3.9.0"}})])
    write_landing(root, "ios", "b.jsonl", [ios("A1"), ios("A2", ts=1764090000.5, app={"version": "4.9.0"}),
                                           ios("A3", feature_key="nope")])
    write_landing(root, "android", "c.jsonl", [android("d1"), android("d2", timestamp="2026-11-25 18:00:00",
                                                                      appVersion="4.2.0", sentAt=None)])
    write_landing(root, "backend", "d.jsonl", [backend("e1"), backend("e2", actor={"type": "system"}),
                                               backend("e1", received_at="2026-11-25T17:00:00.500Z")])


def _outcomes(wh: Any) -> set[tuple[Any, ...]]:
    rows = wh.query("SELECT file_path, line_number, 'valid', NULL FROM stg_pending UNION ALL "
                    "SELECT file_path, line_number, 'ignored', reason FROM ignored_events UNION ALL "
                    "SELECT file_path, line_number, 'quarantined', reason FROM quarantined_events")
    return {(p, int(n), s, r) for p, n, s, r in rows}


def _copy_table(src: Warehouse, dst: Warehouse, table: str) -> None:
    cols = TABLES_BY_NAME[table].column_names
    rows = src.query(f"SELECT {', '.join(cols)} FROM {table}")
    if rows:
        dst.dbapi.cursor().executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                                       f"({', '.join('?' for _ in cols)})", [tuple(r) for r in rows])


@pytest.fixture
def fake_wh(snow_conn: Any) -> FakesnowWarehouse:
    fw = FakesnowWarehouse(snow_conn)
    fw.ensure_schema()
    return fw


def test_staging_on_fakesnow_agrees_with_duckdb(wh: Warehouse, landing: Path, fake_wh: FakesnowWarehouse) -> None:
    reg = registry()
    _landing_lines(landing)
    load(wh, Landing(str(landing)))
    for table in ("raw_events", "batches"):
        _copy_table(wh, fake_wh, table)
    stage(wh, reg)
    expected = _outcomes(wh)
    assert len(expected) == wh.scalar("SELECT COUNT(*) FROM raw_events")
    # The statements stage() sends, replayed outside a transaction (fakesnow cannot create a table
    # inside one; Snowflake would commit the transaction at that DDL anyway).
    recorder = StatementRecorder(E, [r[0] for r in wh.query("SELECT load_id FROM batches")])
    stage(recorder, reg)  # type: ignore[arg-type]
    _replay(recorder.statements, fake_wh, "the staging SQL")
    assert _outcomes(fake_wh) == expected


def _replay(statements: list[Statement], fw: FakesnowWarehouse, what: str) -> None:
    for s in statements:
        if s.sql in ("BEGIN TRANSACTION", "COMMIT"):
            continue
        if s.note.startswith("executemany"):
            fw.dbapi.cursor().executemany(s.sql, list(s.params))
        else:
            run_or_skip(fw._cursor, s.sql, list(s.params) if s.params else None, what=f"{what} ({s.sql[:40]}...)")


def test_promote_on_fakesnow_agrees_with_duckdb(wh: Warehouse, landing: Path, fake_wh: FakesnowWarehouse,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.stage.BLOCKING_CHECKS", [])  # promote every batch, whatever monitors registered
    reg = registry()
    _landing_lines(landing)
    load(wh, Landing(str(landing)))
    write_landing(landing, "backend", "e.jsonl", [backend("e1", received_at="2026-11-25T16:59:00.000Z"),
                                                   backend("e2b"), backend("e2b")], hour="18")
    load(wh, Landing(str(landing)))  # a second batch: an earlier copy of e1 arrives late
    stage(wh, reg)
    gate(wh)
    for table in ("stg_pending", "batches", "stg_events"):
        _copy_table(wh, fake_wh, table)
    ids = sorted({r[0] for r in wh.query("SELECT DISTINCT load_id FROM stg_pending")})
    result = promote(wh)
    assert result.kept and result.duplicates
    recorder = StatementRecorder(E, ids)
    promote(recorder)  # type: ignore[arg-type]
    _replay(recorder.statements, fake_wh, "promote")

    def kept(w: Any, table: str) -> set[tuple[Any, ...]]:
        return {tuple(r) for r in w.query(f"SELECT event_id, load_id, file_path, line_number FROM {table}")}

    for table in ("stg_events", "stg_duplicates"):
        assert kept(fake_wh, table) == kept(wh, table), table
    assert fake_wh.scalar("SELECT COUNT(*) FROM stg_pending") == 0


# --- the command ----------------------------------------------------------------------------
def test_render_command_prints_every_statement(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    app = typer.Typer()
    register(app)
    monkeypatch.setenv("NOVA_LANDING_PATH", SETTINGS.landing_path)
    res = CliRunner().invoke(app, ["snowflake", "render"])
    assert res.exit_code == 0, res.output
    for name, statements in rendered().items():
        if name in ("received_at", "copy_backfill"):
            continue  # an expression inside the claim; a backfill's FILES come from the operator
        for sql in statements:
            assert sql in res.output, name
    one = CliRunner().invoke(app, ["snowflake", "render", "--what", "stage", "--platform", "ios"])
    assert "classify ios" in one.output and "classify web" not in one.output
    pretty = CliRunner().invoke(app, ["snowflake", "render", "--what", "load", "--pretty"])
    assert pretty.exit_code == 0 and "ON_ERROR = CONTINUE" in pretty.output


def test_render_command_refuses_a_local_landing_for_load(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    from nova.errors import NovaError

    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["snowflake", "render", "--what", "load", "--landing", "data/landing"])
    assert isinstance(res.exception, NovaError) and "s3://" in res.exception.message
    ddl = CliRunner().invoke(app, ["snowflake", "render", "--what", "ddl", "--landing", "data/landing"])
    assert ddl.exit_code == 0 and "CREATE TRANSIENT TABLE IF NOT EXISTS raw_events" in ddl.output


def test_statement_titles_carry_notes() -> None:
    assert Statement("t", "SELECT 1", "n").render() == "-- t (n)\nSELECT 1;"


def test_docs_describe_every_copy_column_format_option_and_command() -> None:
    doc = (REPO / "docs" / "snowflake.md").read_text(encoding="utf-8")
    assert [c for c in copy_columns(LAND) if f"| `{c}` |" not in doc] == []
    options = re.findall(r"^  (\w+) = ", file_format_sql(LAND), re.M)
    assert [o for o in options if o != "COMMENT" and f"`{o} = " not in doc] == []
    assert [w for w in What if w is not What.all and f"--what {w.value}" not in doc] == []
