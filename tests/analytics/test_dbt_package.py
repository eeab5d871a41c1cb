"""The generated dbt package as data: every column described, invariants from the registry, stable output."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from analytics.columns import COLUMN_DOCS
from analytics.dbt_package import SOURCES, render_package, table_columns
from config.dbt import DbtConfig
from pipeline.curate.definition import CURATED_TABLES, VIEWS
from tests.conftest import REPO
from tests.pipeline.helpers import load_and_run, web


def _sources(files: dict[str, str]) -> dict:
    (source,) = yaml.safe_load(files["models/nova_sources.yml"])["sources"]
    return {t["name"]: t for t in source["tables"]}


def nova(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nova.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, timeout=120)


def test_every_curated_table_dim_feature_and_trust_scores_are_sources(registry) -> None:
    curated = {t.name for t in CURATED_TABLES if t.layer == "curated"} | set(VIEWS)
    names = set(_sources(render_package(registry, DbtConfig())))
    assert curated | {"dim_feature", "trust_scores"} <= names


def test_every_exported_column_has_a_description_and_no_description_is_stale(registry) -> None:
    tables = _sources(render_package(registry, DbtConfig()))
    for spec in SOURCES:
        declared = table_columns(spec.name)
        assert set(COLUMN_DOCS[spec.name]) == set(declared), f"{spec.name}: describe exactly its columns"
        for col in tables[spec.name]["columns"]:
            assert len(col["description"]) > 10, f"{spec.name}.{col['name']} has no real description"
        assert tables[spec.name]["description"].strip()


def test_view_columns_documented_are_the_views_columns(wh, registry, landing) -> None:
    from tests.conftest import write_landing

    write_landing(landing, "web", "a.jsonl", [web("m1")])
    load_and_run(wh, registry, landing)
    for view in VIEWS:
        assert [r["column_name"] for r in wh.query_dicts(f"DESCRIBE {view}")] == table_columns(view)
    from monitors.trust.compute import LATEST_VIEW, ensure_latest_view

    ensure_latest_view(wh)  # the trust job's view, described in the package
    assert {r["column_name"] for r in wh.query_dicts(f"DESCRIBE {LATEST_VIEW}")} == set(table_columns(LATEST_VIEW))


def test_invariants_become_tests(registry) -> None:
    t = _sources(render_package(registry, DbtConfig()))
    platforms = sorted(registry.contracts)

    def tests_of(table: str, column: str) -> list:
        return next(c for c in t[table]["columns"] if c["name"] == column).get("data_tests", [])

    assert tests_of("fct_feature_events", "event_id") == ["not_null", "unique"]
    assert {"accepted_values": {"arguments": {"values": platforms}}} in tests_of("fct_feature_events", "platform")
    assert {"accepted_values": {"arguments": {"values": [*platforms, "all"]}}} in \
        tests_of("feature_usage_daily", "platform")
    rel = {"relationships": {"arguments": {"to": "source('nova', 'dim_feature')", "field": "feature_id"}}}
    for table in ("fct_feature_events", "feature_usage_daily", "feature_usage_weekly",
                  "feature_adoption_by_workspace", "user_feature_last_seen"):
        assert rel in tests_of(table, "feature_id"), table
    grain = {"nova_unique_grain": {"arguments": {"columns": ["event_date", "feature_id", "platform"]}}}
    assert grain in t["feature_usage_daily"]["data_tests"]
    fresh = t["fct_feature_events"]["config"]
    assert fresh["loaded_at_field"] == "received_at"
    assert fresh["freshness"] == {"warn_after": {"count": 15, "period": "minute"},
                                  "error_after": {"count": 60, "period": "minute"}}
    assert t["trust_scores"]["config"]["loaded_at_field"] == "computed_at"
    assert "config" not in t["feature_usage_daily"]  # no load time of its own: fct_feature_events' freshness


def test_output_is_stable_and_follows_the_registry(registry) -> None:
    files = render_package(registry, DbtConfig())
    assert files == render_package(registry, DbtConfig())
    text = "".join(files.values())
    assert not re.search(r"20\d\d-\d\d-\d\d", text), "no dates or timestamps in generated files"
    # a contract change shows as a small diff of the sources file only
    changed = copy.deepcopy(registry)
    changed.contracts["ios"] = changed.contracts["ios"].model_copy(update={"version": "1.1.0"})
    changed.contracts["desktop"] = changed.contracts["web"]
    after = render_package(changed, DbtConfig())
    assert [p for p in files if files[p] != after[p]] == ["models/nova_sources.yml"]
    src = yaml.safe_load(after["models/nova_sources.yml"])["sources"][0]
    assert src["config"]["meta"]["contracts"]["ios"].endswith("@1.1.0")
    platform = next(c for c in _sources(after)["fct_feature_events"]["columns"] if c["name"] == "platform")
    assert platform["data_tests"][1]["accepted_values"]["arguments"]["values"] == [
        "android", "backend", "desktop", "ios", "web"]


def test_export_cli_writes_rewrites_nothing_and_checks(tmp_path: Path) -> None:
    out = tmp_path / "nova_curated"
    first = nova("dbt", "export", "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert (out / "dbt_project.yml").exists() and (out / "models" / "nova_sources.yml").exists()
    again = nova("dbt", "export", "--out", str(out))
    assert "0 changed" in again.stdout
    assert nova("dbt", "export", "--out", str(out), "--check").returncode == 0
    (out / "models" / "exposures.yml").write_text("edited by hand\n")
    (out / ".nova-dbt-export").write_text((out / ".nova-dbt-export").read_text() + "models/old_model.sql\n")
    (out / "models" / "old_model.sql").write_text("select 1\n")
    check = nova("dbt", "export", "--out", str(out), "--check")
    assert check.returncode == 1
    assert "out of date: models/exposures.yml" in check.stdout and "no longer generated: models/old_model.sql" \
        in check.stdout
    fixed = nova("dbt", "export", "--out", str(out))
    assert "1 changed, 1 removed" in fixed.stdout and not (out / "models" / "old_model.sql").exists()
    not_a_dir = nova("dbt", "export", "--out", str(out / "README.md"))
    assert not_a_dir.returncode == 2 and "not a folder" in not_a_dir.stderr
