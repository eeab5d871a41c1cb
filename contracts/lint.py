"""Semantic checks of a loaded registry: what the schema alone cannot see.

`load_registry` already reports schema errors (unknown keys, bad status or platform values, a
missing `reason`) with file and line; `lint_registry` runs on the loaded model and reports
everything else, located with the registry's line map. Pure: no I/O.
"""

from __future__ import annotations

import re

from contracts.changes import RULES
from contracts.model import (
    REQUIRED_KEYS,
    TIME_FIELDS,
    Catalog,
    FieldType,
    IgnoredBreak,
    PlatformContract,
    ResolveStep,
    TimeFormat,
)
from contracts.registry import CATALOG_FILE, PLATFORM_DIR, Problem, Registry

# Paths become JSON path lookups in generated SQL and JSON Schema properties: keep them plain.
PLAIN_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class _Findings:
    def __init__(self, reg: Registry, file: str) -> None:
        self.reg, self.file = reg, file
        self.problems: list[Problem] = []

    def add(self, message: str, *loc: object) -> None:
        self.problems.append(Problem(self.file, self.reg.line_of(self.file, *loc), message))


def _lint_ignored(out: _Findings, scope: str, ignored: list[IgnoredBreak]) -> None:
    for i, entry in enumerate(ignored):
        if not entry.reason.strip():
            out.add(f"ignored_breaks entry {entry.change!r} has no reason", "ignored_breaks", i, "reason")
        parts = entry.change.split(":")
        if len(parts) < 3 or parts[0] != scope or parts[-1] not in RULES:
            out.add(f"ignored_breaks change {entry.change!r} is not a change id of this file "
                    f"(expected {scope}:<subject>:<rule> with a rule of `nova contracts diff`)",
                    "ignored_breaks", i, "change")


def _lint_catalog(reg: Registry, catalog: Catalog) -> list[Problem]:
    out = _Findings(reg, str(CATALOG_FILE))
    first: dict[str, int] = {}
    for i, f in enumerate(catalog.features):
        if f.id in first:
            out.add(f"duplicate feature id {f.id!r} (first at line "
                    f"{reg.line_of(out.file, 'features', first[f.id])})", "features", i, "id")
        else:
            first[f.id] = i
    parents = {f.id: f.parent for f in catalog.features}
    broken: set[str] = set()  # features whose ancestry cannot be followed to a root
    reported_cycles: set[frozenset[str]] = set()
    for i, f in enumerate(catalog.features):
        if f.parent is not None and f.parent not in parents:
            out.add(f"feature {f.id!r} has unknown parent {f.parent!r}", "features", i, "parent")
        chain = [f.id]
        cur = f.parent
        while cur is not None and cur in parents:
            if cur in chain:
                cycle = frozenset(chain[chain.index(cur):])
                if f.id in cycle and cycle not in reported_cycles:
                    reported_cycles.add(cycle)
                    out.add(f"parent cycle: {' → '.join([*chain[chain.index(cur):], cur])}", "features", i, "parent")
                broken.add(f.id)
                break
            chain.append(cur)
            cur = parents[cur]
        if cur is not None and cur not in parents:
            broken.add(f.id)
        elif f.id not in broken and chain[-1] != f.area:
            # names resolve within an area (web SDK < 4.0), so the tree must not cross areas
            out.add(f"feature {f.id!r} is in area {f.area!r} but its top-level ancestor is {chain[-1]!r}",
                    "features", i, "parent")
    owner_of_legacy: dict[str, str] = {}
    for i, f in enumerate(catalog.features):
        for j, legacy in enumerate(f.legacy_ids):
            if legacy in parents:
                out.add(f"legacy id {legacy!r} of {f.id!r} is also a live feature id", "features", i, "legacy_ids", j)
            if legacy in owner_of_legacy:
                out.add(f"legacy id {legacy!r} of {f.id!r} is already a legacy id of "
                        f"{owner_of_legacy[legacy]!r}", "features", i, "legacy_ids", j)
            else:
                owner_of_legacy[legacy] = f.id
    names: dict[tuple[str, str], str] = {}
    for i, f in enumerate(catalog.features):
        key = (f.area, f.name)
        if key in names and names[key] != f.id:
            out.add(f"display name {f.name!r} of {f.id!r} is already used by {names[key]!r} in area {f.area!r} "
                    "(web SDK < 4.0 sends names)", "features", i, "name")
        names.setdefault(key, f.id)
        if len(set(f.platforms)) != len(f.platforms):
            out.add(f"feature {f.id!r} lists a platform twice", "features", i, "platforms")
        for j, p in enumerate(f.platforms):
            if p not in reg.contracts:
                out.add(f"feature {f.id!r} lists platform {p!r}, which has no contract "
                        f"(platforms: {', '.join(reg.contracts)})", "features", i, "platforms", j)
    _lint_ignored(out, "catalog", catalog.ignored_breaks)
    return out.problems


