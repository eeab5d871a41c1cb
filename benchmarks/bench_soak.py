"""Soak: `nova daemon` on the embedded default while landing files arrive at the production peak.

    .venv/bin/python benchmarks/bench_soak.py [--minutes 10] [--rate 12000] [--work DIR]

The traffic generator writes the whole volume once (realistic lines, ~1.5 KB, every quirk) into a
pool; a writer then delivers the pool's files into the landing folder at `--rate` lines per second
(hard link to a hidden name, mtime set to the arrival instant, rename into place: a file appears
whole). The daemon runs as a subprocess with its own intervals. Readers query throughout: a BI-like
reader in this process (open_reader + a COUNT on fct_feature_events every 2 s) and the CLI
(`nova batches list --json`, `nova query ...` alternately every 10 s).

Reported (and written to benchmarks/results/latest.json under "soak"):
- raw freshness per file: arrival (mtime) → the end of the load run that committed its lines;
- curated freshness per file: arrival → the end of the run that promoted and curated its batch
  (its events are then in fct_feature_events), both at p50 / p99 / max;
- reader waits (time spent waiting for the DuckDB file) and errors;
- the daemon's memory (RSS of the daemon, and of the job processes at their peak) over time;
- CPU seconds of the daemon and its jobs, and the load average of the machine.
Targets on 2 cores: raw p99 < 30 s, curated p99 < 120 s, no reader error, flat memory.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results" / "latest.json"


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, round(q * (len(s) - 1)))], 2)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its descendants, the reaped ones included (cutime/cstime)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / tick


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = []
        for task in Path(f"/proc/{p}/task").glob("*"):  # children are listed per creating thread
            with contextlib.suppress(OSError):
                kids += (task / "children").read_text().split()
        for k in kids:
            out.append(int(k))
            todo.append(int(k))
    return out


def generate_pool(pool: Path, events: int, seed: int, lines_per_file: int, day: str) -> list[tuple[Path, int]]:
    """The volume, written once by the traffic generator; files in arrival order with their line counts.
    The traffic is yesterday's (by the project's clock): delivered now, every event is within the 72-hour
    lateness window and none is in the future, as at a real peak; an older day would be quarantined
    `too_late` where no line carries its own received_at and the file's arrival is its reception."""
    t0 = time.perf_counter()

    def generate(out: Path, per_day: int) -> None:
        subprocess.run([sys.executable, "-m", "nova.cli", "generate", "--out", str(out), "--days", "1",
                        "--events-per-day", str(per_day), "--seed", str(seed), "--start", day,
                        "--max-lines-per-file", str(lines_per_file), "--quiet"], cwd=REPO,
                       env={**os.environ, "NOVA_LANDING_PATH": str(out)}, check=True, stdout=subprocess.DEVNULL)

    # --events-per-day is a regular weekday's volume: a weekend or holiday sends fewer lines. A small
    # sample of the same day gives the day's factor, so the pool holds the lines the soak delivers.
    sample = pool.with_name(pool.name + "-sample")
    generate(sample, 20_000)
    factor = sum(p.read_bytes().count(b"\n") for p in sample.rglob("*.jsonl")) / 20_000
    shutil.rmtree(sample, ignore_errors=True)
    generate(pool, int(events / max(factor, 0.05) * 1.02))
    files = [p for p in pool.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
    counted = []
    for p in files:
        with p.open("rb") as fh:
            counted.append((p, sum(chunk.count(b"\n") for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""))))
    counted = [(pool / rel, n) for rel, n in arrival_order([(p.relative_to(pool).as_posix(), n) for p, n in counted])]
    size = sum(p.stat().st_size for p, _ in counted)
    lines = sum(n for _, n in counted)
    print(f"pool: {len(counted)} files, {lines:,} lines, {size / 1e6:,.0f} MB ({size / max(lines, 1):,.0f} B/line) "
          f"generated in {time.perf_counter() - t0:.1f}s", flush=True)
    return counted


