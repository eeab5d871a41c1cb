"""What a generator run is: pydantic configuration, quirk rates, incidents and the calendar.

Pure data and pure functions only; `traffic.py` samples from them and `writer.py` touches disk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.model import Platform

# Full-size population the --scale option is a fraction of (8M monthly users, 250K workspaces).
FULL_USERS = 8_000_000
FULL_WORKSPACES = 250_000
# Client calls per day of the full population on a regular weekday.
FULL_EVENTS_PER_DAY = 20_000_000
DEFAULT_START = dt.date(2026, 11, 23)  # a Monday: fixed so a bare `nova generate` is reproducible

# UTC hour-of-day profile: night low, peak in the (European/American overlap) afternoon.
HOURLY = (
    0.25, 0.20, 0.18, 0.18, 0.20, 0.28, 0.40, 0.55, 0.75, 0.90, 1.00, 1.05,
    1.10, 1.20, 1.30, 1.35, 1.30, 1.15, 0.95, 0.80, 0.65, 0.50, 0.40, 0.30,
)
WEEKDAY = (1.00, 1.04, 1.05, 1.02, 0.92, 0.35, 0.30)  # Monday .. Sunday
# Fixed-date holidays (month, day) -> volume factor; Thanksgiving is computed per year.
HOLIDAYS = {(12, 24): 0.45, (12, 25): 0.12, (12, 26): 0.50, (12, 31): 0.50, (1, 1): 0.15}


def thanksgiving(year: int) -> dt.date:
    """Fourth Thursday of November (US): a large share of customers is off."""
    first = dt.date(year, 11, 1)
    return first + dt.timedelta(days=(3 - first.weekday()) % 7 + 21)


def day_factor(day: dt.date) -> float:
    """Volume of `day` relative to a regular weekday (weekly cycle and holidays)."""
    factor = WEEKDAY[day.weekday()]
    tg = thanksgiving(day.year)
    if day == tg:
        factor = min(factor, 0.55)
    elif day == tg + dt.timedelta(days=1):
        factor = min(factor, 0.70)
    return factor * HOLIDAYS.get((day.month, day.day), 1.0)


class QuirkRates(BaseModel):
    """How often each quirk of WIRE_FORMATS.md is injected; 0 switches it off.

    Shares of lines unless the description says otherwise. The defaults are the `realistic` preset.
    """

    model_config = ConfigDict(extra="forbid")

    retry: float = Field(0.02, ge=0, le=1, description="lines sent again (same payload, later received_at)")
    offline_resend: float = Field(0.03, ge=0, le=1, description="iOS events re-sent hours/days later, same id")
    late_flush: float = Field(0.02, ge=0, le=1, description="client events flushed 1-60 h after they happened")
    too_late: float = Field(0.003, ge=0, le=1, description="client events flushed more than 72 h late")
    clock_skew: float = Field(0.05, ge=0, le=1, description="users whose browser clock is hours off")
    clock_ahead: float = Field(0.01, ge=0, le=1, description="users whose devices run minutes-hours ahead")
    web_sdk_below_4: float = Field(0.12, ge=0, le=1, description="web users on SDK < 4.0 (display names)")
    ios_below_5: float = Field(0.20, ge=0, le=1, description="iOS users on app < 5.0 (epoch s, legacy ids)")
    android_below_4_3: float = Field(0.08, ge=0, le=1, description="android users < 4.3 (no offset, no sentAt)")
    android_below_5: float = Field(0.15, ge=0, le=1, description="android users on 4.3-4.x (legacy ids)")
    backend_schema_v1: float = Field(0.20, ge=0, le=1, description="backend events of schema_version 1")
    old_collector: float = Field(0.20, ge=0, le=1, description="backend lines via the old collector")
    android_null_workspace: float = Field(0.015, ge=0, le=1, description="android workspaceId null or empty")
    missing_key: float = Field(0.004, ge=0, le=1, description="events missing one required key")
    invalid_timestamp: float = Field(0.0005, ge=0, le=1, description="events with an unparseable time")
    unknown_feature: float = Field(0.002, ge=0, le=1, description="events with a feature not in the catalog")
    non_leaf: float = Field(0.04, ge=0, le=1, description="feature events sent on a non-leaf id")
    pii: float = Field(0.01, ge=0, le=1, description="events with email/ip/name/phone in properties")
    page_view: float = Field(0.15, ge=0, le=1, description="web calls that are page views")
    identify: float = Field(0.02, ge=0, le=1, description="web calls that are identify calls")
    other_event: float = Field(0.03, ge=0, le=1, description="calls of another event name (out of scope)")
    system_actor: float = Field(0.08, ge=0, le=1, description="backend events of scheduled jobs")
    truncated: float = Field(0.001, ge=0, le=1, description="lines cut short")
    garbage: float = Field(0.0005, ge=0, le=1, description="non-JSON lines (HTML errors, arrays, NUL)")
    two_objects: float = Field(0.0003, ge=0, le=1, description="two JSON objects on one line")
    invalid_utf8: float = Field(0.0001, ge=0, le=1, description="lines with an invalid UTF-8 byte")
    empty_line: float = Field(0.0002, ge=0, le=1, description="empty lines")
    duplicate_file: float = Field(0.02, ge=0, le=1, description="files delivered twice under another name")

    def scaled(self, factor: float) -> QuirkRates:
        """Every rate times `factor`, capped so shares stay meaningful (< 1)."""
        cap = 0.9
        return QuirkRates(**{k: min(cap, v * factor) for k, v in self.model_dump().items()})


QUIRK_PRESETS: dict[str, float] = {"none": 0.0, "low": 0.25, "realistic": 1.0, "high": 3.0, "chaos": 10.0}


def quirk_rates(preset: str = "realistic", overrides: dict[str, float] | None = None) -> QuirkRates:
    """Rates from a preset name or a multiplier ("2.5"), then single rates overridden by name."""
    if preset in QUIRK_PRESETS:
        factor = QUIRK_PRESETS[preset]
    else:
        try:
            factor = float(preset)
        except ValueError:
            names = ", ".join(QUIRK_PRESETS)
            raise ValueError(f"quirks {preset!r}: expected one of {names} or a number") from None
        if factor < 0:
            raise ValueError("quirks multiplier must be >= 0")
    rates = QuirkRates().scaled(factor)
    if overrides:
        unknown = sorted(set(overrides) - set(QuirkRates.model_fields))
        if unknown:
            raise ValueError(f"unknown quirk(s): {', '.join(unknown)}")
        rates = rates.model_copy(update=overrides)
        rates = QuirkRates.model_validate(rates.model_dump())  # re-validate the overridden bounds
    return rates


class IncidentKind(StrEnum):
    outage = "outage"  # the platform's volume drops to ~0
    bad_release = "bad_release"  # a share of events carries unknown feature ids
    clock_skew = "clock_skew"  # a burst of clocks hours off
    duplicate_storm = "duplicate_storm"  # many retries of the same lines
    spike = "spike"  # the platform's volume times `factor` (new, distinct events)


DEFAULT_SHARE = {
    IncidentKind.outage: 0.98,
    IncidentKind.bad_release: 0.30,
    IncidentKind.clock_skew: 0.50,
    IncidentKind.duplicate_storm: 0.50,
    IncidentKind.spike: 1.0,
}
DEFAULT_SPIKE_FACTOR = 3.0
INCIDENT_SYNTAX = "KIND[-PLATFORM]:YYYY-MM-DD[THH][:HOURS][,platform=P][,share=S][,factor=F]"
_INCIDENT = re.compile(
    r"^(?P<kind>[a-z_]+)(?:-(?P<platform>[a-z][a-z0-9_]*))?:(?P<start>\d{4}-\d{2}-\d{2}(?:T\d{2})?)"
    r"(?::(?P<hours>\d+(?:\.\d+)?))?(?:,(?P<opts>.*))?$"
)


class Incident(BaseModel):
    """A scheduled disturbance over [start, start + hours), on one platform or all (None)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: IncidentKind
    start: dt.datetime  # naive UTC
    hours: float = Field(4.0, gt=0, le=24 * 31)
    platform: Platform | None = None
    share: float | None = Field(None, ge=0, le=1)
    factor: float | None = Field(None, ge=1, le=100, description="spike: volume multiplier (default 3)")

    @property
    def effective_share(self) -> float:
        return DEFAULT_SHARE[self.kind] if self.share is None else self.share

    @property
    def effective_factor(self) -> float:
        return DEFAULT_SPIKE_FACTOR if self.factor is None else self.factor

    def window_ms(self) -> tuple[int, int]:
        start = int(self.start.replace(tzinfo=dt.UTC).timestamp() * 1000)
        return start, start + int(self.hours * 3_600_000)

    @classmethod
    def parse(cls, text: str) -> Incident:
        """`outage-ios:2026-11-24T10:4` -> iOS outage from 10:00 UTC for 4 hours."""
        m = _INCIDENT.match(text.strip())
        if not m:
            raise ValueError(f"incident {text!r}: expected {INCIDENT_SYNTAX}")
        fields: dict[str, object] = {"kind": m["kind"], "platform": m["platform"]}
        start = m["start"]
        fields["start"] = dt.datetime.strptime(start, "%Y-%m-%dT%H" if "T" in start else "%Y-%m-%d")
        if m["hours"]:
            fields["hours"] = float(m["hours"])
        for opt in filter(None, (m["opts"] or "").split(",")):
            key, sep, value = opt.partition("=")
            if not sep or key not in ("platform", "share", "factor"):
                raise ValueError(f"incident {text!r}: option {opt!r} is not platform=P, share=S or factor=F")
            fields[key] = value
        if fields["platform"] == "all":
            fields["platform"] = None
        if fields["kind"] not in IncidentKind.__members__:
            kinds = ", ".join(IncidentKind.__members__)
            raise ValueError(f"incident {text!r}: kind must be one of {kinds}")
        # any platform name: `generate` checks it against the registry's platforms
        return cls.model_validate(fields)


