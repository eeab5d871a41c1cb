"""The exported JSON Schema accepts what clients send today (WIRE_FORMATS.md) and rejects what breaks it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from contracts.jsonschema_export import DRAFT, export_contract
from contracts.model import PayloadField
from tests.contracts.helpers import shipped

# The example payloads of WIRE_FORMATS.md, verbatim (elisions `...` included).
EXAMPLES: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "fixtures" / "wire_examples.json").read_text(encoding="utf-8"))

Validate = Callable[[dict[str, Any], dict[str, Any]], list[str]]


@pytest.fixture
def validate() -> Validate:
    """The real `jsonschema` library (a dev dependency), as client teams run it."""
    import jsonschema

    def run(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
        jsonschema.Draft202012Validator.check_schema(schema)
        return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(instance)]

    return run


@cache
def _schema(platform: str) -> str:
    return json.dumps(export_contract(shipped().contracts[platform], shipped().catalog))


def schema_of(platform: str) -> dict[str, Any]:
    return json.loads(_schema(platform))  # a fresh copy: tests may edit it


def without(payload: dict[str, Any], path: str) -> dict[str, Any]:
    out = copy.deepcopy(payload)
    *parents, last = path.split(".")
    node = out
    for p in parents:
        node = node[p]
    del node[last]
    return out


@pytest.mark.parametrize("platform", list(EXAMPLES))
def test_accepts_the_wire_format_examples(platform: str, validate: Validate) -> None:
    assert validate(EXAMPLES[platform], schema_of(platform)) == []


@pytest.mark.parametrize(("platform", "path"), [
    ("web", "userId"), ("web", "properties.feature"), ("ios", "user.id"), ("android", "featureId"),
    ("backend", "occurred_at"),
])
def test_rejects_a_missing_required_field(platform: str, path: str, validate: Validate) -> None:
    errors = validate(without(EXAMPLES[platform], path), schema_of(platform))
    assert errors and any(path.rsplit(".", 1)[-1] in e for e in errors), errors


def test_required_only_in_scope(validate: Validate) -> None:
    page_call = {**without(EXAMPLES["web"], "userId"), "type": "page"}
    assert validate(page_call, schema_of("web")) == []
    system_job = {**without(EXAMPLES["backend"], "feature_id"), "actor": {"type": "system"}}
    assert validate(system_job, schema_of("backend")) == []
    # schema_version 1 has no actor: `not_in` passes on an absent value, so it is in scope
    v1 = {**without(EXAMPLES["backend"], "actor"), "schema_version": 1, "user_id": "u_1", "workspace_id": "ws_1"}
    assert validate(v1, schema_of("backend")) == []
    assert validate(without(v1, "feature_id"), schema_of("backend")) != []


def test_types_and_enums(validate: Validate) -> None:
    # enum values are strings in YAML, numbers in the schema of a numeric field
    assert validate({**EXAMPLES["backend"], "schema_version": "2"}, schema_of("backend")) != []
    assert validate({**EXAMPLES["backend"], "schema_version": 3}, schema_of("backend")) != []
    assert validate({**EXAMPLES["ios"], "ts": "1764090000123"}, schema_of("ios")) != []
    assert validate({**EXAMPLES["ios"], "ts": 1764090000.5}, schema_of("ios")) == []  # iOS < 5.0: float seconds


def test_closed_objects(validate: Validate) -> None:
    contract = shipped().contracts["ios"]
    props = contract.payload["props"].model_copy(update={"closed": True})
    closed = contract.model_copy(update={"payload": {**contract.payload, "props": props},
                                         "additional_properties": False})
    schema = export_contract(closed)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["props"]["additionalProperties"] is False
    assert validate({**EXAMPLES["ios"], "extra": 1}, schema) != []
    assert validate({**EXAMPLES["ios"], "props": {"source": "toolbar"}}, schema) != []  # nothing declared below
    assert validate({**EXAMPLES["ios"], "props": {}}, schema) == []
    assert validate({**EXAMPLES["ios"], "extra": 1}, schema_of("ios")) == []  # the shipped contract is open


def test_structure() -> None:
    web = schema_of("web")
    assert web["$schema"] == DRAFT == "https://json-schema.org/draft/2020-12/schema"
    assert web["x-nova-contract-version"] == "1.0.0"
    assert web["if"] == {"allOf": [
        {"properties": {"type": {"const": "track"}}, "required": ["type"]},
        {"properties": {"event": {"enum": ["Feature Used", "feature_used"]}}, "required": ["event"]},
    ]}
    then = web["then"]["allOf"]
    # keys first (present, not null, not blank), then the contract's required fields
    assert then[0] == {"properties": {"messageId": {"not": {"type": "null"}, "pattern": "\\S"}},
                       "required": ["messageId"]}
    assert {"properties": {"properties": {"properties": {"workspaceId": {"not": {"type": "null"}, "pattern": "\\S"}},
                                          "required": ["workspaceId"]}}, "required": ["properties"]} in then
    assert web["properties"]["originalTimestamp"]["x-nova-format"] == "iso8601"
    assert web["properties"]["messageId"]["x-nova-format"] == "uuid"
    assert web["properties"]["userId"]["x-nova-pii"] == "indirect"
    assert web["properties"]["anonymousId"]["type"] == ["string", "null"]  # optional: null is absent
    assert "type" not in web["properties"]["sentAt"]  # staging ignores a send time it cannot parse
    # undeclared parents (`context.library`) are plain objects holding the declared leaves
    assert web["properties"]["context"]["properties"]["library"] == {
        "type": "object",
        "properties": {"name": {"type": ["string", "null"]},
                       "version": {"type": ["string", "null"], "x-nova-format": "semver"}},
    }
    ios = schema_of("ios")
    assert ios["properties"]["ts"]["x-nova-format"] == "epoch_ms"
    assert ios["if"] == {"properties": {"name": {"const": "feature_used"}}, "required": ["name"]}
    backend = schema_of("backend")
    assert backend["properties"]["schema_version"]["enum"] == [1, 2, None]  # optional: null is absent
    not_system = {"properties": {"type": {"not": {"enum": ["system"]}}}}
    assert backend["if"]["allOf"][1] == {"properties": {"actor": not_system}}  # absent actor: in scope


def test_type_lists_and_lengths() -> None:
    contract = shipped().contracts["android"]
    field = PayloadField(type=["string", "integer"], min_length=1, max_length=64)  # type: ignore[arg-type]
    schema = export_contract(contract.model_copy(update={"payload": {**contract.payload, "workspaceId": field}}))
    assert schema["properties"]["workspaceId"] == {"type": ["string", "integer", "null"], "minLength": 1,
                                                   "maxLength": 64}


def test_the_catalog_and_times_are_asserted(validate: Validate) -> None:
    web, ios = schema_of("web"), schema_of("ios")
    assert validate(EXAMPLES["web"], web) == []
    unknown = copy.deepcopy(EXAMPLES["web"])
    unknown["properties"]["feature"] = "editor.comments.mentions"
    assert validate(unknown, web) != []
    # web SDK < 4.0 sends the display name with its area; 4.x may not
    old = copy.deepcopy(EXAMPLES["web"])
    old["properties"].update(feature="Mention", area="editor")
    old["context"]["library"]["version"] = "3.9.2"
    assert validate(old, web) == []
    assert validate({**old, "context": {"library": {"version": "4.0.1"}}}, web) != []
    assert validate({**old, "properties": {**old["properties"], "area": "admin"}}, web) != []
    # legacy ids resolve on every platform that resolves them
    assert validate({**EXAMPLES["ios"], "feature_key": "editor.comments.mention_v1"}, ios) == []
    for bad in ("yesterday", "2026-13-45T25:61:00Z", "2026-11-31T10:00:00Z", "   "):
        assert validate({**EXAMPLES["web"], "originalTimestamp": bad}, web) != [], bad
    for good in ("2026-11-25T17:00:00.123Z", "2026-11-25 18:00:00", "2026-11-25T18:00:00+01:00", "2024-02-29"):
        assert validate({**EXAMPLES["web"], "originalTimestamp": good}, web) == [], good
    # iOS: epoch ms from 5.0, epoch seconds below; beyond year 2200 is not a time
    assert validate({**EXAMPLES["ios"], "ts": -5}, ios) != []
    assert validate({**EXAMPLES["ios"], "ts": 7_258_118_400_001}, ios) != []
    assert validate({**EXAMPLES["ios"], "ts": 7_258_118_400_001, "app": {"version": "5.1.2"}}, ios) != []
    assert validate({**EXAMPLES["ios"], "ts": 1764090000123, "app": {"version": "4.9.1"}}, ios) != []
    assert validate({**EXAMPLES["ios"], "ts": 1764090000.123, "app": {"version": "4.9.1"}}, ios) == []


def test_blank_and_null_keys_fail_and_null_optionals_pass(validate: Validate) -> None:
    android = schema_of("android")
    for blank in ("", "  ", None):
        assert validate({**EXAMPLES["android"], "workspaceId": blank}, android) != [], blank
    assert validate({**EXAMPLES["android"], "sentAt": "not a time", "appVersion": None}, android) == []


def test_version_gate_regex_equals_the_pipelines_comparison() -> None:
    """The schema's `below X` pattern and Engine.version_below agree on odd versions too."""
    import random
    import re

    import duckdb

    from contracts.jsonschema_export import version_below_pattern
    from warehouse.engine import DuckDBEngine

    rnd = random.Random(1)
    versions = ["4.0", "3.9.2", "4", "3", "0.1", "10.0", "4.0.1", "04.0", "3a.9", "x4", "", "  3.1 ", "4.", "4.a",
                "5.0.0", "4.10", "4.0.0.1", "3.99.99", "400", "0", "1.2.3-beta", "5.1.1", "5..1", "1.0.a", "1..0"]
    versions += [".".join(str(rnd.randint(0, 12)) for _ in range(rnd.randint(1, 4))) for _ in range(200)]
    con = duckdb.connect()
    for gate in ("4.0", "5.0", "4.3", "5.1.2", "1.0.1", "0.0.1"):
        sql = f"SELECT v, {DuckDBEngine().version_below('v', gate)} FROM (SELECT unnest(?) AS v)"
        pattern = re.compile(version_below_pattern(gate))
        for v, below in con.execute(sql, [versions]).fetchall():
            assert bool(below) == bool(pattern.search(v)), (gate, v)
