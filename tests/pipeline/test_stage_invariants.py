"""Invariants 1 and 2: conservation (every line in exactly one state, counts add up) and
idempotence (re-running, re-delivering, or crashing and running again changes nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.reconcile import adds_up, reconcile
from tests.conftest import REPO, write_landing
from tests.pipeline.helpers import android, backend, ios, line_states, load_and_run, web
from warehouse.session import open_warehouse

TABLES = ("raw_events", "stg_events", "stg_duplicates", "quarantined_events", "ignored_events", "load_ledger")

# Lines of every kind: valid, duplicates, out of scope, broken, unknown, late, skewed.
KINDS = {
    "web_ok": lambda i: web(f"w{i % 7}", received_at=f"2026-11-25T17:00:{i % 60:02d}Z"),
    "web_page": lambda i: web(f"p{i}", type="page"),
    "web_name": lambda i: web(f"n{i}", properties={"feature": "Mention", "area": "editor", "workspaceId": "w"},
                              context={"library": {"version": "3.2.0"}}),
    "ios_ok": lambda i: ios(f"I{i % 5}", received_at=f"2025-11-25T17:0{i % 10}:00Z"),
    "ios_old": lambda i: ios(f"O{i}", ts=1764090000.25, sent_ts=None, app={"version": "4.1"}),
    "android_noworkspace": lambda i: android(f"a{i}", workspaceId=None),
    "android_ok": lambda i: android(f"W{i % 7}"),  # same ids as web: cross-platform duplicates
    "backend_system": lambda i: backend(f"s{i}", actor={"type": "system"}),
    "backend_late": lambda i: backend(f"l{i}", occurred_at="2026-11-01T00:00:00Z"),
    "backend_unknown": lambda i: backend(f"u{i}", feature_id="nope.nothing"),
    "garbage": lambda i: '{"id": "x", "truncat',
    "not_object": lambda i: "[1,2,3]",
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(sorted(KINDS)), st.integers(0, 40), st.integers(0, 2)),
                min_size=1, max_size=40),
       st.integers(1, 3))
def test_conservation_over_random_mixes(tmp_path_factory, registry, mix, deliveries):
    root = tmp_path_factory.mktemp("land")
    db = tmp_path_factory.mktemp("db") / "w.duckdb"
    os.environ["NOVA_WAREHOUSE_URL"] = f"duckdb:///{db}"
    from config.settings import Settings

    wh = open_warehouse(Settings())
    try:
        by_file: dict[tuple[str, int], list] = {}
        for kind, i, f in mix:
            platform = kind.split("_")[0] if kind not in ("garbage", "not_object") else "web"
            by_file.setdefault((platform, f), []).append(KINDS[kind](i))
        files = sorted(by_file.items())
        # Deliver the files over several loads; the last delivery repeats a file byte for byte.
        for d in range(deliveries):
            for (platform, f), lines in files[d::deliveries]:
                write_landing(root, platform, f"{platform}{f}.jsonl", lines)
            load_and_run(wh, registry, root)
        load_and_run(wh, registry, root)
        rec = reconcile(wh)
        assert all(adds_up(r) for r in rec["loads"])
        total = rec["total"]
        assert total["received"] == sum(len(v) for v in by_file.values())
        assert total["pending"] == 0 and total["held"] == 0
        states = line_states(wh)  # raises if a line is in two states
        assert len(states) == total["received"]
    finally:
        wh.close()


def _snapshot(wh) -> dict[str, list]:
    cols = {"stg_events": "event_id, file_path, line_number, event_ts, feature_id",
            "stg_duplicates": "event_id, file_path, line_number",
            "quarantined_events": "file_path, line_number, reason",
            "ignored_events": "file_path, line_number", "raw_events": "file_path, line_number, raw_line",
            "load_ledger": "file_path, size_bytes, checksum"}
    return {t: sorted(wh.query(f"SELECT {c} FROM {t}")) for t, c in cols.items()}


def _sample_landing(root: Path, files: int = 6) -> None:
    for f in range(files):
        write_landing(root, "web", f"f{f}.jsonl", [web(f"m{f}-{i}", received_at=f"2026-11-25T17:{i % 60:02d}:00Z")
                                                    for i in range(50)] + ["garbage", web(f"m{f}-0")])
        write_landing(root, "ios", f"i{f}.jsonl", [ios(f"I{f}-{i}") for i in range(30)] + [ios("I0-1")])


def test_rerunning_and_redelivering_change_nothing(wh, registry, landing):
    _sample_landing(landing)
    load_and_run(wh, registry, landing)
    before = _snapshot(wh)
    load_and_run(wh, registry, landing)  # nothing new
    # A re-delivery: same bytes, same path, newer modification time.
    for p in landing.rglob("*.jsonl"):
        os.utime(p, (p.stat().st_mtime + 3600, p.stat().st_mtime + 3600))
    load_and_run(wh, registry, landing)
    assert _snapshot(wh) == before
    assert wh.scalar("SELECT COUNT(DISTINCT load_id) FROM batches") == 1  # one load (a batch per platform)


def test_same_bytes_under_another_path_are_duplicates(wh, registry, landing):
    p = write_landing(landing, "web", "a.jsonl", [web("m1"), web("m2")])
    load_and_run(wh, registry, landing)
    (p.parent / "z-copy.jsonl").write_bytes(p.read_bytes())
    load_and_run(wh, registry, landing)
    assert sorted(line_states(wh).items()) == [
        (("a.jsonl", 1), ("staged", None)), (("a.jsonl", 2), ("staged", None)),
        (("z-copy.jsonl", 1), ("duplicate", None)), (("z-copy.jsonl", 2), ("duplicate", None))]


def _nova(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nova.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_crash_at_any_step_then_rerun_equals_uninterrupted(tmp_path, registry):
    land = tmp_path / "landing"
    _sample_landing(land, files=8)
    base_env = {**os.environ, "NOVA_LANDING_PATH": str(land), "NOVA_LOAD_CHUNK_LINES": "100"}

    def warehouse(name: str) -> dict[str, str]:
        return {**base_env, "NOVA_WAREHOUSE_URL": f"duckdb:///{tmp_path}/{name}.duckdb"}

    clean = warehouse("clean")
    assert _nova(["load"], clean).returncode == 0
    assert _nova(["run"], clean).returncode == 0
    results = {}
    for point, step in [("load:after_chunk", "load"), ("stage:before_commit", "run"),
                        ("stage:after_commit", "run"), ("promote:before_commit", "run")]:
        env = warehouse(point.replace(":", "_"))
        if step == "run":
            assert _nova(["load"], env).returncode == 0
        crashed = _nova([step], {**env, "NOVA_CRASH_AT": point})
        assert crashed.returncode == -9, f"{point}: the process was not killed ({crashed.stderr[-500:]})"
        assert _nova(["load"], env).returncode == 0
        assert _nova(["run"], env).returncode == 0
        results[point] = env
    from config.settings import Settings

    def snap(env: dict[str, str]) -> dict[str, list]:
        with open_warehouse(Settings(warehouse_url=env["NOVA_WAREHOUSE_URL"])) as w:
            s = _snapshot(w)
            rec = reconcile(w)
        assert all(adds_up(r) for r in rec["loads"]) and rec["total"]["pending"] == 0
        return s

    expected = snap(clean)
    for point, env in results.items():
        assert snap(env) == expected, f"state after a crash at {point} differs from an uninterrupted run"


def test_reconcile_json_cli(tmp_path, landing):
    write_landing(landing, "web", "a.jsonl", [web("m1"), web("m1"), web("m2", type="page"), "garbage"])
    env = {**os.environ}
    assert _nova(["load"], env).returncode == 0
    assert _nova(["run"], env).returncode == 0
    res = _nova(["reconcile", "--json"], env)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert {k: data[k] for k in ("received", "staged", "duplicate", "ignored", "held", "quarantined")} == {
        "received": 4, "staged": 1, "duplicate": 1, "ignored": 1, "held": 0, "quarantined": {"invalid_json": 1}}
