"""`nova contracts diff --impact`: the replayed verdicts are the pipeline's and `validate`'s own.

One generated day is loaded and run with the shipped registry. For each change (a field made
required, a feature renamed without a legacy id, a feature removed from the catalog) the impact
replay is compared with what really happens to the same lines: the pipeline run again with the
changed registry, and `nova contracts validate` of the same lines under both registries.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from contracts.diff import diff_registries
from contracts.registry import Registry, load_registry
from nova.errors import Exit, NovaError
from pipeline.impact import replay
from pipeline.landing import Landing
from pipeline.load import load
from pipeline.stage import gate, promote, stage
from pipeline.validate import validate_sample
from tests.conftest import REPO
from tests.contracts.helpers import RegistryCopy, feature
from traffic import GeneratorConfig, generate
from warehouse import clock
from warehouse.session import open_warehouse

NOW = dt.datetime(2026, 11, 25, 6, 0)  # the generated day (2026-11-23) and its late arrivals are in the window
WINDOW = dt.timedelta(days=3)
LINE_STATES = (
    "SELECT file_path, line_number, platform, 'staged', NULL, feature_id FROM stg_events UNION ALL "
    "SELECT file_path, line_number, platform, 'staged', NULL, feature_id FROM stg_duplicates UNION ALL "
    "SELECT file_path, line_number, platform, 'ignored', NULL, NULL FROM ignored_events UNION ALL "
    "SELECT file_path, line_number, platform, 'quarantined', reason, NULL FROM quarantined_events")


def run_with(url: str, landing: Path, reg: Registry) -> dict[tuple[str, int], tuple[str, str, str | None, Any]]:
    """Load the landing folder and stage it with `reg`: (file, line) → (platform, state, reason, feature_id).
    Duplicates count as staged: they passed the contract (rules 1-7)."""
    with open_warehouse(Settings(warehouse_url=url)) as wh:
        load(wh, Landing(str(landing)))
        stage(wh, reg)
        gate(wh)
        promote(wh)
        return {(f, int(n)): (p, s, r, fid) for f, n, p, s, r, fid in wh.query(LINE_STATES)}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("impact")
    base = load_registry(REPO / "contracts")
    generate(GeneratorConfig(out=tmp / "landing", events_per_day=1500, seed=11, workers=1), registry=base)
    url = f"duckdb:///{tmp}/warehouse.duckdb"
    states = run_with(url, tmp / "landing", base)
    with open_warehouse(Settings(warehouse_url=url)) as wh:
        raw = wh.query("SELECT platform, raw_line FROM raw_events ORDER BY file_path, line_number")
    used = Counter(fid for p, s, r, fid in states.values() if s == "staged" and fid)
    return {"tmp": tmp, "base": base, "url": url, "states": states, "raw": raw, "used": used}


def _leaf_in_use(world: dict[str, Any], rank: int, legacy: bool = False) -> str:
    parents = {f.parent for f in world["base"].catalog.features}
    by_id = world["base"].catalog.by_id()
    leaves = [fid for fid, _ in world["used"].most_common() if fid not in parents and
              bool(by_id[fid].legacy_ids) == legacy]
    return leaves[rank]


def require_sent_ts(copy: RegistryCopy, world: dict[str, Any]) -> None:
    # iOS below 5.0 sends no sent_ts: those lines become missing_field
    copy.edit("ios", lambda d: d["payload"]["sent_ts"].update(required=True))


def rename_without_legacy(copy: RegistryCopy, world: dict[str, Any]) -> None:
    fid = _leaf_in_use(world, 0)
    copy.edit("catalog", lambda c: feature(c, fid).update(id=fid + "_v2"))


def remove_feature(copy: RegistryCopy, world: dict[str, Any]) -> None:
    fid = _leaf_in_use(world, 0, legacy=True)  # its legacy id, sent by old mobile versions, goes with it

    def drop(c: dict[str, Any]) -> None:
        c["features"] = [f for f in c["features"] if f["id"] != fid]

    copy.edit("catalog", drop)


Change = Callable[[RegistryCopy, dict[str, Any]], None]


@pytest.mark.parametrize("change", [require_sent_ts, rename_without_legacy, remove_feature],
                         ids=lambda f: f.__name__)
def test_impact_matches_the_pipeline_and_validate(change: Change, world: dict[str, Any], tmp_path: Path) -> None:
    copy = RegistryCopy(tmp_path / "head")
    change(copy, world)
    base, head = world["base"], copy.load()
    report = diff_registries(base, head)
    assert report.changes
    with clock.set_now(NOW):
        impact = replay(Settings(warehouse_url=world["url"]), base, head, report.changes, WINDOW)
    assert impact.lines == len(world["raw"]) and not impact.sampled
    moved = Counter()
    for m in impact.moves:
        moved[(m.platform, m.from_state, m.from_reason, m.to_state, m.to_reason)] += m.lines
        assert m.sample_event_ids and m.changes and m.query.startswith("SELECT")
    assert sum(moved.values()) > 0  # each change moves real traffic: the comparisons below mean something

    # the pipeline, run again on the same files with the changed registry
    after = run_with(f"duckdb:///{tmp_path}/after.duckdb", world["tmp"] / "landing", head)
    truth = Counter()
    for key, (p, s, r, fid) in world["states"].items():
        _, s2, r2, fid2 = after[key]
        if (s, r) != (s2, r2):
            truth[(p, s, r, s2, r2)] += 1
        elif s == "staged" and fid != fid2:
            truth[(p, s, None, s2, "feature_changed")] += 1
    assert moved == truth

    # nova contracts validate: the same lines, per platform, under both registries
    for platform in head.contracts:
        sample = tmp_path / f"{platform}.jsonl"
        sample.write_text("".join(line + "\n" for p, line in world["raw"] if p == platform))
        before = Counter(v.reason for v in validate_sample(base, sample, platform) if v.state == "quarantined")
        now = Counter(v.reason for v in validate_sample(head, sample, platform) if v.state == "quarantined")
        into = Counter()
        for (p, _, _, to_state, to_reason), n in moved.items():
            if p == platform and to_state == "quarantined":
                into[to_reason] += n
        for reason, n in into.items():
            assert now[reason] - before[reason] == n, (platform, reason)


def test_a_large_window_is_sampled_and_says_so(world: dict[str, Any], tmp_path: Path) -> None:
    copy = RegistryCopy(tmp_path / "head")
    require_sent_ts(copy, world)
    head = copy.load()
    with clock.set_now(NOW):
        impact = replay(Settings(warehouse_url=world["url"]), world["base"], head, [], WINDOW, max_lines=500)
    assert impact.sampled and impact.sample_every == -(-impact.lines // 500)
    assert impact.replayed <= impact.lines // impact.sample_every + 200  # one line in k of every file
    share = sum(m.share for m in impact.moves if m.platform == "ios")
    assert 0.05 < share < 0.5  # the sampled share estimates the window's (iOS < 5.0 is ~20 %)


def exit_code(res: Any) -> int:
    """The code `nova` exits with: a NovaError is turned into its code by `nova.cli.main`."""
    return int(res.exception.code) if isinstance(res.exception, NovaError) else res.exit_code


def test_cli_json_and_a_removed_platform(world: dict[str, Any], tmp_path: Path, monkeypatch) -> None:
    """`nova contracts diff BASE --impact --format json`: removing a platform moves its lines to
    unknown_platform, in the documented JSON shape; no warehouse is a configuration error."""
    from typer.testing import CliRunner

    from config.settings import get_settings
    from nova.cli import app

    copy = RegistryCopy(tmp_path / "head")
    (copy.root / "platforms" / "backend.yaml").unlink()
    monkeypatch.setenv("NOVA_CONTRACTS_PATH", str(copy.root))
    monkeypatch.setenv("NOVA_WAREHOUSE_URL", world["url"])
    monkeypatch.setenv("NOVA_NOW", NOW.isoformat())
    get_settings.cache_clear()
    res = CliRunner().invoke(app, ["contracts", "diff", str(REPO / "contracts"), "--impact", "--since", "3d",
                                   "--format", "json"])
    assert exit_code(res) == Exit.FINDINGS  # removing a platform is breaking
    data = json.loads(res.stdout)
    assert [c["id"] for c in data["changes"]] == ["backend:contract:platform_removed"]
    impact = data["impact"]
    assert impact["lines"] == len(world["raw"]) and impact["sampled"] is False
    backend = [m for m in impact["moves"] if m["platform"] == "backend"]
    assert {(m["from_state"], m["to_state"], m["to_reason"]) for m in backend} >= {
        ("staged", "quarantined", "unknown_platform")}
    staged_before = sum(1 for p, s, _, _ in world["states"].values() if p == "backend" and s == "staged")
    assert sum(m["lines"] for m in backend if m["from_state"] == "staged") == staged_before
    assert set(backend[0]) == {"platform", "app_version", "from_state", "from_reason", "to_state", "to_reason",
                               "lines", "share", "sample_event_ids", "changes", "query"}
    assert backend[0]["changes"] == ["backend:contract:platform_removed"]

    monkeypatch.setenv("NOVA_WAREHOUSE_URL", f"duckdb:///{tmp_path}/none.duckdb")
    get_settings.cache_clear()
    res = CliRunner().invoke(app, ["contracts", "diff", str(REPO / "contracts"), "--impact"])
    assert exit_code(res) == Exit.CONFIG and not (tmp_path / "none.duckdb").exists()
