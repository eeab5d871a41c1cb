"""`nova demo`: a realistic few days end to end on the embedded default, in waves.

Traffic for several days is generated into a staging folder, then delivered to the landing
folder hour by hour of reception in waves (one per day): late and re-delivered files arrive in
later waves, so each `run` is incremental and reaches back into older partitions.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from config import get_settings
from nova.errors import Exit, NovaError
from warehouse import clock

out = Console()


def _waves(staging: Path) -> dict[str, list[Path]]:
    """Files grouped by the day they were received (their dt= folder)."""
    waves: dict[str, list[Path]] = {}
    for p in sorted(staging.rglob("*")):
        if p.is_file():
            day = next((part[3:] for part in p.parts if part.startswith("dt=")), "unknown")
            waves.setdefault(day, []).append(p)
    return dict(sorted(waves.items()))


def _print_table(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        out.print(f"[dim]{title}: no rows[/]")
        return
    t = Table(*rows[0].keys(), title=title)
    for r in rows:
        t.add_row(*(f"{v:,.3f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
                    for v in r.values()))
    out.print(t)


def _print_trust(wh: Any, reg: Any, start: dt.date, days: int) -> None:
    """Score every generated day (history for the trend), then show the last one's platforms and areas."""
    from monitors.trust import compute_trust

    scores = []
    for i in range(days):
        scores = compute_trust(wh, reg, start + dt.timedelta(days=i))
    _print_table(f"trust scores of {start + dt.timedelta(days=days - 1)} (nova trust for all, with reasons)", [
        {"scope": s.label, "score": f"{s.score:.0f}", "grade": s.grade, "top reason": s.reasons[0] if s.reasons else ""}
        for s in scores if s.scope_type in ("platform", "area")])


def _say_if_news(text: str) -> None:
    """Alert summaries of a wave, unless nothing happened."""
    if not text.startswith("alerts: 0 opened, 0 updated, 0 resolved; sent 0,"):
        out.print("  " + text, highlight=False, markup=False)


