"""`nova`: the command line of the NovaSuite feature-usage platform.

Each package registers its own commands (`register(app)`), so this file only assembles them
and turns errors into friendly messages with documented exit codes.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from nova.errors import Exit, NovaError

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
err = Console(stderr=True)

# Modules that add commands; a module that is not there yet is skipped.
COMMAND_MODULES = (
    "contracts.cli",
    "traffic.cli",
    "pipeline.cli",
    "pipeline.curate.cli",
    "pipeline.ops_cli",
    "pipeline.snowflake_cli",
    "monitors.cli",
    "alerts.cli",
    "service.cli",
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


_register()


def main() -> None:
    try:
        # Outside standalone mode click returns a `typer.Exit` code instead of raising it.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except NovaError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        if exc.hint:
            err.print(f"[dim]hint:[/] {exc.hint}")
        sys.exit(int(exc.code))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(int(Exit.INTERRUPTED))
    except KeyboardInterrupt:
        err.print("interrupted: the next run resumes from the last committed step")
        sys.exit(int(Exit.INTERRUPTED))
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(int(Exit.USAGE))
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
