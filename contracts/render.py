"""How a `DiffReport` is shown: a rich table for a terminal, markdown for a pull request, JSON.

What the report says is decided in `contracts.diff`; here it is only formatted.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contracts.changes import Change, DiffReport, FileVerdict, Severity

STYLE = {Severity.breaking: "bold red", Severity.warning: "yellow", Severity.safe: "green"}
RULES_DOC = "docs/contracts.md"


def _severity_label(c: Change) -> str:
    return f"{c.severity.value} (accepted)" if c.accepted else c.severity.value


def _detail(c: Change) -> str:
    return f"{c.detail}; accepted: {c.reason}" if c.accepted else c.detail


def _versions(v: FileVerdict) -> str:
    return f"{v.base_version or '(new)'} → {v.head_version or '(removed)'}"


def _summary(report: DiffReport) -> str:
    failing = [v for v in report.files if not v.ok]
    if failing:
        n = len(failing)
        return f"{n} file{'s' if n > 1 else ''} need{'' if n > 1 else 's'} a bigger version bump: not safe to merge."
    if not report.changes:
        return "No contract or catalog changes."
    return "Safe to merge: every change is covered by its file's version bump."


def _verdict_line(v: FileVerdict) -> str:
    if v.problem:
        return f"{v.problem}, required {v.required.value}"
    return f"declared {v.declared.value}, required {v.required.value}"


def render_markdown(report: DiffReport, base_label: str, head_label: str = "working tree") -> str:
    """A pull-request comment: heading, one summary line per file, a table of changes."""
    lines = [f"## Contract diff: `{base_label}` → {head_label}", ""]
    mark = "✅" if report.ok else "❌"
    lines += [f"{mark} **{_summary(report)}**", ""]
    touched = [v for v in report.files if v.touched]
    for v in touched:
        lines.append(f"- {'✅' if v.ok else '❌'} `{v.file}` {_versions(v)}: {_verdict_line(v)} "
                     f"({_count(report, v)})")
    if touched:
        lines.append("")
    if report.changes:
        lines += ["| severity | file | change | detail |", "|---|---|---|---|"]
        for c in report.changes:
            cells = [_severity_label(c), f"`{c.file}`", f"`{c.id}`", _detail(c)]
            lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
        lines.append("")
    lines.append(f"Severities and bumps: BREAKING → major, WARNING → minor, SAFE → patch (rules: `{RULES_DOC}`).")
    return "\n".join(lines) + "\n"


def _count(report: DiffReport, v: FileVerdict) -> str:
    n = v.change_count
    accepted = sum(c.accepted for c in report.changes_of(v.file))
    return f"{n} change{'' if n == 1 else 's'}" + (f", {accepted} accepted" if accepted else "")


def _cell(text: str) -> str:
    # a pipe would end the cell and a newline the row
    return " ".join(text.split()).replace("|", "\\|")


def report_json(report: DiffReport, base_label: str, head_label: str = "working tree") -> dict[str, Any]:
    return {
        "base": base_label,
        "head": head_label,
        "ok": report.ok,
        "files": [
            {"file": v.file, "base_version": v.base_version, "head_version": v.head_version,
             "declared_bump": v.declared.value, "required_bump": v.required.value, "ok": v.ok,
             "problem": v.problem or None, "changes": v.change_count}
            for v in report.files
        ],
        "changes": [
            {"id": c.id, "severity": c.severity.value, "rule": c.rule, "file": c.file, "subject": c.subject,
             "detail": c.detail, "accepted": c.accepted, "reason": c.reason or None,
             "required_bump": c.required_bump.value}
            for c in report.changes
        ],
    }


def render_json(report: DiffReport, base_label: str, head_label: str = "working tree") -> str:
    return json.dumps(report_json(report, base_label, head_label), indent=2, ensure_ascii=False) + "\n"


def render_table(report: DiffReport, console: Console, base_label: str, head_label: str = "working tree") -> None:
    console.print(f"[bold]Contract diff[/]: {escape(base_label)} → {escape(head_label)}")
    touched = [v for v in report.files if v.touched]
    if touched:
        files = Table(show_edge=False, header_style="bold")
        for col in ("file", "version", "declared", "required", "verdict"):
            files.add_column(col)
        for v in touched:
            verdict = "[green]ok[/]" if v.ok else f"[bold red]{escape(v.problem or 'bump too small')}[/]"
            files.add_row(v.file, _versions(v), v.declared.value, v.required.value, verdict)
        console.print(files)
    if report.changes:
        table = Table(show_edge=False, header_style="bold", show_lines=False)
        table.add_column("severity", no_wrap=True)
        table.add_column("change", no_wrap=True)  # the id is copied into ignored_breaks: keep it whole
        table.add_column("detail", overflow="fold")
        for c in report.changes:
            style = "dim" if c.accepted else STYLE[c.severity]
            table.add_row(f"[{style}]{_severity_label(c)}[/]", escape(c.id), escape(_detail(c)))
        console.print(table)
    style = "green" if report.ok else "bold red"
    console.print(f"[{style}]{escape(_summary(report))}[/]")
