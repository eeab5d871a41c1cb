"""JSON Schema (draft 2020-12) of a platform's payload, for SDK teams and collector-side checks.

Dotted payload paths become nested objects; a path's undeclared parents are plain objects. The
scope is an `if`, the required fields a `then`: outside feature usage (a web `page` call, a backend
`system` actor) nothing is required, exactly as the pipeline treats it. Pure: returns dicts.
"""

from __future__ import annotations

import json
from typing import Any

from contracts.model import Condition, FieldType, PayloadField, Pii, PlatformContract, TimeFormat

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# Formats JSON Schema knows; the others (epoch_ms, epoch_s, semver) travel as an `x-nova-format` annotation.
STANDARD_FORMATS = {TimeFormat.iso8601.value: "date-time", "uuid": "uuid"}


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


def _field_schema(f: PayloadField | None) -> dict[str, Any]:
    if f is None:
        return {"type": "object"}  # an undeclared parent of a declared path
    types = [t.value for t in f.types]
    s: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    if f.description:
        s["description"] = f.description
    if f.enum is not None:
        s["enum"] = [_enum_value(v, f.types) for v in f.enum]
    if f.format is not None:
        fmt = str(f.format.value if isinstance(f.format, TimeFormat) else f.format)
        if fmt in STANDARD_FORMATS:
            s["format"] = STANDARD_FORMATS[fmt]
        else:
            s["x-nova-format"] = fmt
    if f.min_length is not None:
        s["minLength"] = f.min_length
    if f.max_length is not None:
        s["maxLength"] = f.max_length
    if f.closed:
        s["additionalProperties"] = False
    if f.pii is not Pii.none:
        s["x-nova-pii"] = f.pii.value
    return s


def _properties(payload: dict[str, PayloadField], prefix: str) -> dict[str, Any]:
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
        schema = _field_schema(payload.get(full))
        children = _properties(payload, full)
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


def _required_schema(paths: list[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for seg in path.split("."):
            node = node.setdefault(seg, {})

    def build(node: dict[str, Any]) -> dict[str, Any]:
        s: dict[str, Any] = {"required": list(node)}
        nested = {k: build(v) for k, v in node.items() if v}
        if nested:
            s["properties"] = nested
        return s

    return build(tree)


def export_contract(c: PlatformContract) -> dict[str, Any]:
    """The JSON Schema of one platform's payload."""
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"urn:novasuite:contracts:{c.platform}:{c.version}",
        "title": f"NovaSuite {c.platform} feature-usage event",
        "description": " ".join(c.description.split()),
        "x-nova-contract-version": c.version,
        "x-nova-owner": c.owner,
        "type": "object",
        "properties": _properties(c.payload, ""),
        "additionalProperties": c.additional_properties,
    }
    required = c.required_paths()
    if required:
        conditions = [_condition_schema(cond) for cond in c.scope]
        schema["if"] = conditions[0] if len(conditions) == 1 else {"allOf": conditions}
        schema["then"] = _required_schema(required)
    return schema


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
