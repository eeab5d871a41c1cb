"""`nova contracts ...`: lint, diff and export the contract registry.

The commands only read files, call the pure modules (lint, diff, jsonschema_export) and print.
`contracts_app` is public so other modules can add subcommands to the same group.
"""

from __future__ import annotations

import json
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from config import get_settings
from contracts import gitref
from contracts.diff import diff_registries
from contracts.impact_render import impact_json, impact_markdown, impact_table
from contracts.jsonschema_export import dumps, export_contract
from contracts.lint import lint_registry
from contracts.registry import CATALOG_FILE, Problem, Registry, RegistryError, load_registry
from contracts.render import render_markdown, render_table, report_json
from nova.errors import Exit, NovaError

contracts_app = typer.Typer(
    name="contracts",
    help="Event contracts and the feature catalog: lint, diff against a base, export as JSON Schema.\n\n"
    "The registry is NOVA_CONTRACTS_PATH (default: contracts/ of the current directory). "
    "Format and rules: docs/contracts.md.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def register(app: typer.Typer) -> None:
    app.add_typer(contracts_app, name="contracts")


class DiffFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"


class ExportFormat(StrEnum):
    jsonschema = "jsonschema"


def _console(stderr: bool = False) -> Console:
    # soft_wrap: one problem per line even when the output is piped (no hard wrap at 80 columns)
    return Console(stderr=stderr, soft_wrap=True, highlight=False)


def _findings(message: str) -> NoReturn:
    # NovaError rather than typer.Exit: `nova.cli.main` runs click with standalone_mode=False, where a
    # typer.Exit code is returned, not raised, and would be lost
    raise NovaError(message, code=Exit.FINDINGS)


def _registry_root() -> Path:
    root = Path(get_settings().contracts_path)
    if not root.is_dir():
        raise NovaError(f"contracts directory not found: {root}",
                        hint="run from the project root or set NOVA_CONTRACTS_PATH", code=Exit.CONFIG)
    return root


def _load(root: Path, what: str) -> Registry:
    try:
        return load_registry(root)
    except RegistryError as exc:
        listing = "\n".join(f"  {root / p.file}:{p.line}: {p.message}" for p in exc.problems)
        raise NovaError(f"the {what} registry ({root}) is unreadable:\n{listing}",
                        hint="run `nova contracts lint` on it", code=Exit.CONFIG) from exc


LINT_HELP = (
    "Check the registry: schema errors, then catalog and contract semantics.\n\n"
    "Prints one line per problem, `file:line: error: message`.\n\n"
    "Exit codes: 0 = clean, 1 = problems found, 3 = registry directory not found."
)


@contracts_app.command("lint", help=LINT_HELP)
def lint() -> None:
    root = _registry_root()
    reg: Registry | None = None
    try:
        reg = load_registry(root)
        problems: list[Problem] = lint_registry(reg)
    except RegistryError as exc:
        problems = exc.problems  # schema errors: semantic checks need a loaded registry
    out = _console()
    for p in problems:
        out.print(f"[bold]{escape(str(root / p.file))}:{p.line}:[/] [red]{p.severity}:[/] {escape(p.message)}")
    if problems:
        n = len(problems)
        _findings(f"{n} problem{'s' if n > 1 else ''} in the registry")
    if reg is not None:
        _console(stderr=True).print(
            f"[green]clean[/]: {len(reg.contracts)} contracts ({', '.join(reg.contracts)}), "
            f"{len(reg.catalog.features)} features")


def _registry_dir(path: Path) -> Path:
    """A directory BASE is the registry itself or a project holding `contracts/`."""
    if not (path / CATALOG_FILE).exists() and (path / "contracts" / CATALOG_FILE).exists():
        return path / "contracts"
    return path


DIFF_HELP = (
    "Classify every contract and catalog change since BASE and check the version bumps.\n\n"
    "Each change is BREAKING (needs a major bump), WARNING (minor) or SAFE (patch); the declared bump "
    "of every file (its `version` at BASE → now) must cover its worst change. A known break is accepted "
    "by an `ignored_breaks` entry of that file naming the change id printed here, with a reason.\n\n"
    "With --impact, the raw lines received in the --since window are replayed, read-only, from the "
    "configured warehouse through the staging SQL of BASE and of the working tree, and every line whose "
    "verdict would change is reported by platform and app version (from → to state and reason, share of "
    "the platform's lines, sample event ids, a query to see them); a window larger than --max-lines is "
    "replayed as a 1-in-k sample, stated in the output.\n\n"
    "Exit codes: 0 = every change is covered by the declared bumps (safe to merge); "
    "1 = a change needs a bigger bump than declared; 3 = a registry is unreadable, BASE not found, or "
    "(--impact) no warehouse to read."
)


@contracts_app.command("diff", help=DIFF_HELP)
def diff(
    base: str | None = typer.Argument(
        None, help="Git ref (branch, tag, commit) or a directory holding a registry. "
        "Default: the merge base with main, else HEAD.", show_default=False),
    fmt: DiffFormat = typer.Option(DiffFormat.table, "--format", "-f",
                                   help="table (terminal), markdown (pull-request comment) or json."),
    impact: bool = typer.Option(False, "--impact", help="Replay recent raw lines through BASE and the working "
                                "tree and report every verdict that would change."),
    since: str = typer.Option("24h", "--since", help="With --impact: the window of received lines "
                              "(24h, 90m, 7d, 2w), ending now."),
    max_lines: int = typer.Option(200_000, "--max-lines", min=1, help="With --impact: above this many lines "
                                  "the window is replayed as a 1-in-k sample (lines whose number is a multiple of k)."),
) -> None:
    root = _registry_root()
    head = _load(root, "working")
    if base is not None and Path(base).is_dir():
        base_reg, label = _load(_registry_dir(Path(base)), "BASE"), base
    else:
        ref = base if base is not None else gitref.default_base(root.resolve())
        with tempfile.TemporaryDirectory(prefix="nova-contracts-") as tmp:
            _, sha = gitref.materialize(ref, root, Path(tmp))
            base_reg = _load(Path(tmp), f"BASE ({ref})")
        label = f"{ref} ({sha[:7]})" if base is not None else f"merge base ({sha[:7]})"
    report = diff_registries(base_reg, head)
    replayed = None
    if impact:
        from pipeline.impact import parse_since, replay  # the pipeline's SQL: imported only when asked

        replayed = replay(get_settings(), base_reg, head, report.changes, parse_since(since), max_lines)
    if fmt is DiffFormat.markdown:
        sys.stdout.write(render_markdown(report, label))
        if replayed is not None:
            sys.stdout.write("\n" + impact_markdown(replayed))
    elif fmt is DiffFormat.json:
        data = report_json(report, label)
        if replayed is not None:
            data["impact"] = impact_json(replayed)
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        render_table(report, _console(), label)
        if replayed is not None:
            impact_table(replayed, _console())
    if not report.ok:
        failing = [v.file for v in report.files if not v.ok]
        _findings(f"version bump too small in {', '.join(failing)}")


EXPORT_HELP = (
    "Export the payload contracts as JSON Schema (draft 2020-12).\n\n"
    "Without --out the schema of one platform is printed (pass --platform); with --out one file per "
    "platform is written. Required fields sit in an if/then on the scope: they are required only on "
    "feature-usage events.\n\n"
    "Exit codes: 0 = exported, 2 = unknown platform or several without --out, 3 = registry unreadable."
)


@contracts_app.command("export", help=EXPORT_HELP)
def export(
    fmt: ExportFormat = typer.Option(ExportFormat.jsonschema, "--format", "-f", help="Output format."),
    platform: str | None = typer.Option(None, "--platform", "-p", help="A platform of the registry (one file "
                                        "platforms/<name>.yaml each); default: every platform."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write <out>/<platform>.schema.json files.",
                                    file_okay=False),
) -> None:
    reg = _load(_registry_root(), "working")
    if platform is not None and platform not in reg.contracts:
        raise NovaError(f"unknown platform {platform!r}", hint=f"one of {', '.join(reg.contracts)}",
                        code=Exit.USAGE)
    chosen = [platform] if platform else list(reg.contracts)
    if out is None:
        if len(chosen) != 1:
            raise NovaError("several platforms to print", code=Exit.USAGE,
                            hint="choose one with --platform, or write them all with --out DIR")
        sys.stdout.write(dumps(export_contract(reg.contracts[chosen[0]], reg.catalog)))
        return
    out.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        target = out / f"{name}.schema.json"
        target.write_text(dumps(export_contract(reg.contracts[name], reg.catalog)), encoding="utf-8")
        _console(stderr=True).print(f"wrote {escape(str(target))}")
