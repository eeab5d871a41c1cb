"""`nova trust --html`: one self-contained HTML file a PM reads without help.

plotly draws the charts; its JavaScript is embedded once, inline, so the file opens with no network
(attach it to Slack, put it in a bucket). The first screen answers "can I trust today's numbers?"
in one sentence, then shows the score of every platform and area; below come the usage of a
chosen scope against its expected band (problem periods shaded), the score history and every reason.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from config.trust import TrustConfig
from monitors.trust.definition import COMPONENTS, TrustScore

GRADE_COLORS = {"A": "#1a9850", "B": "#91cf60", "C": "#fdae61", "D": "#f46d43", "F": "#d73027"}
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def _color(grade: str) -> str:
    return GRADE_COLORS.get(grade, "#888888")


def _score_bars(scores: Sequence[TrustScore], title: str) -> go.Figure:
    ordered = sorted(scores, key=lambda s: (s.score, s.label))
    fig = go.Figure(go.Bar(
        x=[s.score for s in ordered], y=[s.label for s in ordered], orientation="h",
        marker_color=[_color(s.grade) for s in ordered],
        text=[f"{s.score:.0f} ({s.grade})" for s in ordered], textposition="inside", insidetextanchor="end",
        customdata=[("<br>".join(html.escape(r) for r in s.reasons[:3]) or "nothing wrong found") for s in ordered],
        hovertemplate="<b>%{y}</b>: %{x:.0f}<br>%{customdata}<extra></extra>", name=title))
    fig.update_layout(title=title, xaxis={"range": [0, 100.5], "dtick": 20,
                                          "title": "trust score (100 = nothing wrong found)"},
                      height=max(220, 34 * len(ordered) + 90), margin={"l": 10, "r": 10, "t": 40, "b": 40},
                      plot_bgcolor="white", bargap=0.25)
    return fig


def _windows(score: TrustScore, day: dt.date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shaded periods (unusual volume) and marked moments (a problem started, an incident opened)."""
    start = dt.datetime.combine(day, dt.time())
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for comp in score.components.values():
        for d in comp.get("deductions", []):
            for w in d.get("windows", []) or []:
                x0, x1 = start + dt.timedelta(hours=w["start_hour"]), start + dt.timedelta(hours=w["end_hour"])
                shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": x0.isoformat(),
                               "x1": x1.isoformat(), "y0": 0, "y1": 1, "fillcolor": "rgba(215,48,39,0.12)",
                               "line": {"width": 0}, "layer": "below"})
            if d.get("since"):
                shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": d["since"], "x1": d["since"],
                               "y0": 0, "y1": 1, "line": {"color": "#d73027", "dash": "dot", "width": 2}})
                label = d["reason"].split(": ", 1)[-1].split(" (")[0]
                notes.append({"x": d["since"], "y": 1, "xref": "x", "yref": "paper", "text": html.escape(label[:60]),
                              "showarrow": False, "yanchor": "bottom", "font": {"color": "#d73027", "size": 11}})
    return shapes, notes


def _usage(scores: Sequence[TrustScore], day: dt.date, selected: TrustScore) -> go.Figure:
    """Observed events per hour against the expected band, one scope at a time (menu to switch)."""
    hours = [(dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=h)).isoformat() for h in range(24)]
    fig = go.Figure()
    choices = [s for s in scores if "observed" in s.components.get("volume", {})]
    buttons = []
    for i, s in enumerate(choices):
        v = s.components["volume"]
        n = v.get("hours", 24)
        show = s is selected
        fig.add_trace(go.Scatter(x=hours, y=v["upper"], mode="lines", line={"width": 0}, hoverinfo="skip",
                                 showlegend=False, visible=show, name="upper"))
        fig.add_trace(go.Scatter(x=hours, y=v["lower"], mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor="rgba(120,120,120,0.2)", name="expected band", visible=show,
                                 hovertemplate="expected %{y:.0f} or more<extra></extra>"))
        fig.add_trace(go.Scatter(x=hours, y=v["expected"], mode="lines", line={"color": "#777", "dash": "dash"},
                                 name="expected", visible=show))
        fig.add_trace(go.Scatter(x=hours[:n], y=v["observed"][:n], mode="lines+markers",
                                 line={"color": "#2166ac", "width": 3}, name="events received", visible=show))
        shapes, notes = _windows(s, day)
        visible = [False] * (4 * len(choices))
        visible[4 * i: 4 * i + 4] = [True] * 4
        title = f"Usage of {s.label}: events per hour against the expected band"
        buttons.append({"label": f"{s.label} ({s.score:.0f})", "method": "update",
                        "args": [{"visible": visible}, {"shapes": shapes, "annotations": notes, "title": title}]})
        if show:
            fig.update_layout(shapes=shapes, annotations=notes, title=title)
    fig.update_layout(
        updatemenus=[{"buttons": buttons, "direction": "down", "x": 1.0, "xanchor": "right", "y": 1.22,
                      "yanchor": "top", "active": choices.index(selected) if selected in choices else 0}],
        height=420, margin={"l": 50, "r": 10, "t": 90, "b": 40}, plot_bgcolor="white",
        yaxis={"title": "events per hour", "rangemode": "tozero"}, xaxis={"tickformat": "%H:%M"},
        legend={"orientation": "h", "y": -0.15})
    return fig


