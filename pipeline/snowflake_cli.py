"""`nova snowflake render`: every statement the project sends to Snowflake, printed for review.

Nothing connects to Snowflake. The stage/promote statements are the real ones: `stage()` and
`promote()` run against a recorder that stands in for the warehouse, keeps each statement and
answers the few queries they ask (the batch ids), so what is printed is what they would send.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import sqlglot
import typer

from config import Settings, get_settings
from nova.errors import Exit, NovaError
from pipeline.snowflake_load import (
    SnowflakeLanding,
    bytes_format_sql,
    claim_sql,
    copy_history_sql,
    copy_sql,
    file_format_sql,
    pipe_sql,
    pipe_status_sql,
    refresh_pipe_sql,
    session_sql,
    stage_sql,
    suspect_files_sql,
    unclaimed_sql,
    validate_pipe_sql,
    validate_sql,
)
from pipeline.stage_sql import classify_sql, unknown_platform_sql
from warehouse.engine import Engine, SnowflakeEngine
from warehouse.schema import TABLES, create_table_sql

PLATFORMS = ("android", "backend", "ios", "web")  # the example batches of a rendered load

EXAMPLE_LOAD_ID = "L20261125T170000000-0a1b2c"  # what `nova load` would generate (load.new_load_id)
EXAMPLE_DAY = dt.date(2026, 11, 25)  # the example batch's event dates
# A file holding a line with U+FFFD: the claim re-reads it to tell replaced bytes from a sent U+FFFD.
EXAMPLE_SUSPECT_FILE = "platform=web/dt=2026-11-25/hour=17/collector-1.jsonl.gz"


class What(enum.StrEnum):
    ddl = "ddl"
    load = "load"
    stage = "stage"
    all = "all"


@dataclass(frozen=True)
class Statement:
    title: str
    sql: str
    note: str = ""
    params: tuple[Any, ...] = ()  # what a recorded statement binds (not printed: timestamps of the run)

    def render(self, *, pretty: bool = False) -> str:
        sql = self.sql
        if pretty:
            parsed = sqlglot.parse_one(sql, read="snowflake")
            if not isinstance(parsed, sqlglot.exp.Command):  # CREATE PIPE, ALTER PIPE: as written
                sql = parsed.sql(dialect="snowflake", pretty=True)
        head = f"-- {self.title}" + (f" ({self.note})" if self.note else "")
        return f"{head}\n{sql};"


# --- the recorder ---------------------------------------------------------------------------
@dataclass
class StatementRecorder:
    """Stands in for warehouse.session.Warehouse in stage()/promote(): keeps every statement,
    answers a query for load ids with `load_ids` (batch ids: one per platform of each), a SUM(...)
    row with zeros, anything else empty."""

    engine: Engine
    load_ids: Sequence[str]
    statements: list[Statement] = field(default_factory=list)

    def _keep(self, sql: str, note: str = "", params: Sequence[Any] = ()) -> None:
        self.statements.append(Statement(f"statement {len(self.statements) + 1}", sql, note, tuple(params)))

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> StatementRecorder:
        self._keep(sql, f"binds {len(params)} parameter(s)" if params else "", params or ())
        return self

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        self.execute(sql, params)
        select = sql.split(" FROM ", 1)[0]
        loads = sorted(set(self.load_ids))
        if select.endswith("load_id"):
            return [(i,) for i in loads]
        if select.startswith("SELECT load_id, SUM(line_count)"):  # stage(): pending loads and their lines
            return [(i, 1) for i in loads]
        if select.endswith("load_id, batch_id"):
            return [(i, f"{i}/{p}") for i in loads for p in PLATFORMS]
        if select.endswith("batch_id"):
            return [(f"{i}/{p}",) for i in loads for p in PLATFORMS]
        if select.startswith("SELECT MIN(event_date), MAX(event_date)"):  # the batch's event dates
            return [(EXAMPLE_DAY, EXAMPLE_DAY)]
        if select.startswith("SELECT SUM("):
            return [(0,) * select.count("SUM(")]
        return []

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[StatementRecorder]:
        self._keep("BEGIN TRANSACTION")
        yield self
        self._keep("COMMIT")

    @contextlib.contextmanager
    def bulk(self) -> Iterator[StatementRecorder]:
        yield self  # a DuckDB session setting only: nothing to render

    # sync_feature_lookup inserts the catalog keys with wh.dbapi.cursor().executemany(...)
    @property
    def dbapi(self) -> StatementRecorder:
        return self

    def cursor(self) -> StatementRecorder:
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._keep(sql, "executemany: one row per catalog key", [tuple(r) for r in rows])


def run_statements(engine: Engine, registry: Any, load_ids: Sequence[str] = (EXAMPLE_LOAD_ID,)) -> list[Statement]:
    """What `nova run` sends for stage and promote of these batches (gate: checks are the monitor's)."""
    from pipeline.stage import promote, stage

    rec = StatementRecorder(engine, load_ids)
    stage(rec, registry)  # type: ignore[arg-type]
    promote(rec)  # type: ignore[arg-type]
    return rec.statements


# --- sections -------------------------------------------------------------------------------
def ddl_statements() -> list[Statement]:
    e = SnowflakeEngine()
    out = [Statement("session", s) for s in session_sql()]
    out += [Statement(f"table {t.name}", create_table_sql(t, e), t.doc) for t in TABLES]
    return out


def load_statements(land: SnowflakeLanding, load_id: str = EXAMPLE_LOAD_ID) -> list[Statement]:
    claim = claim_sql(load_id, land, suspect_files=[EXAMPLE_SUSPECT_FILE])
    return [
        Statement("file format", file_format_sql(land)),
        Statement("file format of the bytes", bytes_format_sql(land), "the claim's UTF-8 check"),
        Statement("external stage", stage_sql(land)),
        Statement("snowpipe", pipe_sql(land), "raw within ~1 min of upload"),
        Statement("bulk copy", copy_sql(land), "backfill, or while the pipe is paused"),
        Statement("nova load: anything to claim?", unclaimed_sql()),
        Statement("nova load: claim", "BEGIN TRANSACTION"),
        Statement(f"claim 1/{len(claim)}", claim[0]),
        Statement("claim: files with a line holding U+FFFD", suspect_files_sql(),
                  "step 2 runs only when there are some, with their paths"),
        *(Statement(f"claim {i}/{len(claim)}", s) for i, s in enumerate(claim[1:], 2)),
        Statement("nova load: claim", "COMMIT"),
        Statement("copy history (ledger source)", copy_history_sql(land)),
        Statement("rejected rows (bulk copy and pipe)", validate_sql(land)),
        Statement("rejected rows of the pipe", validate_pipe_sql(land)),
        Statement("pipe status (raw freshness)", pipe_status_sql(land)),
        Statement("re-queue missed notifications", refresh_pipe_sql(land)),
    ]


def stage_statements(registry: Any, platform: str | None = None) -> list[Statement]:
    e = SnowflakeEngine()
    platforms = [platform] if platform else list(registry.contracts)
    out = [Statement(f"classify {p}", classify_sql(registry.contracts[p], registry.rules, e),
                     f"contract {registry.contracts[p].version}") for p in platforms]
    out.append(Statement("lines of unknown platforms", unknown_platform_sql(list(registry.contracts), e)))
    if platform is None:
        out += [Statement(f"nova run: {s.title}", s.sql, s.note) for s in run_statements(e, registry)]
    return out


def render(what: What, settings: Settings, registry: Any | None, platform: str | None = None) -> list[Statement]:
    out: list[Statement] = []
    if what in (What.ddl, What.all):
        out += ddl_statements()
    if what in (What.load, What.all):
        out += load_statements(SnowflakeLanding.from_settings(settings))
    if what in (What.stage, What.all):
        out += stage_statements(registry, platform)
    return out


def register(app: typer.Typer) -> None:
    sf = typer.Typer(help="Snowflake: the statements the production warehouse runs, for review.",
                     no_args_is_help=True)
    app.add_typer(sf, name="snowflake")

    @sf.command("render")
    def render_cmd(
        what: Annotated[What, typer.Option("--what", help="Which statements: ddl, load, stage or all.")] = What.all,
        platform: Annotated[str | None, typer.Option("--platform", "-p", help="Only this platform's staging SQL.",
                                                     show_default=False)] = None,
        landing: Annotated[str | None, typer.Option(help="Landing s3://bucket/prefix the stage reads.",
                                                    envvar="NOVA_LANDING_PATH", show_default=False)] = None,
        pretty: Annotated[bool, typer.Option("--pretty", help="Reformat with sqlglot (what runs is unformatted).")]
        = False,
    ) -> None:
        """Print every Snowflake statement: table DDL, file format, stage, Snowpipe, the COPY and the
        claim of `nova load`, the per-platform staging SQL and the statements of stage/promote.

        Nothing connects to Snowflake. Names come from the settings (snowflake_stage,
        snowflake_storage_integration, landing_path); see docs/snowflake.md.
        """
        settings = get_settings()
        if landing:
            settings = settings.model_copy(update={"landing_path": landing})
        reg = None
        if what in (What.stage, What.all):
            from pipeline.cli import registry

            reg = registry()
            if platform is not None and platform not in reg.contracts:
                raise NovaError(f"unknown platform {platform!r}", hint=f"one of: {', '.join(reg.contracts)}",
                                code=Exit.USAGE)
        try:
            statements = render(what, settings, reg, platform)
        except ValueError as exc:
            raise NovaError(str(exc), hint="pass --landing s3://bucket/prefix or set NOVA_LANDING_PATH; "
                            "object names come from NOVA_SNOWFLAKE_STAGE and NOVA_SNOWFLAKE_STORAGE_INTEGRATION",
                            code=Exit.CONFIG) from exc
        typer.echo("\n\n".join(s.render(pretty=pretty) for s in statements))
