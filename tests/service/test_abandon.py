"""A SIGTERM to the job process abandons the step even inside a long SQL statement: DuckDB interrupts
the statement (raising its own "Query interrupted") or, when it does not check in time, the step stops
as the statement returns; either way the transaction rolls back and the run is `abandoned` (not
`failed`, which would page the on-call for a graceful stop). The daemon kills a job still running
15 s after SIGTERM (tests/service/test_daemon.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO

CHILD = r'''
import json, sys
from service import jobs, runner
from service.jobs import Job
from warehouse import clock

def slow(wh):
    with wh.transaction():
        wh.execute("CREATE TABLE IF NOT EXISTS abandon_probe (x INTEGER)")
        wh.execute("INSERT INTO abandon_probe VALUES (1)")
        print("in statement", flush=True)
        wh.execute("SELECT COUNT(*) FROM range(300000000) t(i) WHERE hash(i) % 7 = 3").fetchall()

sys.modules["__main__"].slow = slow
jobs.JOBS_BY_NAME["slow"] = Job("slow", ("__main__:slow",), "", 60, "nova run")
runner._isolate()
run = runner.run_job("slow", {"run_id": "r1", "started_at": clock.now(), "attempt": 1})
print(json.dumps({k: run[k] for k in ("outcome", "error", "seconds")}), flush=True)
'''


def test_sigterm_inside_a_long_statement_abandons_and_rolls_back(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], cwd=REPO, stdout=subprocess.PIPE, text=True,
                            env={**os.environ})
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "in statement"
    time.sleep(0.3)  # inside the statement (a second or more of work)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    run = json.loads(out.strip().splitlines()[-1])
    assert run["outcome"] == "abandoned", run
    import duckdb

    db = os.environ["NOVA_WAREHOUSE_URL"].removeprefix("duckdb:///")
    con = duckdb.connect(db, read_only=True)
    assert con.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'abandon_probe'"
                       ).fetchone()[0] == 0  # rolled back: not even the table
