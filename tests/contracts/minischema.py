"""A tiny JSON Schema 2020-12 evaluator for the keywords the export uses.

The project venv has no `jsonschema`; the export tests run against this evaluator always and against
`jsonschema` too when it is importable. Any keyword it does not know fails loudly, so the export
cannot start relying on one unnoticed.
"""

from __future__ import annotations

from typing import Any

ANNOTATIONS = {"$schema", "$id", "title", "description", "format"}


def _is_type(value: Any, t: str) -> bool:
    if t == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if t == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if t == "null":
        return value is None
    return type(value) is {"string": str, "boolean": bool, "object": dict, "array": list}[t]


def errors(instance: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    out: list[str] = []
    for key, rule in schema.items():
        if key in ANNOTATIONS or key.startswith("x-") or key in ("then", "else"):
            continue
        if key == "type":
            types = rule if isinstance(rule, list) else [rule]
            if not any(_is_type(instance, t) for t in types):
                out.append(f"{where}: not of type {rule}")
        elif key == "enum":
            if instance not in rule:
                out.append(f"{where}: {instance!r} not in {rule}")
        elif key == "const":
            if instance != rule:
                out.append(f"{where}: {instance!r} != {rule!r}")
        elif key in ("minLength", "maxLength"):
            if isinstance(instance, str) and (len(instance) < rule if key == "minLength" else len(instance) > rule):
                out.append(f"{where}: length outside {key} {rule}")
        elif key == "not":
            if not errors(instance, rule, where):
                out.append(f"{where}: matches a `not` schema")
        elif key == "allOf":
            for sub in rule:
                out += errors(instance, sub, where)
        elif key == "if":
            branch = "then" if not errors(instance, rule, where) else "else"
            out += errors(instance, schema.get(branch, {}), where)
        elif isinstance(instance, dict):
            if key == "required":
                out += [f"{where}: '{name}' is a required property" for name in rule if name not in instance]
            elif key == "properties":
                for name, sub in rule.items():
                    if name in instance:
                        out += errors(instance[name], sub, f"{where}.{name}")
            elif key == "additionalProperties":
                extra = [k for k in instance if k not in schema.get("properties", {})]
                if rule is False and extra:
                    out.append(f"{where}: extra keys {extra}")
            else:
                raise NotImplementedError(key)
        elif key not in ("required", "properties", "additionalProperties"):
            raise NotImplementedError(key)
    return out
