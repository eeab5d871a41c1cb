"""Check results and batches as the gate and the detector write them (their shape, inserted directly)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

_ids = itertools.count(1)


def result(wh: Any, check_name: str, outcome: str, checked_at: dt.datetime, *, source: str = "gate",
           scope_type: str = "batch", scope: str = "", batch_id: str | None = None, platform: str | None = None,
           feature_id: str | None = None, value: float | None = None, threshold: float | None = None,
           normal: float | None = None, blocking: bool = False, detail: dict[str, Any] | None = None,
           run_id: str = "run") -> str:
    rid = f"r{next(_ids):05d}"
    wh.execute("INSERT INTO check_results (result_id, run_id, check_name, source, scope_type, scope, batch_id, "
               "platform, feature_id, value, threshold, normal, outcome, blocking, detail, checked_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [rid, run_id, check_name, source, scope_type, scope or (batch_id or ""), batch_id, platform,
                feature_id, value, threshold, normal, outcome, blocking, json.dumps(detail or {}), checked_at])
    return rid


def anomaly(wh: Any, scope: str, outcome: str, checked_at: dt.datetime, *, platform: str | None = None,
            feature_id: str | None = None, value: float = 10.0, expected: float = 1000.0) -> str:
    return result(wh, "volume_anomaly", outcome, checked_at, source="detector", scope_type="series", scope=scope,
                  platform=platform, feature_id=feature_id, value=value, normal=expected,
                  detail={"expected": expected, "lower": expected * 0.7, "upper": expected * 1.3,
                          "direction": "down" if value < expected else "up", "score": -8.5})


def batch(wh: Any, batch_id: str, state: str, at: dt.datetime) -> None:
    load_id, _, platform = batch_id.partition("/")
    wh.execute("DELETE FROM batches WHERE batch_id = ?", [batch_id])
    wh.execute("INSERT INTO batches (load_id, batch_id, platform, state, created_at, updated_at) "
               "VALUES (?, ?, ?, ?, ?, ?)", [load_id, batch_id, platform, state, at, at])
