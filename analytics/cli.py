"""`nova dbt export`: the curated layer as a dbt package for the analysts' project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from config import get_settings
from nova.errors import Exit, NovaError

dbt_app = typer.Typer(
    help="The curated layer for dbt users: a generated package of sources, tests, freshness, starter models "
         "and exposures (docs/querying.md, section dbt).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(dbt_app, name="dbt")


@dbt_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder of the package (created; files this command "
                                                           "wrote before and no longer writes are removed).")],
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 when the folder differs from what "
                                                        "an export would write (for CI).")] = False,
) -> None:
    """Write the dbt package `nova_curated` into OUT: sources for every curated table, dim_feature,
    feature_ancestors and trust_scores, described column by column, with generic tests of the curated
    invariants (keys not null, the grain unique, platform values, feature ids related to dim_feature),
    freshness on the right loaded-at column with the service levels as warn / error, the database and
    schema per target (the attached DuckDB file locally, Snowflake in production), two starter models and
    the dashboards that read them as exposures.

    The output is sorted and has no timestamps: regenerate after a contract or catalog change and
    review the diff. Add the folder to your dbt project's packages.yml (`local:` or a git subdirectory).
    """
    from analytics.dbt_package import MANIFEST, render_package, write_package
    from pipeline.cli import registry

    settings = get_settings()
    files = render_package(registry(), settings.dbt)
    if check:
        stale = sorted(rel for rel, text in files.items()
                       if not (out / rel).exists() or (out / rel).read_text() != text)
        listed = (out / MANIFEST).read_text().split() if (out / MANIFEST).exists() else []
        extra = sorted(set(listed) - set(files))
        if stale or extra:
            for rel in stale:
                typer.echo(f"out of date: {rel}")
            for rel in extra:
                typer.echo(f"no longer generated: {rel}")
            raise typer.Exit(int(Exit.FINDINGS))
        typer.echo(f"{out}: up to date ({len(files)} files)")
        return
    if out.exists() and not out.is_dir():
        raise NovaError(f"{out} is a file, not a folder", hint="give --out a folder", code=Exit.USAGE)
    try:
        changed, removed = write_package(out, files)
    except OSError as exc:
        raise NovaError(f"cannot write the package to {out}: {exc.strerror or exc}", code=Exit.CONFIG) from exc
    typer.echo(f"wrote dbt package nova_curated to {out}: {len(files)} files, {len(changed)} changed"
               + (f", {len(removed)} removed" if removed else ""))
    for rel in changed:
        typer.echo(f"  {rel}")
