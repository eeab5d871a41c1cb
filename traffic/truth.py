"""The expected state of every written line under SEMANTICS.md, computed from what was generated.

This is the generator's answer key: reconcile tests compare the pipeline's counts with it. It
follows the rules in their order: parse, scope, keys, feature, time (send-time correction and
clock-ahead clamp), lateness, then duplicates among what passed.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from traffic.definition import FATES
from traffic.traffic import D_INVALID_TS, D_NULL_WS, D_UNKNOWN, FEATURE, Lines, Rows
from traffic.writer import FilePlan

MAX_LATENESS_US = 72 * 3_600_000_000
CLOCK_AHEAD_US = 5 * 60_000_000
_CODE = {name: i for i, name in enumerate(FATES)}


def row_fates(rows: Rows) -> np.ndarray:
    """What rules 2-5 decide from the payload alone (time rules need the delivery)."""
    fate = np.full(len(rows), _CODE["staged"], np.int8)
    for d in range(1, 6):  # missing_event_id .. missing_timestamp: same order in DEFECTS and FATES
        fate[rows.defect == d] = _CODE["missing_event_id"] + d - 1
    fate[rows.defect == D_NULL_WS] = _CODE["missing_workspace_id"]
    fate[rows.defect == D_UNKNOWN] = _CODE["unknown_feature"]
    fate[rows.defect == D_INVALID_TS] = _CODE["invalid_timestamp"]
    fate[rows.kind != FEATURE] = _CODE["ignored"]
    return fate


def expected_states(rows: Rows, lines: Lines, line_idx: np.ndarray, received_us: np.ndarray) -> Counter[str]:
    """Count the states of the written line instances (`line_idx` may repeat: files delivered twice).

    `received_us` is the received_at the pipeline will see for each instance: the collector's
    stamp, or the file's modification time for lines of the old collector.
    """
    out: Counter[str] = Counter()
    row = lines.row[line_idx]
    bad = (row < 0) | (lines.corrupt[line_idx] > 0)
    out["invalid_json"] += int(bad.sum())
    row, recv = row[~bad], received_us[~bad]
    fate = row_fates(rows)[row]
    ct, st = rows.ct_us[row], rows.st_us[row]
    event_ts = np.where(st >= 0, recv - (st - ct), ct)
    ahead = event_ts > recv + CLOCK_AHEAD_US
    event_ts = np.where(ahead, recv, event_ts)
    passing = fate == _CODE["staged"]
    fate[passing & (recv - event_ts > MAX_LATENESS_US)] = _CODE["too_late"]
    staged = fate == _CODE["staged"]
    unique = len(np.unique(rows.eid[row[staged]]))
    fate[staged] = _CODE["duplicate"]
    counts = np.bincount(fate, minlength=len(FATES))
    for name in FATES:
        out[name] += int(counts[_CODE[name]])
    out["staged"] += unique
    out["duplicate"] -= unique
    out["clock_ahead"] += int((staged & ahead).sum())
    return out


def expected_for_files(rows: Rows, lines: Lines, files: list[FilePlan]) -> Counter[str]:
    """The states of every delivery of a day's files, with the received_at the pipeline will use:
    the collector's stamp, or the file's modification time for the old collector."""
    if not files:
        return Counter()
    idx = np.concatenate([f.sel for f in files for _ in f.targets])
    received = np.concatenate([
        np.full(len(f.sel), mtime * 1_000_000, np.int64) if f.old_collector else lines.recv_ms[f.sel] * 1000
        for f in files for _, mtime in f.targets
    ])
    return expected_states(rows, lines, idx, received)