def _history(history: dict[tuple[str, str], dict[dt.date, float]], labels: dict[tuple[str, str], str]) -> go.Figure:
    fig = go.Figure()
    for key in sorted(history):
        if key[0] not in ("platform", "area") or key not in labels:
            continue
        points = sorted(history[key].items())
        # Areas that stayed clean are in the legend only (click to show): the chart stays readable.
        quiet = key[0] == "area" and min(v for _, v in points) >= 95
        fig.add_trace(go.Scatter(x=[d.isoformat() for d, _ in points], y=[v for _, v in points],
                                 mode="lines+markers", name=labels[key], visible="legendonly" if quiet else True,
                                 line={"dash": "solid" if key[0] == "platform" else "dot"}))
    fig.update_layout(title="Score history (platforms solid, areas dotted; clean areas: click their name)",
                      yaxis={"range": [0, 101], "title": "trust score"}, height=380,
                      margin={"l": 50, "r": 10, "t": 40, "b": 40},
                      plot_bgcolor="white", xaxis={"type": "category", "title": "day"})
    return fig


def _short(reason: str) -> str:
    """A reason for the first screen: without its size and the technical tail after the first ';'."""
    text = reason.split(": ", 1)[-1]
    head, sep, _ = text.partition(";")
    return head + (")" if sep and head.count("(") > head.count(")") else "")


