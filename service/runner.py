"""What runs in the job process (forked by the daemon from a preloaded server).

A job opens the warehouse, runs its steps in one session, records its run and closes it: the DuckDB
file is held only while a job runs. SIGTERM abandons the step (the exception unwinds, the open
transaction rolls back; every step is idempotent, so the next run redoes it). SIGINT is the daemon's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from typing import Any

from config import get_settings
from nova.errors import NovaError
from service.jobs import JOBS_BY_NAME, StepContext, call_step, summarize
from warehouse import clock
from warehouse.results import ResultRow, insert_check_results
from warehouse.session import open_warehouse

FAILED = ("failed", "timeout", "killed")


class Abandoned(BaseException):
    """Raised in a job's process by SIGTERM: stop now, roll back."""


_abandoning = False


def _abandon(signum: int, frame: Any) -> None:
    # DuckDB checks for signals while a statement runs: it interrupts the statement and raises its
    # own RuntimeError("Query interrupted") in place of this exception. The flag tells the two apart.
    global _abandoning
    _abandoning = True
    raise Abandoned()


def _isolate() -> None:
    # A group of its own: a Ctrl-C or a `kill` of the daemon's group reaches the daemon, which decides
    # whether the step finishes or is abandoned (it then sends SIGTERM to this process alone).
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _abandon)
    get_settings.cache_clear()


def error_text(exc: BaseException) -> str:
    msg = exc.message if isinstance(exc, NovaError) else str(exc)
    return f"{type(exc).__name__}: {msg.splitlines()[0] if msg else ''}"[:500]


def worker_main(conn: Any, max_jobs: int, max_rss_mb: int) -> None:
    """The job process: runs the jobs the daemon sends, one at a time, until told to stop, until it
    has run `max_jobs` or grown past `max_rss_mb` (then the daemon starts a fresh one: memory stays
    flat), or until it dies (the daemon records the run as killed and starts a fresh one). Staying
    warm matters: a cold process spends ~1 s per job opening DuckDB and compiling the SQL templates,
    a warm one ~0.1 s."""
    _isolate()
    done = 0
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError, Abandoned):
            os._exit(0)
        if msg is None:
            os._exit(0)
        if "record" in msg:
            conn.send(record_run(msg["record"]))
            continue
        run = run_job(msg["job"], msg["meta"])
        done += 1
        run["worker_retires"] = run["outcome"] == "abandoned" or done >= max_jobs or rss_mb() > max_rss_mb
        conn.send(run)
        if run["worker_retires"]:
            os._exit(143 if run["outcome"] == "abandoned" else 0)


def rss_mb() -> float:
    try:
        with open(f"/proc/{os.getpid()}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def run_job(name: str, meta: dict[str, Any]) -> dict[str, Any]:
    """Run the job's steps in one warehouse session, closed at the end (the DuckDB file is free
    between jobs), and record the run in that same session; the daemon records only runs whose
    process died."""
    settings = get_settings()
    job = JOBS_BY_NAME[name]
    wh = None
    run = {**meta, "job": name, "pid": os.getpid(), "command": job.command}
    t0 = time.monotonic()
    try:
        wh = open_warehouse(settings, wait_s=settings.daemon.writer_wait_s)
        ctx = StepContext(wh, settings)
        summaries = [summarize(call_step(entry, ctx), limit=1500) for entry in job.steps]
        run.update(outcome="ok", summary="[" + ", ".join(summaries) + "]", error=None)
    except Abandoned:
        run.update(outcome="abandoned", error="stopped by SIGTERM: the step was rolled back")
    except Exception as exc:  # every failure is recorded and reported to the daemon, which retries it
        if _abandoning:  # SIGTERM arrived inside a SQL statement, which the database interrupted
            run.update(outcome="abandoned", error="stopped by SIGTERM inside a statement: the step was rolled back")
        else:
            run.update(outcome="failed", error=error_text(exc))
    run.update(finished_at=clock.now(), seconds=round(time.monotonic() - t0, 3))
    run["recorded"] = False
    if wh is not None and run["outcome"] != "abandoned":
        try:
            record(wh, run)
            run["recorded"] = True
        except Exception as exc:  # the daemon records it instead
            run["record_error"] = error_text(exc)
    if wh is not None:
        wh.close()
    return run


def record(wh: Any, run: dict[str, Any]) -> None:
    """Store one run in service_runs; a failure also as a check result (source `service`) that the
    alerting picks up, and the first success after failures as a passed one (the incident resolves)."""
    with wh.transaction():
        wh.execute("INSERT INTO service_runs (run_id, job, started_at, finished_at, seconds, outcome, attempt, "
                   "error, summary, pid, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [run["run_id"], run["job"], run["started_at"], run["finished_at"], run["seconds"],
                    run["outcome"], run["attempt"], run.get("error"), run.get("summary"), run.get("pid"),
                    socket.gethostname()])
        failed = run["outcome"] in FAILED
        if failed or (run["outcome"] == "ok" and run.get("previous_failures")):
            detail = {k: run.get(k) for k in ("job", "outcome", "error", "attempt", "command")}
            insert_check_results(wh, [ResultRow(
                run["run_id"], run["run_id"], "service_job_failed", "service", "job", run["job"], None, None, None,
                run["attempt"] if failed else 0, 0, 0, "failed" if failed else "passed", False,
                json.dumps(detail, default=str), run["finished_at"])])


def record_run(run: dict[str, Any]) -> dict[str, Any]:
    """Record a run whose own process could not (killed, timed out, or the warehouse did not open)."""
    settings = get_settings()
    try:
        with open_warehouse(settings, wait_s=settings.daemon.writer_wait_s) as wh:
            record(wh, run)
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": error_text(exc)}
