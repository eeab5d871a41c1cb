"""A payload field the contract marks `required: true` beyond the five keys is enforced by staging:
a feature-usage line without it is quarantined as `missing_field`, after the keys' own reasons."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from pipeline.stage_sql import classify_sql
from pipeline.validate import validate_sample
from tests.contracts.helpers import RegistryCopy, shipped
from tests.pipeline.helpers import ios
from warehouse.engine import DuckDBEngine


def test_a_required_field_is_enforced_after_the_keys(tmp_path: Path) -> None:
    copy = RegistryCopy(tmp_path / "reg")
    copy.edit("ios", lambda d: d["payload"]["action"].update(required=True))
    reg = copy.load()
    assert reg.contracts["ios"].field_checks() == ["action"]
    lines = [ios("A1"), {k: v for k, v in ios("A2").items() if k != "action"}, ios("A3", action="  "),
             ios("A4", action=None), {k: v for k, v in ios("A5", user={"id": "u"}).items() if k != "action"},
             ios("A6", name="app_opened", action=None)]
    sample = tmp_path / "s.jsonl"
    sample.write_text("".join(json.dumps(x) + "\n" for x in lines))
    # The file closes right after its lines were received, as the collector's do: a received_at is
    # trusted only within 366 days before / 1 h after the file's mtime (docs/pipeline.md, Times).
    closed = dt.datetime(2025, 11, 25, 17, 5, tzinfo=dt.UTC).timestamp()
    os.utime(sample, (closed, closed))
    got = [(v.state, v.reason) for v in validate_sample(reg, sample, "ios")]
    assert got == [("staged", None), ("quarantined", "missing_field"), ("quarantined", "missing_field"),
                   ("quarantined", "missing_field"), ("quarantined", "missing_workspace_id"),
                   ("ignored", "out_of_scope")]
    # the shipped contracts require nothing the keys and the scope do not already imply: their SQL has no check
    base = shipped()
    assert all(c.field_checks() == [] for c in base.contracts.values())
    assert "missing_field" not in classify_sql(base.contracts["ios"], base.rules, DuckDBEngine())
    assert "missing_field" in classify_sql(reg.contracts["ios"], reg.rules, DuckDBEngine())