def _verdict(scores: Sequence[TrustScore], cfg: TrustConfig) -> tuple[str, str]:
    """The one sentence of the first screen, and its colour (the worst grade shown)."""
    shown = [s for s in scores if s.scope_type in ("platform", "area")]
    bad = sorted((s for s in shown if s.reasons and s.score < 95), key=lambda s: s.score)
    if not bad:
        return "Yes. No problem was found in this day's data: every platform and product area scores 95 or more.", "A"
    worst = bad[0]
    opening = {"B": "Yes, with small caveats", "C": "Mostly, with care"}.get(worst.grade, "Not for everything")
    names = ", ".join(f"{s.label} ({s.score:.0f})" for s in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    verb = "has" if len(bad) == 1 else "have"
    return (f"{opening}: {names}{more} {verb} problems; the other {len(shown) - len(bad)} platforms and areas "
            f"look fine. Biggest issue: {_short(worst.reasons[0])}.", worst.grade)


def _top_problems(scores: Sequence[TrustScore], n: int = 4) -> list[tuple[str, str]]:
    """The biggest distinct problems of the platforms (then areas), in short: one line each."""
    seen: set[str] = set()
    out = []
    ranked = sorted((s for s in scores if s.scope_type in ("platform", "area") and s.reasons and s.score < 95),
                    key=lambda s: (s.scope_type != "platform", s.score))
    for s in ranked:
        text = _short(s.reasons[0])
        key = text.split(" since ")[0].split(" between ")[0]
        if key not in seen:
            seen.add(key)
            out.append((f"{s.label} ({s.score:.0f})", text))
    return out[:n]


def _reasons_table(scores: Sequence[TrustScore]) -> str:
    rows = []
    order = {"table": 0, "platform": 1, "area": 2, "feature": 3}
    for s in sorted(scores, key=lambda s: (order.get(s.scope_type, 9), s.score, s.label)):
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in s.reasons) or (
            f"<li class=dim>{html.escape(s.unjudged_note())}</li>" if s.unjudged_note()
            else "<li class=ok>nothing wrong found</li>")
        rows.append(f"<tr><td>{html.escape(s.scope_type)}</td><td>{html.escape(s.label)}</td>"
                    f"<td class=num>{s.score:.0f}</td><td><span class=grade style='background:{_color(s.grade)}'>"
                    f"{html.escape(s.grade)}</span></td><td><ul>{reasons}</ul></td></tr>")
    return ("<table class=reasons><thead><tr><th>kind</th><th>scope</th><th>score</th><th>grade</th>"
            "<th>why points were taken off</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def render_report(scores: Sequence[TrustScore], history: dict[tuple[str, str], dict[dt.date, float]],
                  cfg: TrustConfig, day: dt.date, generated_at: dt.datetime, selected: TrustScore | None = None) -> str:
    platforms = [s for s in scores if s.scope_type == "platform"]
    areas = [s for s in scores if s.scope_type == "area"]
    if selected is None:
        candidates = platforms + areas or list(scores)
        selected = min(candidates, key=lambda s: (s.score, s.label)) if candidates else None
    verdict, grade = _verdict(scores, cfg)
    labels = {(s.scope_type, s.scope): s.label for s in scores}
    figs = []
    if platforms:
        figs.append(_score_bars(platforms, "Platforms"))
    if areas:
        figs.append(_score_bars(areas, "Product areas"))
    parts = [pio.to_html(f, include_plotlyjs=(i == 0), full_html=False, config=PLOT_CONFIG)
             for i, f in enumerate(figs)]
    usage = _usage(scores, day, selected) if selected is not None else None
    usage_html = pio.to_html(usage, include_plotlyjs=not parts, full_html=False, config=PLOT_CONFIG) if usage else ""
    hist_html = pio.to_html(_history(history, labels), include_plotlyjs=False, full_html=False, config=PLOT_CONFIG)
    legend = "".join(f"<li><span class=grade style='background:{_color(g.grade)}'>{html.escape(g.grade)}</span> "
                     f"{g.min_score:g} or more: {html.escape(g.meaning)}</li>" for g in cfg.grades)
    components = "".join(f"<li><b>{html.escape(c.title)}</b> (up to {cfg.weight(c.name):g} points): "
                         f"{html.escape(c.question)} <span class=dim>Measured as the {html.escape(c.measure)}."
                         "</span></li>" for c in COMPONENTS.values())
    problems = _top_problems(scores)
    if parts and problems:  # under the platforms' bars, beside the areas: what is wrong, in short
        parts[0] += ("<div class=problems><b>What is wrong today</b><ul>" + "".join(
            f"<li><b>{html.escape(label)}</b>: {html.escape(text)}</li>" for label, text in problems) + "</ul></div>")
    bars = "".join(f"<div class=half>{p}</div>" for p in parts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Can we trust the usage numbers? {day:%a %d %b %Y}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 16px 24px; color: #222; }}
h1 {{ font-size: 26px; margin: 8px 0 4px; }}
h2 {{ font-size: 20px; margin: 28px 0 6px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }}
.verdict {{ font-size: 18px; padding: 12px 16px; border-left: 8px solid {_color(grade)}; background: #f7f7f7; }}
.explain {{ color: #444; font-size: 14px; }}
.grades {{ list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 13px; }}
.grade {{ display: inline-block; min-width: 20px; text-align: center; color: white; font-weight: bold;
          border-radius: 4px; padding: 0 4px; }}
.half {{ display: inline-block; width: 49%; vertical-align: top; }}
@media (max-width: 900px) {{ .half {{ width: 100%; }} }}
table.reasons {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
table.reasons td, table.reasons th {{ border-bottom: 1px solid #eee; padding: 4px 6px; text-align: left;
                                     vertical-align: top; }}
table.reasons ul {{ margin: 0; padding-left: 18px; }}
.num {{ text-align: right; }} .ok {{ color: #1a9850; list-style: none; margin-left: -18px; }}
.dim {{ color: #666; }}
.problems {{ font-size: 14px; margin: 0 10px; }} .problems ul {{ padding-left: 18px; margin: 4px 0; }}
footer {{ color: #777; font-size: 12px; margin-top: 30px; }}
</style></head><body>
<h1>Can we trust the feature-usage numbers of {day:%A %d %B %Y}?</h1>
<p class="verdict" id="verdict">{html.escape(verdict)}</p>
<p class="explain">Each platform and product area gets a <b>trust score from 0 to 100</b>: 100 means our checks
found nothing wrong with the events behind its numbers; points are taken off for each problem found, and every
deduction is explained below. Hover over a bar to read why. Times are UTC.</p>
<ul class="grades">{legend}</ul>
<div id="scores">{bars}</div>
<h2>Usage against what we expected</h2>
<p class="explain">Events received per hour for one scope (pick another in the menu at the top right). The grey
band is the range we expected, from the other platforms' traffic of the hour and the scope's usual ratio to it;
red shading marks hours outside it, dotted red lines mark when a problem started or an incident was opened.</p>
<div id="usage">{usage_html}</div>
<h2>Score history</h2>
<div id="history">{hist_html}</div>
<h2>Every score and its reasons</h2>
{_reasons_table(scores)}
<h2>How the score is computed</h2>
<p class="explain">A scope starts at 100. Each of these checks can take off up to its points, in proportion to how
bad the measurement is (nothing below a tolerated level, everything at a clearly broken level). Problems found on
a part of a scope (an incident on one feature, one platform) count in proportion to that part's share of the
scope's events.</p>
<ul class="explain">{components}</ul>
<footer>NovaSuite data platform, trust scores for {day.isoformat()}, generated {generated_at:%Y-%m-%d %H:%M} UTC by
<code>nova trust --html</code>. Tables, platforms, areas and features: see <code>nova trust</code>; stored in the
warehouse table <code>trust_scores</code> (latest per scope: <code>trust_scores_latest</code>).</footer>
</body></html>
"""
