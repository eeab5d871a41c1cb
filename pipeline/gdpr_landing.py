"""GDPR erasure in the landing files: rewrite each file that holds the user without those lines.

A rewritten file must not look new to `nova load` (it would load every other line again as
duplicates), so its new identity (size, checksum) enters the ledger *before* the file is
written, beside the old one; the erasure transaction then removes the old identity. A crash
at any point leaves a state the next `nova gdpr process` finishes, and `nova load` never sees
an unknown file in between. Gzip files are re-compressed with mtime=0 so the same input always
gives the same bytes (a re-run computes the same checksum).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from typing import Any

from pipeline.landing import BOM, Landing, LandingFile, decompress
from warehouse.session import Warehouse

SaveFn = Callable[[Warehouse, str, dict[str, Any]], None]


def strip_lines(data: bytes, gzipped: bool, token: re.Pattern[bytes], texts: set[str] | dict[str, int],
                removed_lines: list[str] | None = None) -> tuple[bytes, int] | None:
    """The file without the lines that hold the token (or whose text is in `texts`); None when
    no line goes. Other lines keep their exact bytes (`\\r`, BOM, final newline). The text of each
    removed line is appended to `removed_lines` when given."""
    body, _ = decompress(data, gzipped)
    bom = body.startswith(BOM)
    if bom:
        body = body[len(BOM):]
    lines = body.split(b"\n")
    final_newline = lines[-1] == b""
    if final_newline:
        lines.pop()
    kept: list[bytes] = []
    for line in lines:
        core = line[:-1] if line.endswith(b"\r") else line
        text = core.decode("utf-8", "backslashreplace") if texts or removed_lines is not None else ""
        if token.search(core) or (texts and text in texts):
            if removed_lines is not None:
                removed_lines.append(text)
            continue
        kept.append(line)
    removed = len(lines) - len(kept)
    if not removed:
        return None
    out = (BOM if bom and kept else b"") + b"\n".join(kept) + (b"\n" if final_newline and kept else b"")
    return (gzip.compress(out, mtime=0) if gzipped else out), removed


def _candidates(wh: Warehouse, landing: Landing, texts: dict[str, dict[str, int]]) -> list[LandingFile]:
    """Files that may hold the user. A file whose lines all sit in raw_events was searched there
    already; only the others are read: files named by the erased lines, files not loaded yet,
    and files some of whose raw lines are gone (raw retention or an earlier erasure: a local
    folder has no lifecycle rule)."""
    # A size COPY_HISTORY did not report (NULL in the ledger) is not "whole": that file is read.
    whole = {(p, int(s)) for p, s in wh.query(
        "SELECT l.file_path, l.size_bytes FROM load_ledger l JOIN (SELECT load_id, file_path, COUNT(*) AS n "
        "FROM raw_events GROUP BY load_id, file_path) r ON r.load_id = l.load_id AND r.file_path = l.file_path "
        "WHERE r.n = l.line_count AND l.size_bytes IS NOT NULL")}
    return [f for f in landing.files() if f.rel_path in texts or (f.rel_path, f.size) not in whole]


def _owners(removed: list[str], texts: dict[str, int], tokens: list[re.Pattern[str]]) -> set[int]:
    """The requests (by position) a file's removed lines belong to: the one raw found the line for,
    else the first whose token the line holds."""
    owners: set[int] = set()
    for line in removed:
        if line in texts:
            owners.add(texts[line])
        else:
            owners.add(next((n for n, t in enumerate(tokens) if t.search(line)), 0))
    return owners


def erase_from_landing(wh: Warehouse, landing: Landing, wanted: list[tuple[str, str]],
                       texts: dict[str, dict[str, int]], deleted: dict[str, dict[str, Any]], save: SaveFn) -> int:
    """Rewrite the files holding any of the users, each file read once for all of them; returns the
    number of files rewritten. `wanted` is (request id, token pattern), oldest first; `texts` maps a
    path to the text of its lines found in raw and the position of their request. Each rewrite
    (path, lines removed, old and new identity) goes to `deleted[request]["landing"]` of the
    requests whose lines it removes, saved before the file is written."""
    if not wanted:
        return 0
    token = re.compile("|".join(f"(?:{p})" for _, p in wanted).encode())
    tokens = [re.compile(p) for _, p in wanted]
    plan: list[tuple[LandingFile, bytes, dict[str, Any], set[int]]] = []
    for f in _candidates(wh, landing, texts):
        data = landing.read_bytes(f)
        removed_lines: list[str] = []
        out = strip_lines(data, f.gzipped, token, texts.get(f.rel_path, {}), removed_lines)
        if out is None:
            continue
        new, removed = out
        plan.append((f, new, {"path": f.rel_path, "lines_removed": removed,
                              "size_before": len(data), "checksum_before": wh.engine.file_checksum(data),
                              "size": len(new), "checksum": wh.engine.file_checksum(new)},
                     _owners(removed_lines, texts.get(f.rel_path, {}), tokens)))
    if not plan:
        return 0
    with wh.transaction():
        for _, _, entry, owners in plan:
            wh.execute(
                "INSERT INTO load_ledger (file_path, size_bytes, checksum, load_id, platform, line_count, file_mtime, "
                "loaded_at, status, note) SELECT file_path, ?, ?, load_id, platform, line_count, file_mtime, "
                "loaded_at, status, COALESCE(note || '; ', '') || ? FROM load_ledger o "
                # NULL: a file claimed on Snowflake before its stage listed an MD5 (size decides).
                "WHERE o.file_path = ? AND o.size_bytes = ? AND (o.checksum = ? OR o.checksum IS NULL) AND NOT EXISTS "
                "(SELECT 1 FROM load_ledger n WHERE n.file_path = o.file_path AND n.size_bytes = ? AND n.checksum = ?)",
                [entry["size"], entry["checksum"], "rewritten by GDPR erasure "
                 f"{', '.join(wanted[n][0] for n in sorted(owners))}: {entry['lines_removed']} line(s) removed",
                 entry["path"], entry["size_before"], entry["checksum_before"], entry["size"], entry["checksum"]])
            for n in sorted(owners):
                done = deleted[wanted[n][0]].setdefault("landing", [])
                if entry not in done:
                    done.append(entry)
        for n in sorted({n for *_, owners in plan for n in owners}):
            save(wh, wanted[n][0], deleted[wanted[n][0]])
    for f, new, _, _ in plan:
        landing.write_bytes(f, new)
    return len(plan)
