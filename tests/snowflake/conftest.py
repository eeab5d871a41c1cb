"""The production CLI against Snowflake's wire protocol: fakesnow's server mode with the real
snowflake-connector and snowflake-sqlalchemy, reached through NOVA_SNOWFLAKE_HOST/PORT/PROTOCOL.

One server per test session (a thread of the test process, so the gaps of tests/snowflake/gaps.py
apply to it); each test gets a database of its own.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.pipeline.test_snowflake_dialect import fake_wh, snow_conn  # noqa: F401  (in-process fakesnow)

_ids = itertools.count(1)


@pytest.fixture(scope="session")
def fakesnow_server() -> Iterator[dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.snowflake.server"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("port="), f"fakesnow server did not start: {first!r}"
        yield {"host": "127.0.0.1", "port": int(first[5:]), "protocol": "http"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def sf_env(fakesnow_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Settings of a Snowflake deployment, as environment variables (also for CLI subprocesses)."""
    from config.settings import get_settings

    env = {
        "NOVA_WAREHOUSE_URL": f"snowflake://fake@fakesnow/NOVA_T{os.getpid()}_{next(_ids)}/USAGE",
        "NOVA_SNOWFLAKE_PASSWORD": "snow",
        "NOVA_SNOWFLAKE_HOST": fakesnow_server["host"],
        "NOVA_SNOWFLAKE_PORT": str(fakesnow_server["port"]),
        "NOVA_SNOWFLAKE_PROTOCOL": fakesnow_server["protocol"],
        "NOVA_LANDING_PATH": "s3://novasuite-events-landing/events",
        "NOVA_GDPR_HASH_KEY": "test-key",
        "NOVA_NOW": "2026-11-25T19:00:00",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    return env


@pytest.fixture
def sf(sf_env: dict[str, str]) -> Iterator[Any]:
    from warehouse.session import open_warehouse

    w = open_warehouse()
    yield w
    w.close()


def nova(*args: str, env: dict[str, str] | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "nova.cli", *args], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=900)
    if ok:
        assert res.returncode == 0, f"nova {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
    return res
