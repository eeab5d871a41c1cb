"""`nova daemon` and `nova status`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from config import get_settings
from nova.errors import Exit

out = Console()


def _t(value: Any) -> str:
    return "" if value is None else str(value)[:19].replace("T", " ")


def register(app: typer.Typer) -> None:
    @app.command("daemon")
    def daemon_cmd(
        log_file: Annotated[str | None, typer.Option(
            help="Also write the JSON log lines to this file (default: daemon.log_file; stderr always).",
            show_default=False)] = None,
    ) -> None:
        """Run the whole platform continuously: load, stage → gate → curate, monitor, alerts, trust, GDPR,
        retention, each on its interval from the [daemon] settings (docs/service.md).

        One daemon per warehouse: a second one names the process holding the lock and exits 3. Jobs
        run one at a time in a job process of their own, which holds the DuckDB file only while a job runs, so
        readers (`nova batches list`, `nova query`, BI tools) get in between jobs. A failed job is
        logged, recorded in service_runs and check_results (the alerting picks it up) and retried
        with a doubling delay. SIGTERM or Ctrl-C stops gracefully (the current step finishes within
        daemon.stop_grace_s or is rolled back). Logs: one JSON object per line on stderr.
        """
        from service.daemon import run_daemon

        raise typer.Exit(run_daemon(get_settings(), log_file=log_file))

    @app.command("status")
    def status_cmd(
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Is the daemon running (lock and heartbeat), each job's last run, duration, outcome and next
        run, and the raw and curated freshness against the service levels.

        Exit 0 when the daemon runs and both levels are met, 1 when the daemon is down or a level is
        missed, so an external monitor can call it. Waits (up to daemon.reader_wait_s) rather than
        failing while a job of the daemon holds the DuckDB file.
        """
        from service.status import collect_status

        st = collect_status(get_settings())
        if as_json:
            print(json.dumps(st, indent=2, default=str))
        else:
            _print(st)
        if not st["healthy"]:
            raise typer.Exit(int(Exit.FINDINGS))


def _print(st: dict[str, Any]) -> None:
    d = st["daemon"]
    if d["running"]:
        out.print(f"daemon: [green]running[/] pid {d['pid']} on {d['host']} since {_t(d['started_at'])}, "
                  f"heartbeat {d['heartbeat_age_s']}s ago")
    else:
        out.print(f"daemon: [bold red]DOWN[/] {d.get('problem', '(no daemon holds the lock)')}")
    t = Table("job", "every", "last run", "took", "outcome", "next run", "note", title="jobs")
    for j in st["jobs"]:
        every = f"after {j['after']}" if j["after"] else f"{j['every_s']}s"
        outcome = j["last_outcome"] or ""
        style = {"ok": "green", "failed": "bold red", "timeout": "bold red", "killed": "bold red"}.get(outcome, "")
        note = "[red]unavailable[/] (module not installed)" if not j["available"] else (
            ("running now " if j["running_now"] else "") + (j["last_error"] or "")
            + (f" ({j['failures_in_a_row']} failures in a row)" if j["failures_in_a_row"] else ""))
        took = f"{j['last_seconds']:.1f}s" if j["last_seconds"] is not None else ""
        t.add_row(j["job"], every, _t(j["last_started_at"]), took, f"[{style}]{outcome}[/]" if style else outcome,
                  _t(j["next_run_at"]), note[:80])
    out.print(t)
    f = st["freshness"]
    for level in ("raw", "curated"):
        v = f.get(level)
        if v is None:
            out.print(f"{level} freshness: (no data yet)")
            continue
        mark = "[green]OK[/]" if v["ok"] else "[bold red]MISSED[/]"
        extra = f", {v['files_held']} file(s) in held batches (not counted)" if v.get("files_held") else ""
        out.print(f"{level} freshness: {mark} lag {v['lag_s']:.0f}s (level {v['slo_s']}s), "
                  f"{v['files_waiting']} file(s) waiting{extra}")
    out.print("healthy" if st["healthy"] else "[bold red]not healthy[/]")
