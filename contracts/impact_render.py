"""How the impact of a change on recent traffic is shown: a rich table, markdown, JSON.

What moved is computed by `pipeline.impact.replay`; here it is only formatted.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from pipeline.impact import Impact, Move


def _state(state: str, reason: str | None) -> str:
    return f"{state} ({reason})" if reason else state


def _window(i: Impact) -> str:
    text = (f"{i.lines:,} lines received {i.since:%Y-%m-%d %H:%M} → {i.until:%Y-%m-%d %H:%M} UTC")
    if i.sampled:
        text += (f"; replayed a 1-in-{i.sample_every} sample of {i.replayed:,} lines (line number a multiple of "
                 f"{i.sample_every}): counts are of the sample, shares estimate the window")
    return text


def _pct(share: float) -> str:
    return f"{share * 100:.2f} %" if share < 0.001 else f"{share * 100:.1f} %"


def sentences(i: Impact) -> list[str]:
    """One sentence per platform and movement, app versions named: what a reviewer reads first."""
    grouped: dict[tuple[str, str, str], list[Move]] = defaultdict(list)
    for m in i.moves:
        grouped[(m.platform or "?", _state(m.from_state, m.from_reason), _state(m.to_state, m.to_reason))].append(m)
    out = []
    for (platform, src, dst), moves in grouped.items():
        lines = sum(m.lines for m in moves)
        share = sum(m.share for m in moves)
        versions = sorted({m.app_version for m in moves if m.app_version})
        which = f" (app versions {', '.join(versions)})" if versions else ""
        verb = "would change" if src == "staged" and dst.startswith("staged") else "would move"
        how = f"{verb}: {dst.split('(')[-1].rstrip(')')}" if dst.startswith("staged (") else f"{verb} {src} → {dst}"
        out.append(f"{_pct(share)} of the window's {platform} lines ({lines:,}){which} {how}")
    return out


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def impact_markdown(i: Impact) -> str:
    lines = ["### Impact on recent traffic", "", _window(i) + ".", ""]
    if not i.moves:
        return "\n".join([*lines, "No line would change its verdict.", ""])
    lines += [f"- {s}" for s in sentences(i)] + [""]
    lines += ["| platform | app version | from | to | lines | share | sample event ids | changes |",
              "|---|---|---|---|---:|---:|---|---|"]
    for m in i.moves:
        cells = [m.platform or "?", m.app_version or "—", _state(m.from_state, m.from_reason),
                 _state(m.to_state, m.to_reason), f"{m.lines:,}", _pct(m.share),
                 ", ".join(f"`{e}`" for e in m.sample_event_ids), ", ".join(f"`{c}`" for c in m.changes)]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", "<details><summary>Queries to see the lines (<code>nova query</code>)</summary>", ""]
    for m in i.moves:
        lines += [f"{m.platform} {m.app_version or '—'}, {_state(m.from_state, m.from_reason)} → "
                  f"{_state(m.to_state, m.to_reason)}:", "```sql", m.query, "```"]
    lines += ["</details>", ""]
    return "\n".join(lines)


def impact_json(i: Impact) -> dict[str, Any]:
    return {
        "since": i.since.isoformat(), "until": i.until.isoformat(), "lines": i.lines, "replayed": i.replayed,
        "sampled": i.sampled, "sample_every": i.sample_every, "lines_by_platform": i.lines_by_platform,
        "moves": [
            {"platform": m.platform, "app_version": m.app_version, "from_state": m.from_state,
             "from_reason": m.from_reason, "to_state": m.to_state, "to_reason": m.to_reason, "lines": m.lines,
             "share": round(m.share, 6), "sample_event_ids": m.sample_event_ids, "changes": m.changes,
             "query": m.query}
            for m in i.moves
        ],
    }


def impact_table(i: Impact, console: Console) -> None:
    console.print(f"[bold]Impact on recent traffic[/]: {escape(_window(i))}")
    if not i.moves:
        console.print("[green]No line would change its verdict.[/]")
        return
    for s in sentences(i):
        console.print(f"  {escape(s)}")
    table = Table(show_edge=False, header_style="bold")
    for col in ("platform", "app version", "from", "to", "lines", "share"):
        table.add_column(col, justify="right" if col in ("lines", "share") else "left",
                         no_wrap=col in ("lines", "share"))
    for m in i.moves:
        table.add_row(m.platform or "?", m.app_version or "—", _state(m.from_state, m.from_reason),
                      _state(m.to_state, m.to_reason), f"{m.lines:,}", _pct(m.share))
    console.print(table)
    console.print("[bold]Sample event ids[/] (JSON and markdown add the changes and a query per row):")
    for m in i.moves:
        console.print(f"  {escape(m.platform or '?')} {escape(m.app_version or '—')} "
                      f"{escape(_state(m.from_state, m.from_reason))} → {escape(_state(m.to_state, m.to_reason))}: "
                      f"{escape(', '.join(m.sample_event_ids))}")
