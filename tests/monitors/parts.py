"""Building one batch (a platform's part of a load) straight in the staged tables, for gate tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from warehouse import clock

T0 = dt.datetime(2026, 11, 25, 17, 0)


def make_part(wh: Any, load_id: str, platform: str, *, valid: int = 0, reasons: dict[str, int] | None = None,
              repeats: int = 0, offsets: list[float] | None = None, start: dt.datetime = T0,
              span: dt.timedelta = dt.timedelta(minutes=59), created_at: dt.datetime | None = None) -> str:
    """A pending, staged batch: `valid` lines in stg_pending (the last `repeats` of them repeat an
    earlier event id; `offsets[i]` = received_at - sent_at of line i, else 1 s), quarantined lines
    per reason. Received times spread evenly over [start, start + span]."""
    batch_id = f"{load_id}/{platform}"
    now = created_at or clock.now()
    rows: list[tuple[Any, ...]] = []
    for i in range(valid):
        received = start + span * (i / max(valid - 1, 1))
        off = offsets[i] if offsets and i < len(offsets) else 1.0
        eid = f"{batch_id}-e{i - (valid - repeats) if i >= valid - repeats else i}"
        rows.append((eid, platform, received - dt.timedelta(seconds=off + 2), received - dt.timedelta(seconds=off),
                     received, received.date(), load_id, f"platform={platform}/f.jsonl", i + 1))
    wh.insert_rows("stg_pending", ("event_id", "platform", "client_ts", "sent_at", "received_at", "event_date",
                                   "load_id", "file_path", "line_number", "feature_id", "user_id", "workspace_id",
                                   "event_ts"), [(*r, "editor", "u1", "w1", r[4]) for r in rows])
    q = [(load_id, f"platform={platform}/f.jsonl", 100000 + n, platform, '{"bad": true}', reason, f"x{reason}")
         for reason, k in (reasons or {}).items() for n in range(k)]
    q = [(*r[:2], 100000 + i, *r[3:]) for i, r in enumerate(q)]
    wh.insert_rows("quarantined_events", ("load_id", "file_path", "line_number", "platform", "raw_line", "reason",
                                          "feature_sent"), q)
    lines = valid + sum((reasons or {}).values())
    wh.execute("INSERT INTO batches (batch_id, load_id, platform, state, created_at, updated_at, file_count, "
               "line_count, staged_at) VALUES (?, ?, ?, 'pending', ?, ?, 1, ?, ?)",
               [batch_id, load_id, platform, now, now, lines, now])
    return batch_id
