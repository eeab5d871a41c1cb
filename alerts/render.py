"""Renderings of an `AlertBody`: Slack Block Kit and plain text (console, logs, webhooks' fallback).

Both are pure functions of the body, pinned by golden files (tests/alerts/golden/)."""

from __future__ import annotations

from typing import Any

from alerts.body import AlertBody, Measure, _num

ICON = {"critical": ":red_circle:", "high": ":large_orange_circle:", "warning": ":large_yellow_circle:"}
RESOLVED_ICON = ":white_check_mark:"


def headline(b: AlertBody) -> str:
    """One line: the notification text and the first line of the plain rendering."""
    if b.state == "resolved":
        return f"RESOLVED {b.title}"
    return f"[{b.severity.upper()}] {b.title}"


def _when(t: Any) -> str:
    return f"{t:%Y-%m-%d %H:%M} UTC" if t else "?"


def _measure_text(m: Measure) -> str:
    text = f"{m.check}"
    if m.scope:
        text += f" ({m.scope})"
    text += f": {_num(m.value)}"
    if m.normal is not None:
        text += f" vs normal {_num(m.normal)}"
    if m.threshold is not None:
        text += f" (threshold {_num(m.threshold)})"
    if m.note:
        text += f"; {m.note}"
    return text


def _where(b: AlertBody) -> str:
    return " · ".join(f"{k} {v}" for k, v in b.where.items())


def _duration(b: AlertBody) -> str:
    if not b.resolved_at:
        return ""
    minutes = int((b.resolved_at - b.since).total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def render_text(b: AlertBody) -> str:
    lines = [headline(b) + (f"  {b.mention}" if b.mention and b.state == "open" else "")]
    if b.state == "resolved":
        lines.append(f"Resolved {_when(b.resolved_at)}: {b.resolve_reason} (lasted {_duration(b)}).")
    lines += [
        f"What: {b.what}",
        f"Where: {_where(b)}",
        "How big:",
        *(f"  - {_measure_text(m)}" for m in b.measures),
        f"Since: {_when(b.since)} (last seen {_when(b.last_seen)})",
        f"Likely cause: {b.likely_cause}" if b.likely_cause else "Likely cause: none found in the evidence",
        f"Evidence: {b.evidence_query}",
    ]
    if b.state == "open":
        lines.append(f"Runbook: {b.runbook}")
        lines += [f"Run: {c}" for c in b.commands]
    lines.append(f"Incident {b.incident_key} · owner {b.owner_team or 'unknown'} · {b.channel}")
    return "\n".join(lines)


def render_update_text(b: AlertBody) -> str:
    """The thread reply of an update or a resolution: what changed, short."""
    if b.state == "resolved":
        return f"{RESOLVED_ICON} Resolved {_when(b.resolved_at)}: {b.resolve_reason} (lasted {_duration(b)})."
    parts = [f"Still failing, last seen {_when(b.last_seen)} (update {b.revision})."]
    parts += [f"• {_measure_text(m)}" for m in b.measures[:10]]
    if b.likely_cause:
        parts.append(f"Likely cause: {b.likely_cause}")
    return "\n".join(parts)


def _esc(text: str) -> str:
    """Slack mrkdwn control characters in data (a SQL `<`, a value with `&`) shown as themselves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def render_blocks(b: AlertBody) -> list[dict[str, Any]]:
    """Slack Block Kit: header, what/where, how big, since, likely cause, evidence, runbook, commands."""
    icon = RESOLVED_ICON if b.state == "resolved" else ICON.get(b.severity, "")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{headline(b)}"[:150], "emoji": True}},
    ]
    if b.state == "resolved":
        blocks.append(_section(f"{RESOLVED_ICON} *Resolved* {_when(b.resolved_at)}: {_esc(b.resolve_reason)} "
                               f"(lasted {_duration(b)})."))
    elif b.mention:
        blocks.append(_section(f"{b.mention} {icon} *{b.severity}*"))
    blocks += [
        _section(f"*What broke*\n{_esc(b.what)}"),
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Where*\n{_esc(_where(b))}"},
            {"type": "mrkdwn", "text": f"*Since*\n{_when(b.since)}\nlast seen {_when(b.last_seen)}"},
        ]},
        _section("*How big (vs normal)*\n" + "\n".join(f"• {_esc(_measure_text(m))}" for m in b.measures[:15])),
        _section(f"*Likely cause*\n{_esc(b.likely_cause)}" if b.likely_cause
                 else "*Likely cause*\nnone found in the evidence"),
        _section(f"*Evidence*\n```{_esc(b.evidence_query)}```"),
    ]
    if b.state == "open":
        blocks.append(_section(f"*Runbook*\n{b.runbook}"))
        if b.commands:
            blocks.append(_section("*Commands*\n" + "\n".join(f"`{_esc(c)}`" for c in b.commands)))
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"incident `{b.incident_key}` · owner {b.owner_team or 'unknown'} · "
                                   f"severity {b.severity} · update {b.revision}"}]})
    return blocks
