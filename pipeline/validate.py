"""`nova contracts validate`: a captured sample through the real staging SQL, in memory.

The verdicts are the pipeline's own (same generated SQL, same dedupe), not a second opinion.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from contracts.registry import Registry
from nova.errors import Exit, NovaError
from pipeline.landing import FileLines, LandingFile, decompress, received_tails, split_lines_arrow
from pipeline.load import _insert_chunk
from pipeline.stage import gate, promote, stage
from warehouse.session import open_warehouse


@dataclass(frozen=True)
class Verdict:
    line: int
    state: str  # staged | duplicate | ignored | quarantined
    reason: str | None
    event_id: str | None


def validate_sample(reg: Registry, path: Path, platform: str) -> list[Verdict]:
    if platform not in reg.contracts:
        raise NovaError(f"unknown platform {platform!r}", hint=f"one of: {', '.join(reg.contracts)}", code=Exit.USAGE)
    if not path.exists():
        raise NovaError(f"{path} not found", code=Exit.DATA)
    data, note = decompress(path.read_bytes(), path.name.endswith(".gz"))
    lines, errors = split_lines_arrow(data)
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)
    f = LandingFile(f"platform={platform}/sample/{path.name}", len(data), mtime)
    with open_warehouse(Settings(warehouse_url="duckdb:///:memory:")) as wh:
        load_id = "Lsample"
        wh.execute("INSERT INTO batches (batch_id, load_id, platform, state, created_at, updated_at) "
                   "VALUES (?, ?, ?, 'pending', ?, ?)", [f"{load_id}/{platform}", load_id, platform, mtime, mtime])
        _insert_chunk(wh, load_id, [(f, FileLines(lines, errors, "", note, received_tails(lines)))])
        stage(wh, reg)
        gate(wh, checks=[])  # a sample is judged line by line: no batch checks hold it
        promote(wh)
        rows = wh.query(
            "SELECT line_number, 'staged', NULL, event_id FROM stg_events UNION ALL "
            "SELECT line_number, 'duplicate', NULL, event_id FROM stg_duplicates UNION ALL "
            "SELECT line_number, 'ignored', reason, NULL FROM ignored_events UNION ALL "
            "SELECT line_number, 'quarantined', reason, event_id FROM quarantined_events ORDER BY 1")
    return [Verdict(int(n), s, r, e) for n, s, r, e in rows]
