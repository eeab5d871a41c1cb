"""The jobs of the service, as data: what the daemon schedules and the Airflow DAG runs.

Each job names its steps as "module:function" strings, resolved lazily with importlib: a job whose
module is not installed is reported "unavailable" (by `nova status` and in the daemon's log) and is
not scheduled. Arguments are given by name from what a step asks for (`wh`, `reg`, `settings`,
`landing`, `now`), so a job calls the very function the `nova` command calls.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import Settings


@dataclass(frozen=True)
class Job:
    name: str
    steps: tuple[str, ...]  # "module:function", called in order in one warehouse session
    interval: str  # the DaemonConfig field with its interval in seconds ("" for a job that follows another)
    timeout_s: int  # a run longer than this is killed (and recorded as `timeout`)
    command: str  # the `nova` command that does the same (the Airflow DAG calls it)
    after: str = ""  # run right after each successful run of this job instead of on an interval
    help: str = ""


JOBS: tuple[Job, ...] = (
    Job("load", ("service.steps:load",), "load_interval_s", 900, "nova load",
        help="new landing files → raw_events (on Snowflake: claim what Snowpipe copied)"),
    Job("run", ("service.steps:run",), "run_interval_s", 1800, "nova run",
        help="stage → gate → promote → curate, incremental (the daemon loads new files between the steps)"),
    Job("monitor", ("monitors.round:run_round",), "", 900, "nova monitor", after="run",
        help="checks and anomaly detection over what the run just curated"),
    Job("alerts", ("alerts.service:process_incidents", "alerts.service:send_due"), "alerts_interval_s", 300,
        "nova alerts send", help="failures grouped into incidents, then due alerts sent from the outbox"),
    Job("trust", ("monitors.trust:compute_trust",), "trust_interval_s", 1800, "nova trust",
        help="trust scores per table, area, feature and platform"),
    Job("gdpr", ("pipeline.gdpr:process_pending",), "gdpr_interval_s", 3600, "nova gdpr process",
        help="erase the users of pending GDPR requests"),
    Job("retention", ("pipeline.retention:apply_retention",), "retention_interval_s", 3600, "nova retention apply",
        help="delete rows older than their retention"),
)
JOBS_BY_NAME = {j.name: j for j in JOBS}


def resolve(entry: str) -> Callable[..., Any]:
    """"module:function" → the function; ImportError / AttributeError when it is not there."""
    module, _, name = entry.partition(":")
    return getattr(importlib.import_module(module), name)


def unavailable(job: Job) -> str | None:
    """Why the job cannot run (the first step that does not resolve), or None."""
    for entry in job.steps:
        try:
            resolve(entry)
        except (ImportError, AttributeError) as exc:
            return f"{entry} does not resolve ({type(exc).__name__})"
    return None


def followers(name: str) -> list[Job]:
    return [j for j in JOBS if j.after == name]


def interval_of(job: Job, settings: Settings) -> int | None:
    return int(getattr(settings.daemon, job.interval)) if job.interval else None


class StepContext:
    """What steps may ask for, built on demand."""

    def __init__(self, wh: Any, settings: Settings):
        self.wh, self.settings = wh, settings
        self._reg: Any = None

    def value(self, name: str) -> Any:
        if name == "wh":
            return self.wh
        if name == "settings":
            return self.settings
        if name in ("reg", "registry"):
            if self._reg is None:
                from pipeline.cli import registry

                self._reg = registry()
            return self._reg
        if name == "landing":
            from pipeline.landing import Landing

            root = self.settings.landing_path
            return Landing(root) if root.startswith("s3://") or Path(root).exists() else None
        if name == "now":
            from warehouse import clock

            return clock.now()
        raise KeyError(name)


def call_step(entry: str, ctx: StepContext) -> Any:
    fn = resolve(entry)
    args, kwargs = [], {}
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        try:
            value = ctx.value(p.name)
        except KeyError:
            if p.default is p.empty:
                raise TypeError(f"{entry}: the service cannot supply argument {p.name!r}") from None
            continue
        if p.kind is p.POSITIONAL_ONLY:
            args.append(value)
        else:
            kwargs[p.name] = value
    return fn(*args, **kwargs)


def summarize(result: Any, limit: int = 2000) -> str:
    """A step's result as short JSON for service_runs.summary."""
    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if hasattr(v, "model_dump"):
            return plain(v.model_dump())
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple | set):
            return [plain(x) for x in v][:50]
        if isinstance(v, str | int | float | bool) or v is None:
            return v
        return str(v)

    text = json.dumps(plain(result), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
