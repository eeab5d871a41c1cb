"""Rendering of a realistic change set: the markdown comment is asserted literally."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from rich.console import Console

from contracts.changes import DiffReport
from contracts.diff import diff_registries
from contracts.render import render_json, render_markdown, render_table
from tests.contracts.helpers import feature, shipped


def _ios(d: dict[str, Any]) -> None:
    # the SDK renames feature_key to feature_id and starts sending the screen
    del d["payload"]["feature_key"]
    d["payload"]["feature_id"] = {"type": "string", "required": True}
    d["payload"]["screen"] = {"type": "string", "description": "Screen the feature was used on."}
    d["mapping"]["feature"]["from"] = ["feature_id"]
    d["version"] = "2.0.0"


def _web(d: dict[str, Any]) -> None:
    del d["payload"]["context.page.path"]
    d["ignored_breaks"] = [{"change": "web:payload.context.page.path:field_removed",
                            "reason": "never read downstream | checked"}]
    d["version"] = "1.0.1"


def _catalog(c: dict[str, Any]) -> None:
    feature(c, "editor.text.italic")["parent"] = "editor.comments"
    feature(c, "editor.comments.mention")["name"] = "Mentions"
    c["version"] = "1.1.0"  # a re-parent needs a major bump: this file fails


@pytest.fixture
def report(make_copy) -> DiffReport:
    return diff_registries(shipped(), make_copy().edit("ios", _ios).edit("web", _web).edit("catalog", _catalog).load())


EXPECTED_MARKDOWN = """\
## Contract diff: `main (b8bd9c7)` → working tree

❌ **1 file needs a bigger version bump: not safe to merge.**

- ✅ `platforms/ios.yaml` 1.0.0 → 2.0.0: declared major, required major (2 changes)
- ✅ `platforms/web.yaml` 1.0.0 → 1.0.1: declared patch, required patch (1 change, 1 accepted)
- ❌ `catalog/features.yaml` 1.0.0 → 1.1.0: declared minor, required major (2 changes)

| severity | file | change | detail |
|---|---|---|---|
| BREAKING | `platforms/ios.yaml` | `ios:payload.feature_key:field_renamed` | `feature_key` renamed to `feature_id` \
without alias: the mapping no longer reads `feature_key` |
| SAFE | `platforms/ios.yaml` | `ios:payload.screen:field_added_optional` | optional field `screen` added |
| BREAKING (accepted) | `platforms/web.yaml` | `web:payload.context.page.path:field_removed` | \
`context.page.path` removed; accepted: never read downstream \\| checked |
| BREAKING | `catalog/features.yaml` | `catalog:editor.text.italic:feature_reparented` | `editor.text.italic` parent \
`editor.text` → `editor.comments` |
| WARNING | `catalog/features.yaml` | `catalog:editor.comments.mention:feature_renamed` | `editor.comments.mention` \
display name 'Mention' → 'Mentions' |

Severities and bumps: BREAKING → major, WARNING → minor, SAFE → patch (rules: `docs/contracts.md`).
"""


def test_markdown(report: DiffReport) -> None:
    assert render_markdown(report, "main (b8bd9c7)") == EXPECTED_MARKDOWN


def test_markdown_without_changes() -> None:
    assert render_markdown(diff_registries(shipped(), shipped()), "HEAD (b8bd9c7)") == (
        "## Contract diff: `HEAD (b8bd9c7)` → working tree\n\n"
        "✅ **No contract or catalog changes.**\n\n"
        "Severities and bumps: BREAKING → major, WARNING → minor, SAFE → patch (rules: `docs/contracts.md`).\n"
    )


def test_json(report: DiffReport) -> None:
    data = json.loads(render_json(report, "main (b8bd9c7)"))
    assert data["ok"] is False and data["base"] == "main (b8bd9c7)"
    assert [(f["file"], f["declared_bump"], f["required_bump"], f["ok"]) for f in data["files"] if f["changes"]] == [
        ("platforms/ios.yaml", "major", "major", True),
        ("platforms/web.yaml", "patch", "patch", True),
        ("catalog/features.yaml", "minor", "major", False),
    ]
    assert data["changes"][2] == {
        "id": "web:payload.context.page.path:field_removed", "severity": "BREAKING", "rule": "field_removed",
        "file": "platforms/web.yaml", "subject": "payload.context.page.path", "detail": "`context.page.path` removed",
        "accepted": True, "reason": "never read downstream | checked", "required_bump": "patch",
    }


def test_table(report: DiffReport) -> None:
    buf = io.StringIO()
    render_table(report, Console(file=buf, width=200, color_system=None), "main (b8bd9c7)")
    text = buf.getvalue()
    assert "catalog/features.yaml │ 1.0.0 → 1.1.0 │ minor    │ major    │ bump too small" in text
    assert "ios:payload.feature_key:field_renamed" in text and "BREAKING (accepted)" in text
    assert text.rstrip().endswith("1 file needs a bigger version bump: not safe to merge.")
