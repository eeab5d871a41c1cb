"""The Airflow DAGs import in Airflow 3 (its own environment, `make airflow-env`) and every task calls
the `nova` command of a job of the daemon's table, with retries, a deadline and no overlapping runs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from service.jobs import JOBS
from tests.conftest import REPO

AIRFLOW_PY = REPO / ".venv-airflow" / "bin" / "python"
LOAD = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={path!r})
print(json.dumps({{"errors": {{k: str(v) for k, v in bag.import_errors.items()}}, "dags": {{
    d.dag_id: {{"max_active_runs": d.max_active_runs, "catchup": d.catchup, "deadlines": len(d.deadline or []),
               "tasks": {{t.task_id: {{"command": t.bash_command, "retries": t.retries,
                                      "timeout_s": t.execution_timeout.total_seconds(),
                                      "upstream": sorted(t.upstream_task_ids)}} for t in d.tasks}}}}
    for d in bag.dags.values()}}}}))
"""


@pytest.fixture(scope="module")
def dags(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not AIRFLOW_PY.exists():
        pytest.skip("the Airflow environment is absent: run `make airflow-env` (`make test` builds it first)")
    home = tmp_path_factory.mktemp("airflow_home")
    res = subprocess.run([str(AIRFLOW_PY), "-c", LOAD.format(path=str(REPO / "service" / "airflow_dag.py"))],
                         capture_output=True, text=True, timeout=300, cwd=home,
                         env={"PATH": os.environ["PATH"], "AIRFLOW_HOME": str(home), "PYTHONPATH": str(REPO),
                              "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_the_dags_import_without_errors(dags: dict) -> None:
    assert dags["errors"] == {}
    assert set(dags["dags"]) == {"nova_minutely", "nova_pipeline", "nova_hourly", "nova_daily"}
    for dag in dags["dags"].values():
        assert dag["max_active_runs"] == 1 and not dag["catchup"] and dag["deadlines"] == 1
        for task in dag["tasks"].values():
            assert task["retries"] >= 1 and task["timeout_s"] > 0


def test_every_job_of_the_daemon_is_a_task_calling_its_command(dags: dict) -> None:
    tasks = {tid: t for d in dags["dags"].values() for tid, t in d["tasks"].items()}
    assert {tid: t["command"] for tid, t in tasks.items()} == {j.name: j.command for j in JOBS}
    pipeline = dags["dags"]["nova_pipeline"]["tasks"]
    assert pipeline["monitor"]["upstream"] == ["run"]  # checks follow each run, as in the daemon
    assert dags["dags"]["nova_daily"]["tasks"]["retention"]["upstream"] == ["gdpr"]


@pytest.mark.parametrize("job", [pytest.param(j, id=j.name) for j in JOBS])
def test_each_task_command_exists_in_the_nova_cli(job) -> None:
    from typer.main import get_command

    from nova.cli import app

    cmd = get_command(app)
    for word in job.command.split()[1:]:
        cmd = cmd.get_command(None, word)  # type: ignore[union-attr, arg-type]
        assert cmd is not None, f"`{job.command}` is not a nova command"
    assert Path(REPO / "service" / "airflow_dag.py").read_text().count(f'"{job.command}"') == 1
