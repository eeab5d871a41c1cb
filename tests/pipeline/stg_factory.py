"""Staged events built by hand, written the way the staging layer writes them: every row inserted
into or removed from stg_events appends its (event_date, workspace, user) and event_id to
pending_changes; an erasure names whole units (no event id), as pipeline.gdpr does."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from warehouse.schema import EVENT_COLUMNS

COLUMNS = [c for c, _ in EVENT_COLUMNS]
T0 = dt.datetime(2026, 11, 23, 12, 0, 0)  # a Monday
_NOW = dt.datetime(2026, 11, 30, 0, 0, 0)


def ts(value: str | dt.datetime) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def event(event_id: str, *, feature: str = "editor.comments.mention", user: str = "u1", ws: str = "w1",
          platform: str = "web", at: str | dt.datetime = T0, received: str | dt.datetime | None = None,
          action: str = "used", app_version: str | None = "4.2.0", properties: dict[str, Any] | None = None,
          load_id: str = "L1") -> dict[str, Any]:
    """One staged event; received_at defaults to two seconds after event_ts."""
    event_ts = ts(at)
    received_at = ts(received) if received is not None else event_ts + dt.timedelta(seconds=2)
    return {
        "event_id": event_id, "event_name": "feature_used", "feature_id": feature, "feature_sent": feature,
        "action": action, "user_id": user, "anonymous_id": None, "workspace_id": ws, "platform": platform,
        "app_version": app_version, "contract_version": "1.0.0", "client_ts": event_ts, "sent_at": None,
        "received_at": received_at, "event_ts": event_ts, "event_date": event_ts.date(),
        "drift_seconds": (received_at - event_ts).total_seconds(),
        "is_late": (received_at - event_ts) > dt.timedelta(hours=24), "clock_ahead": False,
        "properties": json.dumps(properties or {}), "load_id": load_id, "file_path": f"f/{event_id}.jsonl",
        "line_number": 1, "staged_at": received_at,
    }


def _pending(wh: Any, rows: Iterable[tuple[Any, ...]], change: str, now: dt.datetime) -> None:
    """rows: (event_date, workspace_id, user_id[, event_id]); without an event id, the whole unit."""
    values = [(r[0], r[1], r[2], change, now, r[3] if len(r) > 3 else None) for r in rows]
    if values:
        wh.dbapi.cursor().executemany(
            "INSERT INTO pending_changes (event_date, workspace_id, user_id, change, created_at, event_id) "
            "VALUES (?, ?, ?, ?, ?, ?)", values)


def insert(wh: Any, events: Iterable[dict[str, Any]], *, now: dt.datetime = _NOW) -> None:
    rows = list(events)
    if not rows:
        return
    marks = ", ".join("?" for _ in COLUMNS)
    wh.dbapi.cursor().executemany(f"INSERT INTO stg_events ({', '.join(COLUMNS)}) VALUES ({marks})",
                                  [[r[c] for c in COLUMNS] for r in rows])
    _pending(wh, [(r["event_date"], r["workspace_id"], r["user_id"], r["event_id"]) for r in rows], "added", now)


def remove(wh: Any, event_ids: Iterable[str], *, now: dt.datetime = _NOW, by_unit: bool = False) -> None:
    """Remove staged events; by_unit: their changes name whole units (as an erasure writes them)."""
    ids = list(event_ids)
    if not ids:
        return
    marks = ", ".join("?" for _ in ids)
    what = "DISTINCT event_date, workspace_id, user_id" if by_unit else "event_date, workspace_id, user_id, event_id"
    gone = wh.query(f"SELECT {what} FROM stg_events WHERE event_id IN ({marks})", ids)
    wh.execute(f"DELETE FROM stg_events WHERE event_id IN ({marks})", ids)
    _pending(wh, gone, "removed", now)


def erase_user(wh: Any, user_id: str, *, now: dt.datetime = _NOW) -> None:
    """GDPR erasure as pipeline.gdpr applies it to stg_events: the user's units, without event ids."""
    ids = [r[0] for r in wh.query("SELECT event_id FROM stg_events WHERE user_id = ?", [user_id])]
    remove(wh, ids, now=now, by_unit=True)


def rows(wh: Any, table: str) -> list[tuple[Any, ...]]:
    """Every row of a table, sorted (None first), for comparisons."""
    return sorted(wh.query(f"SELECT * FROM {table}"), key=lambda r: tuple((v is not None, str(v)) for v in r))


def dicts(wh: Any, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    return wh.query_dicts(sql, params)
