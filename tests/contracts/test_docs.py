"""docs/contracts.md stays true: every diff rule with its severity, every contract key, the exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from contracts.changes import RULES
from contracts.model import (
    Catalog,
    Condition,
    Feature,
    FeatureResolution,
    IgnoredBreak,
    Mapping,
    PayloadField,
    PlatformContract,
    Variant,
    VersionBelow,
    Violations,
)
from contracts.registry import Rules

DOC = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _rule_rows(doc: str) -> dict[str, tuple[str, str]]:
    return {m[1]: (m[2], m[3]) for m in re.finditer(r"^\| `(\w+)` \| (BREAKING|WARNING|SAFE) \| (\w+) \|", doc, re.M)}


def test_every_diff_rule_is_documented_with_its_severity(doc: str) -> None:
    rows = _rule_rows(doc)
    expected = {r.id: (r.severity.value, r.severity.bump.value) for r in RULES.values()}
    missing = {rule: sev for rule, sev in expected.items() if rows.get(rule) != sev}
    assert missing == {}, f"rules missing or wrong in {DOC}: {missing}"
    assert set(rows) - set(expected) == set(), "documented rules that the code does not have"


@pytest.mark.parametrize("model", [PlatformContract, PayloadField, Condition, Mapping, Variant, VersionBelow,
                                   FeatureResolution, Violations, IgnoredBreak, Catalog, Feature, Rules])
def test_every_contract_key_is_documented(doc: str, model: type[BaseModel]) -> None:
    keys = [f.alias or name for name, f in model.model_fields.items()]
    undocumented = [k for k in keys if f"`{k}`" not in doc]
    assert undocumented == [], f"{model.__name__} keys not in {DOC}"


def test_exit_codes_are_documented(doc: str) -> None:
    section = doc.split("### Exit codes", 1)[1].split("###", 1)[0]
    assert [m[1] for m in re.finditer(r"^\| (\d) \|", section, re.M)] == ["0", "1", "3"]
