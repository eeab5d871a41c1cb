"""The one writer of `check_results` rows, whatever wrote the check: the monitor (gate, table
checks, Soda, pandera: monitors/store.py) and the pipeline's step failures (pipeline/failures.py).
It lives below both, so neither reaches into the other to record a result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from typing import Any

from warehouse.session import Warehouse


@dataclass(frozen=True)
class ResultRow:
    """One row of check_results, as stored (detail already JSON text)."""

    result_id: str
    run_id: str
    check_name: str
    source: str
    scope_type: str
    scope: str
    batch_id: str | None
    platform: str | None
    feature_id: str | None
    value: float | None
    threshold: float | None
    normal: float | None
    outcome: str
    blocking: bool
    detail: str | None
    checked_at: Any


RESULT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ResultRow))


def insert_check_results(wh: Warehouse, rows: Sequence[ResultRow]) -> None:
    """The rows, through the warehouse's one bulk insert (the caller holds the transaction)."""
    wh.insert_rows("check_results", RESULT_COLUMNS, [astuple(r) for r in rows])
