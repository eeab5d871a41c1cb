"""Docs kept true: every command is documented with help text, every setting is documented."""

from __future__ import annotations

import re

import typer.main

from config.settings import Settings
from nova.cli import app
from tests.conftest import REPO


def _commands(cmd, prefix):
    subs = getattr(cmd, "commands", None)
    if subs:
        for name, sub in sorted(subs.items()):
            yield from _commands(sub, [*prefix, name])
    else:
        yield " ".join(prefix), cmd


def test_every_command_has_help_and_is_documented() -> None:
    doc = (REPO / "docs" / "cli.md").read_text()
    commands = list(_commands(typer.main.get_command(app), ["nova"]))
    assert len(commands) >= 20
    for path, cmd in commands:
        assert (cmd.help or "").strip(), f"{path} has no --help text"
        assert re.search(rf"`{re.escape(path)}(`| )", doc), f"{path} is not documented in docs/cli.md"
        for param in cmd.params:
            assert (getattr(param, "help", None) or "").strip(), f"{path} {param.name}: no help text"


def test_cli_md_is_generated_from_the_help() -> None:
    from nova.docgen import render

    assert (REPO / "docs" / "cli.md").read_text() == render(), "docs/cli.md drifted: run `make docs`"


def test_help_keeps_paragraphs_and_wraps_them_once() -> None:
    """A docstring hard-wrapped for the source reads as whole paragraphs at any terminal width."""
    import os
    import subprocess
    import sys

    for width in ("60", "100", "160"):
        res = subprocess.run([sys.executable, "-m", "nova.cli", "generate", "--help"], capture_output=True,
                             text=True, env={**os.environ, "COLUMNS": width}, timeout=60)
        body = [line.strip(" │") for line in res.stdout.splitlines()]
        text = "\n".join(body)
        # the prose paragraph is wrapped at the terminal's width: no line ends early mid-sentence
        para = text[text.index("Files land in"):text.index("Incidents")].split("\n\n")[0].splitlines()
        assert all(len(line) >= int(width) - 25 for line in para[:-1]), (width, para)
        # the incident list keeps one kind per line
        assert any(line.lstrip().startswith("outage ") for line in body)
        assert any(line.lstrip().startswith("bad_release ") for line in body)


def test_every_setting_is_documented() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text()
    for name, field in Settings.model_fields.items():
        assert f"`{name}`" in doc, f"setting {name} is not documented in docs/configuration.md"
        assert field.description, f"setting {name} has no description"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("```", 2)[1].strip().splitlines()
    assert block == ["make demo", "make test"]
