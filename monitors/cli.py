"""`nova monitor`: one round of the monitor (here: the volume detector) and `nova monitor backtest`."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from monitors.backtest import add_backtest

out = Console(width=110)

monitor_app = typer.Typer(
    help="The quality monitor. Without a subcommand, one round: hourly volume series per platform, area and "
         "important feature into metric_history, then the seasonal detector over every series (one check_results "
         "row per series, failed once per anomaly episode; expectations in volume_expectations). Exit 1 when an "
         "anomaly was found. `nova monitor backtest` replays the detector over a CSV.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@monitor_app.callback()
def monitor_round(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the check results written, as JSON.")] = False,
) -> None:
    """One round: hourly volume series per platform, area and important feature into metric_history,
    then the seasonal detector over every series (results in check_results, expectations in
    volume_expectations). Exit 1 when an anomaly was found."""
    if ctx.invoked_subcommand is not None:
        return
    from monitors.anomaly import detect_volume_anomalies
    from warehouse.session import open_warehouse

    with open_warehouse() as wh:
        results = detect_volume_anomalies(wh)
        _alerts(wh, to_stderr=as_json)
    failed = [r for r in results if r["outcome"] == "failed"]
    if as_json:
        print(json.dumps([{**r, "detail": json.loads(r["detail"]), "checked_at": r["checked_at"].isoformat()}
                          for r in results], indent=2, default=str))
    else:
        counts = {o: sum(r["outcome"] == o for r in results) for o in ("passed", "failed", "not_evaluated")}
        delay = next((json.loads(r["detail"]).get("readiness_delay_minutes") for r in results), None)
        out.print(f"volume detector: {len(results)} series results ({counts['passed']} passed, "
                  f"{counts['failed']} anomalies, {counts['not_evaluated']} without enough history)"
                  + (f"; an hour is judged {delay:g} min after it ends (late data)" if delay is not None else ""))
        if failed:
            table = Table("series", "direction", "severity", "first bucket", "buckets", "value", "expected")
            for r in failed:
                d = json.loads(r["detail"])
                table.add_row(r["scope"], d["direction"], d["severity"], d["first_anomalous_bucket"],
                              str(d["anomalous_buckets"]), f"{d['value']:,.0f}", f"{d['expected']:,.1f}")
            out.print(table)
    if failed:
        raise typer.Exit(1)


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


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