def arrival_order(files: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The pool's files in the order the soak delivers them: by hour of arrival, and within the hour by
    their place in their own (platform, date, hour) folder, so the platforms interleave as they would.
    The generator also writes the day's late tail (offline flushes arriving 3 to 8 days later) under
    later dates: in production those lines arrive amid those days' traffic, a file or two an hour. The
    soak compresses them into the generated day's hours; each such file gets a fixed place within its
    hour (a hash of its path) instead of following the hour's other files of its name, which had put
    the late tails of four dates into one 5-second load (a web part 3.9 % too_late, held)."""
    groups: dict[str, list[str]] = {}
    for rel, _ in files:
        groups.setdefault(rel.rsplit("/", 1)[0], []).append(rel)
    place: dict[str, tuple[str, float, str]] = {}
    for folder, rels in groups.items():
        hour = re.search(r"hour=(\d+)", folder)
        for i, rel in enumerate(sorted(rels)):
            jitter = zlib.crc32(rel.encode()) % 10_000 / 10_000
            place[rel] = (hour.group(1) if hour else "", (i + jitter) / len(rels), rel)
    return sorted(files, key=lambda f: place[f[0]])


class Writer(threading.Thread):
    """Delivers the pool into the landing folder at `rate` lines per second."""

    def __init__(self, files: list[tuple[Path, int]], pool: Path, landing: Path, rate: float, seconds: float):
        super().__init__(daemon=True)
        self.files, self.pool, self.landing, self.rate, self.seconds = files, pool, landing, rate, seconds
        self.delivered: list[tuple[str, float, int]] = []  # rel path, arrival (epoch s), lines
        self.lines = 0
        self.behind_s = 0.0

    def run(self) -> None:
        t0 = time.time()
        for src, n in self.files:
            due = t0 + self.lines / self.rate
            if due - t0 > self.seconds:
                break
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            else:
                self.behind_s = max(self.behind_s, -wait)
            rel = src.relative_to(self.pool)
            dst = self.landing / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name("." + dst.name)
            os.link(src, tmp)
            arrival = time.time()
            os.utime(tmp, (arrival, arrival))
            os.replace(tmp, dst)
            self.delivered.append((rel.as_posix(), arrival, n))
            self.lines += n


class Readers:
    def __init__(self, env: dict[str, str], stop: threading.Event):
        self.env, self.stop = env, stop
        self.bi_waits: list[float] = []
        self.bi_errors: list[str] = []
        self.cli_seconds: list[float] = []
        self.cli_waits: list[float] = []
        self.cli_errors: list[str] = []
        self.cli_cpu = 0.0
        self.counts: list[int] = []

    def bi(self) -> None:
        from config.settings import Settings
        from warehouse.session import open_reader

        settings = Settings()
        while not self.stop.wait(2.0):
            t0 = time.perf_counter()
            try:
                with open_reader(settings) as wh:
                    waited = time.perf_counter() - t0
                    if wh.table_exists("fct_feature_events"):
                        self.counts.append(int(wh.scalar("SELECT COUNT(*) FROM fct_feature_events")))
                self.bi_waits.append(waited)
            except Exception as exc:  # a reader error is the finding, recorded and counted
                self.bi_errors.append(str(exc)[:200])

    def cli(self) -> None:
        commands = [["batches", "list", "--json"],
                    ["query", "SELECT COUNT(*) AS n FROM raw_events", "--format", "json"]]
        i = 0
        while not self.stop.wait(10.0):
            cmd = commands[i % len(commands)]
            i += 1
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            res = subprocess.run([sys.executable, "-m", "nova.cli", *cmd], cwd=REPO, env=self.env,
                                 capture_output=True, text=True)
            self.cli_seconds.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            self.cli_cpu += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            m = re.search(r"waited ([\d.]+)s for the warehouse", res.stderr)
            self.cli_waits.append(float(m.group(1)) if m else 0.0)
            if res.returncode != 0:
                self.cli_errors.append(f"nova {' '.join(cmd[:2])}: rc {res.returncode}: {res.stderr.strip()[:200]}")


def freshness(settings: Any, delivered: list[tuple[str, float, int]]) -> dict[str, Any]:
    """Per delivered file: when its lines became queryable in raw (the end of the load run that
    committed them) and when its events reached the curated tables (the end of the run that
    promoted its batch and curated it)."""
    from warehouse.session import open_reader

    with open_reader(settings) as wh:
        ledger = {p: (load_id, loaded_at) for p, load_id, loaded_at in
                  wh.query("SELECT file_path, load_id, loaded_at FROM load_ledger")}
        promoted = {(lid, platform): (state, upd) for lid, platform, state, upd in
                    wh.query("SELECT load_id, platform, state, updated_at FROM batches")}
        checks = [(c, v, t, m, json.loads(d or "{}").get("normal_basis"), b) for c, v, t, m, d, b in wh.query(
            "SELECT check_name, value, threshold, normal, detail, batch_id FROM check_results WHERE source = 'gate' "
            "AND outcome = 'failed' AND blocking")]
        held_parts = wh.query("SELECT batch_id, line_count FROM batches WHERE state = 'held' ORDER BY batch_id")
        runs = wh.query("SELECT job, started_at, finished_at FROM service_runs WHERE outcome = 'ok' "
                        "ORDER BY finished_at")
    loads = [(s, f) for j, s, f in runs if j == "load"]
    curates = [f for j, _, f in runs if j == "run"]
    raw, cur, not_loaded, not_curated, held = [], [], 0, 0, 0
    for rel, arrival, _ in delivered:
        if rel not in ledger:
            not_loaded += 1
            not_curated += 1
            continue
        load_id, loaded_at = ledger[rel]
        end = next((f for s, f in loads if s <= loaded_at <= f), loaded_at)
        raw.append(_epoch(end) - arrival)
        platform = re.search(r"platform=([^/]+)", rel)
        state, upd = promoted.get((load_id, platform.group(1) if platform else ""), (None, None))
        if state in ("held", "dropped"):  # the gate's decision, reported apart: not a freshness miss
            held += 1
            continue
        done = next((f for f in curates if upd is not None and f >= upd), None) \
            if state in ("promoted", "released") else None
        if done is None:
            not_curated += 1
        else:
            cur.append(_epoch(done) - arrival)
    parts = [{"batch_id": b, "lines": n, "checks": [
        {"check": c, "value": v, "threshold": t, "normal": m, "normal_basis": basis}
        for c, v, t, m, basis, bid in checks if bid == b]} for b, n in held_parts]
    return {"raw": raw, "curated": cur, "files_not_loaded": not_loaded, "files_not_curated": not_curated,
            "files_held": held, "parts": len(promoted), "parts_held": parts}


def _epoch(t: Any) -> float:
    return t.replace(tzinfo=dt.UTC).timestamp()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="How long landing files arrive.")
    ap.add_argument("--rate", type=float, default=12000.0, help="Lines (events) per second delivered.")
    ap.add_argument("--load-every", type=int, default=5, help="daemon.load_interval_s for the soak.")
    ap.add_argument("--run-every", type=int, default=30, help="daemon.run_interval_s for the soak.")
    ap.add_argument("--lines-per-file", type=int, default=0, help="Lines per landing file (default: ~2 s of "
                                                                  "traffic per platform).")
    ap.add_argument("--drain", type=float, default=0, help="Seconds the daemon keeps running after the last "
                                                           "file (default: 2 run intervals + 30 s).")
    ap.add_argument("--work", type=Path, default=None, help="Work folder (default: a temporary one, removed).")
    ap.add_argument("--results", type=Path, default=RESULTS, help="JSON file the figures are merged into.")
    ap.add_argument("--no-results", action="store_true", help="Print only; write no results file.")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--generate-only", action="store_true", help="Write the pool into --work and stop (a later "
                                                                 "run with the same options reuses it).")
    args = ap.parse_args()

    seconds = args.minutes * 60
    work = args.work or Path(tempfile.mkdtemp(prefix="nova-soak-"))
    for sub in ("landing", "state"):
        shutil.rmtree(work / sub, ignore_errors=True)
    (work / "wh.duckdb").unlink(missing_ok=True)
    (work / "wh.duckdb.wal").unlink(missing_ok=True)
    env = {**os.environ, "NOVA_WAREHOUSE_URL": f"duckdb:///{work}/wh.duckdb",
           "NOVA_LANDING_PATH": str(work / "landing"),
           "NOVA_STATE_DIR": str(work / "state"), "NOVA_CONTRACTS_PATH": str(REPO / "contracts"),
           "NOVA_DAEMON__LOAD_INTERVAL_S": str(args.load_every), "NOVA_DAEMON__RUN_INTERVAL_S": str(args.run_every),
           "NOVA_DAEMON__MISFIRE_GRACE_S": "600", "SODA_CORE_TELEMETRY_ENABLED": "false", "COLUMNS": "200"}
    os.environ.update(env)
    (work / "landing").mkdir(parents=True, exist_ok=True)
    events = int(args.rate * seconds)
    lines_per_file = args.lines_per_file or max(200, int(args.rate * 2 / 4))
    from warehouse import clock

    day = (clock.now().date() - dt.timedelta(days=1)).isoformat()
    pool = work / f"pool-{events}-{args.seed}-{lines_per_file}-{day}"
    index = pool / "_files.json"
    if index.exists():  # the same volume generated by an earlier run in this work folder
        files = [(pool / rel, n) for rel, n in arrival_order([tuple(f) for f in json.loads(index.read_text())])]
        print(f"pool: reusing {pool} ({len(files)} files)", flush=True)
    else:
        shutil.rmtree(pool, ignore_errors=True)
        files = generate_pool(pool, events, args.seed, lines_per_file, day)
        index.write_text(json.dumps([(str(p.relative_to(pool)), n) for p, n in files]))
    if args.generate_only:
        return 0
    # The generator spreads a day's calls over its hours; the soak delivers them in arrival order, compressed.

    stop = threading.Event()
    readers = Readers(env, stop)
    t_start = time.time()
    daemon = subprocess.Popen([sys.executable, "-m", "nova.cli", "daemon", "--log-file", str(work / "daemon.log")],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The writer starts once the daemon is up and its job process warm (its first load done): the soak
    # measures the steady state, not the daemon's start (quoted apart as startup_s).
    heartbeat = None
    while time.time() - t_start < 300 and daemon.poll() is None:
        beats = list((work / "state").glob("daemon-*.json"))
        heartbeat = json.loads(beats[0].read_text() or "{}") if beats else None
        if heartbeat and (heartbeat.get("jobs", {}).get("load", {}).get("last_outcome") == "ok"):
            break
        time.sleep(0.5)
    startup = time.time() - t_start
    writer = Writer(files, pool, work / "landing", args.rate, seconds)
    threads = [writer, threading.Thread(target=readers.bi, daemon=True), threading.Thread(target=readers.cli,
                                                                                        daemon=True)]
    for t in threads:
        t.start()
    samples: list[dict[str, Any]] = []
    cpu_seen = 0.0
    drain = args.drain or 2 * args.run_every + 30
    end_at = None
    while True:
        time.sleep(5)
        kids = descendants(daemon.pid)
        cpu_seen = max(cpu_seen, tree_cpu_s(daemon.pid))
        samples.append({"t_s": round(time.time() - t_start), "daemon_rss_mb": round(rss_mb(daemon.pid), 1),
                        "jobs_rss_mb": round(sum(rss_mb(k) for k in kids), 1), "load_avg_1m": os.getloadavg()[0],
                        "delivered_lines": writer.lines})
        if daemon.poll() is not None:
            print("the daemon stopped unexpectedly; see", work / "daemon.log")
            break
        if not writer.is_alive() and end_at is None:
            end_at = time.time() + drain
        if end_at is not None and time.time() >= end_at:
            break
    stop.set()
    for t in threads[1:]:
        t.join(timeout=120)
    daemon_rc = None
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        daemon_rc = daemon.wait(timeout=300)
    cpu = cpu_seen  # the daemon, its fork server and every job process (sampled until the drain ended)

    from config.settings import Settings

    fr = freshness(Settings(), writer.delivered)
    wall = time.time() - t_start
    d_rss = [s["daemon_rss_mb"] for s in samples if s["daemon_rss_mb"]]
    # Growth: the second half of the run against the first, both after the start-up.
    steady = [s["daemon_rss_mb"] for s in samples if s["t_s"] >= startup + 10 and s["daemon_rss_mb"]]
    half = len(steady) // 2
    growth = round(statistics.mean(steady[half:]) - statistics.mean(steady[:half]), 1) if half else None
    waits = readers.bi_waits + readers.cli_waits
    res = {
        "minutes": args.minutes, "rate_events_per_s": args.rate,
        "delivered_lines": writer.lines, "delivered_files": len(writer.delivered),
        "delivered_mb": round(sum((pool / r).stat().st_size for r, _, _ in writer.delivered) / 1e6, 1),
        "writer_behind_max_s": round(writer.behind_s, 2),
        "load_interval_s": args.load_every, "run_interval_s": args.run_every,
        "raw_freshness_p50_s": pct(fr["raw"], 0.5), "raw_freshness_p99_s": pct(fr["raw"], 0.99),
        "raw_freshness_max_s": pct(fr["raw"], 1.0),
        "curated_freshness_p50_s": pct(fr["curated"], 0.5), "curated_freshness_p99_s": pct(fr["curated"], 0.99),
        "curated_freshness_max_s": pct(fr["curated"], 1.0),
        "files_not_loaded": fr["files_not_loaded"], "files_not_curated": fr["files_not_curated"],
        "files_held": fr["files_held"], "parts": fr["parts"], "parts_held": fr["parts_held"],
        "reader_queries": len(waits), "reader_errors": len(readers.bi_errors) + len(readers.cli_errors),
        "reader_error_samples": (readers.bi_errors + readers.cli_errors)[:5],
        "reader_wait_p50_s": pct(waits, 0.5), "reader_wait_p99_s": pct(waits, 0.99),
        "reader_wait_max_s": pct(waits, 1.0),
        "cli_reader_seconds_p50": pct(readers.cli_seconds, 0.5), "cli_reader_seconds_max": pct(readers.cli_seconds, 1),
        "daemon_rss_mb_first": d_rss[0] if d_rss else None, "daemon_rss_mb_last": d_rss[-1] if d_rss else None,
        "daemon_rss_mb_max": max(d_rss) if d_rss else None, "daemon_rss_growth_mb": growth,
        "jobs_rss_mb_max": max((s["jobs_rss_mb"] for s in samples), default=None),
        "startup_s": round(startup, 1), "cpu_s": round(cpu, 1), "wall_s": round(wall, 1),
        "cpu_cores_used": round(cpu / wall, 2),
        "load_avg_1m_mean": round(statistics.mean(s["load_avg_1m"] for s in samples), 2) if samples else None,
        "load_avg_1m_max": round(max(s["load_avg_1m"] for s in samples), 2) if samples else None,
        "cores": os.cpu_count(), "daemon_exit_code": daemon_rc,
        "rss_samples": samples[:: max(1, len(samples) // 40)],
    }
    res["targets_met"] = bool(
        res["raw_freshness_p99_s"] is not None and res["raw_freshness_p99_s"] < 30
        and res["curated_freshness_p99_s"] is not None and res["curated_freshness_p99_s"] < 120
        and res["reader_errors"] == 0 and not res["files_not_curated"]
        and (growth is None or growth < 50))
    print(f"delivered {writer.lines:,} lines in {len(writer.delivered)} files ({res['delivered_mb']:,} MB) over "
          f"{args.minutes:g} min at {args.rate:,.0f} events/s (writer at most {res['writer_behind_max_s']}s behind)")
    print(f"raw freshness: p50 {res['raw_freshness_p50_s']}s, p99 {res['raw_freshness_p99_s']}s, "
          f"max {res['raw_freshness_max_s']}s (target p99 < 30s); files not loaded {fr['files_not_loaded']}")
    print(f"curated freshness: p50 {res['curated_freshness_p50_s']}s, p99 {res['curated_freshness_p99_s']}s, "
          f"max {res['curated_freshness_max_s']}s (target p99 < 120s); files not curated {fr['files_not_curated']}")
    print(f"gate: {len(fr['parts_held'])} of {fr['parts']} platform parts held ({fr['files_held']} files; a "
          f"decision of the gate, not counted in freshness)")
    for part in fr["parts_held"]:
        why = "; ".join(f"{c['check']} {c['value']:.4f} > {c['threshold']:.4f} ({c['normal_basis']})"
                        for c in part["checks"])
        print(f"  held {part['batch_id']} ({part['lines']} lines): {why}")
    print(f"readers: {res['reader_queries']} queries, {res['reader_errors']} errors, wait p50 "
          f"{res['reader_wait_p50_s']}s p99 {res['reader_wait_p99_s']}s max {res['reader_wait_max_s']}s")
    print(f"memory: daemon RSS {res['daemon_rss_mb_first']} → {res['daemon_rss_mb_last']} MB (max "
          f"{res['daemon_rss_mb_max']}, growth {growth} MB); job processes at most {res['jobs_rss_mb_max']} MB")
    print(f"cpu: {res['cpu_s']} CPU-s over {res['wall_s']}s = {res['cpu_cores_used']} cores; load average "
          f"mean {res['load_avg_1m_mean']} max {res['load_avg_1m_max']} on {res['cores']} cores")
    for sample in res["reader_error_samples"]:
        print(f"  reader error: {sample}")
    print("targets met" if res["targets_met"] else "targets NOT met")
    if not args.no_results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(args.results.read_text()) if args.results.exists() else {}
        data["soak"] = res
        args.results.write_text(json.dumps(data, indent=2, default=str) + "\n")
        print(f"figures written to {args.results} (key soak)")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
