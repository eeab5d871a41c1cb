"""`nova trust`: can today's numbers be trusted, per table, platform, area and feature, and why not."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from config import get_settings
from monitors.trust.compute import (
    Hierarchy,
    compute_trust,
    default_day,
    history,
    score_day,
    scored_days,
)
from monitors.trust.definition import TrustScore
from nova.errors import Exit, NovaError
from warehouse import clock

HELP = """Trust scores: can the usage numbers of a day be trusted, and if not, why.

Scores (0-100, grade A-F) every curated table, platform, top-level product area and feature (the
followed ones, setting trust.followed_features, plus the busiest of the day), from freshness,
completeness, validity, duplicates, volume against its expected band, held batches and open
incidents, and late data still to come. Each deduction comes with its reason in plain words.

The day's scores are computed, stored in the table trust_scores (history; the view
trust_scores_latest holds each scope's latest day) and printed with the trend of the last days.

  nova trust                       every scope, the last day with data
  nova trust --area editor         the Editor area and its features
  nova trust --platform ios        iOS, and every area scored on iOS events only
  nova trust --day 2026-11-22 --json
  nova trust --html report.html    one self-contained page for PMs (no network needed to open it)
"""

SPARK = "▁▂▃▄▅▆▇█"
GRADE_STYLE = {"A": "green", "B": "green3", "C": "yellow", "D": "dark_orange", "F": "red"}


def register(app: typer.Typer) -> None:
    app.command("trust", help=HELP, no_args_is_help=False)(trust_command)


def _spark(values: list[float | None]) -> str:
    out = []
    for v in values:
        out.append("·" if v is None else SPARK[min(7, max(0, int(v / 100 * 7.999)))])
    return "".join(out)


def _trend(hist: dict[tuple[str, str], dict[dt.date, float]], s: TrustScore, day: dt.date, days: int) -> str:
    series = hist.get((s.scope_type, s.scope), {}) if not s.platform else {}
    values = [series.get(day - dt.timedelta(days=i)) for i in range(days - 1, -1, -1)]
    if not s.platform:
        values[-1] = s.score
    earlier = [v for v in values[:-1] if v is not None]
    delta = ""
    if earlier:
        change = s.score - earlier[-1]
        delta = " =" if abs(change) < 0.5 else f" {'+' if change > 0 else '−'}{abs(change):.0f}"
    return _spark(values) + delta


def _select(scores: list[TrustScore], area: str | None, feature: str | None, h: Hierarchy) -> list[TrustScore]:
    if area:
        return [s for s in scores if (s.scope_type == "area" and s.scope == area)
                or (s.scope_type == "feature" and h.covers(area, s.scope))]
    if feature:
        return [s for s in scores if s.scope_type == "feature" and s.scope == feature]
    return scores


def trust_command(
    area: str | None = typer.Option(None, "--area", "-a", help="Only this top-level area and its features, "
                                    "e.g. editor."),
    platform: str | None = typer.Option(None, "--platform", "-p", help="Only this platform (web, ios, android, "
                                        "backend): its own score, then areas and features on its events only."),
    feature: str | None = typer.Option(None, "--feature", "-f", help="Score this feature (any catalog id), "
                                       "even when it is neither followed nor among the busiest."),
    day: dt.datetime | None = typer.Option(None, "--day", "-d", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD",
                                           help="Day to score (UTC). Default: the last day data arrived."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array of objects (scope_type, scope, "
                                 "day, score, grade, reasons, components, trend) instead of the table."),
    html_file: Path | None = typer.Option(None, "--html", metavar="FILE", help="Also write the self-contained "
                                          "HTML report for PMs to FILE."),
    reasons: int = typer.Option(2, "--reasons", min=0, help="Reasons shown per scope in the table."),
) -> None:
    from pipeline.cli import registry
    from warehouse.session import open_reader, open_warehouse

    settings = get_settings()
    cfg = settings.trust
    reg = registry()
    h = Hierarchy(reg)
    if platform and platform not in reg.contracts:
        raise NovaError(f"unknown platform {platform!r}", hint=f"one of {', '.join(reg.contracts)}", code=Exit.USAGE)
    if area and area not in h.areas:
        raise NovaError(f"{area!r} is not a top-level area", hint=f"one of {', '.join(h.areas)}", code=Exit.USAGE)
    if feature and feature not in h.chain:
        raise NovaError(f"{feature!r} is not in the feature catalog", hint="see contracts/catalog/features.yaml",
                        code=Exit.USAGE)
    try:
        wh, writable = open_warehouse(settings), True
    except NovaError:
        # Another process (the daemon) holds the DuckDB file: score without storing, from a read-only view.
        wh, writable = open_reader(settings), False  # waits for the daemon's current job, never a lock error
        Console(stderr=True).print("[dim]the warehouse is in use by another process: scores are computed "
                                   "but not stored this time[/]")
    with wh:
        if not wh.scalar("SELECT COUNT(*) FROM raw_events"):
            raise NovaError("the warehouse holds no events yet: there is nothing to score",
                            hint="load and run the pipeline first: nova load && nova run (or nova demo)",
                            code=Exit.DATA)
        the_day = day.date() if day else default_day(wh)
        if the_day > clock.today():
            raise NovaError(f"{the_day} is in the future", code=Exit.USAGE)
        scores = compute_trust(wh, reg, the_day) if writable else score_day(wh, reg, the_day)
        # The trend needs the previous days: score those with data that were never scored.
        have = scored_days(wh, the_day, cfg.trend_days) if writable else set()
        for back in range(1, cfg.trend_days if writable else 0):
            d = the_day - dt.timedelta(days=back)
            if d not in have and wh.scalar("SELECT COUNT(*) FROM raw_events WHERE received_at >= ? AND "
                                           "received_at < ?", [d, d + dt.timedelta(days=1)]):
                compute_trust(wh, reg, d)
        hist = history(wh, the_day, max(cfg.trend_days, 14))
        if feature and not any(s.scope == feature and s.scope_type == "feature" for s in scores):
            scores += [s for s in score_day(wh, reg, the_day, extra_features=[feature])
                       if s.scope_type == "feature" and s.scope == feature]
        shown = list(scores)
        if platform:
            own = [s for s in scores if s.scope_type == "platform" and s.scope == platform]
            extra = [feature] if feature else []
            shown = own + [s for s in score_day(wh, reg, the_day, platform=platform, extra_features=extra)
                           if s.scope_type != "platform"]
        shown = _select(shown, area, feature, h) if (area or feature) else shown
        if html_file is not None:
            from monitors.trust.report import render_report

            selected = next((s for s in shown if s.scope_type in ("area", "feature", "platform")), None) \
                if (area or feature or platform) else None
            page = render_report(shown if platform else scores, hist, cfg, the_day, clock.now(), selected)
            try:
                html_file.write_text(page, encoding="utf-8")
            except OSError as exc:
                raise NovaError(f"cannot write {html_file}: {exc.strerror}", code=Exit.DATA) from exc
    if as_json:
        out = []
        for s in shown:
            item = s.as_json()
            item["trend"] = {d.isoformat(): v for d, v in sorted(hist.get((s.scope_type, s.scope), {}).items())} \
                if not s.platform else {}
            out.append(item)
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    console = Console(soft_wrap=False, highlight=False)
    _print_table(console, shown, hist, the_day, cfg.trend_days, reasons)
    if html_file is not None:
        console.print(f"report written to {html_file} (open it in any browser; no network needed)")


def _nothing_found(s: TrustScore) -> str:
    """A scope without deductions: clean, or too small for its rates to be judged."""
    return f"[dim]{s.unjudged_note() or 'nothing wrong found'}[/]"


def _print_table(console: Console, scores: list[TrustScore], hist: dict, day: dt.date, days: int,
                 n_reasons: int) -> None:
    table = Table(title=f"Trust scores for {day:%a %d %b %Y} (100 = nothing wrong found)", title_justify="left")
    for col, kw in (("kind", {}), ("scope", {}), ("score", {"justify": "right"}), ("grade", {}),
                    (f"trend {days}d", {}), ("top reasons", {"overflow": "fold", "ratio": 1})):
        table.add_column(col, **kw)
    for s in scores:
        style = GRADE_STYLE.get(s.grade, "")
        reasons = "\n".join(escape(r) for r in s.reasons[:n_reasons]) or _nothing_found(s)
        if len(s.reasons) > n_reasons:
            reasons += f"\n[dim](+{len(s.reasons) - n_reasons} more: --json)[/]"
        table.add_row(s.scope_type, escape(s.label), f"{s.score:.0f}", f"[{style}]{s.grade}[/]",
                      _trend(hist, s, day, days), reasons)
    console.print(table)
