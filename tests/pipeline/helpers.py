"""Running the pipeline in tests and reading back where each line ended."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.cli import run_pipeline
from pipeline.landing import Landing
from pipeline.load import load


def load_and_run(wh: Any, reg: Any, root: Path) -> dict[str, Any]:
    load(wh, Landing(str(root)))
    return run_pipeline(wh, reg)


def line_states(wh: Any) -> dict[tuple[str, int], tuple[str, str | None]]:
    """(file name, line number) → (state, reason), for every line of every table."""
    rows = wh.query(
        "SELECT file_path, line_number, 'staged', NULL FROM stg_events UNION ALL "
        "SELECT file_path, line_number, 'duplicate', NULL FROM stg_duplicates UNION ALL "
        "SELECT file_path, line_number, 'pending', NULL FROM stg_pending UNION ALL "
        "SELECT file_path, line_number, 'ignored', reason FROM ignored_events UNION ALL "
        "SELECT file_path, line_number, 'quarantined', reason FROM quarantined_events")
    out: dict[tuple[str, int], tuple[str, str | None]] = {}
    for path, n, state, reason in rows:
        key = (path.rsplit("/", 1)[-1], int(n))
        assert key not in out, f"line {key} is in two states: {out[key]} and {(state, reason)}"
        out[key] = (state, reason)
    return out


def staged(wh: Any, event_id: str) -> dict[str, Any]:
    rows = wh.query_dicts("SELECT * FROM stg_events WHERE event_id = ?", [event_id])
    assert len(rows) == 1, f"expected one staged row for {event_id}, got {len(rows)}"
    return rows[0]


def web(mid: str = "m1", **over: Any) -> dict[str, Any]:
    e = {"messageId": mid, "type": "track", "event": "Feature Used", "userId": "u_0001", "anonymousId": "a_1",
         "properties": {"feature": "editor.comments.mention", "action": "used", "workspaceId": "ws_001"},
         "context": {"library": {"name": "nova-web", "version": "4.2.0"}},
         "originalTimestamp": "2026-11-25T17:00:00.000Z", "sentAt": "2026-11-25T17:00:02.000Z",
         "received_at": "2026-11-25T17:00:02.500Z"}
    e.update(over)
    return e


def ios(eid: str = "A1", **over: Any) -> dict[str, Any]:
    e = {"event_id": eid, "name": "feature_used", "feature_key": "editor.comments.mention", "action": "used",
         "user": {"id": "u_0002", "workspace_id": "ws_002"}, "ts": 1764090000123, "sent_ts": 1764090002000,
         "app": {"version": "5.1.2", "build": "5120"}, "os": {"name": "iOS", "version": "18.1"},
         "props": {"source": "toolbar"}, "received_at": "2025-11-25T17:00:02.350Z"}
    e.update(over)
    return e


def android(eid: str = "d1", **over: Any) -> dict[str, Any]:
    e = {"eventId": eid, "eventName": "feature_used", "featureId": "editor.comments.mention", "action": "used",
         "userId": "u_0003", "workspaceId": "ws_003", "timestamp": "2026-11-25T18:00:00.123+01:00",
         "sentAt": "2026-11-25T17:00:02.000Z", "appVersion": "5.1.2", "properties": {"source": "fab"},
         "received_at": "2026-11-25T17:00:03.000Z"}
    e.update(over)
    return e


def backend(eid: str = "evt_1", **over: Any) -> dict[str, Any]:
    e = {"id": eid, "type": "feature.used", "feature_id": "api.webhooks.create_webhook", "action": "used",
         "actor": {"type": "user", "user_id": "u_0004", "workspace_id": "ws_004"},
         "occurred_at": "2026-11-25T17:00:00.123456Z", "service": "docs-api", "schema_version": 2,
         "attributes": {"retries": 0}, "received_at": "2026-11-25T17:00:01.000Z"}
    e.update(over)
    return e
