"""Operations commands: `nova gdpr request | process | status` and `nova retention apply`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from config import get_settings
from nova.errors import Exit, NovaError
from pipeline.landing import Landing
from warehouse import clock
from warehouse.session import open_reader, open_warehouse

out = Console()
FLAG_STYLE = {"ok": "OK", "warn": "[yellow]WARN[/]", "overdue": "[bold red]OVERDUE[/]", "done": "[green]done[/]",
              "done_late": "[yellow]done late[/]"}


def parse_time(value: str | None, option: str) -> dt.datetime | None:
    """An ISO date or date-time; with an offset it is converted to UTC, without one it is UTC."""
    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise NovaError(f"{option}: {value!r} is not an ISO date or date-time", hint="e.g. 2026-11-25 or "
                        "2026-11-25T17:00:00Z", code=Exit.USAGE) from exc
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v))


def _landing(root: str | None) -> Landing | None:
    root = root or get_settings().landing_path
    if not root.startswith("s3://") and not Path(root).exists():
        out.print(f"[yellow]note:[/] landing path {root} does not exist: no landing file to rewrite")
        return None
    return Landing(root)


def register(app: typer.Typer) -> None:
    lock = typer.Typer(help="The warehouse's writer lock: one writing step (load, run, gdpr process, retention, "
                            "backfill) at a time.", no_args_is_help=True)
    app.add_typer(lock, name="lock")

    @lock.command("show")
    def lock_show() -> None:
        """Who holds the writer lock, for which step, since when (or `free`)."""
        from warehouse.lock import state

        with open_warehouse() as wh:
            out.print(f"writer lock: {state(wh).describe()}")

    @lock.command("release")
    def lock_release(
        force: Annotated[bool, typer.Option("--force", help="Required: you checked the holder's process is gone.")]
        = False,
    ) -> None:
        """Free the writer lock left by a crashed process (it also lapses after writer_lock_lease_minutes).
        Releasing the lock of a step that is still running lets another writer interleave with it."""
        from warehouse.lock import release, state

        if not force:
            raise NovaError("refusing without --force: check first that the holder's process is gone",
                            hint="nova lock show", code=Exit.USAGE)
        with open_warehouse() as wh:
            before = state(wh)
            release(wh)
        out.print(f"released (was {before.describe()})")

    gdpr = typer.Typer(help="GDPR erasure: record a request, process pending requests, audit deadlines.",
                       no_args_is_help=True)
    app.add_typer(gdpr, name="gdpr")

    @gdpr.command("request")
    def request_cmd(
        user_id: Annotated[str, typer.Argument(help="The user id as the clients send it; '-' reads it from stdin "
                                                    "(keeps it out of the shell history).")],
        reason: Annotated[str | None, typer.Option(help="Why (ticket number…); the id is masked if quoted.")] = None,
        requested_at: Annotated[str | None, typer.Option(
            help="When the person asked (ISO date/time, UTC); the deadline runs from it. Default: now.")] = None,
    ) -> None:
        """Record an erasure request. The audit keeps only a keyed hash of the id; the id itself waits
        in gdpr_pending_ids until `nova gdpr process` has erased the user, then it is deleted."""
        from pipeline.gdpr import record_request

        if user_id == "-":
            user_id = sys.stdin.readline().strip()
        settings = get_settings()
        if not settings.is_duckdb and settings.gdpr_hash_key.get_secret_value() == "nova-local-development-key":
            raise NovaError("NOVA_GDPR_HASH_KEY is not set: the audit hash would use the public development key",
                            code=Exit.CONFIG)
        with open_warehouse() as wh:
            req, created = record_request(wh, settings, user_id, reason=reason,
                                          requested_at=parse_time(requested_at, "--requested-at"))
        verb = "recorded" if created else "already pending:"
        out.print(f"{verb} request [bold]{req.request_id}[/] (user {req.user_hash[:12]}…), "
                  f"deadline {req.deadline:%Y-%m-%d %H:%M} UTC; run `nova gdpr process`")

    @gdpr.command("process")
    def process_cmd(
        landing: Annotated[str | None, typer.Option(help="Landing folder or s3://bucket/prefix.",
                                                    envvar="NOVA_LANDING_PATH", show_default=False)] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Erase the user of every pending request from every table (raw included) and from the landing
        files, recompute the curated partitions they touched, and complete the request.

        Idempotent: after a crash, run it again; a completed request is not processed again.
        Exit 1 if a request could not be completed.
        """
        from pipeline.cli import registry
        from pipeline.gdpr import process_pending, summary

        reg = registry()
        with open_warehouse() as wh:
            results = process_pending(wh, _landing(landing), reg)
        if as_json:
            print(_json([r.__dict__ for r in results]))
        elif not results:
            out.print("no pending request")
        for r in results if not as_json else []:
            state = "[green]completed[/]" if r.completed else f"[bold red]NOT completed[/]: {r.problem}"
            out.print(f"{r.request_id} (user {r.user_hash[:12]}…): {state}\n  deleted: {summary(r.deleted)}")
        if any(not r.completed for r in results):
            raise typer.Exit(int(Exit.FINDINGS))

    @gdpr.command("status")
    def status_cmd(
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
        as_of: Annotated[str | None, typer.Option(help="Judge deadlines as of this UTC time (what-if).")] = None,
    ) -> None:
        """Every request with its deadline: WARN within gdpr_warn_days of an unmet deadline, OVERDUE past it.
        Exit 1 if any request is overdue."""
        from pipeline.gdpr import list_requests, summary

        settings = get_settings()
        now = parse_time(as_of, "--as-of") or clock.now()
        with open_reader() as wh:
            reqs = list_requests(wh)
        warn = settings.gdpr_warn_days
        if as_json:
            print(_json([r.as_dict(now, warn) for r in reqs]))
        else:
            t = Table("request", "user", "requested", "deadline", "days left", "status", "completed", "deleted",
                      title=f"GDPR requests (as of {now:%Y-%m-%d %H:%M} UTC)")
            for r in reqs:
                left = f"{r.days_left(now):.1f}" if r.status == "pending" else ""
                done = f"{r.completed_at:%Y-%m-%d %H:%M}" if r.completed_at else ""
                t.add_row(r.request_id, r.user_hash[:12] + "…", f"{r.requested_at:%Y-%m-%d}",
                          f"{r.deadline:%Y-%m-%d}", left, FLAG_STYLE[r.flag(now, warn)], done,
                          summary(r.deleted) if r.status == "completed" else "")
            out.print(t if reqs else "no GDPR request recorded")
        if any(r.flag(now, warn) == "overdue" for r in reqs):
            raise typer.Exit(int(Exit.FINDINGS))

    retention = typer.Typer(help="Delete data older than its retention (raw 180 days, aggregates 3 years).",
                            no_args_is_help=True)
    app.add_typer(retention, name="retention")

    @retention.command("apply")
    def retention_cmd(
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Delete event-level rows older than raw_retention_days (raw, quarantine, staged, fct_feature_events)
        and aggregates older than aggregate_retention_days. The load ledger is kept (docs/retention.md)."""
        from pipeline.retention import apply_retention, cutoffs

        settings = get_settings()
        now = clock.now()
        with open_warehouse() as wh:
            removed = apply_retention(wh, settings, now=now, dry_run=dry_run)
        c = cutoffs(settings, now)
        if as_json:
            print(_json({"dry_run": dry_run, "event_cutoff": c.events, "aggregate_cutoff": c.aggregates,
                         "rows": removed}))
            return
        t = Table("table", "rows", title=f"retention {'(dry run: nothing deleted)' if dry_run else 'applied'}: "
                  f"events before {c.events}, aggregates before {c.aggregates}")
        for table, n in removed.items():
            t.add_row(table, f"{n:,}")
        out.print(t)
