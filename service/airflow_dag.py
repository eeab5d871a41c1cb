"""The Airflow 3 DAGs of production: the daemon's jobs (service/jobs.py), each as the `nova` command
that runs the same entry point, on the same cadences, with retries, deadlines and no overlapping runs.

This file imports Airflow and the standard library only: Airflow lives in its own environment
(`make airflow-env`), the project in its own; the tasks call the project's `nova` executable
(NOVA_BIN, default `nova` on the worker's PATH) with the worker's environment (NOVA_CONFIG,
NOVA_SNOWFLAKE_PASSWORD, ...). tests/service/test_airflow_dag.py loads it with DagBag and checks
that every task calls a `nova` command of the job table.

| DAG | every | tasks | deadline (from queued) |
|---|---|---|---|
| nova_minutely | 1 min | load, alerts | 2 min (the raw level) |
| nova_pipeline | 5 min | run → monitor | 15 min (the curated level) |
| nova_hourly | 1 h | trust | 1 h |
| nova_daily | 1 day | gdpr → retention | 6 h |
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from airflow.sdk.definitions.callback import SyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

NOVA = os.environ.get("NOVA_BIN", "nova")
START = datetime(2026, 1, 1)

# task id → (nova command, execution timeout in seconds): the daemon's job table, as commands.
TASKS: dict[str, tuple[str, int]] = {
    "load": ("nova load", 900),
    "run": ("nova run", 1800),
    "monitor": ("nova monitor", 900),
    "alerts": ("nova alerts send", 300),
    "trust": ("nova trust", 1800),
    "gdpr": ("nova gdpr process", 3600),
    "retention": ("nova retention apply", 3600),
}
# dag id → (schedule, deadline, task chains: each inner tuple runs in order)
DAGS: dict[str, tuple[timedelta, timedelta, tuple[tuple[str, ...], ...]]] = {
    "nova_minutely": (timedelta(minutes=1), timedelta(minutes=2), (("load",), ("alerts",))),
    "nova_pipeline": (timedelta(minutes=5), timedelta(minutes=15), (("run", "monitor"),)),
    "nova_hourly": (timedelta(hours=1), timedelta(hours=1), (("trust",),)),
    "nova_daily": (timedelta(days=1), timedelta(hours=6), (("gdpr", "retention"),)),
}


def deadline_missed(**kwargs: object) -> None:
    """A DAG run missed its deadline (a service level): logged where the on-call's Airflow alerting
    reads it; `nova status` on a worker says which level and by how much."""
    logging.getLogger("nova.airflow").error("a NovaSuite DAG run missed its deadline: %s", kwargs)


def _build(dag_id: str, every: timedelta, deadline: timedelta, chains: tuple[tuple[str, ...], ...]) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=every,
        start_date=START,
        catchup=False,  # a missed interval is not replayed: the next run picks up everything (steps are incremental)
        max_active_runs=1,  # no overlapping runs
        default_args={"retries": 3, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True,
                      "max_retry_delay": timedelta(minutes=10)},
        deadline=DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT, interval=deadline,
                               callback=SyncCallback("service.airflow_dag.deadline_missed",
                                                     kwargs={"dag_id": dag_id, "deadline": str(deadline)})),
        tags=["novasuite"],
        doc_md=__doc__,
    ) as dag:
        for chain in chains:
            previous = None
            for task_id in chain:
                command, timeout = TASKS[task_id]
                task = BashOperator(task_id=task_id, bash_command=command.replace("nova", NOVA, 1),
                                    execution_timeout=timedelta(seconds=timeout))
                if previous is not None:
                    previous >> task
                previous = task
    return dag


for _dag_id, (_every, _deadline, _chains) in DAGS.items():
    globals()[_dag_id] = _build(_dag_id, _every, _deadline, _chains)
