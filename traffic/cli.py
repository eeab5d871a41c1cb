"""`nova generate`: write realistic landing files, print what was injected and what to expect."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from config import get_settings
from nova.errors import Exit, NovaError
from traffic import generate
from traffic.definition import (
    DEFAULT_START,
    INCIDENT_SYNTAX,
    QUIRK_COUNTS,
    QUIRK_PRESETS,
    GenerationSummary,
    GeneratorConfig,
    Incident,
    QuirkRates,
    quirk_rates,
)

HELP = f"""Write realistic NovaSuite feature-usage traffic as landing files, quirks included.

Files land in [bold]OUT/platform=P/dt=YYYY-MM-DD/hour=HH/[/] by platform and hour of arrival, in the
wire formats of each SDK (web, ios, android, backend), with daily and weekly cycles, holidays, old
app versions and every quirk the pipeline must survive. Same options and seed give byte-identical
files. The summary lists the injected quirks and how many lines should end in each state
(staged, duplicate, ignored, quarantined by reason); --manifest writes it as JSON.

[bold]Incidents[/] (--incident, repeatable): {escape(INCIDENT_SYNTAX)}, times in UTC,
HOURS default 4, platform default all.
  outage           the platform's volume drops to ~0 (share = fraction dropped, default 0.98)
  bad_release      a share of events, sent by one new app version, carries unknown feature ids (default 0.3)
  clock_skew       a share of client clocks jumps hours off (default 0.5)
  duplicate_storm  a share of lines is retried 1-5 times (default 0.5)
  spike            the volume times factor=F (default 3): new, distinct events in the window
  (a partial drop is an outage with share=0.5)
Examples: outage-ios:2026-11-24T10:4   bad_release:2026-11-25T08:6,platform=android,share=0.5

[bold]Quirks[/]: --quirks {'|'.join(QUIRK_PRESETS)} or a multiplier (2.5); --quirk NAME=RATE sets one
rate ({', '.join(QuirkRates.model_fields)}).
"""


def register(app: typer.Typer) -> None:
    app.command("generate", help=HELP, no_args_is_help=False)(generate_command)


def _parse_overrides(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError(item)
            out[name.strip()] = float(value)
        except ValueError:
            raise NovaError(f"--quirk {item!r}: expected NAME=RATE, e.g. retry=0.05", code=Exit.USAGE) from None
    return out


def build_config(out: Path | None, start: dt.date, days: int, events_per_day: int | None, rate: float | None,
                 seed: int, gzip: bool, quirks: str, quirk: list[str], incident: list[str], scale: float,
                 max_lines_per_file: int, manifest: Path | None) -> GeneratorConfig:
    """Options to a validated config; every mistake becomes a usage error with the reason."""
    if out is None:
        landing = get_settings().landing_path
        if landing.startswith("s3://"):
            raise NovaError(f"the landing path {landing} is on S3; nova generate writes a local folder",
                            hint="pass --out DIR and upload it, or point NOVA_LANDING_PATH to a folder",
                            code=Exit.USAGE)
        out = Path(landing)
    try:
        return GeneratorConfig(
            out=out, start=start, days=days, events_per_day=events_per_day, rate=rate, seed=seed, gzip=gzip,
            quirks=quirk_rates(quirks, _parse_overrides(quirk)), incidents=[Incident.parse(i) for i in incident],
            scale=scale, max_lines_per_file=max_lines_per_file, manifest=manifest,
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError too
        message = str(exc)
        if isinstance(exc, ValidationError):
            message = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors())
        raise NovaError(message, hint="see nova generate --help", code=Exit.USAGE) from exc


def generate_command(
    out: Path | None = typer.Option(None, "--out", "-o", help="Landing folder. Default: the landing_path "
                                    "setting (NOVA_LANDING_PATH)."),
    start: dt.datetime = typer.Option(dt.datetime.combine(DEFAULT_START, dt.time()), formats=["%Y-%m-%d"],
                                      show_default=str(DEFAULT_START), metavar="YYYY-MM-DD", help="First day (UTC)."),
    days: int = typer.Option(1, min=1, help="Number of days."),
    events_per_day: int | None = typer.Option(None, "--events-per-day", "-n", min=0,
                                              help="Client calls on a regular weekday (weekends, holidays and "
                                              "outages lower it). Default: 20M x scale."),
    rate: float | None = typer.Option(None, min=0, help="Average calls per second, instead of --events-per-day."),
    seed: int = typer.Option(42, min=0, help="Random seed: same seed and options, same bytes."),
    gzip: bool = typer.Option(False, "--gzip/--plain", help="Write .jsonl.gz or plain .jsonl files."),
    quirks: str = typer.Option("realistic", help="Preset (none, low, realistic, high, chaos) or a multiplier."),
    quirk: list[str] = typer.Option([], "--quirk", metavar="NAME=RATE",
                                    help="Override one rate: NAME=RATE (repeatable)."),
    incident: list[str] = typer.Option([], "--incident", metavar="SPEC",
                                       help=f"{escape(INCIDENT_SYNTAX)} (repeatable)."),
    scale: float = typer.Option(0.001, min=0.000001, max=1.0, help="Fraction of the real population "
                                "(8M monthly users in 250K workspaces)."),
    max_lines_per_file: int = typer.Option(10_000, min=1, help="Split an hour's lines into files of this size."),
    manifest: Path | None = typer.Option(None, help="Also write the summary (injected quirks, expected "
                                         "states) as JSON here; keep it outside the landing folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print one line instead of the tables."),
) -> None:
    config = build_config(out, start.date(), days, events_per_day, rate, seed, gzip, quirks, quirk, incident,
                          scale, max_lines_per_file, manifest)
    try:
        summary = generate(config)
    except ValueError as exc:  # an incident on a platform the registry does not have
        raise NovaError(str(exc), hint="see nova generate --help", code=Exit.USAGE) from exc
    console = Console(soft_wrap=True, highlight=False)
    if quiet:
        console.print(f"{summary.files} files, {summary.lines} lines, {summary.bytes / 1e6:.1f} MB "
                      f"in {summary.elapsed_seconds:.1f}s -> {summary.out}")
    else:
        print_summary(console, summary)


def print_summary(console: Console, summary: GenerationSummary) -> None:
    head = Table(title=f"nova generate -> {summary.out}", show_header=True)
    for col in ("platform", "files", "lines"):
        head.add_column(col, justify="right" if col != "platform" else "left")
    for platform, lines in summary.lines_by_platform.items():
        head.add_row(platform, str(summary.files_by_platform.get(platform, 0)), f"{lines:,}")
    head.add_row("[bold]total[/]", f"[bold]{summary.files}[/]", f"[bold]{summary.lines:,}[/]")
    console.print(head)
    quirks = Table(title="Injected quirks", show_header=True)
    quirks.add_column("quirk")
    quirks.add_column("count", justify="right")
    quirks.add_column("what", style="dim")
    for name, count in summary.quirks.items():
        quirks.add_row(name, f"{count:,}", QUIRK_COUNTS.get(name, ""))
    expected = Table(title="Expected line states (SEMANTICS.md)", show_header=True)
    expected.add_column("state")
    expected.add_column("lines", justify="right")
    for name, count in summary.expected.items():
        expected.add_row(name if name in ("staged", "duplicate", "ignored") else f"quarantined: {name}",
                         f"{count:,}")
    console.print(quirks)
    console.print(expected)
    console.print(f"{summary.events:,} events, {summary.bytes / 1e6:.1f} MB in {summary.elapsed_seconds:.1f}s; "
                  f"received {summary.first_received_at} .. {summary.last_received_at}; run tag {summary.run_tag}")
