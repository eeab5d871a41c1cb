"""The exported JSON Schema agrees with staging, checked with the `jsonschema` library over
generated traffic whose verdicts come from the pipeline itself.

Every staged (or duplicate) line validates against its platform's schema; every line quarantined for
a reason JSON Schema can express (a missing key or required field, an unknown feature, an unparseable
client time) fails it. `invalid_json` lines are not objects and `too_late` compares two times, which
JSON Schema cannot do: both are left out, and said so in docs/contracts.md.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from config import Settings
from contracts.jsonschema_export import export_contract
from contracts.registry import Registry, load_registry
from tests.conftest import REPO
from tests.pipeline.helpers import load_and_run
from traffic import GeneratorConfig, generate, quirk_rates
from warehouse.session import open_warehouse

DESKTOP = Path(__file__).parent / "fixtures" / "desktop.yaml"

EXPRESSIBLE = {"missing_event_id", "missing_user_id", "missing_workspace_id", "missing_feature",
               "missing_timestamp", "missing_field", "unknown_feature", "invalid_timestamp"}
NOT_EXPRESSIBLE = {"invalid_json", "too_late"}


def verdicts(wh: Any) -> list[tuple[str, str, str | None, str]]:
    """(platform, state, reason, raw line) of every loaded line."""
    return wh.query(
        "SELECT r.platform, s.state, s.reason, r.raw_line FROM raw_events r JOIN ("
        "SELECT load_id, file_path, line_number, 'staged' AS state, NULL AS reason FROM stg_events UNION ALL "
        "SELECT load_id, file_path, line_number, 'duplicate', NULL FROM stg_duplicates UNION ALL "
        "SELECT load_id, file_path, line_number, 'ignored', reason FROM ignored_events UNION ALL "
        "SELECT load_id, file_path, line_number, 'quarantined', reason FROM quarantined_events) s "
        "USING (load_id, file_path, line_number)")


def pipeline_verdicts(tmp: Path, registry: Registry, events: int) -> list[tuple[str, str, str | None, str]]:
    """Generate a day for `registry`'s platforms, run it through the pipeline, return each line's verdict."""
    generate(GeneratorConfig(out=tmp / "landing", events_per_day=events, seed=7, quirks=quirk_rates("high"),
                             workers=1), registry=registry)
    with open_warehouse(Settings(warehouse_url=f"duckdb:///{tmp}/wh.duckdb")) as wh:
        load_and_run(wh, registry, tmp / "landing")
        return verdicts(wh)


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, str | None, str]]:
    # quirks x3: every defect shows up several times in ~2.5K lines
    return pipeline_verdicts(tmp_path_factory.mktemp("agreement"), load_registry(REPO / "contracts"), 2500)


def check(rows: list[tuple[str, str, str | None, str]], schemas: dict[str, dict[str, Any]]) -> dict[str, Counter]:
    """Counts of lines valid / invalid against their platform's schema, by pipeline reason or state."""
    validators = {p: jsonschema.Draft202012Validator(s) for p, s in schemas.items()}
    out: dict[str, Counter] = {"valid": Counter(), "invalid": Counter()}
    for platform, state, reason, raw in rows:
        try:
            doc = json.loads(raw)
        except (ValueError, TypeError):
            continue
        if isinstance(doc, dict):
            out["valid" if validators[platform].is_valid(doc) else "invalid"][reason or state] += 1
    return out


def schemas_of(reg: Registry, with_catalog: bool = True) -> dict[str, dict[str, Any]]:
    out = {p: export_contract(c, reg.catalog if with_catalog else None) for p, c in reg.contracts.items()}
    for schema in out.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    return out


def test_schema_accepts_staged_and_rejects_expressible_quarantine(traffic) -> None:
    result = check(traffic, schemas_of(load_registry(REPO / "contracts")))
    valid, invalid = result["valid"], result["invalid"]
    states = Counter(reason or state for _, state, reason, _ in traffic)
    # the traffic holds what the test is about, so the assertions below cannot pass vacuously
    assert states["staged"] > 1000 and states["duplicate"] > 10
    for reason in EXPRESSIBLE - {"missing_field"}:  # no shipped contract requires a field beyond the keys
        assert states[reason] > 0, reason
    assert invalid["staged"] == 0 and invalid["duplicate"] == 0, invalid
    assert {r: n for r, n in valid.items() if r in EXPRESSIBLE} == {}, valid
    assert sum(invalid[r] for r in EXPRESSIBLE) == sum(states[r] for r in EXPRESSIBLE)


def test_without_the_catalog_unknown_features_pass(traffic) -> None:
    # what exporting the catalog's ids buys: without them, lines with an unknown feature pass
    unknown = [row for row in traffic if row[2] == "unknown_feature"]
    assert check(unknown, schemas_of(load_registry(REPO / "contracts"), with_catalog=False))["valid"] == Counter(
        {"unknown_feature": len(unknown)})


def test_a_new_platform_gets_a_schema_that_agrees(make_copy, tmp_path: Path) -> None:
    """A platform added as one file: generated (default profile), staged and validated like the others."""
    copy = make_copy()
    shutil.copyfile(DESKTOP, copy.root / "platforms" / "desktop.yaml")
    reg = copy.load()
    rows = pipeline_verdicts(tmp_path, reg, 300)
    desktop = [r for r in rows if r[0] == "desktop"]
    assert desktop and {r[1] for r in desktop} == {"staged"}
    result = check(desktop, schemas_of(reg))
    assert result["invalid"] == Counter() and result["valid"]["staged"] == len(desktop)
