"""Settings of the alerts (section `[alerts]`): routing, mentions, pacing, retries, grouping."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AlertsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: dict[str, str] = Field(
        default_factory=dict,
        description="Owning team → Slack channel (a channel ID like C0123ABCD, or #name). Teams come from the "
                    "registry: the catalog owner of the feature, else the contract owner of the platform. "
                    "Unmapped teams go to slack_default_channel.")
    mentions: dict[str, str] = Field(
        default_factory=lambda: {"critical": "<!here>", "high": "", "warning": ""},
        description="Severity → text put in front of the first message (e.g. <!here>, <!subteam^S0123>); "
                    "empty for none.")
    quiet_minutes: float = Field(
        30.0, ge=0, description="Minimum minutes between two update messages of one incident; updates in between "
                                "are folded into the next one (the opening and the resolution are never held).")
    grouping_window_minutes: float = Field(
        360.0, gt=0, description="Anomalies of one series and its parents/children this close in time form one "
                                 "incident.")
    backoff_seconds: float = Field(30.0, gt=0, description="First retry delay after a failed send; doubles each "
                                                           "attempt.")
    backoff_max_seconds: float = Field(900.0, gt=0, description="Longest delay between two attempts.")
    timeout_seconds: float = Field(10.0, gt=0, description="HTTP timeout of one Slack call.")
    cause_min_share: float = Field(0.5, gt=0, le=1, description="A value is a likely cause only if at least this "
                                                                "share of the failing lines carry it.")
    cause_min_lift: float = Field(3.0, ge=1, description="... and it is this many times more common among the "
                                                         "failing lines than in the scope's normal.")
    cause_min_lines: int = Field(20, ge=1, description="... and at least this many failing lines carry it.")
    baseline_days: int = Field(7, ge=1, description="Days of staged events before a batch that make the scope's "
                                                    "normal for the likely cause.")
