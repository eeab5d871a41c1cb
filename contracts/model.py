"""The contract vocabulary: pydantic data and pure helpers, no I/O.

A platform contract describes the payload as clients send it today (``payload``), how each
canonical field of the staged event is found in it (``mapping``), which lines are feature usage
(``scope``), how features are resolved and what happens to violations. The staging SQL is
generated from these objects, so everything SEMANTICS.md needs is declared here.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
# A platform is whatever has a contract file `platforms/<name>.yaml`: the set lives in the registry,
# not in code. The name is a landing folder (`platform=<name>/`) and a SQL literal: keep it plain.
PLATFORM_NAME = r"^[a-z][a-z0-9_]{0,31}$"
Platform = Annotated[str, StringConstraints(pattern=PLATFORM_NAME)]


def __getattr__(name: str) -> object:
    # the fixed tuple this module used to export: say where the platforms are now
    if name == "PLATFORMS":
        raise AttributeError("contracts.model.PLATFORMS is gone: platforms are data, one file "
                             "platforms/<name>.yaml each; use list(load_registry(root).contracts)")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldType(StrEnum):
    string = "string"
    integer = "integer"
    number = "number"
    boolean = "boolean"
    object = "object"
    array = "array"


class TimeFormat(StrEnum):
    """How a timestamp is written in the payload; a change of format is a breaking change."""

    iso8601 = "iso8601"  # offset optional; no offset means UTC
    epoch_ms = "epoch_ms"
    epoch_s = "epoch_s"


class Pii(StrEnum):
    none = "none"
    indirect = "indirect"  # pseudonymous identifiers (user ids)
    direct = "direct"  # identifies a person on its own (email, ip, name)

    @property
    def rank(self) -> int:
        return ["none", "indirect", "direct"].index(self.value)


class ViolationAction(StrEnum):
    """dlt-style contract modes: what happens to a line or value that breaks the contract."""

    quarantine = "quarantine"  # the line is set aside with a reason code (discard_row)
    discard_value = "discard_value"  # the value is removed, the line kept
    evolve = "evolve"  # accepted as is


class PayloadField(Strict):
    """One field of the raw payload, keyed by its dotted path."""

    type: FieldType | list[FieldType]
    required: bool = False  # required on in-scope (feature-usage) events
    enum: list[str] | None = None
    format: TimeFormat | Literal["semver", "uuid"] | None = None
    pii: Pii = Pii.none
    min_length: int | None = None
    max_length: int | None = None
    closed: bool = False  # objects only: extra keys are a violation
    description: str = ""

    @property
    def types(self) -> tuple[FieldType, ...]:
        return tuple(self.type) if isinstance(self.type, list) else (self.type,)


class Condition(Strict):
    """A test on one payload path. Absent values never equal and are never `in` anything."""

    path: str
    equals: str | int | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [self.equals is not None, self.in_ is not None, self.not_in is not None]
        if sum(tests) != 1:
            raise ValueError("a condition needs exactly one of: equals, in, not_in")
        return self


class VersionBelow(Strict):
    """True when the mapped `app_version` is below this version (missing version: false)."""

    app_version_below: str


class Variant(Strict):
    when: VersionBelow
    format: TimeFormat


CanonicalField = Literal[
    "event_id",
    "user_id",
    "anonymous_id",
    "workspace_id",
    "feature",
    "feature_area",
    "action",
    "app_version",
    "client_ts",
    "sent_at",
    "received_at",
    "properties",
]
# SEMANTICS step 3: required keys and the order in which the first missing one is reported.
REQUIRED_KEYS: tuple[tuple[str, str], ...] = (
    ("event_id", "missing_event_id"),
    ("user_id", "missing_user_id"),
    ("workspace_id", "missing_workspace_id"),
    ("feature", "missing_feature"),
    ("client_ts", "missing_timestamp"),
)
TIME_FIELDS = ("client_ts", "sent_at", "received_at")


class Mapping(Strict):
    """Where a canonical field comes from: the first present path wins."""

    from_: list[str] = Field(alias="from", min_length=1)
    transform: list[Literal["trim", "lower"]] = []
    format: TimeFormat | None = None  # time fields only
    variants: list[Variant] = []

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ResolveStep(StrEnum):
    id = "id"
    legacy_id = "legacy_id"
    name_in_area = "name_in_area"


class FeatureResolution(Strict):
    steps: list[ResolveStep] = [ResolveStep.id, ResolveStep.legacy_id]
    name_in_area_when: VersionBelow | None = None  # only below this version are names accepted


class Violations(Strict):
    missing_key: ViolationAction = ViolationAction.quarantine
    unknown_feature: ViolationAction = ViolationAction.quarantine
    invalid_timestamp: ViolationAction = ViolationAction.quarantine
    too_late: ViolationAction = ViolationAction.quarantine
    extra_fields: ViolationAction = ViolationAction.evolve
    personal_data: ViolationAction = ViolationAction.discard_value


class IgnoredBreak(Strict):
    """A known breaking change accepted without the bump it needs: a reason is mandatory."""

    change: str  # the change id printed by `nova contracts diff`
    reason: str = Field(min_length=10)


class PlatformContract(Strict):
    platform: Platform
    version: str
    owner: str
    contact: str = ""
    description: str = ""
    scope: list[Condition] = Field(min_length=1)
    payload: dict[str, PayloadField]
    additional_properties: bool = True
    mapping: dict[CanonicalField, Mapping]
    feature_resolution: FeatureResolution = FeatureResolution()
    trusted_clock: bool = False  # server clocks: no send-time correction
    strip_properties: list[str] = []  # personal-data keys removed from `properties`
    violations: Violations = Violations()
    ignored_breaks: list[IgnoredBreak] = []

    @field_validator("version")
    @classmethod
    def _semver(cls, v: str) -> str:
        if not SEMVER.match(v):
            raise ValueError(f"version {v!r} is not MAJOR.MINOR.PATCH")
        return v

    def required_paths(self) -> list[str]:
        return [p for p, f in self.payload.items() if f.required]

    def field_checks(self) -> list[str]:
        """Required payload paths staging checks on its own (reason `missing_field`), in declaration
        order: those not already implied by a key check (a key read from that path alone), by the
        scope (a path it tests for a value) or by a required path below them."""
        implied = {m.from_[0] for k, m in self.mapping.items()
                   if len(m.from_) == 1 and k in dict(REQUIRED_KEYS)}
        implied |= {c.path for c in self.scope if c.equals is not None or c.in_}
        required = self.required_paths()
        return [p for p in required
                if p not in implied and not any(q.startswith(p + ".") for q in [*required, *implied])]


class FeatureStatus(StrEnum):
    active = "active"
    beta = "beta"
    deprecated = "deprecated"


class Feature(Strict):
    id: str
    name: str
    parent: str | None = None
    owner: str
    status: FeatureStatus
    introduced_on: dt.date
    legacy_ids: list[str] = []
    platforms: list[Platform] = []

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


class Catalog(Strict):
    version: str
    owner: str
    features: list[Feature]
    ignored_breaks: list[IgnoredBreak] = []  # known catalog breaks accepted by `nova contracts diff`

    @field_validator("version")
    @classmethod
    def _semver(cls, v: str) -> str:
        if not SEMVER.match(v):
            raise ValueError(f"version {v!r} is not MAJOR.MINOR.PATCH")
        return v

    def by_id(self) -> dict[str, Feature]:
        return {f.id: f for f in self.features}

    def ancestors(self, feature_id: str) -> list[str]:
        """The feature itself then its ancestors, nearest first (stops on cycles)."""
        index = self.by_id()
        out: list[str] = []
        cur: str | None = feature_id
        while cur is not None and cur in index and cur not in out:
            out.append(cur)
            cur = index[cur].parent
        return out

    def path(self, feature_id: str) -> str:
        names = [self.by_id()[f].name for f in reversed(self.ancestors(feature_id))]
        return " > ".join(names)


def parse_semver(v: str) -> tuple[int, int, int]:
    m = SEMVER.match(v)
    if not m:
        raise ValueError(f"not a version: {v!r}")
    return int(m[1]), int(m[2]), int(m[3])


def version_key(v: str | None) -> tuple[int, ...] | None:
    """Loose app-version order: '4.2' < '4.10.1'; non-numeric parts end the key."""
    if v is None:
        return None
    parts: list[int] = []
    for piece in str(v).strip().split("."):
        m = re.match(r"\d+", piece)
        if not m:
            break
        parts.append(int(m.group()))
    return tuple(parts) if parts else None
