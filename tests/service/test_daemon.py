"""`nova daemon` end to end as a subprocess: one instance per warehouse, a graceful SIGTERM, a job
killed mid-step recovered by the next run (nothing lost or doubled), `nova status` telling the truth."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import REPO, write_landing
from tests.pipeline.helpers import android, ios, web

FAST = {"NOVA_DAEMON__LOAD_INTERVAL_S": "1", "NOVA_DAEMON__RUN_INTERVAL_S": "2",
        "NOVA_DAEMON__HEARTBEAT_INTERVAL_S": "1", "NOVA_DAEMON__BACKOFF_BASE_S": "1",
        "NOVA_DAEMON__READER_PRIORITY_S": "5", "COLUMNS": "200"}


def nova(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nova.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **FAST, **(env or {})}, timeout=timeout)


def start_daemon(log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nova.cli", "daemon", "--log-file", str(log)], cwd=REPO,
                            env={**os.environ, **FAST, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []


def wait_for(cond: Callable[[], Any], timeout: float = 90, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def finished(log: Path, job: str, outcome: str = "ok") -> list[dict[str, Any]]:
    ev = "job.finished" if outcome == "ok" else "job.failed"
    return [e for e in events(log) if e["event"] == ev and e["job"] == job and e["outcome"] == outcome]


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=90)


def landing() -> Path:
    return Path(os.environ["NOVA_LANDING_PATH"])


def test_one_daemon_per_warehouse_graceful_stop_and_status(tmp_path: Path) -> None:
    write_landing(landing(), "web", "a.jsonl", [web(f"m{i}") for i in range(20)])
    write_landing(landing(), "ios", "b.jsonl", [ios(f"I{i}") for i in range(10)])
    log = tmp_path / "daemon.log"
    first = start_daemon(log)
    try:
        wait_for(lambda: finished(log, "run"), what="a first run")
        second = nova("daemon", timeout=60)
        assert second.returncode == 3
        assert f"pid {first.pid}" in second.stderr and "already runs" in second.stderr
        up = nova("status", "--json")
        assert up.returncode == 0, up.stdout + up.stderr
        st = json.loads(up.stdout)
        assert st["daemon"]["running"] and st["daemon"]["pid"] == first.pid and st["healthy"]
        jobs = {j["job"]: j for j in st["jobs"]}
        assert jobs["load"]["last_outcome"] == "ok" and jobs["load"]["next_run_at"]
        assert st["freshness"]["raw"]["ok"] and st["freshness"]["curated"]["ok"]
        assert st["freshness"]["curated"]["files_waiting"] == 0
    finally:
        rc = stop(first)
    assert rc == 0
    names = [e["event"] for e in events(log)]
    assert "daemon.stopping" in names and names[-1] == "daemon.stopped"
    assert all(json.loads(line) for line in log.read_text().splitlines())  # one JSON object per line
    after = nova("status")
    assert after.returncode == 1 and "DOWN" in after.stdout
    # The lock went with the process: a daemon killed with SIGKILL leaves a stale lock that the next one takes.
    third = start_daemon(tmp_path / "third.log")
    wait_for(lambda: any(e["event"] == "daemon.started" for e in events(tmp_path / "third.log")), what="start")
    third.kill()
    third.wait()
    from config import get_settings
    from service.state import DaemonLock, holder

    assert holder(get_settings()) is None
    lock = DaemonLock(get_settings())
    lock.acquire()
    assert lock.previous and lock.previous["pid"] == third.pid  # the stale content, taken over
    lock.release()


def test_a_killed_job_is_recorded_alerted_and_recovered_without_loss_or_double(tmp_path: Path) -> None:
    write_landing(landing(), "web", "a.jsonl", [web(f"m{i}") for i in range(30)])
    write_landing(landing(), "android", "c.jsonl", [android(f"d{i}") for i in range(15)] + ["{not json"])
    log = tmp_path / "daemon.log"
    env = {"NOVA_CRASH_AT": "curate:before_commit", "NOVA_CRASH_ONCE": str(tmp_path / "crashed")}
    proc = start_daemon(log, env)
    try:
        failed = wait_for(lambda: finished(log, "run", "killed"), what="the killed run")
        assert "SIGKILL" in failed[0]["error"] and failed[0]["next_retry_at"]
        wait_for(lambda: [e for e in finished(log, "run") if e["ts"] > failed[0]["ts"]], what="the recovery run")
        # A reader while the daemon runs: the CLI waits for the current job instead of failing.
        q = nova("query", "SELECT COUNT(*) AS n FROM fct_feature_events", "--format", "json")
        assert q.returncode == 0, q.stderr
        assert json.loads(q.stdout)[0]["n"] == 45
    finally:
        assert stop(proc) == 0
    rec = nova("reconcile", "--json")
    assert rec.returncode == 0, rec.stdout + rec.stderr
    total = json.loads(rec.stdout)
    assert total["received"] == 46 and total["staged"] == 45 and sum(total["quarantined"].values()) == 1
    q = nova("query", "SELECT (SELECT COUNT(*) FROM fct_feature_events) AS fct, "
             "(SELECT COUNT(DISTINCT event_id) FROM fct_feature_events) AS ids, "
             "(SELECT COUNT(*) FROM stg_events) AS stg", "--format", "json")
    row = json.loads(q.stdout)[0]
    assert row == {"fct": 45, "ids": 45, "stg": 45}  # nothing doubled by the crash and the re-run
    runs = json.loads(nova("query", "SELECT job, outcome, attempt FROM service_runs WHERE job = 'run' "
                           "ORDER BY started_at", "--format", "json").stdout)
    assert runs[0] == {"job": "run", "outcome": "killed", "attempt": 1} and runs[1]["outcome"] == "ok"
    checks = json.loads(nova("query", "SELECT source, scope, outcome, detail FROM check_results "
                             "WHERE source = 'service' ORDER BY checked_at", "--format", "json").stdout)
    assert [(c["scope"], c["outcome"]) for c in checks] == [("run", "failed"), ("run", "passed")]
    assert json.loads(checks[0]["detail"])["outcome"] == "killed"


def test_a_job_that_overran_its_interval_runs_again_at_once_not_a_tick_later(tmp_path: Path) -> None:
    """At the peak a run takes longer than run_interval_s: its next tick is skipped (one instance at a
    time) and, left alone, it would wait for the tick after, idle, while files pile up."""
    import datetime as dt

    from config import Settings
    from service.daemon import Daemon
    from service.jobs import JOBS_BY_NAME
    from warehouse import clock

    daemon = Daemon(Settings(warehouse_url=f"duckdb:///{tmp_path}/w.duckdb", state_dir=str(tmp_path),
                             daemon={"run_interval_s": 30}))
    moved: list[tuple[str, dt.datetime]] = []

    class Scheduler:
        def modify_job(self, job_id: str, next_run_time: dt.datetime) -> None:
            moved.append((job_id, next_run_time))

    daemon.sched = Scheduler()  # type: ignore[assignment]
    daemon._again_if_overran(JOBS_BY_NAME["run"], 12.0)  # within its interval: the next tick as planned
    assert moved == []
    daemon._again_if_overran(JOBS_BY_NAME["run"], 47.0)  # it overran: the coalesced run is due now
    assert [job for job, _ in moved] == ["run"]
    assert moved[0][1] - clock.wall_now() < dt.timedelta(seconds=2)
    daemon.stopping.set()
    daemon._again_if_overran(JOBS_BY_NAME["run"], 47.0)  # a stopping daemon starts nothing
    assert len(moved) == 1
