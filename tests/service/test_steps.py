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


def test_the_daemons_run_loads_files_that_land_while_it_runs(wh, registry, landing: Path) -> None:
    """A file landing while the run stages is loaded after that step and caught up before curate
    (curated by the same run); one landing while it curates is in raw when the run ends and is
    curated by the next run."""
    import pipeline.cli as cli
    from config import Settings
    from service import steps

    write_landing(landing, "web", "a.jsonl", [web(f"a{i}") for i in range(10)], mtime=T0)
    load(wh, Landing(str(landing)))
    real_stage, real_curate = cli.stage, cli.curate_isolating
    calls = {"stage": 0}

    def stage_while_b_lands(*args, **kwargs):  # a file lands while the run's first stage runs
        res = real_stage(*args, **kwargs)
        calls["stage"] += 1
        if calls["stage"] == 1:
            write_landing(landing, "web", "b.jsonl", [web(f"b{i}") for i in range(7)], mtime=T0)
        return res

    def curate_while_c_lands(*args, **kwargs):  # and one while it curates
        res = real_curate(*args, **kwargs)
        write_landing(landing, "web", "c.jsonl", [web(f"c{i}") for i in range(5)], mtime=T0)
        return res

    settings = Settings(warehouse_url=wh.settings.warehouse_url, landing_path=str(landing))
    cli.stage, cli.curate_isolating = stage_while_b_lands, curate_while_c_lands
    try:
        res = steps.run(wh, registry, settings)
    finally:
        cli.stage, cli.curate_isolating = real_stage, real_curate
    # after: stage (b), promote, catch-up stage, catch-up promote, curate (c)
    assert [b["files"] for b in res["between"]] == [1, 0, 0, 0, 1]
    assert res["catch_up"]["staged"].valid == 7  # b: staged by the same run
    assert wh.scalar("SELECT COUNT(*) FROM raw_events") == 22  # c queryable in raw before the run ended
    assert wh.scalar("SELECT COUNT(*) FROM fct_feature_events") == 17  # a and b curated by this run
    second = steps.run(wh, registry, settings)
    assert second["staged"].valid == 5 and second["catch_up"] is None  # nothing landed meanwhile
    assert wh.scalar("SELECT COUNT(*) FROM fct_feature_events") == 22


def test_the_catch_up_stays_within_run_max_lines(wh, registry, landing: Path) -> None:
    from config import Settings
    from service import steps

    write_landing(landing, "web", "a.jsonl", [web(f"a{i}") for i in range(20)], mtime=T0)
    load(wh, Landing(str(landing)))
    write_landing(landing, "web", "b.jsonl", [web(f"b{i}") for i in range(20)], mtime=T0)
    capped = Settings(warehouse_url=wh.settings.warehouse_url, landing_path=str(landing),
                      daemon={"run_max_lines": 20})
    res = steps.run(wh, registry, capped)  # a fills the cap: b is loaded but left for the next run
    assert res["staged"].lines == 20 and res["catch_up"] is None
    assert wh.scalar("SELECT COUNT(*) FROM fct_feature_events") == 20
    assert steps.run(wh, registry, capped)["staged"].lines == 20
    assert wh.scalar("SELECT COUNT(*) FROM fct_feature_events") == 40
