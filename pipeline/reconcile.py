"""Reconcile: where every received line ended, per load and in total. The counts add up."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from warehouse.session import Warehouse

STATES = ("staged", "duplicate", "ignored", "held", "quarantined", "pending")


def reconcile(wh: Warehouse) -> dict[str, Any]:
    """{'loads': [per load], 'total': {...}}: received = staged + duplicate + ignored + held
    + quarantined (by reason) + pending (loaded, not yet through `nova run`)."""
    per: dict[str, dict[str, Any]] = {}
    for load_id, state, received in wh.query(
            "SELECT b.load_id, b.state, (SELECT COUNT(*) FROM raw_events r WHERE r.load_id = b.load_id) "
            "FROM batches b ORDER BY b.load_id"):
        per[load_id] = {"load_id": load_id, "state": state, "received": int(received), "staged": 0,
                        "duplicate": 0, "ignored": 0, "held": 0, "quarantined": {}, "pending": 0, "erased": 0}

    def counts(sql: str) -> dict[str, int]:
        return {k: int(v) for k, v in wh.query(sql)}

    staged = counts("SELECT load_id, COUNT(*) FROM stg_events GROUP BY 1")
    dups = counts("SELECT load_id, COUNT(*) FROM stg_duplicates GROUP BY 1")
    ignored = counts("SELECT load_id, COUNT(*) FROM ignored_events GROUP BY 1")
    waiting = counts("SELECT load_id, COUNT(*) FROM stg_pending GROUP BY 1")
    erased = counts("SELECT load_id, SUM(lines) FROM erasure_counts GROUP BY 1")
    quarantined: dict[str, dict[str, int]] = defaultdict(dict)
    for load_id, reason, n in wh.query(
            "SELECT load_id, reason, COUNT(*) FROM quarantined_events GROUP BY 1, 2 ORDER BY 1, 2"):
        quarantined[load_id][reason] = int(n)
    for load_id, row in per.items():
        row["erased"] = erased.get(load_id, 0)
        if row["state"] == "held":
            row["held"] = row["received"]  # the whole batch waits for a person
            continue
        row["staged"] = staged.get(load_id, 0)
        row["duplicate"] = dups.get(load_id, 0)
        row["ignored"] = ignored.get(load_id, 0)
        row["quarantined"] = quarantined.get(load_id, {})
        accounted = row["staged"] + row["duplicate"] + row["ignored"] + sum(row["quarantined"].values())
        # Valid lines waiting for promotion, and lines not yet staged at all, are pending.
        row["pending"] = row["received"] - accounted
        if row["pending"] < waiting.get(load_id, 0):
            raise AssertionError(f"reconcile: load {load_id} has more lines placed than received")
    total: dict[str, Any] = {"received": 0, "staged": 0, "duplicate": 0, "ignored": 0, "held": 0,
                             "quarantined": defaultdict(int), "pending": 0, "erased": 0}
    for row in per.values():
        for k in ("received", "staged", "duplicate", "ignored", "held", "pending", "erased"):
            total[k] += row[k]
        for reason, n in row["quarantined"].items():
            total["quarantined"][reason] += n
    total["quarantined"] = dict(sorted(total["quarantined"].items()))
    return {"loads": list(per.values()), "total": total}


def adds_up(row: dict[str, Any]) -> bool:
    placed = (row["staged"] + row["duplicate"] + row["ignored"] + row["held"] + row["pending"]
              + sum(row["quarantined"].values()))
    return placed == row["received"]
