"""docs/cli.md, generated from the commands' own help (`make docs`; a test fails when it drifts).

    python -m nova.docgen > docs/cli.md
"""

from __future__ import annotations

import sys
from typing import Any

import typer.main

from nova.errors import EXIT_MEANINGS
from nova.helptext import walk_commands

HEADER = """# The `nova` command

<!-- Generated from the --help of every command by `make docs` (python -m nova.docgen); do not edit. -->

Every command has `--help`; this page is the same text. Settings come from `config/local.toml` (or the
file named by `NOVA_CONFIG`) and `NOVA_*` environment variables: see [configuration](configuration.md).
A mistake on the command line (unknown command or option, missing argument, invalid value, a file that
cannot be read) prints one line and a hint, and exits 2; an unexpected error prints one line and the
file its full trace was written to (under the state directory's `errors/`), and exits 70.
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _section(path: tuple[str, ...], cmd: Any, ctx: Any) -> list[str]:
    usage = " ".join([ctx.command_path, *cmd.collect_usage_pieces(ctx)])
    lines = [f"### `{' '.join(path)}`", "", "```", usage, "```", ""]
    help_text = (cmd.help or "").partition("\f")[0].strip()
    if help_text:
        lines += [help_text, ""]
    rows = []
    for param in cmd.params:
        if getattr(param, "hidden", False):
            continue
        record = param.get_help_record(ctx) if param.param_type_name == "option" else None
        if param.param_type_name == "argument":
            name = (param.metavar or param.name or "").upper()
            record = (name, getattr(param, "help", "") or "")
        if record:
            rows.append(f"| `{_cell(record[0])}` | {_cell(record[1])} |")
    if rows:
        lines += ["| argument or option | meaning |", "|---|---|", *rows, ""]
    if getattr(cmd, "commands", None):
        subs = ", ".join(f"`{' '.join((*path, name))}`" for name in sorted(cmd.commands))
        lines += [f"Commands: {subs}.", ""]
    return lines


def render() -> str:
    root = typer.main.get_command(__import__("nova.cli", fromlist=["app"]).app)
    out = [HEADER, "## Exit codes", "| code | meaning |", "|---|---|"]
    out += [f"| {int(code)} | {meaning} |" for code, meaning in EXIT_MEANINGS.items()]
    out += ["", "## Commands", ""]
    contexts: dict[tuple[str, ...], Any] = {}
    for path, cmd in walk_commands(root, ("nova",)):
        parent = contexts.get(path[:-1])
        ctx = cmd.context_class(cmd, info_name=path[-1], parent=parent)
        contexts[path] = ctx
        if path == ("nova",):
            continue
        out += _section(path, cmd, ctx)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
