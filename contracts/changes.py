"""The vocabulary of `nova contracts diff`: severities, bumps, the rule table and the report.

Data only: `contracts.diff` computes a `DiffReport`, `contracts.render` prints it. The rule table
is the single source of every classification; docs/contracts.md lists it (a test keeps them equal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from contracts.model import parse_semver


class Severity(StrEnum):
    breaking = "BREAKING"
    warning = "WARNING"
    safe = "SAFE"

    @property
    def bump(self) -> Bump:
        return {Severity.breaking: Bump.major, Severity.warning: Bump.minor, Severity.safe: Bump.patch}[self]

    @property
    def rank(self) -> int:
        return [Severity.safe, Severity.warning, Severity.breaking].index(self)


class Bump(StrEnum):
    none = "none"
    patch = "patch"
    minor = "minor"
    major = "major"

    @property
    def rank(self) -> int:
        return [Bump.none, Bump.patch, Bump.minor, Bump.major].index(self)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str  # one line for docs and --help: what the change is and why it has this severity


_B, _W, _S = Severity.breaking, Severity.warning, Severity.safe

RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        # platform contracts
        Rule("platform_removed", _B, "a platform's contract file is removed: its landing files are "
                                     "quarantined as unknown_platform"),
        Rule("platform_added", _W, "a contract file adds a platform: curated tables gain a `platform` value "
                                   "readers may not expect (the new file starts at its own version)"),
        Rule("field_removed", _B, "a payload field is removed"),
        Rule("field_renamed", _B, "a field is removed and a new one takes its place in a mapping "
                                  "that no longer reads the old path (rename without alias)"),
        Rule("field_added_required", _B, "a required payload field is added: current clients do not send it"),
        Rule("field_added_optional", _S, "an optional payload field is added"),
        Rule("field_required", _B, "an optional field becomes required"),
        Rule("field_optional", _W, "a required field becomes optional: readers may rely on it"),
        Rule("type_changed", _B, "a field's type changes (other than a widening)"),
        Rule("type_widened", _W, "a field accepts more types (integer → number, a type added to a list)"),
        Rule("enum_value_removed", _B, "an enum value is removed: events sending it become invalid"),
        Rule("enum_value_added", _W, "an enum value is added: readers may not expect it"),
        Rule("constraint_tightened", _B, "min_length raised or added, max_length lowered or added, "
                                         "or an enum introduced on a free field"),
        Rule("constraint_loosened", _W, "min_length/max_length relaxed or removed, or an enum dropped"),
        Rule("object_closed", _B, "an object rejects extra keys (`closed: true`, "
                                  "`additional_properties: false`)"),
        Rule("object_opened", _S, "an object accepts extra keys again"),
        Rule("pii_lowered", _B, "a personal-data tag is lowered (direct → indirect → none) or "
                                "`violations.personal_data` becomes `evolve`"),
        Rule("pii_raised", _W, "a personal-data tag is raised: values may be removed downstream"),
        Rule("strip_key_removed", _B, "a key leaves `strip_properties`: personal data reaches curated tables"),
        Rule("strip_key_added", _W, "a key joins `strip_properties`: it disappears from `properties`"),
        Rule("format_changed", _B, "a unit or format changes (field `format`, mapping time `format` "
                                   "or `variants`: epoch_ms → epoch_s, iso8601, ...)"),
        Rule("scope_narrowed", _B, "fewer lines are feature usage: some become ignored"),
        Rule("scope_widened", _W, "more lines are feature usage"),
        Rule("mapping_changed", _B, "a canonical field no longer reads one of its source paths"),
        Rule("mapping_extended", _W, "a canonical field reads more paths (or in another order), "
                                     "every old path kept"),
        Rule("mapping_removed", _B, "a canonical field is no longer mapped"),
        Rule("mapping_added", _W, "a canonical field is newly mapped"),
        Rule("transform_changed", _B, "a mapping's transforms change: canonical values (ids) change"),
        Rule("resolution_step_removed", _B, "a feature resolution step is removed: old clients' "
                                            "events become unknown_feature"),
        Rule("resolution_step_added", _W, "a feature resolution step is added"),
        Rule("resolution_changed", _B, "`feature_resolution.name_in_area_when` changes"),
        Rule("clock_trust_changed", _B, "`trusted_clock` changes: event_ts is computed differently"),
        Rule("violation_policy_changed", _W, "a `violations` action changes"),
        Rule("owner_changed", _S, "an owner or contact changes"),
        Rule("description_changed", _S, "a description changes"),
        # catalog
        Rule("feature_removed", _B, "a feature leaves the catalog: its events become unknown_feature"),
        Rule("feature_added", _S, "a feature joins the catalog"),
        Rule("feature_id_renamed", _W, "a feature's id changes and the old id is kept in the new "
                                       "feature's `legacy_ids`: events resolve, curated rows move"),
        Rule("feature_reparented", _B, "a feature's parent changes: roll-ups change"),
        Rule("feature_renamed", _W, "a display name changes: web SDK < 4.0 sends names"),
        Rule("feature_deprecated", _W, "a feature's status becomes deprecated"),
        Rule("status_changed", _S, "any other status change"),
        Rule("legacy_id_removed", _B, "a legacy id is dropped while a contract resolves legacy ids "
                                      "(old app versions still send it)"),
        Rule("legacy_id_removed_unused", _S, "a legacy id is dropped and no contract resolves legacy ids"),
        Rule("legacy_id_added", _S, "a legacy id is added"),
        Rule("feature_platform_removed", _W, "a platform leaves a feature's `platforms`"),
        Rule("feature_platform_added", _S, "a platform joins a feature's `platforms`"),
        Rule("feature_metadata_changed", _S, "`introduced_on` changes"),
    ]
}


@dataclass(frozen=True)
class Change:
    """One classified difference. `id` is stable across runs: `ignored_breaks` entries name it."""

    scope: str  # platform name or "catalog"
    file: str  # registry-relative file path
    subject: str  # what changed: `payload.userId`, `scope.event`, a feature id, ...
    rule: str
    detail: str
    accepted: bool = False
    reason: str = ""

    @property
    def id(self) -> str:
        return f"{self.scope}:{self.subject}:{self.rule}"

    @property
    def severity(self) -> Severity:
        return RULES[self.rule].severity

    @property
    def required_bump(self) -> Bump:
        # An accepted break is still a change of the file: it needs a patch, not its major.
        return Bump.patch if self.accepted else self.severity.bump


@dataclass(frozen=True)
class FileVerdict:
    file: str
    base_version: str | None  # None: the file is new
    head_version: str | None  # None: the file is gone
    declared: Bump
    required: Bump
    problem: str = ""  # why the declared version is unusable (went backwards)
    change_count: int = 0

    @property
    def touched(self) -> bool:
        """Worth showing: something changed, or at least the version did."""
        return bool(self.change_count) or self.base_version != self.head_version

    @property
    def ok(self) -> bool:
        return not self.problem and self.declared.rank >= self.required.rank


@dataclass(frozen=True)
class DiffReport:
    changes: list[Change] = field(default_factory=list)
    files: list[FileVerdict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.files)

    def changes_of(self, file: str) -> list[Change]:
        return [c for c in self.changes if c.file == file]


def declared_bump(base: str | None, head: str | None) -> tuple[Bump, str]:
    """The bump a version change declares, and a problem if it went backwards."""
    if base is None:
        return Bump.major, ""  # a new file starts at its own version: nothing to compare with
    if head is None:
        return Bump.none, ""  # a removed file cannot declare anything: its breaks always fail
    b, h = parse_semver(base), parse_semver(head)
    if h < b:
        return Bump.none, f"version went backwards ({base} → {head})"
    if h[0] > b[0]:
        return Bump.major, ""
    if h[1] > b[1]:
        return Bump.minor, ""
    if h[2] > b[2]:
        return Bump.patch, ""
    return Bump.none, ""


def max_bump(bumps: list[Bump]) -> Bump:
    return max(bumps, key=lambda b: b.rank, default=Bump.none)
