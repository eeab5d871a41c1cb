"""The soak benchmark in one minute at a low rate: the daemon keeps up with arriving files, every
file is loaded and curated, readers (in-process and the CLI) never get an error while it runs, and
the figures land in the results file. Speed is not asserted here (the 10-minute run is quoted).

It lives here rather than in tests/e2e: `make test-clock` reruns tests/e2e twice under faketime, and
the soak is the costliest test of the suite; its times are all relative (arrival → loaded), so a
shifted clock changes nothing it measures."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_one_minute_soak_readers_never_error_and_everything_is_curated(tmp_path: Path) -> None:
    results = tmp_path / "latest.json"
    results.write_text(json.dumps({"ingest": {"events_per_s": 1}}))  # other benchmarks' figures stay
    res = subprocess.run([sys.executable, "benchmarks/bench_soak.py", "--minutes", "1", "--rate", "150",
                          "--load-every", "2", "--run-every", "5", "--drain", "25", "--work", str(tmp_path / "w"),
                          "--results", str(results)], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(results.read_text())
    assert data["ingest"] == {"events_per_s": 1}
    soak = data["soak"]
    assert soak["delivered_files"] > 10 and soak["delivered_lines"] >= 8000
    assert soak["reader_errors"] == 0, soak["reader_error_samples"]
    assert soak["reader_queries"] >= 20
    assert soak["files_not_loaded"] == 0 and soak["files_not_curated"] == 0
    for key in ("raw_freshness_p50_s", "raw_freshness_p99_s", "curated_freshness_p99_s", "daemon_rss_mb_max",
                "cpu_s", "load_avg_1m_mean"):
        assert soak[key] is not None and soak[key] >= 0, key
    assert soak["raw_freshness_p99_s"] <= soak["curated_freshness_max_s"]
    assert soak["daemon_exit_code"] == 0
    assert "raw freshness: p50" in res.stdout and "curated freshness: p50" in res.stdout


def test_the_soak_spreads_each_days_late_tail_over_its_hour() -> None:
    """The generator writes a day's late flushes under later dates, one small file per (date, hour), all
    with the same name; delivered one after another they made one 5-second load several percent
    too_late (held by the gate). Each such file gets its own place in the hour."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_soak import arrival_order

    day = [(f"platform=web/dt=2026-12-05/hour=08/events-a-{i:04d}.jsonl", 6000) for i in range(40)]
    tails = [(f"platform=web/dt=2026-12-{d:02d}/hour=08/events-a-0000.jsonl", 120) for d in range(6, 13)]
    other = [("platform=web/dt=2026-12-05/hour=07/events-a-0000.jsonl", 6000),
             ("platform=web/dt=2026-12-05/hour=09/events-a-0000.jsonl", 6000)]
    order = [rel for rel, _ in arrival_order(day + tails + other)]
    assert order[0].endswith("hour=07/events-a-0000.jsonl") and order[-1].endswith("hour=09/events-a-0000.jsonl")
    assert [r for r in order if "dt=2026-12-05/hour=08" in r] == [r for r, _ in day]  # the day's own order kept
    places = sorted(order.index(rel) for rel, _ in tails)
    assert max(b - a for a, b in itertools.pairwise(places)) > 1  # not one run of tails
    assert places[-1] - places[0] > len(day) // 3  # spread over the hour
