"""The soak benchmark in one minute at a low rate: the daemon keeps up with arriving files, every
file is loaded and curated, readers (in-process and the CLI) never get an error while it runs, and
the figures land in the results file. Speed is not asserted here (the 10-minute run is quoted).

It lives here rather than in tests/e2e: `make test-clock` reruns tests/e2e twice under faketime, and
the soak is the costliest test of the suite; its times are all relative (arrival → loaded), so a
shifted clock changes nothing it measures."""

from __future__ import annotations

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
