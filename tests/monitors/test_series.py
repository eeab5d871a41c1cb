"""Volume series into metric_history: counts per scope and hour, idempotent, late data, Snowflake SQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlglot

from config.detector import DetectorConfig
from monitors.series import counts_sql, record_series
from tests.conftest import write_landing
from tests.pipeline.helpers import android, load_and_run, web
from warehouse.engine import SnowflakeEngine

CFG = DetectorConfig(important_features=["editor.comments.mention"])


def history(wh: Any) -> dict[tuple[str, str], float]:
    return {(s, f"{b:%d %H}"): v for s, b, v in wh.query(
        "SELECT scope, bucket_start, value FROM metric_history WHERE metric = 'events'")}


def test_counts_per_scope_and_hour_idempotent_and_late_data(wh: Any, registry: Any, landing: Path) -> None:
    write_landing(landing, "web", "a.jsonl", [
        web("m1"), web("m2", originalTimestamp="2026-11-25T17:30:00.000Z", sentAt="2026-11-25T17:30:01.000Z",
                  received_at="2026-11-25T17:30:02.000Z"),
        web("m3", originalTimestamp="2026-11-25T16:10:00.000Z", sentAt="2026-11-25T16:10:01.000Z",
            received_at="2026-11-25T16:10:02.000Z"),
        web("m1"),  # a retry: counted once
    ])
    write_landing(landing, "android", "b.jsonl", [android("d1")])
    load_and_run(wh, registry, landing)
    record_series(wh, CFG)
    h = history(wh)
    assert h[("platform=web", "25 17")] == 2 and h[("platform=web", "25 16")] == 1
    assert h[("platform=android", "25 17")] == 1 and h[("platform=android", "25 16")] == 0  # zero, not a gap
    assert h[("area=editor", "25 17")] == 3
    assert h[("feature=editor.comments", "25 17")] == 3  # top N: one level below the area, subtree counted
    assert h[("feature=editor.comments.mention", "25 17")] == 3  # configured
    rows = len(h)
    record_series(wh, CFG)  # nothing new: same rows
    assert history(wh) == h and wh.scalar("SELECT COUNT(*) FROM metric_history WHERE metric = 'events'") == rows

    # a late event of 16:00 arriving two hours later raises that hour in place
    write_landing(landing, "web", "late.jsonl", [web("m9", originalTimestamp="2026-11-25T16:20:00.000Z",
                                                     sentAt="2026-11-25T18:59:00.000Z",
                                                     received_at="2026-11-25T19:00:00.000Z")], hour="19")
    load_and_run(wh, registry, landing)
    record_series(wh, CFG)
    after = history(wh)
    assert after[("platform=web", "25 16")] == 2 and after[("platform=web", "25 17")] == 2
    assert wh.scalar("SELECT COUNT(*) FROM (SELECT scope, bucket_start FROM metric_history WHERE metric = 'events' "
                     "GROUP BY 1, 2 HAVING COUNT(*) > 1) d") == 0


def test_the_series_sql_renders_for_snowflake() -> None:
    class SnowflakeStub:
        engine = SnowflakeEngine()

    sql = counts_sql(SnowflakeStub(), 3600, ["editor.comments", "it's"])  # type: ignore[arg-type]
    assert "DATE_PART(EPOCH_MICROSECOND, event_ts)" in sql and "'it\\'s'" in sql
    assert sqlglot.parse_one(sql.replace("?", "NULL"), read="snowflake") is not None
