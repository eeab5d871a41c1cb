"""`make bench` does not rot: every benchmark runs end to end at a tenth of its volume and prints
its figures. Speed is not asserted here (the figures are read from the full run, not a test)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_every_benchmark_runs_and_prints_its_figures() -> None:
    res = subprocess.run([sys.executable, "benchmarks/run_all.py", "--quick"], cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    out = res.stdout
    assert res.returncode == 0, out + res.stderr
    for script in ("bench_alerts.py", "bench_curate.py", "bench_detector.py", "bench_gdpr.py", "bench_generate.py",
                   "bench_ingest.py"):
        assert f"=== {script} ===" in out
    assert re.search(r"floor \(bare DuckDB read \+ parse\): [\d,]+ lines", out)
    assert re.search(r"LOAD \+ STAGE: [\d,]+ events/s, [\d,]+ MB/s", out)
    assert re.search(r"peak memory \(RSS\): [\d.]+ GB", out)
    assert re.search(r"these two alone: [\d.]+ CPU-s = at best [\d,]+ events/s on \d+ cores", out)
    assert re.search(r"incremental 3d / 1d = [\d.]+x .* full rebuild / incremental = [\d.]+x", out)
    assert re.search(r"wall [\d.]+s: [\d,]+ events/s", out)
    assert re.search(r"seasonal detector \(monitors/\) +\d+ / \d+ +\d+", out)
    assert re.search(r"false episodes detector / baseline = [\d.]+", out)
    assert re.search(r"likely cause +[\d.]+ s +\(floor: one parse of the failing lines [\d.]+ s\)", out)
    assert re.search(r"load: reading each line's user costs [\d.]+ s per million", out)
    assert re.search(r"  3 request\(s\): before +[\d.]+ s +after +[\d.]+ s", out)
