"""JSON Schema (draft 2020-12) of a platform's payload, for SDK teams and collector-side checks.

Dotted payload paths become nested objects; a path's undeclared parents are plain objects. The
scope is an `if`, the required fields a `then`: outside feature usage (a web `page` call, a backend
`system` actor) nothing is required, exactly as the pipeline treats it. Pure: returns dicts.
"""

from __future__ import annotations

import json
from typing import Any

from contracts.model import (
    REQUIRED_KEYS,
    Catalog,
    Condition,
    FieldType,
    PayloadField,
    Pii,
    PlatformContract,
    ResolveStep,
    TimeFormat,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# Formats are not asserted by JSON Schema validators by default, and the pipeline reads looser
# spellings than `date-time`: they travel as `x-nova-format`; what staging enforces is a pattern.
NON_BLANK: dict[str, Any] = {"not": {"type": "null"}, "pattern": "\\S"}  # pattern applies to strings only
MAX_EPOCH_MICROS = 7_258_118_400_000_000  # pipeline.stage_sql: larger epochs are not timestamps
_DAY = (r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
        r"|02-(?:0[1-9]|1\d|2[0-8]))")
_LEAP = r"(?:\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29"
_TIME = (r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
         r"(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?")
# ISO-8601 as the SDKs write it: a real calendar date, optional time, optional Z or offset
ISO_PATTERN = rf"^\s*(?:\d{{4}}-{_DAY}|{_LEAP}){_TIME}\s*$"


def _enum_value(value: str, types: tuple[FieldType, ...]) -> Any:
    """Enum values are written as strings in YAML; a numeric field's enum must hold numbers."""
    for t in types:
        try:
            if t is FieldType.integer:
                return int(value)
            if t is FieldType.number:
                return float(value) if any(ch in value for ch in ".eE") else int(value)
        except ValueError:
            continue
        if t is FieldType.boolean and value in ("true", "false"):
            return value == "true"
        if t is FieldType.string:
            return value
    return value


def _field_schema(f: PayloadField | None, tolerated: bool = False) -> dict[str, Any]:
    """A declared field. Optional fields may be null (staging reads null as absent); a field staging
    tolerates whatever its value (a send time it cannot parse is ignored) asserts no type."""
    if f is None:
        return {"type": "object"}  # an undeclared parent of a declared path
    types = [t.value for t in f.types]
    if not f.required:
        types.append("null")
    s: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    if tolerated:
        s = {"x-nova-type": s["type"]}
    if f.description:
        s["description"] = f.description
    if f.enum is not None:
        s["enum"] = [_enum_value(v, f.types) for v in f.enum] + ([] if f.required else [None])
    if f.format is not None:
        s["x-nova-format"] = str(f.format.value if isinstance(f.format, TimeFormat) else f.format)
    if f.min_length is not None:
        s["minLength"] = f.min_length
    if f.max_length is not None:
        s["maxLength"] = f.max_length
    if f.closed:
        s["additionalProperties"] = False
    if f.pii is not Pii.none:
        s["x-nova-pii"] = f.pii.value
    return s


def _properties(payload: dict[str, PayloadField], prefix: str, tolerated: set[str]) -> dict[str, Any]:
    """The `properties` of the object at `prefix` ('' for the root), in declaration order."""
    names: list[str] = []
    for path in payload:
        if prefix and not path.startswith(prefix + "."):
            continue
        name = (path[len(prefix) + 1:] if prefix else path).split(".", 1)[0]
        if name not in names:
            names.append(name)
    out: dict[str, Any] = {}
    for name in names:
        full = f"{prefix}.{name}" if prefix else name
        schema = _field_schema(payload.get(full), full in tolerated)
        children = _properties(payload, full, tolerated)
        if children:
            schema["properties"] = children
        out[name] = schema
    return out


def _at_path(path: str, leaf: dict[str, Any], required: bool) -> dict[str, Any]:
    """A schema applying `leaf` to the value at a dotted path (requiring the path if asked)."""
    schema = leaf
    for seg in reversed(path.split(".")):
        schema = {"properties": {seg: schema}, **({"required": [seg]} if required else {})}
    return schema


def _condition_schema(c: Condition) -> dict[str, Any]:
    # absent values never equal and are never `in` anything, but pass `not_in` (backend schema v1)
    if c.equals is not None:
        return _at_path(c.path, {"const": c.equals}, required=True)
    if c.in_ is not None:
        return _at_path(c.path, {"enum": list(c.in_)}, required=True)
    return _at_path(c.path, {"not": {"enum": list(c.not_in or [])}}, required=False)


def _present(path: str) -> dict[str, Any]:
    """The value at `path` is there: not absent, not null, not blank (SEMANTICS: missing)."""
    return _at_path(path, NON_BLANK, required=True)


def _first_present(paths: list[str], leaf: dict[str, Any]) -> dict[str, Any]:
    """The canonical value (the first present of `paths`, as the mapping reads it) satisfies `leaf`."""
    branches = []
    for i, path in enumerate(paths):
        earlier = [{"not": _present(p)} for p in paths[:i]]
        branches.append({"allOf": [*earlier, _at_path(path, {**NON_BLANK, **leaf} if leaf else NON_BLANK, True)]}
                        if earlier else _at_path(path, {**NON_BLANK, **leaf} if leaf else NON_BLANK, True))
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


def _int_below(n: int) -> str | None:
    """A regex for a run of digits (leading zeros allowed) worth less than `n`."""
    if n <= 0:
        return None
    return "0*(?:" + "|".join(str(i) for i in range(n)) + r")(?!\d)"


def _int_equal(n: int) -> str:
    return rf"0*{n}(?!\d)" if n else r"(?:0+(?!\d)|(?!\d))"  # 0: also no digits at all (read as 0)


def version_below_pattern(version: str) -> str:
    """The app versions `Engine.version_below` reads as below `version`: numeric prefixes of the
    dot-separated parts compared in order, a missing minor or patch counting as 0."""
    major, minor, patch = ([int(p) for p in version.split(".")] + [0, 0])[:3]
    part = r"[^.]*"
    alts = []
    if (lt := _int_below(major)) is not None:
        alts.append(lt)
    eq_major = rf"0*{major}(?!\d){part}"
    if (lt := _int_below(minor)) is not None:
        alts.append(rf"{eq_major}(?:$|\.(?!\d)|\.{lt})")
    if (lt := _int_below(patch)) is not None:
        minor_eq = rf"\.{_int_equal(minor)}{part}"
        rest = rf"(?:$|\.(?!\d)|\.{lt})"
        alts.append(rf"{eq_major}(?:$|{minor_eq}{rest})" if minor == 0 else rf"{eq_major}{minor_eq}{rest}")
    return r"^\s*(?:" + "|".join(alts) + ")" if alts else "(?!)"


def _version_gate(c: PlatformContract, below: str) -> dict[str, Any]:
    app = c.mapping.get("app_version")
    if app is None:
        return {"not": {}}  # no version: never below (as in staging)
    return _first_present(app.from_, {"type": "string", "pattern": version_below_pattern(below)})


def _time_leaf(fmt: TimeFormat) -> dict[str, Any]:
    if fmt is TimeFormat.iso8601:
        return {"type": "string", "pattern": ISO_PATTERN}
    factor = 1000 if fmt is TimeFormat.epoch_ms else 1_000_000
    return {"type": "number", "minimum": 0, "maximum": MAX_EPOCH_MICROS // factor}


def _client_time_schema(c: PlatformContract) -> dict[str, Any] | None:
    """The client time parses, in the format staging reads for the line's app version."""
    m = c.mapping.get("client_ts")
    if m is None:
        return None
    default = _first_present(m.from_, _time_leaf(m.format or TimeFormat.iso8601))
    if not m.variants:
        return default
    gates = [_version_gate(c, v.when.app_version_below) for v in m.variants]
    branches = []
    for i, v in enumerate(m.variants):  # the first variant whose version test holds wins
        branches.append({"allOf": [*({"not": g} for g in gates[:i]), gates[i],
                                   _first_present(m.from_, _time_leaf(v.format))]})
    branches.append({"allOf": [*({"not": g} for g in gates), default]})
    return {"anyOf": branches}


def _feature_schema(c: PlatformContract, catalog: Catalog) -> dict[str, Any] | None:
    """The sent feature resolves: a catalog id, a legacy id, or (where the contract resolves names)
    a display name within the area sent, for the app versions names are accepted from."""
    m = c.mapping.get("feature")
    if m is None:
        return None
    steps = c.feature_resolution.steps
    values: list[str] = []
    if ResolveStep.id in steps:
        values += [f.id for f in catalog.features]
    if ResolveStep.legacy_id in steps:
        values += [lg for f in catalog.features for lg in f.legacy_ids]
    branches = [_first_present(m.from_, {"enum": sorted(set(values))})] if values else []
    area = c.mapping.get("feature_area")
    if ResolveStep.name_in_area in steps and area is not None:
        gate = c.feature_resolution.name_in_area_when
        names: dict[str, set[str]] = {}
        for f in catalog.features:
            names.setdefault(f.area, set()).add(f.name)
        for a, area_names in sorted(names.items()):
            branch = [_first_present(area.from_, {"const": a}), _first_present(m.from_, {"enum": sorted(area_names)})]
            if gate is not None:
                branch.insert(0, _version_gate(c, gate.app_version_below))
            branches.append({"allOf": branch})
    if not branches:
        return {"not": {}}
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


def _then_schema(c: PlatformContract, catalog: Catalog | None) -> dict[str, Any]:
    """What staging requires of a feature-usage line, in its order: the keys, the other required
    fields, a feature that resolves, a client time that parses."""
    parts: list[dict[str, Any]] = []
    keys = dict(REQUIRED_KEYS)
    for name in keys:
        m = c.mapping.get(name)  # type: ignore[call-overload]
        if m is not None:
            parts.append(_first_present(m.from_, {}))
    parts += [_present(p) for p in c.required_paths()]
    if catalog is not None and (feature := _feature_schema(c, catalog)) is not None:
        parts.append(feature)
    if (client := _client_time_schema(c)) is not None:
        parts.append(client)
    unique: list[dict[str, Any]] = []
    for p in parts:
        if p not in unique:
            unique.append(p)
    return {"allOf": unique}


def tolerated_paths(c: PlatformContract) -> set[str]:
    """Paths staging reads but never rejects a line for: an unparseable send time is ignored, an
    unparseable received_at falls back to the file's modification time."""
    return {p for name in ("sent_at", "received_at") if (m := c.mapping.get(name)) for p in m.from_
            if not c.payload.get(p, PayloadField(type=FieldType.string)).required}


def export_contract(c: PlatformContract, catalog: Catalog | None = None) -> dict[str, Any]:
    """The JSON Schema of one platform's payload. With the catalog, the feature must resolve."""
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"urn:novasuite:contracts:{c.platform}:{c.version}",
        "title": f"NovaSuite {c.platform} feature-usage event",
        "description": " ".join(c.description.split()),
        "x-nova-contract-version": c.version,
        "x-nova-owner": c.owner,
        "type": "object",
        "properties": _properties(c.payload, "", tolerated_paths(c)),
        "additionalProperties": c.additional_properties,
    }
    conditions = [_condition_schema(cond) for cond in c.scope]
    schema["if"] = conditions[0] if len(conditions) == 1 else {"allOf": conditions}
    schema["then"] = _then_schema(c, catalog)
    return schema


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
