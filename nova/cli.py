"""`nova`: the command line of the NovaSuite feature-usage platform.

Each package registers its own commands (`register(app)`), so this file only assembles them
and turns errors into friendly messages with documented exit codes.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import sys
import tempfile
import traceback
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from nova.errors import Exit, NovaError
from nova.helptext import reflow

app = typer.Typer(
    name="nova",
    help=(
        "NovaSuite feature-usage platform: event contracts, the ELT pipeline and its quality monitor.\n\n"
        "Settings come from config/local.toml (or the file in NOVA_CONFIG), overridden by NOVA_* "
        "environment variables. Exit codes: 0 ok, 1 findings, 2 usage, 3 configuration, 4 data."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
err = Console(stderr=True, soft_wrap=True)  # one line per message, whatever the width

# Modules that add commands; a module that is not there yet is skipped.
COMMAND_MODULES = (
    "contracts.cli",
    "traffic.cli",
    "pipeline.cli",
    "pipeline.curate.cli",
    "pipeline.ops_cli",
    "pipeline.snowflake_cli",
    "monitors.cli",
    "monitors.trust_cli",
    "alerts.cli",
    "service.cli",
    "analytics.cli",
    "nova.demo",
)


def _register() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(app)
    _reflow_help(app)


def _reflow_help(typer_app: typer.Typer) -> None:
    """Every command's help as paragraphs the terminal wraps once (see nova.helptext)."""
    info = typer_app.info
    if isinstance(info.help, str):
        info.help = reflow(info.help)
    for command in typer_app.registered_commands:
        text = command.help if isinstance(command.help, str) else (command.callback.__doc__ or "")
        command.help = reflow(text)
    for group in typer_app.registered_groups:
        if isinstance(group.help, str):
            group.help = reflow(group.help)
        if group.typer_instance is not None:
            _reflow_help(group.typer_instance)


_register()


def _click_exceptions():  # typer 0.2x vendors click as typer._click; older releases use click itself
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - depends on the locked typer
        from click import exceptions
    return exceptions


def _usage_error(exc: Exception) -> None:
    """One clear line and a hint, exit 2: never the traceback of a person's typo."""
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "nova"
    err.print(f"[bold red]error:[/] {escape(exc.format_message())}")  # type: ignore[attr-defined]
    err.print(f"[dim]hint:[/] run `{escape(path)} --help` for usage")
    sys.exit(int(Exit.USAGE))


def _internal_error(exc: BaseException) -> None:
    """An unexpected error: a short message, the full trace in a file, a distinct exit code."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")  # a file name, not a result
    text = "".join(traceback.format_exception(exc))
    where: Path | None = None
    for folder in (Path(os.environ.get("NOVA_STATE_DIR", ".nova")) / "errors", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            where = folder / f"nova-error-{stamp}-{os.getpid()}.log"
            where.write_text(f"nova {' '.join(sys.argv[1:])}\n\n{text}")
            break
        except OSError:
            where = None
    first = str(exc).splitlines()[0] if str(exc) else ""
    err.print(f"[bold red]internal error:[/] {escape(type(exc).__name__)}: {escape(first)}")
    err.print(f"[dim]the full trace is in {where}; please attach it to a bug report[/]" if where
              else "[dim]the full trace could not be written to a file[/]")
    sys.exit(int(Exit.INTERNAL))


def main() -> None:
    exceptions = _click_exceptions()
    try:
        # Outside standalone mode click returns a `typer.Exit` code instead of raising it.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except NovaError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.message)}")
        if exc.hint:
            err.print(f"[dim]hint:[/] {escape(exc.hint)}")
        sys.exit(int(exc.code))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(int(Exit.INTERRUPTED))
    except KeyboardInterrupt:
        err.print("interrupted: the next run resumes from the last committed step")
        sys.exit(int(Exit.INTERRUPTED))
    except exceptions.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `nova` or a group alone: its help
            exc.show()
            sys.exit(exc.exit_code)
        _usage_error(exc)
    except exceptions.ClickException as exc:  # e.g. a file option that cannot be opened
        err.print(f"[bold red]error:[/] {escape(exc.format_message())}")
        sys.exit(int(Exit.USAGE))
    except Exception as exc:
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):  # settings that do not parse (NOVA_* or the TOML file)
            err.print(f"[bold red]error:[/] invalid settings: {escape(str(exc))}")
            err.print("[dim]hint:[/] see docs/configuration.md; `NOVA_CONFIG` names the settings file")
            sys.exit(int(Exit.CONFIG))
        _internal_error(exc)


if __name__ == "__main__":
    main()
