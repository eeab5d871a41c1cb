"""A stand-in for Snowpipe: the rows its COPY would write into raw_events (load_id NULL) and the
COPY_HISTORY row per file, so `nova load` claims them as in production; and the bucket itself as
the claim's query of the stage with the bytes file format reads it (`_fs_stage_bytes`).

The COPY's own expressions are pinned by tests/pipeline/test_snowflake_dialect.py; here the lines
are read like landing.py reads them, invalid UTF-8 replaced by U+FFFD (REPLACE_INVALID_CHARACTERS,
one per maximal invalid subsequence, as Python's decoder) and `decode_error` as the COPY sets it: the line
holds U+FFFD (the claim then keeps it only where the bytes were not UTF-8).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from pathlib import Path
from typing import Any

from pipeline.landing import BOM, PLATFORM_RE


def snowpipe(wh: Any, root: Path, *, only: list[Path] | None = None, prefix: str = "events/",
             loaded_at: dt.datetime | None = None, size_in_history: bool = True) -> int:
    """Copy every file under `root` (or `only`) into raw_events as the pipe would; returns rows."""
    loaded_at = loaded_at or dt.datetime(2026, 11, 25, 18, 1)
    rows: list[tuple[Any, ...]] = []
    listing: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    line_bytes: list[tuple[Any, ...]] = []
    for path in sorted(only or [p for p in root.rglob("*") if p.is_file()]):
        rel = path.relative_to(root).as_posix()
        data = path.read_bytes()
        body = gzip.decompress(data) if rel.endswith(".gz") else data
        body = body.removeprefix(BOM)
        text = body.decode("utf-8", errors="replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        as_bytes = body.decode("latin-1").split("\n")[:len(lines)]  # ISO-8859-1: one character per byte
        line_bytes += [(rel, n, b) for n, b in enumerate(as_bytes, 1)]
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)
        m = PLATFORM_RE.search(rel)
        platform = m.group(1) if m else None
        for n, line in enumerate(lines, 1):
            line = line.removesuffix("\r")
            rows.append((rel, n, platform, line, "\ufffd" in line, mtime, mtime, loaded_at))
        listing.append((rel, len(data), hashlib.md5(data).hexdigest()))
        history.append((prefix + rel, len(data) if size_in_history else None, len(lines), len(lines), loaded_at))
    for sql, values in (
            ("INSERT INTO main._fs_stage_bytes (file_path, line_number, line_bytes) VALUES (?, ?, ?)", line_bytes),
            ("INSERT INTO main._fs_directory (relative_path, size, md5) VALUES (?, ?, ?)", listing),
            ("INSERT INTO main._fs_copy_history (table_name, file_name, file_size, row_count, row_parsed, "
             "error_count, status, last_load_time) VALUES ('RAW_EVENTS', ?, ?, ?, ?, 0, 'Loaded', ?)", history)):
        if values:
            wh.dbapi.cursor().executemany(sql, values)
    if rows:
        wh.dbapi.cursor().executemany(
            "INSERT INTO raw_events (load_id, file_path, line_number, platform, raw_line, decode_error, received_at, "
            "file_mtime, loaded_at) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
