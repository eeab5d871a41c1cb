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


def test_every_setting_is_documented() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text()
    for name, field in Settings.model_fields.items():
        assert f"`{name}`" in doc, f"setting {name} is not documented in docs/configuration.md"
        assert field.description, f"setting {name} has no description"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("```", 2)[1].strip().splitlines()
    assert block == ["make demo", "make test"]
