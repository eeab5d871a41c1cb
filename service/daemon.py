"""`nova daemon`: every step of the platform on a schedule (APScheduler 3), one instance per warehouse.

Jobs run one at a time (DuckDB has one writer) in a job process of their own, forked from a server
that has the project imported: a job that crashes or is killed cannot take the daemon with it (the
run is recorded as killed and a fresh job process takes the next one), and the process is replaced
after `worker_max_jobs` jobs or when it grew past `worker_max_rss_mb`, so memory stays flat. Each job
opens the warehouse and closes it when done: readers get in between jobs (docs/service.md). A job
that is still queued or running is not started twice, missed runs coalesce into one, a failure is
logged, recorded (service_runs, check_results) and retried with a doubling delay. SIGTERM or Ctrl-C
stops gracefully: the current step may finish within `stop_grace_s`, else it is abandoned (rolled
back; every step is idempotent); a second signal abandons at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from config import Settings
from service import runner
from service.jobs import JOBS, Job, followers, interval_of, unavailable
from service.logs import setup_logging
from service.runner import FAILED
from service.state import DaemonLock, write_heartbeat
from warehouse import clock
from warehouse.session import reader_marker_dir

log = logging.getLogger("nova.daemon")
PRELOAD = ["service.runner", "service.steps", "pipeline.cli", "pipeline.gdpr", "pipeline.retention",
           "monitors.round", "alerts.service", "monitors.trust"]


@dataclass
class JobState:
    name: str
    command: str
    available: bool = True
    unavailable_reason: str | None = None
    interval_s: int | None = None
    after: str = ""
    last_started_at: dt.datetime | None = None
    last_finished_at: dt.datetime | None = None
    last_seconds: float | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    last_success_at: dt.datetime | None = None
    failures: int = 0
    runs: int = 0
    next_run_at: dt.datetime | None = None
    running: bool = False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Daemon:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.cfg = settings.daemon
        self.stopping = threading.Event()
        self.abandon_now = threading.Event()
        self.stop_deadline = float("inf")
        self.mu = threading.Lock()
        self.states = {j.name: JobState(j.name, j.command, interval_s=interval_of(j, settings), after=j.after)
                       for j in JOBS}
        self.info: dict[str, Any] = {}
        self.sched: BackgroundScheduler | None = None
        self.worker: tuple[Any, Any] | None = None
        self.ctx = multiprocessing.get_context("forkserver")
        self.ctx.set_forkserver_preload([m for m in PRELOAD if _importable(m)])

    # --- lifecycle ---------------------------------------------------------------------------
    def run(self) -> int:
        lock = DaemonLock(self.settings)
        self.info = lock.acquire()
        try:
            if lock.previous and lock.previous.get("pid"):
                log.warning("lock.taken_over", extra={"fields": {"stale": lock.previous}})
            log.info("daemon.started", extra={"fields": {**self.info, "state_dir": str(self.settings.state_dir)}})
            self._schedule()
            self._install_signals()
            self._heartbeat("running")
            while not self.stopping.wait(0.5):
                pass
            log.info("daemon.stopping", extra={"fields": {"grace_s": self.cfg.stop_grace_s}})
            self._heartbeat("stopping")
            assert self.sched is not None
            self.sched.shutdown(wait=True)  # the running job finishes or is abandoned (see _call)
            if self.worker is not None:
                with contextlib.suppress(OSError):
                    self.worker[1].send(None)
                self._retire("join")
            self._heartbeat("stopped")
            log.info("daemon.stopped")
            return 0
        finally:
            lock.release()

    def stop(self, reason: str = "") -> None:
        if self.stopping.is_set():
            self.abandon_now.set()
            log.warning("daemon.abandon", extra={"fields": {"reason": f"second {reason}: abandon the current step"}})
            return
        self.stop_deadline = time.monotonic() + self.cfg.stop_grace_s
        self.stopping.set()

    def _install_signals(self) -> None:
        def handler(signum: int, frame: Any) -> None:
            self.stop(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _schedule(self) -> None:
        self.sched = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1), "heartbeat": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": self.cfg.misfire_grace_s},
            timezone=dt.UTC)
        now = clock.wall_now()
        for order, job in enumerate(JOBS):
            why = unavailable(job)
            st = self.states[job.name]
            if why:
                st.available, st.unavailable_reason = False, why
                log.error("job.unavailable", extra={"fields": {"job": job.name, "reason": why}})
                continue
            if job.after:
                continue
            seconds = interval_of(job, self.settings) or 60
            # First runs right away, in the order of JOBS (load before run), a few ms apart.
            self.sched.add_job(self._tick, IntervalTrigger(seconds=seconds, timezone=dt.UTC), args=[job],
                               id=job.name, name=job.name, next_run_time=now + dt.timedelta(milliseconds=10 * order))
        self.sched.add_job(self._heartbeat, IntervalTrigger(seconds=self.cfg.heartbeat_interval_s),
                           id="_heartbeat", executor="heartbeat")
        self.sched.start()

    # --- one job -------------------------------------------------------------------------------
    def _tick(self, job: Job) -> None:
        if self.stopping.is_set():
            return  # queued before the stop
        self._yield_to_readers()
        t0 = time.monotonic()
        outcome = self._execute(job)
        if outcome == "ok":
            for follower in followers(job.name):
                if self.states[follower.name].available and not self.stopping.is_set():
                    self._execute(follower)
            self._again_if_overran(job, time.monotonic() - t0)

    def _again_if_overran(self, job: Job, took: float) -> None:
        """A job (with its followers) that took longer than its interval skipped its next tick (one
        instance at a time) and would wait up to a whole interval more, idle, while the work it exists
        for piles up (at the peak a run overruns 30 s every time: ~15 s lost per cycle on average).
        The coalesced run starts at once instead, after the jobs already due (a load)."""
        interval = interval_of(job, self.settings)
        if not interval or took < interval or self.sched is None or self.stopping.is_set():
            return
        with contextlib.suppress(Exception):  # the scheduler is shutting down: nothing to catch up
            self.sched.modify_job(job.name, next_run_time=clock.wall_now() + dt.timedelta(seconds=1))

    def _yield_to_readers(self) -> None:
        """A reader waiting for the DuckDB file goes first (up to reader_priority_s)."""
        folder = reader_marker_dir(self.settings)
        deadline = time.monotonic() + self.cfg.reader_priority_s
        while time.monotonic() < deadline and not self.stopping.is_set():
            waiting = []
            for marker in folder.glob("*.wait") if folder.exists() else []:
                pid = int(marker.stem) if marker.stem.isdigit() else 0
                if pid and _pid_alive(pid):
                    waiting.append(pid)
                else:
                    with contextlib.suppress(OSError):
                        marker.unlink()
            if not waiting:
                return
            time.sleep(0.05)

    def _execute(self, job: Job) -> str:
        st = self.states[job.name]
        started, t0 = clock.now(), time.monotonic()
        run_id = f"{job.name}-{started:%Y%m%dT%H%M%S%f}"
        with self.mu:
            st.running, st.last_started_at = True, started
            meta = {"run_id": run_id, "started_at": started, "attempt": st.failures + 1,
                    "previous_failures": st.failures}
        log.info("job.started", extra={"fields": {"job": job.name, "run_id": run_id, "attempt": meta["attempt"]}})
        result, pid = self._call({"job": job.name, "meta": meta}, timeout_s=job.timeout_s, abandonable=True)
        seconds = round(time.monotonic() - t0, 3)
        outcome = result.get("outcome", "failed")
        with self.mu:
            st.running = False
            st.runs += 1
            st.failures = st.failures + 1 if outcome in FAILED else (st.failures if outcome == "abandoned" else 0)
            st.last_finished_at, st.last_seconds, st.last_outcome = clock.now(), seconds, outcome
            st.last_error = result.get("error")
            if outcome == "ok":
                st.last_success_at = st.last_finished_at
        retry_at = self._backoff(job, st) if outcome in FAILED else None
        fields = {"job": job.name, "run_id": run_id, "outcome": outcome, "seconds": seconds, "pid": pid}
        if outcome == "ok":
            log.info("job.finished", extra={"fields": fields | {"summary": result.get("summary")}})
        elif outcome == "abandoned":
            log.warning("job.abandoned", extra={"fields": fields | {"error": st.last_error}})
        else:
            log.error("job.failed", extra={"fields": fields | {"error": st.last_error, "attempt": meta["attempt"],
                                                               "next_retry_at": retry_at}})
        if not result.get("recorded"):
            run = {**meta, "job": job.name, "finished_at": st.last_finished_at, "seconds": seconds,
                   "outcome": outcome, "error": st.last_error, "summary": result.get("summary"), "pid": pid,
                   "command": job.command}
            rec, _ = self._call({"record": run}, timeout_s=self.cfg.writer_wait_s + 60, abandonable=False)
            if not rec.get("ok"):
                log.error("run.not_recorded", extra={"fields": {"run_id": run_id, "error": rec.get("error")}})
        self._heartbeat()
        return outcome

    def _backoff(self, job: Job, st: JobState) -> dt.datetime | None:
        delay = min(self.cfg.backoff_base_s * 2 ** (st.failures - 1), self.cfg.backoff_max_s)
        if job.after or self.sched is None or self.stopping.is_set():
            return None  # a follower is retried after its leader's next run
        at = clock.wall_now() + dt.timedelta(seconds=delay)
        with contextlib.suppress(Exception):
            self.sched.modify_job(job.name, next_run_time=at)
        return at.replace(tzinfo=None)

    def _worker(self) -> tuple[Any, Any]:
        if self.worker is None or self.worker[0].exitcode is not None:
            if self.worker is not None:
                self.worker[1].close()
            mine, theirs = self.ctx.Pipe(duplex=True)
            proc = self.ctx.Process(target=runner.worker_main, args=(theirs, self.cfg.worker_max_jobs,
                                                                     self.cfg.worker_max_rss_mb), daemon=False)
            proc.start()
            theirs.close()
            self.worker = (proc, mine)
            log.info("worker.started", extra={"fields": {"pid": proc.pid}})
        return self.worker

    def _retire(self, how: str) -> None:
        if self.worker is None:
            return
        proc, conn = self.worker
        if how == "kill":
            proc.kill()
        proc.join(10)
        if proc.exitcode is None:
            proc.kill()
            proc.join(5)
        conn.close()
        self.worker = None

    def _call(self, msg: dict[str, Any], *, timeout_s: float, abandonable: bool) -> tuple[dict, int | None]:
        """Send one message to the job process and wait for its answer, killing it past the timeout
        and, once the daemon stops, abandoning the job after the grace period (SIGTERM: rollback)."""
        proc, conn = self._worker()
        conn.send(msg)
        deadline = time.monotonic() + timeout_s
        terminated = False
        while True:
            try:
                if conn.poll(0.1):
                    result = conn.recv()
                    if result.get("worker_retires"):
                        self._retire("join")
                    return result, proc.pid
            except (EOFError, OSError):
                pass
            if proc.exitcode is not None:
                code = proc.exitcode
                self._retire("join")
                how = signal.Signals(-code).name if code < 0 else f"exit code {code}"
                return {"outcome": "abandoned" if terminated else ("killed" if code < 0 else "failed"),
                        "error": f"the job's process ended without a result ({how})"}, proc.pid
            now = time.monotonic()
            if now > deadline:
                self._retire("kill")
                if terminated:  # a step inside one long SQL statement handles SIGTERM only when it returns
                    return {"outcome": "abandoned", "error": "still running 15 s after SIGTERM: killed (nothing "
                            "of the step was committed; the next start redoes it)"}, proc.pid
                return {"outcome": "timeout", "error": f"killed after {timeout_s:.0f}s (job timeout)"}, proc.pid
            if abandonable and not terminated and self.stopping.is_set() and (
                    self.abandon_now.is_set() or now > self.stop_deadline):
                proc.terminate()  # SIGTERM: the job rolls back, reports `abandoned` and the process exits
                terminated = True
                deadline = min(deadline, now + 15)

    # --- heartbeat ---------------------------------------------------------------------------
    def _heartbeat(self, state: str | None = None) -> None:
        if state:
            self.info["state"] = state
        jobs = {}
        with self.mu:
            for name, st in self.states.items():
                jobs[name] = asdict(st)
        if self.sched is not None and self.info.get("state") == "running":
            with contextlib.suppress(Exception):
                for j in self.sched.get_jobs():
                    if j.id in jobs and j.next_run_time is not None:
                        jobs[j.id]["next_run_at"] = j.next_run_time.astimezone(dt.UTC).replace(tzinfo=None)
        with contextlib.suppress(OSError):
            write_heartbeat(self.settings, {**self.info, "heartbeat_at": clock.now(),
                                            "heartbeat_wall": clock.wall_now().timestamp(), "jobs": jobs})


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def run_daemon(settings: Settings, *, log_file: str | None = None) -> int:
    setup_logging(log_file if log_file is not None else settings.daemon.log_file)
    Path(settings.state_dir).mkdir(parents=True, exist_ok=True)
    return Daemon(settings).run()
