"""LOAD: new landing files → raw_events, append-only, each file exactly once.

Each platform's part of a load is a batch (`<load_id>/<platform>`), the unit the gate decides on.
Files are read on two threads (gzip releases the GIL) and
written in chunks; each chunk's raw rows and ledger rows commit together, so a crash leaves
whole files or nothing, and the next load resumes with the files not yet in the ledger.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from pipeline.landing import FileLines, Landing, LandingFile, read_file_lines
from pipeline.raw_identity import doc_sql, user_id_sql
from warehouse import clock
from warehouse.crashpoint import crash_point
from warehouse.lock import writer_lock
from warehouse.schema import NO_PLATFORM, batch_platform
from warehouse.session import Warehouse

# Lines per transaction; NOVA_LOAD_CHUNK_LINES lowers it (crash tests).
CHUNK_LINES = int(os.environ.get("NOVA_LOAD_CHUNK_LINES", "400000"))


@dataclass
class LoadResult:
    load_id: str | None
    files_loaded: int = 0
    files_skipped: int = 0
    lines: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def new_load_id(now: dt.datetime | None = None) -> str:
    now = now or clock.now()
    return f"L{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}-{secrets.token_hex(3)}"


def recover_interrupted(wh: Warehouse) -> int:
    """A batch left `loading` by a crash holds only whole files (chunks commit with their
    ledger rows): it becomes an ordinary pending batch."""
    n = wh.scalar("SELECT COUNT(*) FROM batches WHERE state = 'loading'")
    if n:
        wh.execute(
            "UPDATE batches SET state = 'pending', updated_at = ?, "
            "file_count = (SELECT COUNT(*) FROM load_ledger l WHERE l.load_id = batches.load_id "
            f"AND {batch_platform('l.platform')} = batches.platform), "
            "line_count = (SELECT COUNT(*) FROM raw_events r WHERE r.load_id = batches.load_id "
            f"AND {batch_platform('r.platform')} = batches.platform), "
            "note = 'recovered after an interrupted load' WHERE state = 'loading'", [clock.now()])
    return int(n or 0)


def _read_all(landing: Landing, files: list[LandingFile]) -> Iterator[tuple[LandingFile, FileLines]]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        # Bounded look-ahead keeps memory flat whatever the number of files.
        pending: list = []
        for f in files:
            pending.append((f, pool.submit(read_file_lines, landing, f)))
            if len(pending) >= 4:
                g, fut = pending.pop(0)
                yield g, fut.result()
        for g, fut in pending:
            yield g, fut.result()


def load(wh: Warehouse, landing: Landing, *, progress: Callable[[int, int], None] | None = None,
         max_bytes: int | None = None) -> LoadResult:
    """Load every new file; returns what was loaded (load_id None when nothing was new). With
    `max_bytes`, stop after the files that reach it, oldest arrival first (the daemon keeps each load
    job short behind a backlog, so readers wait less; the next pass takes the rest)."""
    with writer_lock(wh, "load"):
        return _load(wh, landing, progress, max_bytes)


def _load(wh: Warehouse, landing: Landing, progress: Callable[[int, int], None] | None,
          max_bytes: int | None) -> LoadResult:
    t0 = time.perf_counter()
    recover_interrupted(wh)
    known = {(p, s, c) for p, s, c in wh.query("SELECT file_path, size_bytes, checksum FROM load_ledger")}
    # A file with the path, size and modification time of a ledger row is that file: skipped without
    # reading it, so a pass every few seconds (the daemon) costs a listing, not a re-read of the landing.
    seen = {(p, s, m) for p, s, m in wh.query("SELECT file_path, size_bytes, file_mtime FROM load_ledger")}
    all_files = list(landing.files())
    files = [f for f in all_files if (f.rel_path, f.size, f.mtime) not in seen]
    result = LoadResult(load_id=None)
    result.files_skipped = len(all_files) - len(files)
    if max_bytes and sum(f.size for f in files) > max_bytes:
        taken, total = [], 0
        for f in sorted(files, key=lambda f: (f.mtime, f.rel_path)):
            if taken and total + f.size > max_bytes:
                break
            taken.append(f)
            total += f.size
        files = sorted(taken, key=lambda f: f.rel_path)
    if not files:
        return result
    load_id = new_load_id()
    # Per batch platform: [files, lines]; a batch row is created with its first chunk.
    parts: dict[str, list[int]] = {}
    chunk: list[tuple[LandingFile, FileLines]] = []
    chunk_lines = chunks_done = 0

    def flush() -> None:
        nonlocal chunk, chunk_lines, chunks_done
        if not chunk:
            return
        with wh.transaction(), wh.bulk():
            for f, fl in chunk:
                plat = f.platform or NO_PLATFORM
                if plat not in parts:
                    parts[plat] = [0, 0]
                    wh.execute("INSERT INTO batches (batch_id, load_id, platform, state, created_at, updated_at, "
                               "file_count, line_count) VALUES (?, ?, ?, 'loading', ?, ?, 0, 0)",
                               [f"{load_id}/{plat}", load_id, plat, clock.now(), clock.now()])
                parts[plat][0] += 1
                parts[plat][1] += len(fl.lines)
            _insert_chunk(wh, load_id, chunk)
        chunks_done += 1
        chunk, chunk_lines = [], 0
        crash_point("load:after_chunk")

    done = 0
    for f, fl in _read_all(landing, files):
        done += 1
        if progress:
            progress(done, len(files))
        result.bytes_read += f.size
        if (f.rel_path, f.size, fl.checksum) in known:
            result.files_skipped += 1  # the same bytes at the same path: loaded already
            continue
        if fl.note:
            result.notes.append(f"{f.rel_path}: {fl.note}")
        known.add((f.rel_path, f.size, fl.checksum))
        chunk.append((f, fl))
        chunk_lines += len(fl.lines)
        result.files_loaded += 1
        result.lines += len(fl.lines)
        if chunk_lines >= CHUNK_LINES:
            flush()
    flush()
    if parts:
        with wh.transaction():
            for plat, (files, lines) in parts.items():
                wh.execute("UPDATE batches SET state = 'pending', updated_at = ?, file_count = ?, line_count = ? "
                           "WHERE batch_id = ?", [clock.now(), files, lines, f"{load_id}/{plat}"])
        result.load_id = load_id
    result.seconds = time.perf_counter() - t0
    return result


def _insert_chunk(wh: Warehouse, load_id: str, chunk: list[tuple[LandingFile, FileLines]]) -> None:
    now = clock.now()
    e = wh.engine
    # Parsed once in the inner SELECT, then trusted only near the file's arrival.
    parsed = e.parsed_received_at_of_line("raw_line", "decode_error", "received_tail")
    received = e.trusted_received_at("parsed_received", "file_mtime")
    if sum(len(fl.lines) for _, fl in chunk):
        # Columns are built per file in C++ (repeat, arange): no Python object per line.
        tbl = pa.table({
            "file_path": pa.chunked_array([pa.repeat(pa.scalar(f.rel_path, pa.string()), len(fl.lines))
                                           for f, fl in chunk], pa.string()),
            "line_number": pa.chunked_array([pa.array(np.arange(1, len(fl.lines) + 1, dtype=np.int64))
                                             for _, fl in chunk], pa.int64()),
            "platform": pa.chunked_array([pa.repeat(pa.scalar(f.platform, pa.string()), len(fl.lines))
                                          for f, fl in chunk], pa.string()),
            "raw_line": pa.chunked_array([fl.lines for _, fl in chunk], pa.large_string()),
            "decode_error": pa.chunked_array([fl.decode_errors for _, fl in chunk], pa.bool_()),
            "received_tail": pa.chunked_array([fl.received_tail for _, fl in chunk], pa.large_string()),
            "file_mtime": pa.chunked_array([pa.repeat(pa.scalar(f.mtime, pa.timestamp("us")), len(fl.lines))
                                            for f, fl in chunk], pa.timestamp("us")),
        })
        con = wh.native()
        con.register("_nova_load_chunk", tbl)
        try:
            wh.execute(
                "INSERT INTO raw_events (load_id, file_path, line_number, platform, raw_line, decode_error, "
                "received_at, file_mtime, loaded_at, user_id) "
                f"SELECT ?, file_path, line_number, platform, raw_line, decode_error, "
                f"{received}, file_mtime, ?, {user_id_sql(e, '_nova_doc')} "
                f"FROM (SELECT *, {parsed} AS parsed_received, {doc_sql(e)} AS _nova_doc "
                "FROM _nova_load_chunk) c", [load_id, now])
        finally:
            con.unregister("_nova_load_chunk")
    ledger = pa.table({
        "file_path": pa.array([f.rel_path for f, _ in chunk], pa.string()),
        "size_bytes": pa.array([f.size for f, _ in chunk], pa.int64()),
        "checksum": pa.array([fl.checksum for _, fl in chunk], pa.string()),
        "platform": pa.array([f.platform for f, _ in chunk], pa.string()),
        "line_count": pa.array([len(fl.lines) for _, fl in chunk], pa.int64()),
        "file_mtime": pa.array([f.mtime for f, _ in chunk], pa.timestamp("us")),
        "note": pa.array([fl.note or None for _, fl in chunk], pa.string()),
    })
    con = wh.native()
    con.register("_nova_load_ledger", ledger)
    try:
        wh.execute("INSERT INTO load_ledger (file_path, size_bytes, checksum, load_id, platform, line_count, "
                   "file_mtime, loaded_at, status, note) SELECT file_path, size_bytes, checksum, ?, platform, "
                   "line_count, file_mtime, ?, 'loaded', note FROM _nova_load_ledger", [load_id, now])
    finally:
        con.unregister("_nova_load_ledger")
