"""Help text that reads well at any terminal width.

Docstrings are hard-wrapped at ~110 columns for the source; rich would keep those breaks and wrap
again at the terminal's width, giving ragged lines. `reflow` joins the lines of each prose
paragraph so the terminal wraps it once, and keeps the line structure of lists and indented blocks.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

_BLOCK_STARTS = ("- ", "* ", "\b")


def reflow(text: str) -> str:
    """Join the hard line breaks inside prose paragraphs; list items and indented lines keep theirs."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(_reflow_paragraph(p) for p in paragraphs)


def _reflow_paragraph(paragraph: str) -> str:
    out: list[str] = []
    last = ""  # kind of the last line kept: prose, item or block
    for line in paragraph.splitlines():
        indented = line[:1].isspace()
        if line.lstrip().startswith(_BLOCK_STARTS):
            kind = "item"
        elif indented:
            kind = "continuation" if last == "item" else "block"
        else:
            kind = "prose"
        if out and ((kind == "prose" and last == "prose") or kind == "continuation"):
            out[-1] = f"{out[-1]} {line.strip()}"
            continue
        out.append(line.rstrip())
        last = kind
    return "\n".join(out)


def walk_commands(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every click command under `command` (groups included), depth first, sorted by name."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk_commands(sub, (*path, name))
