"""Generator benchmark: 1,000,000 events (~1.5 KB a line) written as landing files.

Prints events/s, lines/s and MB/s (wall clock), the CPU seconds behind them and the machine's load,
since on a shared 2-core machine wall time mostly measures the neighbours.
Target on a 2-core machine: well under a minute for 1M events (plain files).

    .venv/bin/python benchmarks/bench_generate.py [--events 1000000] [--gzip] [--keep]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contracts.registry import load_registry
from traffic import GeneratorConfig, generate

REPO = Path(__file__).resolve().parents[1]


def _cpu_seconds() -> float:
    """User + system time of this process, its writer thread and its worker processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="client calls to generate (one weekday)")
    ap.add_argument("--gzip", action="store_true", help="write .jsonl.gz instead of plain .jsonl")
    ap.add_argument("--keep", action="store_true", help="keep the files (their folder is printed)")
    args = ap.parse_args()
    catalog = load_registry(REPO / "contracts").catalog
    work = Path(tempfile.mkdtemp(prefix="nova-bench-generate-"))
    load_before = os.getloadavg()[0]
    try:
        wall, cpu = time.perf_counter(), _cpu_seconds()
        summary = generate(GeneratorConfig(out=work / "landing", events_per_day=args.events, gzip=args.gzip,
                                           seed=7), catalog)
        wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
        raw_mb = summary.raw_bytes / 1e6
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"generated {summary.events:,} events -> {summary.lines:,} lines in {summary.files:,} files, "
              f"{raw_mb:,.0f} MB of JSON lines ({summary.raw_bytes / summary.lines:,.0f} bytes a line), "
              f"{summary.bytes / 1e6:,.0f} MB on disk ({'gzip' if args.gzip else 'plain'})")
        print(f"wall {wall:.1f}s: {summary.events / wall:,.0f} events/s, {summary.lines / wall:,.0f} lines/s, "
              f"{raw_mb / wall:,.1f} MB/s")
        print(f"cpu {cpu:.1f}s: {summary.events / cpu:,.0f} events per CPU-second; peak RSS {peak_mb:,.0f} MB; "
              f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if args.keep:
            print(f"files kept in {work / 'landing'}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
