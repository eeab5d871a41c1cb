"""Commands of the curated layer: `nova plan`, `nova backfill`, `nova query`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from config import get_settings
from nova.errors import Exit, NovaError
from pipeline.cli import registry as _registry  # the registry with its friendly error
from pipeline.curate.definition import MODEL_ALIASES, MODELS_BY_NAME
from pipeline.curate.query import Format, run_query, to_csv, to_json
from warehouse.session import open_warehouse

out = Console()
MODEL_NAMES = sorted([*MODELS_BY_NAME, *MODEL_ALIASES])


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_cmd() -> None:
        """Print what the next `nova run` would recompute in the curated layer, without running it:
        the models, their partitions (dates, weeks, months, users) and the rows they would read.

        Same as `nova run --explain` for the curate step. A catalog change that alters the feature
        hierarchy shows as a full recompute of every roll-up.
        """
        from pipeline.curate import plan

        reg = _registry()
        with open_warehouse() as wh:
            typer.echo(plan(wh, reg).render())

    @app.command("backfill")
    def backfill_cmd(
        start: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day (UTC).")],
        end: Annotated[dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day, included.")],
        model: Annotated[str | None, typer.Option(
            help="Rebuild only this model (and the models it reads): " + ", ".join(MODEL_NAMES) + ".")] = None,
        restart: Annotated[bool, typer.Option(
            "--restart", help="Redo the days an earlier run of the same range finished.")] = False,
    ) -> None:
        """Rebuild the curated tables for a range of event dates, one day per transaction.

        Use it after a contract or catalog fix or a quarantine replay. Idempotent, and resumable: an
        interrupted backfill run again with the same range skips the days already done
        (`--restart` redoes them). Weeks and months that overlap the range are recomputed whole.
        """
        from pipeline.curate import backfill

        if model is not None and model not in MODEL_NAMES:
            raise NovaError(f"unknown model {model!r}", hint="one of: " + ", ".join(MODEL_NAMES), code=Exit.USAGE)
        if end < start:
            raise NovaError(f"--to {end:%Y-%m-%d} is before --from {start:%Y-%m-%d}", code=Exit.USAGE)
        reg = _registry()
        total = (end - start).days + 1
        columns = (TextColumn("backfill {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with open_warehouse() as wh, Progress(*columns, console=out, transient=False) as bar:
            task = bar.add_task("", total=total)

            def on_chunk(day: dt.date, skipped: bool, rows: int) -> None:
                bar.update(task, advance=1, description=f"{day} {'(skipped)' if skipped else f'{rows:,} rows'}")

            res = backfill(wh, reg, start.date(), end.date(), model=model, restart=restart, on_chunk=on_chunk)
        if res.rebuilt_all:
            typer.echo("the catalog hierarchy changed: every curated table was rebuilt from stg_events")
        expired = f", {len(res.chunks_expired)} before the first staged day (kept)" if res.chunks_expired else ""
        typer.echo(f"backfill {res.start}..{res.end}: {len(res.chunks_run)} day(s) rebuilt, "
                   f"{len(res.chunks_skipped)} already done{expired}; {res.rows_written:,} rows in "
                   f"{res.seconds:.1f}s ({', '.join(res.models)})")

    @app.command("query")
    def query_cmd(
        sql: Annotated[str, typer.Argument(help="One SELECT (or WITH … SELECT) statement.")],
        fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
        limit: Annotated[int | None, typer.Option(help="Print at most this many rows.")] = None,
    ) -> None:
        """Run a read-only query on the configured warehouse and print the result.

        Anything but a single SELECT / WITH query is refused (parsed with sqlglot); a DuckDB file is
        opened read-only. See docs/querying.md for the curated tables and ready-to-run questions.
        """
        res = run_query(get_settings(), sql, limit=limit)
        if fmt is Format.csv:
            typer.echo(to_csv(res), nl=False)
        elif fmt is Format.json:
            typer.echo(to_json(res))
        else:
            table = Table(*res.columns)
            for row in res.rows:
                table.add_row(*("" if v is None else str(v) for v in row))
            out.print(table)
            note = f" (first {limit}; more rows exist)" if res.truncated else ""
            out.print(f"{len(res.rows)} row(s){note}", style="dim")
