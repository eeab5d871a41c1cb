"""Compare two registries and classify every change by the rule table of `contracts.changes`.

Pure: takes two loaded `Registry` values (however they were read: a directory, a git ref) and
returns a `DiffReport` with each change and, per file, the bump declared vs the bump required.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from contracts.changes import (
    Change,
    DiffReport,
    FileVerdict,
    declared_bump,
    max_bump,
)
from contracts.model import (
    Catalog,
    Condition,
    Feature,
    FeatureStatus,
    FieldType,
    IgnoredBreak,
    PayloadField,
    PlatformContract,
    ResolveStep,
    ViolationAction,
)
from contracts.registry import CATALOG_FILE, PLATFORM_DIR, Registry

CATALOG_SCOPE = "catalog"


class _Changes:
    """Collects the changes of one file."""

    def __init__(self, scope: str, file: str) -> None:
        self.scope, self.file = scope, file
        self.items: list[Change] = []

    def add(self, subject: str, rule: str, detail: str) -> None:
        self.items.append(Change(self.scope, self.file, subject, rule, detail))


def _fmt_type(f: PayloadField) -> str:
    return "|".join(t.value for t in f.types)


def _diff_field(out: _Changes, path: str, b: PayloadField, h: PayloadField) -> None:
    subj = f"payload.{path}"
    bt, ht = set(b.types), set(h.types)
    if bt != ht:
        # integer values are valid numbers, so integer → number only widens
        covered = all(t in ht or (t is FieldType.integer and FieldType.number in ht) for t in bt)
        out.add(subj, "type_widened" if covered else "type_changed", f"type {_fmt_type(b)} → {_fmt_type(h)}")
    if b.required != h.required:
        if h.required:
            out.add(subj, "field_required", f"`{path}` becomes required")
        else:
            out.add(subj, "field_optional", f"`{path}` becomes optional")
    if b.enum is None and h.enum is not None:
        out.add(f"{subj}#enum", "constraint_tightened", f"enum introduced: {', '.join(h.enum)}")
    elif b.enum is not None and h.enum is None:
        out.add(f"{subj}#enum", "constraint_loosened", "enum dropped")
    elif b.enum is not None and h.enum is not None:
        for v in b.enum:
            if v not in h.enum:
                out.add(f"{subj}[{v}]", "enum_value_removed", f"enum value {v!r} removed from `{path}`")
        for v in h.enum:
            if v not in b.enum:
                out.add(f"{subj}[{v}]", "enum_value_added", f"enum value {v!r} added to `{path}`")
    _diff_length(out, subj, "min_length", b.min_length, h.min_length, tighter=lambda x, y: y > x)
    _diff_length(out, subj, "max_length", b.max_length, h.max_length, tighter=lambda x, y: y < x)
    if b.format != h.format:
        out.add(subj, "format_changed", f"format {b.format or 'none'} → {h.format or 'none'}")
    if b.closed != h.closed:
        rule = "object_closed" if h.closed else "object_opened"
        out.add(subj, rule, f"`{path}` {'rejects' if h.closed else 'accepts'} extra keys")
    if b.pii != h.pii:
        rule = "pii_lowered" if h.pii.rank < b.pii.rank else "pii_raised"
        out.add(subj, rule, f"pii {b.pii.value} → {h.pii.value}")
    if b.description != h.description:
        out.add(subj, "description_changed", f"description of `{path}` changed")


def _diff_length(out: _Changes, subj: str, attr: str, b: int | None, h: int | None,
                 tighter: Callable[[int, int], bool]) -> None:
    if b == h:
        return
    if b is None or (h is not None and tighter(b, h)):
        rule = "constraint_tightened"
    else:
        rule = "constraint_loosened"
    out.add(f"{subj}#{attr}", rule, f"{attr} {b if b is not None else 'none'} → {h if h is not None else 'none'}")


def _renames(b: PlatformContract, h: PlatformContract, removed: list[str], added: list[str]) -> dict[str, str]:
    """old path → new path, for removed fields replaced by added ones in the same mapping."""
    out: dict[str, str] = {}
    for canon, bm in b.mapping.items():
        hm = h.mapping.get(canon)
        if hm is None:
            continue
        olds = [p for p in bm.from_ if p in removed and p not in hm.from_ and p not in out]
        news = [p for p in hm.from_ if p in added and p not in bm.from_ and p not in out.values()]
        out.update(zip(olds, news, strict=False))
    return out


def _diff_payload(out: _Changes, b: PlatformContract, h: PlatformContract) -> dict[str, str]:
    removed = [p for p in b.payload if p not in h.payload]
    added = [p for p in h.payload if p not in b.payload]
    renames = _renames(b, h, removed, added)
    for path in removed:
        if path in renames:
            out.add(f"payload.{path}", "field_renamed",
                    f"`{path}` renamed to `{renames[path]}` without alias: the mapping no longer reads `{path}`")
        else:
            out.add(f"payload.{path}", "field_removed", f"`{path}` removed")
    for path in added:
        if path in renames.values():
            continue
        rule = "field_added_required" if h.payload[path].required else "field_added_optional"
        kind = "required" if h.payload[path].required else "optional"
        out.add(f"payload.{path}", rule, f"{kind} field `{path}` added")
    for path in b.payload:
        if path in h.payload:
            _diff_field(out, path, b.payload[path], h.payload[path])
    if b.additional_properties != h.additional_properties:
        rule = "object_closed" if not h.additional_properties else "object_opened"
        out.add("payload", rule, f"additional_properties {b.additional_properties} → {h.additional_properties}")
    return renames


# A scope condition set, per path: ("in", values) accepts exactly those values; ("not_in", values)
# accepts everything else, absence included. ("not_in", ∅) is "no condition".
Accepts = tuple[str, frozenset[object]]
_ANY: Accepts = ("not_in", frozenset())


def _accepts(conditions: list[Condition]) -> dict[str, Accepts]:
    out: dict[str, Accepts] = {}
    for c in conditions:
        if c.equals is not None:
            acc: Accepts = ("in", frozenset([c.equals]))
        elif c.in_ is not None:
            acc = ("in", frozenset(c.in_))
        else:
            acc = ("not_in", frozenset(c.not_in or []))
        out[c.path] = _intersect(out.get(c.path, _ANY), acc)
    return out


def _intersect(a: Accepts, b: Accepts) -> Accepts:
    (ka, va), (kb, vb) = a, b
    if ka == "in" and kb == "in":
        return ("in", va & vb)
    if ka == "in":
        return ("in", va - vb)
    if kb == "in":
        return ("in", vb - va)
    return ("not_in", va | vb)


def _subset(a: Accepts, b: Accepts) -> bool:
    """Everything `a` accepts, `b` accepts."""
    (ka, va), (kb, vb) = a, b
    if ka == "in":
        return va <= vb if kb == "in" else not (va & vb)
    return False if kb == "in" else vb <= va


def _describe(a: Accepts) -> str:
    kind, values = a
    shown = ", ".join(sorted(repr(v) for v in values))
    if kind == "in":
        return f"one of {shown}" if values else "nothing"
    return f"anything but {shown}" if values else "anything"


def _diff_scope(out: _Changes, b: PlatformContract, h: PlatformContract) -> None:
    ba, ha = _accepts(b.scope), _accepts(h.scope)
    for path in [*ba, *(p for p in ha if p not in ba)]:
        old, new = ba.get(path, _ANY), ha.get(path, _ANY)
        if old == new:
            continue
        # neither a subset nor a superset: some lines leave the scope, which is what breaks
        rule = "scope_widened" if _subset(old, new) else "scope_narrowed"
        out.add(f"scope.{path}", rule, f"`{path}`: {_describe(old)} → {_describe(new)}")


def _diff_mapping(out: _Changes, b: PlatformContract, h: PlatformContract, renames: dict[str, str]) -> None:
    for canon in [*b.mapping, *(c for c in h.mapping if c not in b.mapping)]:
        bm, hm, subj = b.mapping.get(canon), h.mapping.get(canon), f"mapping.{canon}"
        if hm is None:
            out.add(subj, "mapping_removed", f"`{canon}` no longer mapped")
            continue
        if bm is None:
            out.add(subj, "mapping_added", f"`{canon}` mapped from {', '.join(hm.from_)}")
            continue
        # a rename is reported once, as field_renamed: compare with the renamed paths substituted
        expected = [renames.get(p, p) for p in bm.from_]
        if expected != hm.from_:
            dropped = [p for p in expected if p not in hm.from_]
            rule = "mapping_changed" if dropped else "mapping_extended"
            out.add(subj, rule, f"`{canon}` from {', '.join(bm.from_)} → {', '.join(hm.from_)}")
        if bm.transform != hm.transform:
            out.add(subj, "transform_changed",
                    f"`{canon}` transform {bm.transform or 'none'} → {hm.transform or 'none'}")
        if bm.format != hm.format:
            out.add(subj, "format_changed", f"`{canon}` format {bm.format or 'none'} → {hm.format or 'none'}")
        if bm.variants != hm.variants:
            out.add(f"{subj}#variants", "format_changed", f"`{canon}` format variants changed")


def _diff_rest(out: _Changes, b: PlatformContract, h: PlatformContract) -> None:
    bs, hs = b.feature_resolution.steps, h.feature_resolution.steps
    for step in bs:
        if step not in hs:
            out.add(f"feature_resolution.steps[{step.value}]", "resolution_step_removed",
                    f"feature resolution no longer tries `{step.value}`")
    for step in hs:
        if step not in bs:
            out.add(f"feature_resolution.steps[{step.value}]", "resolution_step_added",
                    f"feature resolution now tries `{step.value}`")
    bw, hw = b.feature_resolution.name_in_area_when, h.feature_resolution.name_in_area_when
    if bw != hw:
        old = bw.app_version_below if bw else "always"
        new = hw.app_version_below if hw else "always"
        out.add("feature_resolution.name_in_area_when", "resolution_changed",
                f"names accepted below app version {old} → {new}")
    if b.trusted_clock != h.trusted_clock:
        out.add("trusted_clock", "clock_trust_changed", f"trusted_clock {b.trusted_clock} → {h.trusted_clock}")
    for key in b.strip_properties:
        if key not in h.strip_properties:
            out.add(f"strip_properties[{key}]", "strip_key_removed", f"`{key}` no longer stripped from properties")
    for key in h.strip_properties:
        if key not in b.strip_properties:
            out.add(f"strip_properties[{key}]", "strip_key_added", f"`{key}` now stripped from properties")
    for name in type(b.violations).model_fields:
        old, new = getattr(b.violations, name), getattr(h.violations, name)
        if old != new:
            rule = ("pii_lowered" if name == "personal_data" and new is ViolationAction.evolve
                    else "violation_policy_changed")
            out.add(f"violations.{name}", rule, f"violations.{name} {old.value} → {new.value}")
    for attr in ("owner", "contact"):
        if getattr(b, attr) != getattr(h, attr):
            out.add(attr, "owner_changed", f"{attr} {getattr(b, attr)!r} → {getattr(h, attr)!r}")
    if b.description != h.description:
        out.add("description", "description_changed", "contract description changed")


def diff_contract(platform: str, b: PlatformContract | None, h: PlatformContract | None) -> list[Change]:
    out = _Changes(platform, str(PLATFORM_DIR / f"{platform}.yaml"))
    if b is None and h is not None:
        out.add("contract", "platform_added",
                f"new platform `{platform}` (contract {h.version}): `platform={platform}/` landing files are "
                f"staged, curated tables gain platform `{platform}`")
    elif h is None and b is not None:
        out.add("contract", "platform_removed",
                f"platform `{platform}` removed: its landing files are quarantined as unknown_platform, "
                "no new events reach curated tables")
    elif b is not None and h is not None:
        renames = _diff_payload(out, b, h)
        _diff_scope(out, b, h)
        _diff_mapping(out, b, h, renames)
        _diff_rest(out, b, h)
    return out.items


def _diff_feature(out: _Changes, bf: Feature, hf: Feature, id_renames: dict[str, str], legacy_in_use: bool,
                  legacy_owner: dict[str, str]) -> None:
    fid = hf.id
    if bf.name != hf.name:
        out.add(fid, "feature_renamed", f"`{fid}` display name {bf.name!r} → {hf.name!r}")
    # a parent that was itself renamed is the same parent: the roll-up does not change
    old_parent = id_renames.get(bf.parent, bf.parent) if bf.parent else None
    if old_parent != hf.parent:
        out.add(fid, "feature_reparented", f"`{fid}` parent `{bf.parent}` → `{hf.parent}`")
    if bf.status != hf.status:
        rule = "feature_deprecated" if hf.status is FeatureStatus.deprecated else "status_changed"
        out.add(fid, rule, f"`{fid}` status {bf.status.value} → {hf.status.value}")
    if bf.owner != hf.owner:
        out.add(fid, "owner_changed", f"`{fid}` owner {bf.owner!r} → {hf.owner!r}")
    if bf.introduced_on != hf.introduced_on:
        out.add(fid, "feature_metadata_changed",
                f"`{fid}` introduced_on {bf.introduced_on.isoformat()} → {hf.introduced_on.isoformat()}")
    for legacy in bf.legacy_ids:
        if legacy not in hf.legacy_ids:
            moved = legacy_owner.get(legacy)
            where = f" (now a legacy id of `{moved}`)" if moved else ""
            rule = "legacy_id_removed" if legacy_in_use else "legacy_id_removed_unused"
            out.add(f"{fid}[{legacy}]", rule, f"legacy id `{legacy}` dropped from `{fid}`{where}")
    for legacy in hf.legacy_ids:
        if legacy not in bf.legacy_ids and legacy != bf.id:
            out.add(f"{fid}[{legacy}]", "legacy_id_added", f"legacy id `{legacy}` added to `{fid}`")
    for p in bf.platforms:
        if p not in hf.platforms:
            out.add(f"{fid}[{p}]", "feature_platform_removed", f"`{fid}` no longer on {p}")
    for p in hf.platforms:
        if p not in bf.platforms:
            out.add(f"{fid}[{p}]", "feature_platform_added", f"`{fid}` now on {p}")


def diff_catalog(b: Catalog, h: Catalog, legacy_in_use: bool) -> list[Change]:
    out = _Changes(CATALOG_SCOPE, str(CATALOG_FILE))
    bi, hi = b.by_id(), h.by_id()
    removed = [f for f in bi if f not in hi]
    added = [f for f in hi if f not in bi]
    # an id that disappears but lives on as a legacy id of a new feature was renamed, not removed
    id_renames: dict[str, str] = {}
    for old in removed:
        new = next((n for n in added if old in hi[n].legacy_ids and n not in id_renames.values()), None)
        if new is not None:
            id_renames[old] = new
    legacy_owner = {lg: f.id for f in h.features for lg in f.legacy_ids}
    if b.owner != h.owner:
        out.add("owner", "owner_changed", f"catalog owner {b.owner!r} → {h.owner!r}")
    for fid in removed:
        if fid in id_renames:
            out.add(fid, "feature_id_renamed", f"`{fid}` renamed to `{id_renames[fid]}` (old id kept as legacy id)")
        else:
            out.add(fid, "feature_removed", f"`{fid}` ({bi[fid].name}) removed from the catalog")
    for fid in added:
        if fid not in id_renames.values():
            where = f"under `{hi[fid].parent}`" if hi[fid].parent else "at the top level"
            out.add(fid, "feature_added", f"`{fid}` ({hi[fid].name}) added {where}")
    pairs = [(bi[f], hi[f]) for f in bi if f in hi] + [(bi[o], hi[n]) for o, n in id_renames.items()]
    for bf, hf in pairs:
        _diff_feature(out, bf, hf, id_renames, legacy_in_use, legacy_owner)
    return out.items


def _accept(changes: list[Change], ignored: list[IgnoredBreak]) -> list[Change]:
    reasons = {i.change: i.reason for i in ignored}
    return [replace(c, accepted=True, reason=reasons[c.id]) if c.id in reasons else c for c in changes]


def _verdict(file: str, base_v: str | None, head_v: str | None, changes: list[Change]) -> FileVerdict:
    declared, problem = declared_bump(base_v, head_v)
    required = max_bump([c.required_bump for c in changes])
    return FileVerdict(file, base_v, head_v, declared, required, problem, len(changes))


def diff_registries(base: Registry, head: Registry) -> DiffReport:
    """Every change from `base` to `head`, classified, and per file whether its version bump suffices."""
    changes: list[Change] = []
    files: list[FileVerdict] = []
    for platform in sorted(set(base.contracts) | set(head.contracts)):
        b, h = base.contracts.get(platform), head.contracts.get(platform)
        found = _accept(diff_contract(platform, b, h), h.ignored_breaks if h else [])
        file = str(PLATFORM_DIR / f"{platform}.yaml")
        files.append(_verdict(file, b.version if b else None, h.version if h else None, found))
        changes += found
    # "old versions still send it": any contract, before or after, resolves legacy ids
    legacy_in_use = any(ResolveStep.legacy_id in c.feature_resolution.steps
                        for reg in (base, head) for c in reg.contracts.values())
    found = _accept(diff_catalog(base.catalog, head.catalog, legacy_in_use), head.catalog.ignored_breaks)
    files.append(_verdict(str(CATALOG_FILE), base.catalog.version, head.catalog.version, found))
    changes += found
    order = {v.file: i for i, v in enumerate(files)}
    changes.sort(key=lambda c: (order[c.file], -c.severity.rank))
    return DiffReport(changes=changes, files=files)
