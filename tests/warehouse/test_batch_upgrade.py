"""A warehouse from before the batch unit was one platform's part of a load is split on open."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from config import Settings
from warehouse.session import open_warehouse


def test_one_row_per_load_becomes_one_row_per_platform(tmp_path: Path) -> None:
    settings = Settings(warehouse_url=f"duckdb:///{tmp_path}/old.duckdb")
    t = dt.datetime(2026, 11, 25, 18)
    with open_warehouse(settings) as wh:
        wh.execute("DELETE FROM batches")
        lines: list[tuple[Any, ...]] = [
            ("L1", "platform=ios/a.jsonl", 1, "ios"), ("L1", "platform=ios/a.jsonl", 2, "ios"),
            ("L1", "platform=web/a.jsonl", 1, "web"), ("L1", "misplaced.jsonl", 1, None),
            ("L2", "platform=web/b.jsonl", 1, "web")]
        wh.dbapi.cursor().executemany("INSERT INTO raw_events (load_id, file_path, line_number, platform) "
                                      "VALUES (?, ?, ?, ?)", lines)
        # The old layout: one row per load, no batch_id, no platform.
        wh.execute("INSERT INTO batches (load_id, state, created_at, line_count) VALUES ('L1', 'promoted', ?, 4), "
                   "('L2', 'held', ?, 1), ('L3', 'promoted', ?, 0)", [t, t, t])
    with open_warehouse(settings) as wh:
        rows = wh.query("SELECT batch_id, load_id, platform, state, line_count, file_count FROM batches "
                        "ORDER BY batch_id")
    assert rows == [("L1/ios", "L1", "ios", "promoted", 2, 1), ("L1/unknown", "L1", "unknown", "promoted", 1, 1),
                    ("L1/web", "L1", "web", "promoted", 1, 1), ("L2/web", "L2", "web", "held", 1, 1),
                    ("L3/unknown", "L3", "unknown", "promoted", 0, None)]
