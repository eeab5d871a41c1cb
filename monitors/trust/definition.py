"""What a trust score is, as data and pure functions (no warehouse here).

A scope (a curated table, a platform, a top-level area or a feature) starts at 100. Each component
measures one way its numbers can be wrong and takes off up to its weight (config `[trust] weights`),
linearly between an `ok` and a `bad` level (`[trust] thresholds`). Every deduction carries a
reason written for a PM: what is wrong, since when, how big, and where we saw it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from config.trust import COMPONENT_NAMES, GradeBand, TrustConfig

SCOPE_TYPES = ("table", "platform", "area", "feature")


@dataclass(frozen=True)
class Component:
    name: str
    title: str
    question: str  # what it answers for a PM
    measure: str  # how it is measured


COMPONENTS: dict[str, Component] = {c.name: c for c in (
    Component("freshness", "Freshness", "Is the data up to date?",
              "age of the oldest event that arrived but is not yet in the curated tables, against the service "
              "level; and how long no event arrived from any platform"),
    Component("completeness", "Completeness", "Do events carry who, where, what and when?",
              "share of the scope's events quarantined for a missing key (missing_event_id, missing_user_id, "
              "missing_workspace_id, missing_feature, missing_timestamp)"),
    Component("validity", "Validity", "Do events follow their contract?",
              "share quarantined for an unknown feature id, an unreadable time, a line that is not JSON, or "
              "arriving more than 72 h late (unknown_feature, invalid_timestamp, invalid_json, too_late)"),
    Component("uniqueness", "Uniqueness", "Is each event sent once?",
              "share of the scope's events that arrived more than once (the copies are removed, but a storm of "
              "retries is a sign of a client or collector problem)"),
    Component("volume", "Volume", "Is the amount of usage normal?",
              "events outside the expected band, hour by hour, as a share of the expected day (the detector's "
              "band when it stored one, else the scope's usual ratio to the other platforms' traffic)"),
    Component("incidents", "Held data and incidents", "Is part of the data held back or under investigation?",
              "share of the scope's events held by the quality gate, plus open incidents touching the scope "
              "(weighted by severity and by the incident's share of the scope's volume)"),
    Component("late", "Late data", "Is part of the day still to come?",
              "share of the day's events expected to arrive later (phones offline, retries), from how late "
              "each platform's events arrived over the past days"),
)}
assert tuple(COMPONENTS) == COMPONENT_NAMES

MIN_LINES = 5  # a rate resting on fewer problem lines than this is noise, not a finding
MIN_PROFILE_EVENTS = 200  # a late-data profile from fewer past events is not a profile
MIN_GAP = 10.0  # a volume gap of fewer events than this is noise
PLATFORM_LABELS = {"web": "Web", "ios": "iOS", "android": "Android", "backend": "Backend"}

# Quarantine reason codes by component (SEMANTICS steps 1-7).
COMPLETENESS_REASONS = ("missing_event_id", "missing_user_id", "missing_workspace_id", "missing_feature",
                        "missing_timestamp")
VALIDITY_REASONS = ("unknown_feature", "invalid_timestamp", "invalid_json", "too_late")
REASON_WORDS = {
    "missing_event_id": "arrive without an event id",
    "missing_user_id": "arrive without a user id",
    "missing_workspace_id": "arrive without a workspace id",
    "missing_feature": "arrive without a feature",
    "missing_timestamp": "arrive without a time",
    "unknown_feature": "send unknown feature ids",
    "invalid_timestamp": "send unreadable times",
    "invalid_json": "arrive as broken lines (not JSON)",
    "too_late": "arrive more than 72 h late",
}


@dataclass(frozen=True)
class Scope:
    scope_type: str
    scope: str
    label: str
    platform: str | None = None  # None: all platforms
    feature: str | None = None  # None: all features; else the subtree of this catalog id


@dataclass
class Deduction:
    component: str
    points: float
    text: str  # the reason without its size
    source: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def reason(self) -> str:
        return f"{minus(self.points)}: {self.text}"


@dataclass
class TrustScore:
    day: dt.date
    scope_type: str
    scope: str
    label: str
    score: float
    grade: str
    components: dict[str, dict[str, Any]]
    reasons: list[str]
    platform: str | None = None  # set when an area or feature is scored on one platform only

    def unjudged_note(self) -> str:
        """For a scope without deductions: '' when clean, else why its rates were not judged."""
        unjudged = [c for c in self.components.values() if c.get("judged") is False and c.get("events")]
        if not unjudged:
            return ""
        bad = max(c["events"] for c in unjudged)
        return f"too few events to judge ({unjudged[0]['of']} today, {bad} with a problem)"

    def as_json(self) -> dict[str, Any]:
        out = {"day": self.day.isoformat(), "scope_type": self.scope_type, "scope": self.scope,
               "label": self.label, "score": self.score, "grade": self.grade, "reasons": self.reasons,
               "components": self.components}
        if self.platform:
            out["platform"] = self.platform
        return out


# --- pure scoring --------------------------------------------------------------------------------
def badness(value: float, ok: float, bad: float) -> float:
    """0 at or below `ok`, 1 at or above `bad`, linear between."""
    if value <= ok:
        return 0.0
    if value >= bad:
        return 1.0
    return (value - ok) / (bad - ok)


def points(cfg: TrustConfig, component: str, value: float) -> float:
    ok, bad = cfg.threshold(component)
    return cfg.weight(component) * badness(value, ok, bad)


def grade_for(score: float, grades: Sequence[GradeBand]) -> GradeBand:
    for band in sorted(grades, key=lambda g: -g.min_score):
        if score >= band.min_score:
            return band
    return grades[-1]


def roll_up(points_at_child: float, child_volume: float, parent_volume: float) -> float:
    """A deduction found on a part of a scope counts in proportion to that part's share of the scope's
    volume: an incident on editor.comments.mention (5 % of Editor) takes 5 % of its points off Editor."""
    if parent_volume <= 0:
        return points_at_child
    return points_at_child * min(1.0, max(0.0, child_volume / parent_volume))


def minus(value: float) -> str:
    return f"\u2212{round(value):d}"


def pct(share: float) -> str:
    """A share as a PM reads it: 12 %, 0.4 %, <0.1 %."""
    value = 100 * share
    if value >= 10 or value == 0:
        return f"{value:.0f} %"
    if value >= 0.1:
        return f"{value:.1f} %"
    return "<0.1 %"


def duration(minutes: float) -> str:
    minutes = round(minutes)
    if minutes < 60:
        return f"{minutes} min"
    h, m = divmod(minutes, 60)
    if h >= 48:
        return f"{h // 24} days"
    return f"{h} h {m:02d} min" if m else f"{h} h"


def score_scope(cfg: TrustConfig, deductions: Sequence[Deduction],
                measured: dict[str, dict[str, Any]]) -> tuple[float, GradeBand, dict[str, dict[str, Any]], list[str]]:
    """Score, grade, components (JSON-ready) and reasons from the deductions of one scope. A component
    never takes off more than its weight; reasons are sorted by size, those under half a point dropped."""
    components: dict[str, dict[str, Any]] = {}
    for name in COMPONENT_NAMES:
        mine = [d for d in deductions if d.component == name]
        weight = cfg.weight(name)
        raw = sum(d.points for d in mine)
        taken = min(weight, raw)
        scale = taken / raw if raw > 0 else 0.0
        for d in mine:
            d.points *= scale
        components[name] = {"weight": weight, "points": round(taken, 2), **measured.get(name, {}),
                            "deductions": [{"points": round(d.points, 2), "reason": d.reason(), "source": d.source,
                                            **d.evidence} for d in mine]}
    total = 100.0 - sum(c["points"] for c in components.values())
    score = round(max(0.0, min(100.0, total)), 1)
    kept = sorted((d for d in deductions if d.points >= 0.5), key=lambda d: -d.points)
    return score, grade_for(score, cfg.grades), components, [d.reason() for d in kept]


# --- volume: observed against an expected band --------------------------------------------------
@dataclass(frozen=True)
class VolumeRun:
    start_hour: int
    end_hour: int  # exclusive
    observed: float
    expected: float

    @property
    def gap(self) -> float:
        return self.observed - self.expected


def band(expected: float, sigmas: float, min_relative: float) -> float:
    """Half-width of the expected band: Poisson noise, and at least a share of the expectation."""
    return max(sigmas * math.sqrt(max(expected, 0.0)), min_relative * expected, MIN_GAP)


def volume_runs(observed: Sequence[float], expected: Sequence[float], sigmas: float,
                min_relative: float, lower: Sequence[float] | None = None,
                upper: Sequence[float] | None = None) -> list[VolumeRun]:
    """Hours grouped into runs of the same sign (below / above expectation); a run is flagged when its
    total leaves the band of its total expectation (or, with the detector's hourly band, when every
    hour of it is outside that band). Runs let a 4-hour outage of a small scope show even when each
    hour alone is within the noise."""
    runs: list[VolumeRun] = []
    n = len(observed)
    h = 0
    while h < n:
        sign = observed[h] >= expected[h]
        end = h
        while end < n and (observed[end] >= expected[end]) == sign:
            end += 1
        o, e = float(sum(observed[h:end])), float(sum(expected[h:end]))
        if lower is not None and upper is not None:
            outside = [observed[i] < lower[i] or observed[i] > upper[i] for i in range(h, end)]
            flagged = any(outside)
            if flagged:  # only the hours outside the detector's band count
                idx = [i for i in range(h, end) if outside[i - h]]
                o = float(sum(observed[i] for i in idx))
                e = float(sum(expected[i] for i in idx))
                runs.append(VolumeRun(idx[0], idx[-1] + 1, o, e))
        elif abs(o - e) > band(e, sigmas, min_relative):
            # Edge hours close to their expectation are noise around the real window: trim them.
            lo, hi = h, end
            while hi - lo > 1 and abs(observed[lo] - expected[lo]) < min_relative * expected[lo]:
                lo += 1
            while hi - lo > 1 and abs(observed[hi - 1] - expected[hi - 1]) < min_relative * expected[hi - 1]:
                hi -= 1
            runs.append(VolumeRun(lo, hi, float(sum(observed[lo:hi])), float(sum(expected[lo:hi]))))
        h = end
    return runs


def late_share(late: float, total: float) -> float:
    return late / total if total > 0 else 0.0
