"""A person's mistake never shows a traceback: the installed `nova` script, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_landing
from tests.pipeline.helpers import web

NOVA = Path(sys.executable).with_name("nova")


def nova(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(NOVA), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "80", **(env or {})})


@pytest.mark.parametrize(("args", "says"), [
    (["nosuch"], "No such command 'nosuch'"),
    (["load", "--nope"], "No such option: --nope"),
    (["contracts", "validate"], "Missing argument 'file'"),
    (["generate", "--days", "x"], "Invalid value for '--days'"),
    (["generate", "--days", "0"], "Invalid value for '--days'"),
    (["contracts", "validate", "/no/such/file.jsonl", "--platform", "web"], "does not exist"),
    (["generate", "--incident", "bogus"], "incident 'bogus'"),
])
def test_usage_errors_exit_2_with_one_line_and_a_hint(args: list[str], says: str) -> None:
    res = nova(*args)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and says in lines[0]
    assert len(lines) == 2 and lines[1].startswith("hint: ")


def test_a_usage_error_names_the_subcommand_help() -> None:
    res = nova("contracts", "validate", "--platfrom", "web")
    assert "nova contracts validate --help" in res.stderr


def test_invalid_settings_are_a_configuration_error() -> None:
    res = nova("reconcile", env={"NOVA_DUCKDB_THREADS": "many"})
    assert res.returncode == 3
    assert "invalid settings" in res.stderr and "duckdb_threads" in res.stderr
    assert "Traceback" not in res.stderr


def test_an_internal_error_prints_a_short_message_and_where_the_trace_is(tmp_path: Path) -> None:
    state = tmp_path / "state"
    write_landing(Path(os.environ["NOVA_LANDING_PATH"]), "web", "a.jsonl", [web("m1")])
    res = nova("load", env={"NOVA_CRASH_AT": "raise:load:after_chunk", "NOVA_STATE_DIR": str(state)})
    assert res.returncode == 70
    assert "Traceback" not in res.stderr
    first, second = res.stderr.strip().splitlines()
    assert first == "internal error: CrashPointError: simulated failure at load:after_chunk"
    logs = list((state / "errors").glob("nova-error-*.log"))
    assert len(logs) == 1 and str(logs[0]) in second
    trace = logs[0].read_text()
    assert trace.startswith("nova load") and "Traceback" in trace and "crash_point" in trace


def test_bare_nova_and_a_bare_group_show_their_help() -> None:
    for args in ([], ["quarantine"]):
        res = nova(*args)
        assert "Usage: nova" in res.stdout and "Traceback" not in res.stderr
