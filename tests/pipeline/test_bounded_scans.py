"""Scheduled statements read a few days of the date-clustered tables, never all 180 (issue 17, point 2)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from pipeline.retention import apply_retention
from tests.conftest import write_landing
from tests.pipeline.helpers import line_states, load_and_run, web
from warehouse.session import Warehouse


def _recording(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    execute = wh.execute

    def record(sql: str, params: Any = None) -> Any:
        seen.append(" ".join(sql.split()))
        return execute(sql, params)

    monkeypatch.setattr(wh, "execute", record)
    return seen


def _web_at(mid: str, when: dt.datetime, received: dt.datetime) -> dict[str, Any]:
    """Sent when received (an offline queue flushed late): event_ts is the client time."""
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731
    return web(mid, originalTimestamp=iso(when), sentAt=iso(received), received_at=iso(received))


def test_promote_reads_earlier_copies_only_around_the_batch_dates(
        wh: Warehouse, registry: Any, landing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    day = dt.datetime(2026, 11, 25, 17)
    write_landing(landing, "web", "a.jsonl", [_web_at("m1", day, day), _web_at("old", day - dt.timedelta(days=30),
                                                                             day - dt.timedelta(days=30))])
    load_and_run(wh, registry, landing)
    seen = _recording(wh, monkeypatch)
    # The offline copy of m1 arrives two days later (same client time): still a duplicate.
    write_landing(landing, "web", "b.jsonl", [_web_at("m1", day, day + dt.timedelta(days=2))], day="2026-11-27")
    load_and_run(wh, registry, landing)
    rank = next(s for s in seen if "CREATE OR REPLACE TEMP TABLE _nova_rank" in s)
    assert re.search(r"FROM stg_events WHERE event_date BETWEEN CAST\('2026-11-22' AS DATE\) "
                     r"AND CAST\('2026-11-28' AS DATE\) AND event_id IN", rank), rank
    states = line_states(wh)
    assert states[("a.jsonl", 1)][0] == "staged" and states[("b.jsonl", 1)][0] == "duplicate"


def test_retention_reads_two_days_of_the_staged_tables_for_unstaged_raw_lines(
        wh: Warehouse, registry: Any, landing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    day = dt.datetime(2026, 5, 1, 12)
    write_landing(landing, "web", "a.jsonl", [_web_at("m1", day, day), "{broken"], day="2026-05-01",
                  mtime=dt.datetime(2026, 5, 1, 13, tzinfo=dt.UTC))
    load_and_run(wh, registry, landing)
    seen = _recording(wh, monkeypatch)
    removed = apply_retention(wh, Settings(), now=dt.datetime(2026, 11, 25, 12))
    collect = next(s for s in seen if s.startswith("INSERT INTO _nova_expired") or "raw_events r" in s)
    not_in = collect[collect.index("NOT IN"):]
    assert re.search(r"WHERE event_date BETWEEN CAST\('\d{4}-\d\d-\d\d' AS DATE\) AND CAST\('\d{4}-\d\d-\d\d' "
                     r"AS DATE\)\)$", not_in), not_in
    assert removed["raw_events"] == 2 and removed["stg_events"] == 1 and removed["quarantined_events"] == 1
