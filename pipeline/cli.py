"""Commands of the pipeline: load, run, reconcile, quarantine, batches, contracts validate."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from config import Settings, get_settings
from contracts.registry import Registry, RegistryError, load_registry
from nova.errors import Exit, NovaError
from pipeline.curate import curate_isolating, plan
from pipeline.landing import Landing
from pipeline.load import load as run_load
from pipeline.reconcile import adds_up, reconcile
from pipeline.stage import gate, promote, replay_quarantine, stage
from warehouse.lock import writer_lock
from warehouse.session import Warehouse, open_reader, open_warehouse

out = Console()
err = Console(stderr=True)


def registry() -> Registry:
    path = get_settings().contracts_path
    try:
        return load_registry(path)
    except RegistryError as exc:
        raise NovaError(f"the contract registry at {path} is invalid:\n{exc}",
                        hint="run `nova contracts lint`", code=Exit.CONFIG) from exc


def _claim_snowflake(wh: Warehouse) -> None:
    """On Snowflake, Snowpipe has already copied the lines: `load` claims them as one batch."""
    from pipeline.load import new_load_id
    from pipeline.snowflake_load import SnowflakeLanding, claim

    load_id = new_load_id()
    with writer_lock(wh, "load"):
        lines = claim(wh, load_id, SnowflakeLanding.from_settings(wh.settings))
    out.print(f"claimed {lines:,} lines copied by Snowpipe as batch {load_id}" if lines else "nothing new")


def run_pipeline(wh: Warehouse, reg: Registry, settings: Settings | None = None,
                 between: Callable[[], Any] | None = None) -> dict[str, Any]:
    """stage → gate → promote → curate → curated-table checks: one incremental pass (`nova run`),
    holding the writer lock (warehouse/lock.py). Given settings (the daemon's run job), staging takes
    at most `daemon.run_max_lines` lines of whole loads, oldest first; `nova run` takes everything.

    A failure on some data never stops the pass: staging isolates the failing load, curate the
    failing event date; each failure is recorded in check_results and listed under "failures".
    `between` (the daemon's run job: a load pass) is called after each step, in the same session:
    files that land while a run holds the DuckDB file are queryable in raw after one step, not
    after the whole run; what it returns is listed under "between"."""
    # The monitor's gate and curated-table checks (monitors/ reads what pipeline/ stored; the
    # command layer wires them in, so pipeline/ itself never imports monitors/).
    import monitors.gate  # noqa: F401  (registers the gate's checks in pipeline.stage.BLOCKING_CHECKS)
    from monitors.invariants import check_touched

    done: list[Any] = []

    def step_done() -> None:
        if between is not None:
            done.append(between())

    cap = settings.daemon.run_max_lines if settings is not None else None
    with writer_lock(wh, "run"):
        first = _stage_to_promote(wh, reg, cap, step_done)
        staged = first["staged"]
        catch_up = _catch_up(wh, reg, cap, staged.lines, step_done) if between is not None else None
        curated, curate_failures = curate_isolating(wh, reg)
        step_done()
        invariants = [r for c in curated for r in check_touched(wh, c.scope)]
    more = catch_up["staged"].failures if catch_up else []
    return {**first, "curated": curated, "invariants": invariants,
            "failures": [*staged.failures, *more, *curate_failures],
            **({"between": done, "catch_up": catch_up} if between is not None else {})}


def _stage_to_promote(wh: Warehouse, reg: Registry, cap: int | None,
                      step_done: Callable[[], None]) -> dict[str, Any]:
    """stage (at most `cap` lines of whole loads) → gate → promote, with `step_done` after staging
    and after promoting."""
    staged = stage(wh, reg, cap)
    step_done()
    decided = gate(wh)
    promoted = promote(wh)
    step_done()
    return {"staged": staged, "gate": decided, "promoted": promoted}


def _catch_up(wh: Warehouse, reg: Registry, cap: int | None, taken: int,
              step_done: Callable[[], None]) -> dict[str, Any] | None:
    """The daemon's run, before it curates: stage, gate and promote once more the loads that the
    load passes after its first steps brought in (within what is left of `run_max_lines`). Curate's
    cost hardly depends on the lines it takes, so a file that landed while the run staged is
    curated by this run instead of the next one: the worst curated freshness falls from about two
    run cycles to one cycle plus a curate (docs/service.md). Its failures are its own: the
    one-time NOT NULL declaration of stage (stage_audit.ensure_declared) finds nothing the second time."""
    left = None if not cap else cap - taken
    if left is not None and left <= 0:
        return None
    waiting = wh.scalar("SELECT COUNT(*) FROM batches WHERE state = 'pending' AND staged_at IS NULL")
    if not waiting:
        return None
    return _stage_to_promote(wh, reg, left, step_done)


def _alerts(wh: Warehouse, reg: Registry) -> None:
    """Incidents from the checks just run, then the alerts that are due (docs/alerts.md)."""
    from alerts.service import notify_after_checks

    notify_after_checks(wh, reg, lambda s: out.print(s, highlight=False, markup=False))


def register(app: typer.Typer) -> None:
    @app.command("load")
    def load_cmd(
        landing: Annotated[str | None, typer.Option(help="Landing folder or s3://bucket/prefix.",
                                                    envvar="NOVA_LANDING_PATH", show_default=False)] = None,
    ) -> None:
        """Load every new landing file into raw_events (one pass; the daemon repeats it).

        A file is loaded once (ledger: path + size + checksum); a re-delivered file is skipped;
        unparseable lines are kept and quarantined by `nova run`.
        """
        root = landing or get_settings().landing_path
        with open_warehouse() as wh:
            if not wh.is_duckdb:
                _claim_snowflake(wh)
                return
            res = run_load(wh, Landing(root))
        if res.load_id is None:
            out.print(f"nothing new under {root} ({res.files_skipped} files already loaded)")
            return
        mb = res.bytes_read / 1e6
        out.print(f"load [bold]{res.load_id}[/]: {res.files_loaded} files, {res.lines:,} lines, {mb:,.1f} MB "
                  f"in {res.seconds:.1f}s ({res.files_skipped} files already loaded)")
        for note in res.notes:
            out.print(f"[yellow]note:[/] {note}")

    @app.command("run")
    def run_cmd(
        explain: Annotated[bool, typer.Option("--explain", help="Print what the run would recompute, run nothing.")]
        = False,
    ) -> None:
        """Stage new raw lines through the contracts, gate each batch, promote and curate (incremental).

        A failure on some data never stops the run: a load whose staging fails waits for the next
        run while the others go on, impossible staged rows are quarantined as stage_error, an event
        date that fails to curate keeps its changes for the next run. Each failure is printed with
        its batch and lines and recorded in check_results; the run then exits 4.
        """
        reg = registry()
        if explain:
            with open_warehouse() as wh:
                out.print(plan(wh).render())
            return
        with open_warehouse() as wh:
            res = run_pipeline(wh, reg)
            _alerts(wh, reg)
        s, p = res["staged"], res["promoted"]
        out.print(f"staged {len(s.batches)} batch(es): {s.lines:,} lines → {s.valid:,} valid, {s.ignored:,} ignored, "
                  f"{sum(s.quarantined.values()):,} quarantined {dict(sorted(s.quarantined.items()))}")
        for batch_id, state in res["gate"].items():
            if state != "promoted":
                out.print(f"gate: [bold]{batch_id} {state}[/] (see `nova batches show {batch_id}`)")
        promoted = sum(1 for st in res["gate"].values() if st == "promoted")
        if res["gate"]:
            out.print(f"gate: {promoted} of {len(res['gate'])} batch(es) promoted")
        out.print(f"promoted {len(p.batches)} batch(es): {p.kept:,} kept, {p.duplicates:,} duplicates, "
                  f"{p.taken_over:,} earlier copies took over")
        for curated in res["curated"]:
            out.print(f"curated: {curated}")
        broken = [r for r in res["invariants"] if r.outcome == "failed"]
        if broken:
            names = ", ".join(f"{r.check} ({r.value:.0f} rows)" for r in broken)
            out.print(f"[red]curated invariants failed:[/] {names} (check_results, source pandera)")
        if res["failures"]:
            for f in res["failures"]:
                err.print(f"[red]error:[/] {f.message()}", soft_wrap=True, highlight=False)
            err.print(f"{len(res['failures'])} failure(s) recorded in check_results (source 'pipeline'); "
                      "everything else went on. See `nova batches list` and `nova quarantine show stage_error`.")
            raise typer.Exit(int(Exit.DATA))

    @app.command("reconcile")
    def reconcile_cmd(
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Where every received line ended, per load and in total. Exit 1 if the counts do not add up."""
        with open_reader() as wh:
            rec = reconcile(wh)
        ok = all(adds_up(r) for r in rec["loads"])
        if as_json:
            print(json.dumps(rec["total"] | {"loads": rec["loads"]}, indent=2, default=str))
        else:
            t = Table("load", "state", "received", "staged", "duplicate", "ignored", "held", "dropped",
                      "quarantined", "pending", "erased", title="reconcile")
            for r in [*rec["loads"], {"load_id": "[bold]total", "state": "", **rec["total"]}]:
                q = r["quarantined"]
                t.add_row(r["load_id"], r["state"], *(f"{r[k]:,}" for k in ("received", "staged", "duplicate",
                          "ignored", "held", "dropped")), f"{sum(q.values()):,}", f"{r['pending']:,}",
                          f"{r['erased']:,}")
            out.print(t)
            if rec["total"]["quarantined"]:
                out.print("quarantined by reason: " + ", ".join(
                    f"{k} {v:,}" for k, v in rec["total"]["quarantined"].items()))
        if not ok:
            raise typer.Exit(int(Exit.FINDINGS))

    quarantine = typer.Typer(help="Inspect quarantined lines and replay them after a contract or catalog fix.",
                             no_args_is_help=True)
    app.add_typer(quarantine, name="quarantine")

    @quarantine.command("list")
    def q_list() -> None:
        """Quarantined lines by reason and platform."""
        with open_reader() as wh:
            rows = wh.query("SELECT reason, COALESCE(platform, '?'), COUNT(*) FROM quarantined_events "
                            "GROUP BY 1, 2 ORDER BY 3 DESC")
        t = Table("reason", "platform", "lines")
        for reason, platform, n in rows:
            t.add_row(reason, platform, f"{n:,}")
        out.print(t)

    @quarantine.command("show")
    def q_show(reason: Annotated[str, typer.Argument(help="Reason code, e.g. unknown_feature.")],
               limit: Annotated[int, typer.Option(help="Lines to show.")] = 20) -> None:
        """Sample quarantined lines of one reason, with file and line number."""
        with open_reader() as wh:
            rows = wh.query("SELECT file_path, line_number, raw_line FROM quarantined_events WHERE reason = ? "
                            "ORDER BY file_path, line_number LIMIT ?", [reason, limit])
        if not rows:
            out.print(f"no quarantined line with reason {reason!r}")
        for path, n, line in rows:
            out.print(f"[dim]{path}:{n}[/] {line[:300]}", markup=True, highlight=False)

    @quarantine.command("replay")
    def q_replay(reason: Annotated[str, typer.Argument(help="Reason code to re-apply the contracts to.")]) -> None:
        """Re-apply the current contracts to the lines of a reason; those that now pass are staged
        and curated (deduplicated: a replay never creates a second copy)."""
        reg = registry()
        with open_warehouse() as wh, writer_lock(wh, "quarantine replay"):
            res = replay_quarantine(wh, reg, reason)
            after = run_pipeline(wh, reg)
        out.print(f"replayed {res.lines:,} lines of {reason}: {res.valid:,} now valid, {res.ignored:,} ignored, "
                  f"still quarantined {dict(sorted(res.quarantined.items()))}; "
                  f"{after['promoted'].kept:,} kept, {after['promoted'].duplicates:,} duplicates")

    _register_validate()


def _register_validate() -> None:
    """`nova contracts validate` lives with the contracts commands but runs the pipeline's SQL."""
    from contracts.cli import contracts_app

    @contracts_app.command("validate")
    def validate_cmd(
        file: Annotated[Path, typer.Argument(help="Captured client events, JSON lines (plain or .gz).",
                                             exists=True, dir_okay=False, readable=True)],
        platform: Annotated[str, typer.Option(
            "--platform", "-p", help="A platform of the registry: the name of a file platforms/<name>.yaml.")],
        as_json: Annotated[bool, typer.Option("--json", help="One verdict per line as JSON.")] = False,
    ) -> None:
        """Check a sample of client events against the contract: every failing line with its rule.

        The verdicts are the pipeline's own: the sample runs through the same generated staging
        SQL in an in-memory DuckDB. Exit 0 when every in-scope line stages, 1 otherwise.
        """
        from pipeline.validate import validate_sample

        verdicts = validate_sample(registry(), file, platform)
        bad = [v for v in verdicts if v.state == "quarantined"]
        if as_json:
            print(json.dumps([v.__dict__ for v in verdicts], indent=2))
        else:
            for v in bad:
                out.print(f"{file}:{v.line}: [red]{v.reason}[/]" + (f" (event {v.event_id})" if v.event_id else ""),
                          soft_wrap=True)
            counts: dict[str, int] = {}
            for v in verdicts:
                counts[v.state] = counts.get(v.state, 0) + 1
            out.print(f"{len(verdicts)} lines: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
        if bad:
            raise typer.Exit(int(Exit.FINDINGS))
