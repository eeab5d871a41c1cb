"""Ingest benchmark: 1,000,000 generated events (~1.5 KB) → load + stage (+ promote).

Prints events/s, MB/s and peak memory (RSS of this process, DuckDB included), and beside it
the floor: the time bare DuckDB takes just to read and parse the same files.
Target on a 2-core machine: ≥ 100,000 events/s load + stage, peak memory < 4 GB.

    .venv/bin/python benchmarks/bench_ingest.py [--events 1000000] [--gzip] [--floors]

`--floors` then measures, each alone, the steps no design of load + stage avoids: reading the
files into lines (as the load does), storing every payload (zstd, as raw_events does) and parsing
every line once for the paths its contract reads (from lines in memory). Their CPU time over the
machine's cores bounds the rate, before any classification or staged write.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

import monitors.gate  # noqa: F401  (registers the gate's checks)
from config import Settings
from contracts.registry import load_registry
from pipeline.landing import Landing, read_file_lines
from pipeline.load import load
from pipeline.stage import gate, promote, stage
from pipeline.stage_sql import needed_paths
from traffic import generate
from traffic.definition import GeneratorConfig
from warehouse.engine import DuckDBEngine
from warehouse.session import open_warehouse

REPO = Path(__file__).resolve().parents[1]


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def floors(land: Path, work: Path, n_lines: int) -> None:
    """Read the files into lines as the load does, store every payload, then parse every line once
    for its contract's paths (those two from the lines in memory): each alone, no classification,
    no other column."""
    reg = load_registry(REPO / "contracts")
    by_platform: dict[str, list[pa.Array]] = {}
    landing = Landing(str(land))
    t, c = time.perf_counter(), cpu_seconds()
    for f in landing.files():  # what the load does per file: read, checksum, decompress, split, tails
        by_platform.setdefault(f.platform or "", []).append(read_file_lines(landing, f).lines)
    read = (time.perf_counter() - t, cpu_seconds() - c)
    con = duckdb.connect(str(work / "floors.duckdb"))
    con.execute("SET preserve_insertion_order = false")
    con.execute("CREATE TABLE payloads (raw_line VARCHAR USING COMPRESSION zstd)")
    tables = {k: pa.table({"raw_line": pa.chunked_array(v, pa.large_string())}) for k, v in by_platform.items()}
    for k, tbl in tables.items():
        con.register(f"lines_{k}", tbl)
    t, c = time.perf_counter(), cpu_seconds()
    con.execute("BEGIN")
    for k in tables:
        con.execute(f"INSERT INTO payloads SELECT raw_line FROM lines_{k}")
    con.execute("COMMIT")
    store = (time.perf_counter() - t, cpu_seconds() - c)
    e = DuckDBEngine()
    t, c = time.perf_counter(), cpu_seconds()
    for k in tables:
        if k in reg.contracts:
            doc = e.doc_of_line("raw_line", "FALSE", needed_paths(reg.contracts[k]))
            con.execute(f"SELECT COUNT(d) FROM (SELECT {doc} AS d FROM lines_{k})").fetchall()
    parse = (time.perf_counter() - t, cpu_seconds() - c)
    con.close()
    cores = os.cpu_count() or 1
    both = store[1] + parse[1]
    print(f"floor, reading the files into lines (one thread, as the load does): {read[0]:.2f}s, {read[1]:.1f} CPU-s")
    print(f"floor, storing every payload (zstd): {store[0]:.2f}s, {store[1]:.1f} CPU-s")
    print(f"floor, one parse of every line for its contract's paths: {parse[0]:.2f}s, {parse[1]:.1f} CPU-s")
    print(f"these two alone: {both:.1f} CPU-s = at best {n_lines / (both / cores):,.0f} events/s on {cores} cores, "
          "before classifying or writing anything else")
    all3 = both + read[1]
    print(f"with the reading: {all3:.1f} CPU-s = at best {n_lines / (all3 / cores):,.0f} events/s on {cores} cores")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (landing files and warehouse)")
    ap.add_argument("--landing", type=Path, help="reuse the landing files of an earlier --keep run")
    ap.add_argument("--floors", action="store_true",
                    help="also measure the reading, the payload store and the parse, each alone")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nova-bench-ingest-"))
    land = work / "landing"
    if args.landing:
        land = args.landing
    else:
        t = time.perf_counter()
        summary = generate(GeneratorConfig(out=land, start=dt.date(2026, 11, 16), days=1,
                                           events_per_day=args.events, seed=7, gzip=args.gzip))
        print(f"generated {summary.lines:,} lines in {time.perf_counter() - t:.1f}s")
    files = [p for p in land.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"landing: {len(files)} files, {size / 1e6:,.0f} MB on disk")

    # Floor: bare DuckDB reading and parsing every line of the same files once.
    con = duckdb.connect()
    t = time.perf_counter()
    pattern = str(land / "**" / ("*.gz" if args.gzip else "*.jsonl"))
    n_floor = con.execute(
        "SELECT COUNT(*), COUNT(try(json_extract_string(line, '$.received_at'))) FROM read_csv(?, "
        "columns={'line': 'VARCHAR'}, delim=chr(1), quote='', escape='', header=false, auto_detect=false, "
        "strict_mode=false, ignore_errors=true)", [pattern]).fetchone()
    floor_s = time.perf_counter() - t
    con.close()

    reg = load_registry(REPO / "contracts")
    wh = open_warehouse(Settings(warehouse_url=f"duckdb:///{work}/bench.duckdb"))
    t0 = time.perf_counter()
    res = load(wh, Landing(str(land)))
    t1 = time.perf_counter()
    st = stage(wh, reg)
    t2 = time.perf_counter()
    decided = gate(wh)  # the monitor's checks: one aggregate query over the load (monitors.gate)
    tg = time.perf_counter()
    pr = promote(wh)
    t3 = time.perf_counter()
    wh.close()
    mb = res.bytes_read / 1e6
    n = res.lines
    print(f"floor (bare DuckDB read + parse): {n_floor[0]:,} lines in {floor_s:.2f}s "
          f"= {n_floor[0] / floor_s:,.0f} lines/s")
    load_s = t1 - t0
    print(f"load:    {n:,} lines, {mb:,.0f} MB in {load_s:.2f}s = {n / load_s:,.0f} events/s, {mb / load_s:,.0f} MB/s")
    print(f"stage:   {st.lines:,} lines in {t2 - t1:.2f}s = {st.lines / (t2 - t1):,.0f} events/s "
          f"({st.valid:,} valid, {st.ignored:,} ignored, {sum(st.quarantined.values()):,} quarantined)")
    held = sum(1 for v in decided.values() if v == "held")
    print(f"gate:    {len(decided)} batches ({held} held) in {tg - t2:.2f}s = {n / (tg - t2):,.0f} events/s")
    print(f"promote: {pr.kept:,} kept, {pr.duplicates:,} duplicates in {t3 - tg:.2f}s")
    total = t2 - t0
    print(f"LOAD + STAGE: {n / total:,.0f} events/s, {mb / total:,.0f} MB/s ({total:.2f}s); "
          f"with gate + promote {n / (t3 - t0):,.0f} events/s ({t3 - t0:.2f}s)")
    print(f"peak memory (RSS): {peak_rss_gb():.2f} GB")
    print(f"target: >= 100,000 events/s load + stage, < 4 GB peak -> "
          f"{'MET' if n / total >= 100_000 and peak_rss_gb() < 4 else 'NOT MET'}")
    if args.floors:
        floors(land, work, n)
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