# The platforms whose SDKs the generator imitates quirk by quirk (WIRE_FORMATS.md), in index order.
BUILTIN_PLATFORMS: tuple[str, ...] = ("web", "ios", "android", "backend")
DEFAULT_MIX: dict[str, float] = {"web": 0.55, "ios": 0.18, "android": 0.15, "backend": 0.12}
# Share of a platform the generator has no profile for (a new contract file): the default profile.
DEFAULT_NEW_PLATFORM_SHARE = 0.05


class GeneratorConfig(BaseModel):
    """One `nova generate` run. Same config (out, manifest and workers aside) -> byte-identical files."""

    model_config = ConfigDict(extra="forbid")

    out: Path
    start: dt.date = DEFAULT_START
    days: int = Field(1, ge=1, le=400)
    events_per_day: int | None = Field(None, ge=0, description="client calls on a regular weekday")
    rate: float | None = Field(None, ge=0, description="average calls per second (instead of events_per_day)")
    seed: int = Field(42, ge=0)
    gzip: bool = False
    gzip_level: int = Field(3, ge=1, le=9, description="3: twice as fast as 6 for 25% larger files")
    quirks: QuirkRates = QuirkRates()
    incidents: list[Incident] = []
    scale: float = Field(0.001, gt=0, le=1, description="fraction of the 8M users / 250K workspaces")
    platform_mix: dict[Platform, float] = Field(default_factory=lambda: dict(DEFAULT_MIX))
    max_lines_per_file: int = Field(10_000, ge=1)
    manifest: Path | None = None
    # Processes rendering large days; the bytes do not depend on it (files are planned up front).
    workers: int = Field(default_factory=lambda: min(2, os.cpu_count() or 1), ge=1, le=64)

    @model_validator(mode="after")
    def _check(self) -> GeneratorConfig:
        if self.events_per_day is not None and self.rate is not None:
            raise ValueError("give events_per_day or rate, not both")
        if sum(self.platform_mix.values()) <= 0 or min(self.platform_mix.values()) < 0:
            raise ValueError("platform_mix needs non-negative shares with a positive sum")
        if self.manifest is not None and self.manifest.resolve().is_relative_to(self.out.resolve()):
            raise ValueError("the manifest must not be inside the landing folder: the loader reads every file there")
        return self

    @property
    def daily_events(self) -> int:
        if self.events_per_day is not None:
            return self.events_per_day
        if self.rate is not None:
            return round(self.rate * 86_400)
        return round(FULL_EVENTS_PER_DAY * self.scale)

    @property
    def n_users(self) -> int:
        return max(20, round(FULL_USERS * self.scale))

    @property
    def n_workspaces(self) -> int:
        return max(3, round(FULL_WORKSPACES * self.scale))

    def days_list(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    def mix(self) -> list[float]:
        """Shares of the built-in platforms, over every platform of the mix (they sum to
        `builtin_share`; the rest goes to platforms of the default profile)."""
        total = sum(self.platform_mix.values())
        return [self.platform_mix.get(p, 0.0) / total for p in BUILTIN_PLATFORMS]

    @property
    def builtin_share(self) -> float:
        return sum(self.mix())

    def other_platforms(self) -> dict[str, float]:
        """Platforms of the mix without a built-in profile, with their share of all events."""
        total = sum(self.platform_mix.values())
        return {p: s / total for p, s in sorted(self.platform_mix.items()) if p not in BUILTIN_PLATFORMS and s > 0}

    def run_tag(self) -> str:
        """Short hash of everything that shapes the bytes: file names of different runs never collide."""
        shape = self.model_dump_json(exclude={"out", "manifest", "workers"})
        return hashlib.sha256(shape.encode()).hexdigest()[:8]


# Each raw line ends in exactly one of these states (SEMANTICS.md); `expected` counts them.
FATES: tuple[str, ...] = (
    "staged",
    "duplicate",
    "ignored",
    "invalid_json",
    "missing_event_id",
    "missing_user_id",
    "missing_workspace_id",
    "missing_feature",
    "missing_timestamp",
    "unknown_feature",
    "invalid_timestamp",
    "too_late",
)


# What each count of `GenerationSummary.quirks` means ("rows" are client calls, "lines" deliveries).
QUIRK_COUNTS: dict[str, str] = {
    "retries": "extra lines: a row delivered again, same payload, later received_at",
    "storm_retries": "extra lines from duplicate_storm incidents (not counted in retries)",
    "offline_resends": "iOS rows re-sent hours/days later with the same event_id and a new sent_ts",
    "late_flushes": "client rows sent 1-60 h after they happened",
    "too_late_flushes": "client rows sent more than 72 h after they happened",
    "skewed_clocks": "client rows whose clock is more than 5 min off",
    "clock_ahead_devices": "client rows whose clock is more than 5 min ahead",
    "clock_skew_burst": "client rows skewed by a clock_skew incident",
    "clock_ahead_lines": "lines passing rules 1-7 whose event time is clamped to received_at",
    "display_names": "web feature rows of SDK < 4.0 (display name + properties.area)",
    "legacy_ids": "mobile feature rows of app < 5.0 sending a renamed feature's legacy id",
    "epoch_seconds": "iOS rows of app < 5.0 (ts in epoch seconds, no sent_ts)",
    "offsetless_timestamps": "android rows of app < 4.3 (local time without offset, no sentAt)",
    "schema_v1": "backend rows of schema_version 1 (no actor object)",
    "no_received_at": "backend lines of the old collector (received_at = file mtime)",
    "uppercase_ids": "iOS lines (event_id is an upper-case UUID)",
    "non_leaf_events": "feature rows sent on a non-leaf feature id",
    "page_views": "web page calls (out of scope)",
    "identify_calls": "web identify calls (out of scope)",
    "other_events": "rows of another event name (out of scope)",
    "system_actors": "backend rows with actor.type = system (out of scope)",
    "missing_event_id": "rows whose event id is absent, null or blank",
    "missing_user_id": "rows whose user id is absent, null or blank",
    "missing_workspace_id": "rows whose workspace id is absent, null or blank",
    "missing_feature": "rows whose feature is absent, null or blank",
    "missing_timestamp": "rows whose client time is absent, null or blank",
    "android_null_workspace": "android rows with workspaceId null or empty",
    "invalid_timestamp": "rows whose client time cannot be parsed",
    "unknown_features": "rows with a feature id that is not in the catalog",
    "bad_release_events": "rows given an unknown feature by a bad_release incident (in unknown_features)",
    "pii_properties": "rows with email/ip/name/phone keys in their properties",
    "truncated": "lines cut short",
    "two_objects": "lines holding two JSON objects",
    "invalid_utf8": "lines with an invalid UTF-8 byte",
    "garbage": "non-JSON lines (HTML error pages, arrays, NUL bytes...)",
    "empty_line": "empty lines",
    "duplicate_files": "files delivered twice: a byte-identical copy under another name",
    "duplicate_file_lines": "lines of those copies",
    "outage_dropped": "rows lost to outage incidents (never written)",
    "spike_added": "extra rows of spike incidents (new events in the window)",
}


class GenerationSummary(BaseModel):
    """What a run wrote and the truth about it: injected quirks and each line's expected state."""

    out: str
    run_tag: str
    seed: int
    start: dt.date
    days: int
    events: int = Field(description="client calls generated, before retries and copies")
    files: int = Field(description="files written, duplicate deliveries included")
    bytes: int = Field(description="bytes on disk")
    raw_bytes: int = Field(description="bytes before compression (= bytes for plain files)")
    lines: int
    lines_by_platform: dict[str, int]
    files_by_platform: dict[str, int]
    quirks: dict[str, int] = Field(description="how often each quirk was injected (QUIRK_COUNTS)")
    expected: dict[str, int] = Field(description="lines per expected state under SEMANTICS.md, for a warehouse "
                                     "that has seen nothing but these files")
    first_received_at: str | None = None
    last_received_at: str | None = None
    elapsed_seconds: float = 0.0

    def truth(self) -> dict[str, object]:
        """The manifest: everything but timing, so it is as deterministic as the files."""
        return self.model_dump(mode="json", exclude={"elapsed_seconds"})
