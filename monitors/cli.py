"""Commands of the monitor: `nova monitor` (one round: table checks, Soda, the volume detector),
`nova monitor backtest`, and `nova batches` (list, show the evidence, release, drop)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from monitors import batches as ops
from monitors.backtest import add_backtest
from nova.errors import Exit, NovaError
from warehouse.session import open_reader, open_warehouse

out = Console()

monitor_app = typer.Typer(
    help="The quality monitor. Without a subcommand, one round by hand (the daemon runs the same): table "
         "checks (freshness against the service levels, curated volume, null and validity rates, GDPR "
         "deadlines, late events, quarantine growth), the Soda contracts generated from ours, then the seasonal "
         "volume detector over every hourly series (expectations in volume_expectations). Results are stored "
         "in check_results. Exit 1 when a check failed or an anomaly was found. `nova monitor backtest` "
         "replays the detector over a CSV.",
    invoke_without_command=True,
    no_args_is_help=False,
)
batches_app = typer.Typer(
    help="Batches: one platform's part of one load (<load_id>/<platform>), the unit the gate decides on. "
         "List them, see why one was held, release or drop it.",
    no_args_is_help=True,
)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


@monitor_app.callback()
def monitor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"checks": [{"check", "scope", "outcome", '
                                                          '"value", "threshold", "blocking"}, ...]}.')] = False,
) -> None:
    """One round: table checks and Soda (monitors.round.run_round), then the volume detector
    (monitors.anomaly). Exit 1 when a check failed or an anomaly was found."""
    if ctx.invoked_subcommand is not None:
        return
    from monitors.round import run_round
    from pipeline.cli import registry

    reg = registry()
    with open_warehouse() as wh:
        results = run_round(wh, reg)  # table checks, Soda, then the volume detector
        _alerts(wh, to_stderr=as_json)
    checks = [r.public() for r in results]
    detector = [r for r in results if r.source == "detector"]
    if as_json:
        print(json.dumps({"checks": checks}, indent=2, default=str))
    else:
        t = Table("check", "source", "scope", "outcome", "value", "threshold", "blocking", title="monitor round")
        colour = {"failed": "red", "warn": "yellow", "passed": "green"}
        shown = [c for c in checks if c["source"] != "detector" or c["outcome"] == "failed"]
        for c in shown:
            col = colour.get(c["outcome"], "dim")
            t.add_row(c["check"], c["source"], c["scope"], f"[{col}]{c['outcome']}[/]", _fmt(c["value"]),
                      _fmt(c["threshold"]), "yes" if c["blocking"] else "")
        out.print(t)
        counts = {o: sum(r.outcome == o for r in detector) for o in ("passed", "failed", "not_evaluated")}
        out.print(f"volume detector: {len(detector)} series ({counts['passed']} passed, {counts['failed']} anomalies "
                  f"(listed above), {counts['not_evaluated']} without enough history)")
    if any(c["outcome"] == "failed" for c in checks):
        raise typer.Exit(int(Exit.FINDINGS))


def _alerts(wh: object, to_stderr: bool) -> None:
    """Incidents from this round's results, then the alerts that are due (docs/alerts.md). The
    registry only routes and explains: without a valid one the alerts still go out."""
    from alerts.service import notify_after_checks
    from config import get_settings
    from contracts.registry import load_registry

    try:
        reg = load_registry(get_settings().contracts_path)
    except Exception:
        reg = None
    say = (lambda s: print(s, file=sys.stderr)) if to_stderr else (lambda s: out.print(s, highlight=False,
                                                                                         markup=False))
    notify_after_checks(wh, reg, say)  # type: ignore[arg-type]


add_backtest(monitor_app)


@batches_app.command("list")
def b_list(
    state: Annotated[str | None, typer.Option("--state", help="Only batches in this state: pending, promoted, "
                                                              "held, released, dropped.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="An array of objects: batch_id, load_id, platform, "
                                                         "state, lines, failed_checks, ...")] = False,
) -> None:
    """Every batch with its state, line count and the checks that failed or warned."""
    with open_reader() as wh:  # read-only: works while the daemon runs
        rows = ops.list_batches(wh, state)
    if as_json:
        print(json.dumps(rows, default=str, indent=2))
        return
    t = Table("batch_id", "state", "files", "lines", "failed", "warned", "decided by", "created")
    for r in rows:
        t.add_row(r["batch_id"], r["state"], str(r["files"] or 0), f"{r['lines'] or 0:,}",
                  ", ".join(r["failed_checks"]), ", ".join(r["warned_checks"]), r["decided_by"] or "",
                  str(r["created_at"])[:19])
    out.print(t)


@batches_app.command("show")
def b_show(
    batch_id: Annotated[str, typer.Argument(help="<load_id>/<platform>, as `nova batches list` prints it.")],
    as_json: Annotated[bool, typer.Option("--json", help="The evidence as JSON.")] = False,
) -> None:
    """The evidence to decide on a batch: each failed or warned check with its value against the
    platform's normal and the threshold, the top offending feature ids, app versions and files, sample
    lines, and the query that returns all of them."""
    with open_reader() as wh:
        ev = ops.evidence(wh, batch_id)
    if as_json:
        print(json.dumps(ev, default=str, indent=2))
        return
    out.print(f"[bold]{ev['batch_id']}[/]: {ev['state']}, {ev['lines'] or 0:,} lines in {ev['files'] or 0} files, "
              f"loaded {str(ev['created_at'])[:19]}")
    for d in ev["decisions"]:
        out.print(f"  {str(d['decided_at'])[:19]} {d['action']} by {d['decided_by']}: {d['reason'] or ''}")
    if not ev["checks"]:
        out.print("every check passed (or was not evaluated)")
    for c in ev["checks"]:
        normal = "no history (cold start)" if c["normal"] is None else _fmt(c["normal"])
        out.print(f"\n[bold {'red' if c['outcome'] == 'failed' else 'yellow'}]{c['check']} {c['outcome']}[/]"
                  f"{' (blocking)' if c['blocking'] else ''}: value {_fmt(c['value'])}, normal {normal}, "
                  f"threshold {_fmt(c['threshold'])}")
        if c["detail"].get("normal_basis"):  # which history the normal is the median of
            out.print(f"  normal from {c['detail']['normal_basis']}", highlight=False)
        if "offending_lines" in c:
            out.print(f"  {c['offending_lines']:,} offending lines")
        for col, top in c.get("top", {}).items():
            values = ", ".join(f"{t['value']} ({t['lines']:,})" for t in top if t["value"] is not None)
            if values:
                out.print(f"  top {col}: {values}", soft_wrap=True, highlight=False)
        for s in c.get("samples", []):
            out.print(f"  [dim]{s['file']}:{s['line']}[/] {s['text']}", soft_wrap=True, highlight=False,
                      markup=True)
        if c.get("query"):
            out.print(f"  all of them: [cyan]nova query \"{c['query']}\"[/]", soft_wrap=True, highlight=False)
        for k in ("expected", "lower", "upper"):
            if k in c["detail"]:
                out.print(f"  {k}: {_fmt(c['detail'][k])}")


@batches_app.command("release")
def b_release(
    batch_id: Annotated[str | None, typer.Argument(help="The held batch to release.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Release every held batch.")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (recorded).")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who decides (default: $USER).")] = None,
) -> None:
    """Release a held batch (or --all): the next `nova run` promotes and curates it."""
    if (batch_id is None) == (not all_):
        raise NovaError("give one batch id or --all", hint="nova batches list --state held", code=Exit.USAGE)
    with open_warehouse() as wh:
        done = ops.release_all(wh, ops.who(by), reason) if all_ else [ops.release(wh, batch_id or "", ops.who(by),
                                                                                    reason)]
    for d in done:
        out.print(f"released {d['batch_id']} (by {d['by']}); curated on the next `nova run`")
    if not done:
        out.print("no held batch")


@batches_app.command("drop")
def b_drop(
    batch_id: Annotated[str, typer.Argument(help="The held (or pending) batch to drop.")],
    reason: Annotated[str, typer.Option("--reason", help="Why these lines must never be curated (recorded).")],
    by: Annotated[str | None, typer.Option("--by", help="Who decides (default: $USER).")] = None,
) -> None:
    """Drop a batch: its lines are kept for audit, never curated, and counted as dropped by reconcile."""
    with open_warehouse() as wh:
        d = ops.drop(wh, batch_id, ops.who(by), reason)
    out.print(f"dropped {d['batch_id']} (by {d['by']}): {d['reason']}")


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(batches_app, name="batches")
