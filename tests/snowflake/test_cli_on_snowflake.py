"""Every production command, end to end on the Snowflake engine (fakesnow server mode)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import write_landing
from tests.pipeline.helpers import android, backend, ios, web
from tests.snowflake.conftest import nova
from tests.snowflake.snowpipe import snowpipe


def test_load_run_reconcile_batches(sf: Any, sf_env: dict[str, str], tmp_path: Path) -> None:
    land = tmp_path / "landing"
    write_landing(land, "web", "a.jsonl", [web("m1"), web("m2"), web("m1"), "{not json"])
    write_landing(land, "ios", "b.jsonl", [ios("I1")])
    write_landing(land, "android", "c.jsonl", [android("a1")])
    write_landing(land, "backend", "d.jsonl", [backend("b1")])
    assert snowpipe(sf, land) == 7
    loaded = nova("load", env=sf_env)
    assert "claimed 7 lines" in loaded.stdout
    run = nova("run", env=sf_env)
    assert "quarantined" in run.stdout
    rec = json.loads(nova("reconcile", "--json", env=sf_env).stdout)
    assert rec["received"] == 7 and rec["staged"] == 5 and rec["duplicate"] == 1
    assert rec["quarantined"] == {"invalid_json": 1}
    listed = json.loads(nova("batches", "list", "--json", env=sf_env).stdout)
    assert [b["state"] for b in listed] == ["promoted"]
