"""The daemon's load step keeps each job short behind a backlog: oldest files first, the rest next pass."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.landing import Landing
from pipeline.load import load
from tests.conftest import write_landing
from tests.pipeline.helpers import web

T0 = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)


def test_a_capped_load_takes_the_oldest_files_and_the_next_pass_the_rest(wh, landing: Path) -> None:
    paths = [write_landing(landing, "web", f"{name}.jsonl", [web(f"{name}{i}") for i in range(20)],
                           mtime=T0 + dt.timedelta(seconds=age))
             for name, age in (("c", 0), ("a", 20), ("b", 10))]
    one = paths[0].stat().st_size
    first = load(wh, Landing(str(landing)), max_bytes=one + 10)
    assert first.files_loaded == 1
    assert wh.query("SELECT file_path FROM load_ledger") == [("platform=web/dt=2026-11-25/hour=17/c.jsonl",)]
    second = load(wh, Landing(str(landing)), max_bytes=2 * one + 10)
    assert second.files_loaded == 2 and second.files_skipped == 1
    assert load(wh, Landing(str(landing)), max_bytes=one).load_id is None  # nothing new: nothing loaded twice
    assert wh.scalar("SELECT COUNT(*) FROM raw_events") == 60


def test_a_capped_run_stages_whole_loads_oldest_first_and_the_next_run_the_rest(wh, registry, landing: Path) -> None:
    from config import Settings
    from pipeline.cli import run_pipeline

    for name in ("a", "b", "c"):  # three loads of 20 lines each
        write_landing(landing, "web", f"{name}.jsonl", [web(f"{name}{i}") for i in range(20)], mtime=T0)
        load(wh, Landing(str(landing)))
    loads = [r[0] for r in wh.query("SELECT DISTINCT load_id FROM batches ORDER BY load_id")]
    capped = Settings(warehouse_url=wh.settings.warehouse_url, daemon={"run_max_lines": 45})
    first = run_pipeline(wh, registry, capped)
    assert sorted({b.split("/")[0] for b in first["staged"].batches}) == loads[:2]  # 40 lines; a third load is 60
    assert wh.scalar("SELECT COUNT(*) FROM fct_feature_events") == 40
    one = Settings(warehouse_url=wh.settings.warehouse_url, daemon={"run_max_lines": 1})
    second = run_pipeline(wh, registry, one)  # a cap below one load still takes one load
    assert {b.split("/")[0] for b in second["staged"].batches} == {loads[2]}
    assert wh.scalar("SELECT COUNT(*) FROM fct_feature_events") == 60
    assert run_pipeline(wh, registry)["staged"].batches == []  # `nova run`: no cap, nothing left
