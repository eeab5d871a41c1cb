"""Settings of the trust scores (`[trust]` in the TOML file; docs/trust.md explains each one)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator, model_validator

# The measured components, in the order they are shown; monitors.trust.definition describes each.
COMPONENT_NAMES = ("freshness", "completeness", "validity", "uniqueness", "volume", "incidents", "late")


class GradeBand(BaseModel):
    grade: str = Field(description="Letter shown beside the score")
    min_score: float = Field(ge=0, le=100, description="Lowest score that still gets this grade")
    meaning: str = Field(description="What the grade tells a PM, in one line")


DEFAULT_GRADES = [
    GradeBand(grade="A", min_score=95, meaning="trust the numbers"),
    GradeBand(grade="B", min_score=85, meaning="usable; read the reasons before quoting exact figures"),
    GradeBand(grade="C", min_score=70, meaning="use with care: part of the data is missing or wrong"),
    GradeBand(grade="D", min_score=50, meaning="do not report yet: a known problem distorts the numbers"),
    GradeBand(grade="F", min_score=0, meaning="broken: the numbers do not describe real usage"),
]


class TrustConfig(BaseModel):
    weights: dict[str, float] = Field(
        default_factory=lambda: {"freshness": 15, "completeness": 10, "validity": 20, "uniqueness": 5,
                                 "volume": 20, "incidents": 20, "late": 10},
        description="Points each component can take off the score of 100 (they should add up to 100)")
    thresholds: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {"freshness": (1.0, 4.0), "completeness": (0.03, 0.15),
                                 "validity": (0.02, 0.10), "uniqueness": (0.15, 0.50),
                                 "volume": (0.03, 0.25), "incidents": (0.0, 0.10), "late": (0.03, 0.20)},
        description="Per component (ok, bad): at or below ok nothing is taken off, at bad the full weight, "
                    "linear between. Rates are shares of the scope's events; freshness is in multiples of "
                    "the service level; incidents is the share of events held back by the gate")
    grades: list[GradeBand] = Field(default_factory=lambda: list(DEFAULT_GRADES),
                                    description="Grade bands, highest first: the first whose min_score the "
                                                "score reaches")
    followed_features: list[str] = Field(
        default_factory=lambda: ["editor.comments", "editor.ai_assist", "chat.threads"],
        description="Features always scored (besides the areas and the top features by volume)")
    top_features: int = Field(10, ge=0, description="Also score the N busiest features of the day (below the areas)")
    trend_days: int = Field(7, ge=1, le=60, description="Days of history shown as the trend")
    baseline_days: int = Field(7, ge=1, le=60,
                               description="Past days the volume baseline and the late-data profile are read from")
    freshness_sla_minutes: float = Field(15, gt=0, description="Service level: an event is in the curated tables "
                                         "this many minutes after it arrived")
    silence_minutes: float = Field(60, gt=0, description="No event at all from any platform for this long counts "
                                   "as stale data")
    volume_sigmas: float = Field(5.5, gt=0, description="Width of the expected volume band in Poisson standard "
                                 "deviations of the expected count (usage is burstier than Poisson: 5.5 ~ 4 sigma "
                                 "at twice the Poisson variance)")
    volume_min_relative: float = Field(0.25, ge=0, description="The band is at least this share of the expected count")
    min_events: int = Field(20, ge=0, description="Below this many events in a scope's day, rates are not judged")
    incident_severity: dict[str, float] = Field(
        default_factory=lambda: {"critical": 1.0, "high": 0.7, "error": 0.7, "failed": 0.7, "medium": 0.4,
                                 "warning": 0.4, "warn": 0.4, "low": 0.2, "info": 0.1},
        description="Share of the incidents weight an open incident of this severity takes off (unknown: 0.5)")

    @field_validator("weights", "thresholds")
    @classmethod
    def _known_components(cls, value: dict) -> dict:
        unknown = set(value) - set(COMPONENT_NAMES)
        if unknown:
            raise ValueError(f"unknown component(s) {sorted(unknown)}; known: {', '.join(COMPONENT_NAMES)}")
        return value

    @model_validator(mode="after")
    def _bands(self) -> TrustConfig:
        for name, (ok, bad) in self.thresholds.items():
            if bad <= ok:
                raise ValueError(f"thresholds.{name}: bad ({bad}) must be above ok ({ok})")
        self.grades = sorted(self.grades, key=lambda g: -g.min_score)
        if not self.grades or self.grades[-1].min_score > 0:
            raise ValueError("grades: the lowest band must start at 0")
        return self

    def weight(self, component: str) -> float:
        return float(self.weights.get(component, 0.0))

    def threshold(self, component: str) -> tuple[float, float]:
        default = TrustConfig.model_fields["thresholds"].default_factory()  # type: ignore[misc]
        return tuple(self.thresholds.get(component, default[component]))  # type: ignore[return-value]
