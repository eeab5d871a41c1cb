"""One writer at a time (issue 17, point 3): the lease every writing step takes."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from typing import Any

import pytest

from nova.errors import Exit, NovaError
from tests.conftest import REPO
from warehouse import clock
from warehouse.lock import release, state, writer_lock


def test_a_second_writer_waits_then_stops_naming_the_holder(wh: Any) -> None:
    with clock.set_now(dt.datetime(2026, 11, 25, 18, 0)), writer_lock(wh, "run") as holder:
        # Another process's step: the same table row, seen through a fresh holder id.
        from warehouse import lock

        saved = lock._held.pop(id(wh))
        try:
            with pytest.raises(NovaError) as err, writer_lock(wh, "gdpr process", timeout_seconds=0.3):
                pass
        finally:
            lock._held[id(wh)] = saved
        assert err.value.code == Exit.BUSY
        assert holder in err.value.message and "`run`" in err.value.message
        assert "2026-11-25 18:00:00" in err.value.message and "`gdpr process` did not start" in err.value.message
    assert state(wh).holder is None  # released on exit


def test_the_lock_is_reentrant_and_released_after_an_error(wh: Any) -> None:
    with pytest.raises(RuntimeError), writer_lock(wh, "quarantine replay"):
        with writer_lock(wh, "run"):
            assert state(wh).step == "quarantine replay"
        raise RuntimeError("boom")
    assert state(wh).holder is None


def test_an_expired_lease_of_a_crashed_holder_is_taken_over(wh: Any) -> None:
    with clock.set_now(dt.datetime(2026, 11, 25, 8, 0)):
        wh.execute("UPDATE writer_lock SET holder = 'gone:1', step = 'run', since = ?, expires_at = ?",
                   [dt.datetime(2026, 11, 25, 1, 0), dt.datetime(2026, 11, 25, 7, 0)]) if state(wh) else None
        with writer_lock(wh, "retention", timeout_seconds=0):
            assert state(wh).step == "retention"


def test_cli_steps_refuse_to_start_while_another_writer_holds_the_lock(wh: Any) -> None:
    wh.execute("UPDATE writer_lock SET holder = 'daemon-host:4242', step = 'run', since = ?, expires_at = ?",
               [dt.datetime(2026, 11, 25, 18, 0), dt.datetime(2099, 1, 1)]) if state(wh) else None
    wh.close()
    env = {**os.environ, "NOVA_LOCK_TIMEOUT_SECONDS": "0", "COLUMNS": "200"}
    for args in (["run"], ["gdpr", "process"], ["retention", "apply"], ["load"]):
        res = subprocess.run([sys.executable, "-m", "nova.cli", *args], cwd=REPO, capture_output=True, text=True,
                             env=env, timeout=120)
        assert res.returncode == Exit.BUSY, (args, res.stdout, res.stderr)
        assert "daemon-host:4242" in res.stderr + res.stdout and "Traceback" not in res.stderr
    shown = subprocess.run([sys.executable, "-m", "nova.cli", "lock", "show"], cwd=REPO, capture_output=True,
                           text=True, env=env, timeout=120)
    assert "daemon-host:4242" in shown.stdout
    freed = subprocess.run([sys.executable, "-m", "nova.cli", "lock", "release", "--force"], cwd=REPO,
                           capture_output=True, text=True, env=env, timeout=120)
    assert freed.returncode == 0 and "released" in freed.stdout


def test_release_of_another_holder_changes_nothing(wh: Any) -> None:
    with writer_lock(wh, "run") as holder:
        release(wh, "someone-else")
        assert state(wh).holder == holder


def test_the_lease_of_a_killed_process_on_this_machine_is_taken_over_at_once(wh: Any) -> None:
    import socket

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    wh.execute("UPDATE writer_lock SET holder = ?, step = 'gdpr process', since = ?, expires_at = ?",
               [f"{socket.gethostname()}:{dead.pid}:abcdef", dt.datetime(2026, 11, 25), dt.datetime(2099, 1, 1)]) \
        if state(wh) else None
    with writer_lock(wh, "gdpr process", timeout_seconds=0):
        assert state(wh).step == "gdpr process"
