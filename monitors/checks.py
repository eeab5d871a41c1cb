"""The gate's checks as data: one rule per check, each a threshold over one metric of a batch.

A batch is one platform's part of one load. Thresholds are relative to the scope's own recent
normal (the metric's median over the last `lookback_days` of batches of that platform that arrived
at the same time of day: monitors/normal.py), never below an absolute floor; with no history (cold
start) the absolute `cold_start` applies. Every field can be overridden per check and per platform
in `[monitor]` (config/monitor.py).
docs/monitoring.md lists every rule; a test checks it does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from config.monitor import CheckSettings, MonitorConfig


class Comparison(StrEnum):
    above = "above"  # value > threshold
    deviates = "deviates"  # |value - normal| > threshold
    outside = "outside"  # value outside [lower, upper] of an expectation


class Outcome(StrEnum):
    passed = "passed"
    warn = "warn"
    failed = "failed"
    not_evaluated = "not_evaluated"


@dataclass(frozen=True)
class GateRule:
    name: str
    metric: str  # column of the gate's aggregate query (a count, divided by `per`)
    per: str  # the denominator column: `lines` (in-scope lines), `valid`, `drift_measured`; '' = no division
    comparison: Comparison
    floor: float
    factor: float
    cold_start: float
    min_lines: int
    blocking: bool
    evidence: str  # which lines offend: `reason:<code>`, `duplicate`, `drift`, `volume`
    doc: str
    limit: float | None = None  # drift: seconds a clock may be off

    def with_settings(self, s: CheckSettings | None) -> GateRule:
        if s is None:
            return self
        return replace(self, **{k: v for k, v in s.model_dump().items() if v is not None})


def _reason(code: str, name: str, doc: str, *, floor: float = 0.02, cold: float = 0.03) -> GateRule:
    return GateRule(name, f"n_{code}", "lines", Comparison.above, floor, 3.0, cold, 100, True, f"reason:{code}", doc)


RULES: tuple[GateRule, ...] = (
    _reason("missing_event_id", "null_event_id", "share of in-scope lines without an event id"),
    _reason("missing_user_id", "null_user_id", "share of in-scope lines without a user id"),
    # Old Android builds send a null workspace on ~1.5 % of events: a healthy normal of its own.
    _reason("missing_workspace_id", "null_workspace_id", "share of in-scope lines without a workspace id",
            floor=0.03, cold=0.05),
    _reason("missing_feature", "null_feature", "share of in-scope lines without a feature"),
    _reason("missing_timestamp", "null_timestamp", "share of in-scope lines without a client time"),
    _reason("unknown_feature", "unknown_feature", "share of in-scope lines whose feature is not in the catalog"),
    _reason("invalid_json", "violation_invalid_json", "share of lines that are not one JSON object"),
    _reason("invalid_timestamp", "violation_invalid_timestamp", "share of lines whose client time cannot be read"),
    _reason("too_late", "violation_too_late", "share of lines that arrived more than 72 h after the event",
            floor=0.03, cold=0.04),
    GateRule("duplicate_rate", "n_duplicate", "valid", Comparison.above, 0.10, 3.0, 0.15, 100, False, "duplicate",
             "share of valid lines whose event id was already received (earlier in the batch or before)"),
    GateRule("clock_drift", "n_drift", "drift_measured", Comparison.above, 0.10, 2.5, 0.25, 100, False, "drift",
             "share of lines with a send time whose client clock is off by more than `limit` seconds "
             "(received_at - sent_at)", limit=3600.0),
    GateRule("drift_shift", "drift_median", "", Comparison.deviates, 600.0, 0.0, 600.0, 100, False, "drift",
             "median client clock offset (seconds) moved away from the scope's normal median"),
    GateRule("volume", "valid", "", Comparison.outside, 0.0, 0.0, 0.0, 0, False, "volume",
             "new events (valid lines minus duplicates) against the seasonal detector's expectation for the "
             "hours the batch's arrivals cover; where it has none, valid lines against the simple bound "
             "(the same hour's median of the last 7 days, / and x volume_factor)"),
)
RULES_BY_NAME = {r.name: r for r in RULES}


def rule_for(name: str, platform: str, config: MonitorConfig) -> GateRule:
    """The rule with `[monitor.checks.<name>]`, then `[monitor.platforms.<platform>.<name>]` applied."""
    rule = RULES_BY_NAME[name].with_settings(config.checks.get(name))
    return rule.with_settings(config.platforms.get(platform, {}).get(name))


def unknown_check_names(config: MonitorConfig) -> list[str]:
    """Check names in the configuration that no rule has (a typo would silently change nothing)."""
    named = set(config.checks) | {n for per in config.platforms.values() for n in per}
    return sorted(named - set(RULES_BY_NAME))


def threshold(rule: GateRule, normal: float | None, lines: int = 0) -> float:
    """The scope's threshold: factor x its normal, never below the floor; cold start without a normal.
    A share (`per` set) gets the sampling noise of a batch of `lines` on top (3 binomial standard
    errors), so a small batch is not held for a handful of lines a healthy day also has."""
    base = rule.cold_start if normal is None else max(rule.floor, rule.factor * abs(normal))
    if rule.per and lines > 0 and 0 < base < 1:
        base += 3 * math.sqrt(base * (1 - base) / lines)
    return base


def judge(rule: GateRule, value: float | None, normal: float | None, lines: int,
          bounds: tuple[float, float] | None = None) -> tuple[Outcome, float | None]:
    """(outcome, threshold) of one check; pure."""
    if value is None or lines < rule.min_lines:
        return Outcome.not_evaluated, None
    bad = Outcome.failed if rule.blocking else Outcome.warn
    if rule.comparison is Comparison.outside:
        if bounds is None:
            return Outcome.not_evaluated, None
        lower, upper = bounds
        return (bad if value < lower or value > upper else Outcome.passed), (upper if value > upper else lower)
    limit = threshold(rule, normal, lines)
    if rule.comparison is Comparison.deviates:
        return (bad if abs(value - (normal or 0.0)) > limit else Outcome.passed), limit
    return (bad if value > limit else Outcome.passed), limit
