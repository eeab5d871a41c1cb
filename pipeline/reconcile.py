"""Reconcile: where every received line ended, per load and in total. The counts add up."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from warehouse.schema import batch_platform
from warehouse.session import Warehouse

STATES = ("staged", "duplicate", "ignored", "held", "dropped", "quarantined", "pending")
COUNTS = ("received", "staged", "duplicate", "ignored", "held", "dropped", "pending", "erased")


def _load_state(parts: dict[str, str]) -> str:
    """One word when every part agrees, else each differing part named: `promoted (ios held)`."""
    states = set(parts.values())
    if len(states) <= 1:
        return next(iter(states), "")
    common = max(states, key=lambda s: sum(1 for v in parts.values() if v == s))
    other = ", ".join(f"{p} {s}" for p, s in sorted(parts.items()) if s != common)
    return f"{common} ({other})"


def reconcile(wh: Warehouse) -> dict[str, Any]:
    """{'loads': [per load], 'total': {...}}: received = staged + duplicate + ignored + held + dropped
    + quarantined (by reason) + pending (loaded, not yet through `nova run`). A held or dropped batch
    (one platform's part of a load) counts all its lines as held or dropped."""
    per: dict[str, dict[str, Any]] = {}
    plat = batch_platform("r.platform")
    received_by_part = {(ld, p): int(n) for ld, p, n in wh.query(
        f"SELECT r.load_id, {plat}, COUNT(*) FROM raw_events r GROUP BY 1, 2")}
    for load_id, platform, state in wh.query("SELECT load_id, platform, state FROM batches ORDER BY batch_id"):
        row = per.setdefault(load_id, {"load_id": load_id, "state": "", "parts": {}, "received": 0, "staged": 0,
                                       "duplicate": 0, "ignored": 0, "held": 0, "dropped": 0, "quarantined": {},
                                       "pending": 0, "erased": 0})
        row["parts"][platform] = state
        received = received_by_part.get((load_id, platform), 0)
        row["received"] += received
        if state in ("held", "dropped"):
            row[state] += received  # the whole part waits for a person, or was dropped by one

    def counts(sql: str) -> dict[tuple[str, str], int]:
        return {(ld, p): int(n) for ld, p, n in wh.query(sql)}

    def by_part(table: str) -> dict[tuple[str, str], int]:
        return counts(f"SELECT load_id, {batch_platform()}, COUNT(*) FROM {table} GROUP BY 1, 2")

    staged, dups, ignored = by_part("stg_events"), by_part("stg_duplicates"), by_part("ignored_events")
    waiting = by_part("stg_pending")
    erased: dict[str, int] = {k: int(v) for k, v in wh.query(
        "SELECT load_id, SUM(lines) FROM erasure_counts GROUP BY 1")}
    quarantined: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for load_id, platform, reason, n in wh.query(
            f"SELECT load_id, {batch_platform()}, reason, COUNT(*) FROM quarantined_events GROUP BY 1, 2, 3"):
        quarantined[(load_id, platform)][reason] = int(n)
    for load_id, row in per.items():
        row["erased"] = erased.get(load_id, 0)
        row["state"] = _load_state(row["parts"])
        q: dict[str, int] = defaultdict(int)
        for platform, state in row["parts"].items():
            key = (load_id, platform)
            if state in ("held", "dropped"):
                continue
            row["staged"] += staged.get(key, 0)
            row["duplicate"] += dups.get(key, 0)
            row["ignored"] += ignored.get(key, 0)
            for reason, n in quarantined.get(key, {}).items():
                q[reason] += n
            if waiting.get(key, 0) and state not in ("pending", "promoted", "released"):
                raise AssertionError(f"reconcile: batch {load_id}/{platform} is {state} with lines waiting")
        row["quarantined"] = dict(sorted(q.items()))
        accounted = (row["staged"] + row["duplicate"] + row["ignored"] + row["held"] + row["dropped"]
                     + sum(row["quarantined"].values()))
        # Valid lines waiting for promotion, and lines not yet staged at all, are pending.
        row["pending"] = row["received"] - accounted
        if row["pending"] < 0:
            raise AssertionError(f"reconcile: load {load_id} has more lines placed than received")
    total: dict[str, Any] = {k: 0 for k in COUNTS} | {"quarantined": defaultdict(int)}
    for row in per.values():
        for k in COUNTS:
            total[k] += row[k]
        for reason, n in row["quarantined"].items():
            total["quarantined"][reason] += n
    total["quarantined"] = dict(sorted(total["quarantined"].items()))
    return {"loads": list(per.values()), "total": total}


def adds_up(row: dict[str, Any]) -> bool:
    placed = (row["staged"] + row["duplicate"] + row["ignored"] + row["held"] + row.get("dropped", 0)
              + row["pending"] + sum(row["quarantined"].values()))
    return placed == row["received"]
