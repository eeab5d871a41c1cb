"""Settings of the monitor: the gate's thresholds per check and per platform, the table checks' service levels.

In TOML: `[monitor]`, `[monitor.checks.<check>]` (every platform) and
`[monitor.platforms.<platform>.<check>]` (one platform; wins over the former). A field left out
keeps the rule table's default (monitors/checks.py, documented in docs/monitoring.md).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CheckSettings(BaseModel):
    """Overrides of one gate check; None keeps the rule's default."""

    model_config = ConfigDict(extra="forbid")

    floor: float | None = Field(None, ge=0, description="the threshold is never below this (absolute floor)")
    factor: float | None = Field(None, ge=0, description="threshold = factor x the scope's recent normal")
    cold_start: float | None = Field(None, ge=0, description="threshold while the scope has no recent normal")
    min_lines: int | None = Field(None, ge=0, description="below this many lines the check is not evaluated")
    blocking: bool | None = Field(None, description="a failure holds the batch (else it warns)")
    limit: float | None = Field(None, gt=0, description="drift checks: seconds a client clock may be off")


class MonitorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lookback_days: int = Field(7, ge=1, description="days of history that make a scope's recent normal")
    min_history: int = Field(3, ge=1, description="batches of history needed before the normal is used")
    normal_window_hours: float = Field(
        1.0, gt=0, le=12, description="rate checks: the normal is over history arriving within ± this many hours "
                                      "of the part's time of day (circular; 12 = all hours)")
    volume_factor: float = Field(5.0, gt=1, description="volume bound: the hour's median of the lookback / and x this")
    raw_freshness_minutes: float = Field(2, gt=0, description="service level: raw queryable after landing")
    curated_freshness_minutes: float = Field(15, gt=0, description="service level: curated after landing")
    late_share_warn: float = Field(0.10, ge=0, le=1, description="table check: share of late events that warns")
    quarantine_growth_factor: float = Field(
        3.0, gt=1, description="table check: quarantined lines of the last day vs the daily median of the lookback")
    null_rate_warn: float = Field(0.0, ge=0, le=1, description="table check: share of NULL keys in curated tables")
    soda: bool = Field(True, description="run the Soda contracts generated from our contracts each round")
    soda_freshness_hours: float = Field(
        6.0, gt=0, description="Soda freshness: newest received_at of fct_feature_events younger than this")
    checks: dict[str, CheckSettings] = Field(default_factory=dict,
                                             description="per check name, for every platform")
    platforms: dict[str, dict[str, CheckSettings]] = Field(
        default_factory=dict, description="per platform, per check name (wins over `checks`)")