def _enum_fits(value: str, types: tuple[FieldType, ...]) -> bool:
    for t in types:
        if t is FieldType.string:
            return True
        try:
            if t is FieldType.integer:
                int(value)
                return True
            if t is FieldType.number:
                float(value)
                return True
        except ValueError:
            continue
        if t is FieldType.boolean and value in ("true", "false"):
            return True
    return False


def _lint_payload(out: _Findings, c: PlatformContract) -> None:
    for path, f in c.payload.items():
        if not PLAIN_PATH.match(path):
            out.add(f"payload path {path!r} is not a plain dotted key (letters, digits, _ between dots)",
                    "payload", path)
        children = [p for p in c.payload if p.startswith(path + ".")]
        if children and FieldType.object not in f.types:
            out.add(f"payload path {path!r} has sub-fields ({children[0]!r}) but is not an object", "payload", path)
        if f.closed and FieldType.object not in f.types:
            out.add(f"payload field {path!r}: `closed` applies to objects only", "payload", path, "closed")
        for v in f.enum or []:
            if not _enum_fits(v, f.types):
                out.add(f"payload field {path!r}: enum value {v!r} is not a {'/'.join(f.types)}",
                        "payload", path, "enum")
        if f.min_length is not None and f.max_length is not None and f.min_length > f.max_length:
            out.add(f"payload field {path!r}: min_length > max_length", "payload", path, "min_length")


def _lint_mapping(out: _Findings, c: PlatformContract) -> None:
    for i, cond in enumerate(c.scope):
        if cond.path not in c.payload:
            out.add(f"scope condition on {cond.path!r}, which is not declared in payload", "scope", i, "path")
    for key, _reason in REQUIRED_KEYS:
        if key not in c.mapping:
            out.add(f"required canonical key {key!r} is not mapped", "mapping")
    for canon, m in c.mapping.items():
        for j, path in enumerate(m.from_):
            if path not in c.payload:
                out.add(f"mapping {canon}: path {path!r} is not declared in payload", "mapping", canon, "from", j)
        if canon in TIME_FIELDS:
            if m.format is None:
                out.add(f"mapping {canon}: a time mapping needs a `format` (iso8601, epoch_ms, epoch_s)",
                        "mapping", canon)
            for path in m.from_:
                declared = c.payload[path].format if path in c.payload else None
                if m.format is not None and isinstance(declared, TimeFormat) and declared != m.format:
                    out.add(f"mapping {canon}: format {m.format.value} but payload {path!r} is "
                            f"{declared.value}", "mapping", canon, "format")
        elif m.format is not None or m.variants:
            out.add(f"mapping {canon}: `format` and `variants` apply to time fields only "
                    f"({', '.join(TIME_FIELDS)})", "mapping", canon)
        if m.variants and "app_version" not in c.mapping:
            out.add(f"mapping {canon}: variants test the app version but `app_version` is not mapped",
                    "mapping", canon, "variants")


def _lint_resolution(out: _Findings, c: PlatformContract) -> None:
    res = c.feature_resolution
    if ResolveStep.name_in_area in res.steps and "feature_area" not in c.mapping:
        out.add("feature_resolution: step name_in_area needs a `feature_area` mapping",
                "feature_resolution", "steps")
    if res.name_in_area_when is not None:
        if ResolveStep.name_in_area not in res.steps:
            out.add("feature_resolution: name_in_area_when without the name_in_area step",
                    "feature_resolution", "name_in_area_when")
        if "app_version" not in c.mapping:
            out.add("feature_resolution: name_in_area_when tests the app version but `app_version` is not mapped",
                    "feature_resolution", "name_in_area_when")
    if len(set(res.steps)) != len(res.steps):
        out.add("feature_resolution: a step is listed twice", "feature_resolution", "steps")


def lint_contract(reg: Registry, c: PlatformContract) -> list[Problem]:
    out = _Findings(reg, str(PLATFORM_DIR / f"{c.platform}.yaml"))
    _lint_payload(out, c)
    _lint_mapping(out, c)
    _lint_resolution(out, c)
    _lint_ignored(out, c.platform, c.ignored_breaks)
    return out.problems


def lint_registry(reg: Registry) -> list[Problem]:
    """Every semantic problem of a registry that loaded (schema errors come from `load_registry`)."""
    problems = _lint_catalog(reg, reg.catalog)
    for contract in reg.contracts.values():
        problems += lint_contract(reg, contract)
    return problems
