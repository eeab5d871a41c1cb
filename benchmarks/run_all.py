"""`make bench`: every benchmark of benchmarks/, one after the other, each printing its figures.

    .venv/bin/python benchmarks/run_all.py [--quick]

--quick runs each with a tenth of the volume (a smoke run, not the quoted figures).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARGS = {"bench_ingest.py": ["--floors"]}
QUICK_ARGS = {"bench_ingest.py": ["--events", "100000", "--floors"], "bench_generate.py": ["--events", "100000"],
              "bench_curate.py": ["--events", "10000", "--per-day", "10000", "--days", "1,3", "--repeats", "1"],
              "bench_alerts.py": ["--events", "20000"],
              "bench_detector.py": ["--quick"], "bench_gdpr.py": ["--lines", "50000", "--requests", "1,3"]}
# The soak's smoke run is tests/service/test_soak.py (one minute at a low rate): not repeated here.
NOT_QUICK = {"bench_soak.py"}


def main() -> int:
    quick = "--quick" in sys.argv
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        if quick and script.name in NOT_QUICK:
            continue
        print(f"\n=== {script.name} ===", flush=True)
        args = (QUICK_ARGS if quick else ARGS).get(script.name, [])
        rc = subprocess.call([sys.executable, str(script), *args], cwd=HERE.parent)
        if rc:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