def _print_monitor(wh: Any, reg: Any) -> None:
    """One monitor round (table checks, Soda, the volume detector), then alerts, as `nova monitor` does."""
    from alerts.service import notify_after_checks
    from monitors.round import run_round

    results = run_round(wh, reg)
    bad = [r for r in results if r.outcome in ("failed", "warn")]
    out.print(f"\n[bold]monitor[/]: {len(results)} checks, {sum(r.outcome == 'passed' for r in results)} passed, "
              f"{len(bad)} failed or warned" + ("" if not bad else ": " + ", ".join(
                  f"{r.check} {r.scope} {r.outcome}" for r in bad[:6])), highlight=False)
    notify_after_checks(wh, reg, _say_if_news)


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        days: Annotated[int, typer.Option(help="Days of traffic.")] = 3,
        events_per_day: Annotated[int, typer.Option(help="Client calls on a weekday.")] = 40_000,
        seed: Annotated[int, typer.Option(help="Generator seed (same seed, same numbers).")] = 42,
        start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")] = "2026-11-16",
        incident: Annotated[bool, typer.Option(
            "--incident/--no-incident", help="Inject a bad iOS release (unknown feature ids from app version "
            "5.2.0) on the last day, 13:00-17:00 UTC, so the gate, the alerts and the trust scores have "
            "something to show.")] = True,
    ) -> None:
        """Generate a few days of realistic traffic with late deliveries, load, stage, gate and curate
        it in daily waves, run the monitor, alert, and print reconcile, curated numbers and trust scores.

        Uses the configured warehouse and landing folder (config/local.toml: .nova/ and
        data/landing/), which it starts afresh, so `nova query`, `nova batches`, `nova alerts list`,
        `nova trust` and `nova reconcile` work after it. Alerts go to the console (and the outbox)
        unless Slack is configured.
        """
        from alerts.service import notify_after_checks
        from contracts.registry import load_registry
        from pipeline.cli import run_pipeline
        from pipeline.landing import Landing
        from pipeline.load import load
        from pipeline.reconcile import adds_up, reconcile
        from traffic import generate
        from traffic.definition import GeneratorConfig, Incident
        from warehouse.session import open_warehouse

        s = get_settings()
        if not s.is_duckdb or s.landing_path.startswith("s3://"):
            raise NovaError("the demo runs on the embedded default only (DuckDB + local landing folder)",
                            code=Exit.CONFIG)
        landing = Path(s.landing_path)
        staging = s.state_dir / "demo-staging"
        db = s.warehouse_url.split("///", 1)[-1]
        for path in (landing, staging):
            shutil.rmtree(path, ignore_errors=True)
        for suffix in ("", ".wal"):
            Path(db + suffix).unlink(missing_ok=True)
        reg = load_registry(s.contracts_path)
        t0 = time.perf_counter()
        first = dt.date.fromisoformat(start)
        incidents = [Incident.parse(f"bad_release-ios:{first + dt.timedelta(days=days - 1)}T13:4")] if incident else []
        summary = generate(GeneratorConfig(out=staging, start=first, days=days, events_per_day=events_per_day,
                                           seed=seed, incidents=incidents))
        out.print(f"[bold]generated[/] {days} days of traffic in {time.perf_counter() - t0:.1f}s "
                  f"({summary.lines:,} lines)")
        held: list[str] = []
        with open_warehouse(s) as wh:
            # A replay: the clock reads the end of each wave's reception day, so the run, the monitor and
            # the trust scores see the data as they would have live, whatever day the demo runs.
            replay_now = dt.datetime.combine(first, dt.time())
            for day, files in _waves(staging).items():
                if day != "unknown":
                    replay_now = max(replay_now, dt.datetime.fromisoformat(day) + dt.timedelta(days=1))
                for p in files:
                    target = landing / p.relative_to(staging)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(p, target)
                t = time.perf_counter()
                with clock.set_now(replay_now):
                    res = load(wh, Landing(str(landing)))
                    run = run_pipeline(wh, reg)
                st, pr = run["staged"], run["promoted"]
                out.print(f"wave {day}: {res.files_loaded} files, {res.lines:,} lines → {st.valid:,} valid, "
                          f"{pr.duplicates:,} duplicates, {pr.taken_over:,} late copies took over, "
                          f"{sum(st.quarantined.values()):,} quarantined ({time.perf_counter() - t:.1f}s)")
                for batch_id, state in run["gate"].items():
                    if state == "held":
                        held.append(batch_id)
                        out.print(f"  gate: [bold red]held[/] {batch_id} (the other platforms of this load went on)")
                with clock.set_now(replay_now):
                    notify_after_checks(wh, reg, _say_if_news)
            rec = reconcile(wh)
            tot = rec["total"]
            out.print(f"\n[bold]reconcile[/]: received {tot['received']:,} = staged {tot['staged']:,} + duplicate "
                      f"{tot['duplicate']:,} + ignored {tot['ignored']:,} + held {tot['held']:,} + quarantined "
                      f"{sum(tot['quarantined'].values()):,} {tot['quarantined']} "
                      f"→ {'adds up' if all(adds_up(r) for r in rec['loads']) else 'DOES NOT ADD UP'}")
            if wh.table_exists("feature_usage_daily"):
                _print_table("top features (all platforms, whole period)", wh.query_dicts(
                    "SELECT d.feature_id, f.path, SUM(d.event_count) AS events, MAX(d.user_count) AS peak_daily_users "
                    "FROM feature_usage_daily d "
                    "JOIN dim_feature f ON f.feature_id = d.feature_id AND f.valid_to IS NULL "
                    "WHERE d.platform = 'all' AND f.depth = 2 GROUP BY 1, 2 ORDER BY events DESC LIMIT 8"))
                _print_table("weekly adoption of editor.comments.mention", wh.query_dicts(
                    "SELECT period_start AS week, COUNT(*) AS workspaces, SUM(feature_users) AS users, "
                    "AVG(adoption_rate) AS avg_adoption FROM feature_adoption_by_workspace "
                    "WHERE feature_id = 'editor.comments.mention' AND period = 'week' GROUP BY 1 ORDER BY 1"))
            with clock.set_now(replay_now):
                _print_monitor(wh, reg)
                _print_trust(wh, reg, first, days)
        shutil.rmtree(staging, ignore_errors=True)
        if held:
            out.print(f"\n[bold]held for a person[/]: {', '.join(held)}: see [bold]nova batches show {held[0]}[/], "
                      f"then [bold]nova batches release {held[0]}[/] or [bold]nova batches drop {held[0]} "
                      "--reason ...[/]")
        out.print("\nnext: [bold]nova trust --html report.html[/], [bold]nova alerts list[/], [bold]nova reconcile[/], "
                  "[bold]nova quarantine list[/], [bold]nova query \"SELECT * FROM feature_usage_weekly LIMIT 5\"[/]")
