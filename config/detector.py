"""Settings of the seasonal volume-anomaly detector (`[detector]` in the TOML files, docs/monitoring-detector.md)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Holiday(BaseModel):
    """A day whose volume is expected to be low (the whole UTC day)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date = Field(description="the UTC day")
    name: str = Field("", description="shown in the alert's evidence")


class DetectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket_minutes: int = Field(60, ge=5, le=1440, description="bucket size of the series, minutes (divides a day)")
    min_history_days: float = Field(3.0, ge=1, description="below this much usable history a series is not judged")
    weekly_history_days: float = Field(
        7.0, ge=7, description="history from which the hour-of-week model is used (below: daily cycle only, "
                               "wider band, confidence low)")
    baseline_weeks: int = Field(4, ge=1, le=12, description="past weeks whose same slot forms the expected value")
    fdr_level: float = Field(0.001, gt=0, lt=1, description="Benjamini-Hochberg false-discovery level, across all "
                                                            "series judged at one bucket")
    min_relative_change: float = Field(0.25, ge=0, description="a bucket alerts only if it also differs from the "
                                                               "expected value by at least this share")
    min_abs_change: float = Field(10.0, ge=0, description="... and by at least this many events (a bucket of a "
                                                         "small series moving by a handful of events is noise)")
    cold_start_band_factor: float = Field(2.5, ge=1, description="band widening while only the daily cycle is known")
    near_zero_share: float = Field(0.1, ge=0, lt=1, description="a drop below this share of the expected value is "
                                                                "'near zero': severity critical")
    holiday_floor_share: float = Field(0.05, ge=0, lt=1, description="on a holiday a drop alerts only below this "
                                                                     "share of a regular day's expected value")
    holidays: list[Holiday] = Field(default_factory=list, description="expected low days (calendar)")
    readiness_share: float = Field(0.05, gt=0, lt=1, description="judge a bucket only once the share of its events "
                                                                 "still to come is at most this")
    delay_sample_days: int = Field(7, ge=1, description="days of staged events the arrival-delay distribution "
                                                        "(received_at - event_ts) is measured on")
    top_features: int = Field(20, ge=0, description="features (one level below an area) watched by volume")
    important_features: list[str] = Field(default_factory=list, description="features always watched (any level)")
    max_catchup_days: int = Field(14, ge=1, description="a first round judges at most this many past days")
    relearn_after_hours: int = Field(48, ge=1, description="an episode longer than this is taken as the new "
                                                           "normal: its buckets enter the baseline again")
    forecast_buckets: int = Field(24, ge=0, description="expectations stored ahead of the judged buckets (gate, "
                                                        "charts)")

    @field_validator("bucket_minutes")
    @classmethod
    def _divides_day(cls, v: int) -> int:
        if 1440 % v:
            raise ValueError("bucket_minutes must divide a day (1440 minutes)")
        return v

    @property
    def bucket_seconds(self) -> int:
        return self.bucket_minutes * 60

    def holiday_names(self) -> dict[dt.date, str]:
        return {h.date: h.name for h in self.holidays}
