"""A step that fails on some data says so where on-call looks: a `check_results` row (source
`pipeline`, outcome `failed`) per batch part, with the error and sample lines, which the monitor's
alerting turns into an incident. The step itself goes on with the other batches."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from warehouse import clock
from warehouse.results import ResultRow, insert_check_results
from warehouse.schema import NO_PLATFORM
from warehouse.session import Warehouse

SOURCE = "pipeline"
SAMPLE_LINES = 20


def batch_id(load_id: str, platform: str | None) -> str:
    """The gate's unit: one platform's part of one load (`<load_id>/<platform>`)."""
    return f"{load_id}/{platform or NO_PLATFORM}"


@dataclass
class StepFailure:
    step: str  # stage, curate
    check_name: str  # stage_invariants, stage_failed, curate_failed
    error: str
    batch_id: str | None = None
    platform: str | None = None
    lines: list[str] = field(default_factory=list)  # file:line, a sample
    line_count: int = 0
    scope: str | None = None  # what failed when it is not a batch (curate: the dates)

    def message(self) -> str:
        where = f"batch {self.batch_id}" if self.batch_id else (self.scope or "")
        shown = ", ".join(self.lines[:5]) + (f" … (+{self.line_count - 5})" if self.line_count > 5 else "")
        lines = f"; {self.line_count} line(s): {shown}" if self.line_count else ""
        return f"{self.step} failed on {where}: {self.error}{lines}"


def record(wh: Warehouse, failures: Sequence[StepFailure], *, run_id: str | None = None) -> None:
    """One failed check_results row per failure (its own transaction: it must outlive a rollback)."""
    if not failures:
        return
    now = clock.now()
    run_id = run_id or f"{failures[0].step}-{now:%Y%m%dT%H%M%S%f}"
    rows = []
    for f in failures:
        detail = {"step": f.step, "error": f.error, "lines": f.lines[:SAMPLE_LINES], "line_count": f.line_count}
        if f.scope:
            detail["scope"] = f.scope
        rows.append(ResultRow(
            uuid.uuid4().hex, run_id, f.check_name, SOURCE, "batch" if f.batch_id else f.step,
            f.batch_id or f.scope or "", f.batch_id, f.platform, None, float(f.line_count), 0.0, None, "failed",
            False, json.dumps(detail, ensure_ascii=False), now))
    with wh.transaction():
        insert_check_results(wh, rows)
