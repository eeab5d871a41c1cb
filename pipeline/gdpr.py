"""GDPR erasure: requests kept under a keyed hash, processed across every table and landing file.

A request is recorded in `gdpr_requests` (audit, never the id in clear). Processing needs the
id itself (a hash cannot be searched for in raw text), so it waits in `gdpr_pending_ids`, a
separate transient table whose row is deleted when the request completes: after completion the
id exists nowhere in the warehouse. See docs/gdpr.md for the flow and the 30-day argument.

Processing one request (each step idempotent, so a crash anywhere is repaired by re-running):
1. landing: files holding the id are rewritten without those lines (pipeline.gdpr_landing);
2. one transaction deletes the user's lines from raw to staged and marks their curated
   partitions dirty (pending_changes), with per-load counts in `erasure_counts`;
3. curate recomputes the dirty partitions ("as if the lines never arrived");
4. one transaction checks that no column of any table still holds the id, then completes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from config import Settings
from contracts.registry import Registry
from nova.errors import Exit, NovaError
from pipeline.gdpr_landing import erase_from_landing
from pipeline.landing import Landing
from warehouse import clock
from warehouse.crashpoint import crash_point
from warehouse.lock import writer_lock
from warehouse.schema import EVENT_COLUMNS, Table, create_table_sql
from warehouse.session import Warehouse

Status = Literal["pending", "completed"]
Flag = Literal["ok", "warn", "overdue", "done", "done_late"]

GDPR_TABLES: tuple[Table, ...] = (
    Table("gdpr_requests", (
        ("request_id", "text"), ("user_hash", "text"), ("requested_at", "ts"), ("recorded_at", "ts"),
        ("deadline", "ts"), ("status", "text"), ("completed_at", "ts"), ("reason", "text"), ("deleted", "text"),
    ), "ops", doc="Erasure requests (audit): keyed hash of the user id, deadline, what was deleted."),
    Table("gdpr_pending_ids", (("request_id", "text"), ("user_id", "text")), "ops", personal_data=True,
          doc="The user id in clear, only until its request completes (processing must search for it)."),
)
KEY = "(load_id, file_path, line_number)"
LINES = "_nova_gdpr_lines"
IN_LINES = f"{KEY} IN (SELECT load_id, file_path, line_number FROM {LINES})"
REMOVED = "_nova_gdpr_removed"
EVENT_COLS = ", ".join(c for c, _ in EVENT_COLUMNS)
# Tables step 2 empties line by line; every other table with a user_id column is curated (recomputed).
LINE_TABLES = ("raw_events", "quarantined_events", "ignored_events", "stg_pending", "stg_events", "stg_duplicates")
NOT_SWEPT = {"gdpr_pending_ids", "pending_changes", *LINE_TABLES}


def ensure_gdpr_schema(wh: Warehouse) -> None:
    for t in GDPR_TABLES:
        wh.execute(create_table_sql(t, wh.engine))


def user_hash(user_id: str, settings: Settings) -> str:
    """HMAC-SHA256 under the secret key: the same user always maps to the same hash, yet the id
    cannot be recovered by hashing a list of candidate ids without the key."""
    key = settings.gdpr_hash_key.get_secret_value().encode()
    return hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()


_META = set(r"\.^$|?*+()[]{}")


def token_pattern(user_id: str) -> str:
    """The id as a whole JSON string token: `"u_1"` but not `"u_12"`; also inside an escaped JSON
    string (`\\"u_1\\"`) and at the end of a truncated line (`..."u_1`). Only backslash-escaped
    metacharacters are used, the syntax RE2 (DuckDB), POSIX ERE (Snowflake) and Python agree on."""
    forms = dict.fromkeys(json.dumps(user_id, ensure_ascii=a)[1:-1] for a in (False, True))
    body = "|".join("".join("\\" + c if c in _META else c for c in f) for f in forms)
    return f'"({body})(\\\\?"|$)'


def redact(text: str | None, user_id: str) -> str | None:
    """A reason typed by a person may quote the id; the audit table must not."""
    return None if text is None else text.replace(user_id, "[erased user]")


@dataclass(frozen=True)
class GdprRequest:
    request_id: str
    user_hash: str
    requested_at: dt.datetime
    deadline: dt.datetime
    status: Status
    completed_at: dt.datetime | None
    reason: str | None
    deleted: dict[str, Any] = field(default_factory=dict)

    def days_left(self, now: dt.datetime) -> float:
        return (self.deadline - now).total_seconds() / 86400

    def flag(self, now: dt.datetime, warn_days: int) -> Flag:
        if self.status == "completed":
            return "done_late" if self.completed_at and self.completed_at > self.deadline else "done"
        if now > self.deadline:
            return "overdue"
        return "warn" if self.days_left(now) <= warn_days else "ok"

    def as_dict(self, now: dt.datetime, warn_days: int) -> dict[str, Any]:
        return {"request_id": self.request_id, "user_hash": self.user_hash, "requested_at": self.requested_at,
                "deadline": self.deadline, "days_left": round(self.days_left(now), 2), "status": self.status,
                "flag": self.flag(now, warn_days), "completed_at": self.completed_at, "reason": self.reason,
                "deleted": self.deleted}


def _row(r: dict[str, Any]) -> GdprRequest:
    return GdprRequest(r["request_id"], r["user_hash"], r["requested_at"], r["deadline"], r["status"],
                       r["completed_at"], r["reason"], json.loads(r["deleted"] or "{}"))


def list_requests(wh: Warehouse, *, pending_only: bool = False) -> list[GdprRequest]:
    """Read only (`nova gdpr status` runs it on a read-only connection): no table yet, no request."""
    if not wh.table_exists("gdpr_requests"):
        return []
    where = "WHERE status = 'pending' " if pending_only else ""
    return [_row(r) for r in wh.query_dicts(f"SELECT * FROM gdpr_requests {where}ORDER BY requested_at, request_id")]


def record_request(wh: Warehouse, settings: Settings, user_id: str, *, reason: str | None = None,
                   requested_at: dt.datetime | None = None) -> tuple[GdprRequest, bool]:
    """Record a request (the deadline runs from `requested_at`, when the person asked, which may
    precede today). A pending request for the same user is returned instead: (request, created)."""
    if not user_id.strip():
        raise NovaError("the user id is empty", code=Exit.USAGE)
    ensure_gdpr_schema(wh)
    h = user_hash(user_id, settings)
    for req in list_requests(wh, pending_only=True):
        if req.user_hash == h:
            return req, False
    now = clock.now()
    asked = requested_at or now
    request_id = f"G{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    deadline = asked + dt.timedelta(days=settings.gdpr_deadline_days)
    with wh.transaction():
        wh.execute("INSERT INTO gdpr_requests (request_id, user_hash, requested_at, recorded_at, deadline, status, "
                   "reason, deleted) VALUES (?, ?, ?, ?, ?, 'pending', ?, '{}')",
                   [request_id, h, asked, now, deadline, redact(reason, user_id)])
        wh.execute("INSERT INTO gdpr_pending_ids (request_id, user_id) VALUES (?, ?)", [request_id, user_id])
    return _row(wh.query_dicts("SELECT * FROM gdpr_requests WHERE request_id = ?", [request_id])[0]), True


def _save_deleted(wh: Warehouse, request_id: str, deleted: dict[str, Any]) -> None:
    wh.execute("UPDATE gdpr_requests SET deleted = ? WHERE request_id = ?",
               [json.dumps(deleted, sort_keys=True), request_id])


def _add(counts: dict[str, int], name: str, n: Any) -> None:
    if n:
        counts[name] = counts.get(name, 0) + int(n)


def _tables_with_column(wh: Warehouse, column: str) -> list[str]:
    return [r[0] for r in wh.query(
        "SELECT DISTINCT lower(c.table_name) FROM information_schema.columns c JOIN information_schema.tables t "
        "ON t.table_catalog = c.table_catalog AND t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE t.table_type = 'BASE TABLE' AND t.table_catalog = current_database() "
        "AND t.table_schema = current_schema() AND lower(c.column_name) = ? ORDER BY 1", [column])]


def residue(wh: Warehouse, user_id: str, *, exclude: tuple[str, ...] = ("gdpr_pending_ids",)) -> dict[str, int]:
    """Every text or JSON column of every table that still holds the id (equal, or as a token):
    an audit, a SELECT of the bad rows; empty when the erasure is complete."""
    e = wh.engine
    text_types, json_type = {e.t("text").upper(), "TEXT"}, e.t("json").upper()
    cols = wh.query(
        "SELECT lower(c.table_name), lower(c.column_name), upper(c.data_type) FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_catalog = c.table_catalog "
        "AND t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE t.table_type = 'BASE TABLE' AND t.table_catalog = current_database() "
        "AND t.table_schema = current_schema() ORDER BY 1, 2")
    found: dict[str, int] = {}
    for table, column, kind in cols:
        if table in exclude or (kind not in text_types and kind != json_type):
            continue
        text = e.json_as_text(column) if kind == json_type else column
        n = wh.scalar(f"SELECT COUNT(*) FROM {table} WHERE {text} = ? OR {e.regexp_contains(text, '?')}",
                      [user_id, token_pattern(user_id)])
        if n:
            found[f"{table}.{column}"] = int(n)
    return found


def _collect_lines(wh: Warehouse, user_id: str) -> None:
    """The raw lines to erase: text holding the id as a token (even unparseable), plus any line
    whose parsed user_id is the id (an id sent with JSON escapes does not match the text).
    The id and its pattern are bound parameters, never SQL text: query history keeps the text."""
    m = wh.engine.regexp_contains("raw_line", "?")
    pattern = token_pattern(user_id)
    wh.execute(f"DELETE FROM {LINES}")
    wh.execute(f"INSERT INTO {LINES} SELECT load_id, file_path, line_number FROM raw_events WHERE {m} "
               f"UNION SELECT load_id, file_path, line_number FROM quarantined_events WHERE user_id = ? OR {m} "
               "UNION SELECT load_id, file_path, line_number FROM stg_pending WHERE user_id = ? "
               "UNION SELECT load_id, file_path, line_number FROM stg_events WHERE user_id = ? "
               "UNION SELECT load_id, file_path, line_number FROM stg_duplicates WHERE user_id = ?",
               [pattern, user_id, pattern, user_id, user_id, user_id])


def _prepare_work_tables(wh: Warehouse) -> None:
    # DDL before the transaction: Snowflake commits an open transaction on any DDL.
    t = wh.engine.t
    wh.execute(f"CREATE OR REPLACE TEMP TABLE {LINES} (load_id {t('text')}, file_path {t('text')}, "
               f"line_number {t('int')})")
    wh.execute(f"CREATE OR REPLACE TEMP TABLE {REMOVED} AS SELECT {EVENT_COLS} FROM stg_events WHERE 1 = 0")


def _erase_rows(wh: Warehouse, req: GdprRequest, user_id: str,
                now: dt.datetime) -> tuple[dict[str, int], dict[str, int]]:
    """Step 2, inside the caller's transaction: the lines leave every line-level table together,
    so reconcile still adds up; their curated partitions are marked dirty. Returns the rows
    deleted per table, and the user's rows per curated table (curate recomputes them away)."""
    counts: dict[str, int] = {}
    in_lines = IN_LINES
    _collect_lines(wh, user_id)
    wh.execute("INSERT INTO erasure_counts (load_id, request_id, lines, erased_at) "
               f"SELECT load_id, ?, COUNT(*), ? FROM raw_events WHERE {in_lines} GROUP BY load_id",
               [req.request_id, now])
    wh.execute(f"DELETE FROM {REMOVED}")
    wh.execute(f"INSERT INTO {REMOVED} SELECT {EVENT_COLS} FROM stg_events WHERE {in_lines}")
    changes = "INSERT INTO pending_changes (event_date, workspace_id, user_id, change, created_at) "
    wh.execute(changes + f"SELECT DISTINCT event_date, workspace_id, user_id, 'removed', ? FROM {REMOVED}", [now])
    # Curated units of the user whose events are no longer staged (older than raw retention):
    # any curated table keyed by (event_date, workspace_id, user_id) names them.
    unit_tables = set(_tables_with_column(wh, "event_date")) & set(_tables_with_column(wh, "workspace_id"))
    for table in sorted(unit_tables & set(_tables_with_column(wh, "user_id")) - NOT_SWEPT):
        if not table.startswith("curate_work"):
            wh.execute(changes + f"SELECT DISTINCT event_date, workspace_id, user_id, 'removed', ? FROM {table} "
                       "WHERE user_id = ?", [now, user_id])
    _add(counts, "stg_events", wh.scalar(f"DELETE FROM stg_events WHERE {in_lines}"))
    _add(counts, "taken_over", _take_over(wh, in_lines, now))
    for table in ("stg_duplicates", "stg_pending", "quarantined_events", "ignored_events", "raw_events"):
        _add(counts, table, wh.scalar(f"DELETE FROM {table} WHERE {in_lines}"))
    curated: dict[str, int] = {}
    for table in _tables_with_column(wh, "user_id"):
        if table not in NOT_SWEPT:
            _add(curated, table, wh.scalar(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", [user_id]))
    return counts, curated


def _take_over(wh: Warehouse, in_lines: str, now: dt.datetime) -> int:
    """A removed kept copy whose event has a surviving duplicate (another user's line, rarely):
    the best remaining copy (earliest received_at, then path, line) becomes the kept one."""
    best = (f"SELECT {EVENT_COLS} FROM (SELECT d.*, ROW_NUMBER() OVER (PARTITION BY event_id "
            "ORDER BY received_at, file_path, line_number, load_id) AS rn FROM stg_duplicates d "
            f"WHERE event_id IN (SELECT event_id FROM {REMOVED}) AND NOT {in_lines} "
            "AND event_id NOT IN (SELECT event_id FROM stg_events)) c WHERE rn = 1")
    n = int(wh.scalar(f"SELECT COUNT(*) FROM ({best}) b") or 0)
    if n:
        wh.execute(f"INSERT INTO stg_events ({EVENT_COLS}) {best}")
        wh.execute(f"DELETE FROM stg_duplicates WHERE {KEY} IN (SELECT load_id, file_path, line_number FROM "
                   f"stg_events WHERE event_id IN (SELECT event_id FROM {REMOVED}))")
        wh.execute("INSERT INTO pending_changes (event_date, workspace_id, user_id, change, created_at) "
                   "SELECT event_date, workspace_id, user_id, 'added', ? FROM stg_events "
                   f"WHERE event_id IN (SELECT event_id FROM {REMOVED})", [now])
    return n


def _curate(wh: Warehouse, reg: Registry) -> Any:
    try:
        from pipeline.curate import curate
    except ImportError:  # the curated layer is optional: nothing curated then, nothing to recompute
        return None
    return curate(wh, reg)


@dataclass
class ProcessResult:
    request_id: str
    user_hash: str
    deleted: dict[str, Any]
    completed: bool
    problem: str = ""


def process_request(wh: Warehouse, landing: Landing | None, reg: Registry, req: GdprRequest,
                    now: dt.datetime | None = None) -> ProcessResult:
    ensure_gdpr_schema(wh)
    rows = wh.query("SELECT user_id FROM gdpr_pending_ids WHERE request_id = ?", [req.request_id])
    if not rows:
        return ProcessResult(req.request_id, req.user_hash, req.deleted, False,
                             "the user id of this pending request is missing from gdpr_pending_ids")
    user_id = rows[0][0]
    now = now or clock.now()
    deleted = dict(req.deleted)
    _prepare_work_tables(wh)
    if landing is not None:
        _collect_lines(wh, user_id)
        texts: dict[str, set[str]] = {}
        for path, line in wh.query(f"SELECT file_path, raw_line FROM raw_events WHERE {IN_LINES}"):
            texts.setdefault(path, set()).add(line)
        erase_from_landing(wh, landing, req.request_id, token_pattern(user_id), texts, deleted, _save_deleted)
    crash_point("gdpr:after_landing")
    with wh.transaction():
        counts, curated = _erase_rows(wh, req, user_id, now)
        tables = deleted.setdefault("tables", {})
        for name, n in counts.items():
            _add(tables, name, n)
        # The user's curated rows are counted before curate recomputes them; a re-run after a
        # crash counts the same rows again, hence max and not a sum.
        recomputed = deleted.setdefault("curated", {})
        for name, n in curated.items():
            recomputed[name] = max(recomputed.get(name, 0), n)
        # The old identity of each rewritten file leaves the ledger with the lines (its new one
        # was added before the file was written, so no `nova load` ever sees a new file).
        for f in deleted.get("landing", []):
            wh.execute("DELETE FROM load_ledger WHERE file_path = ? AND size_bytes = ? "
                       "AND (checksum = ? OR checksum IS NULL) AND EXISTS "
                       "(SELECT 1 FROM load_ledger n WHERE n.file_path = ? AND n.size_bytes = ? AND n.checksum = ?)",
                       [f["path"], f["size_before"], f["checksum_before"], f["path"], f["size"], f["checksum"]])
        _save_deleted(wh, req.request_id, deleted)
    crash_point("gdpr:after_erase")
    _curate(wh, reg)
    with wh.transaction():
        # Whatever curate left (or a table added since) must not keep the user either.
        left_over = wh.scalar("DELETE FROM pending_changes WHERE user_id = ?", [user_id])
        _add(deleted.setdefault("tables", {}), "pending_changes", left_over)
        for table in _tables_with_column(wh, "user_id"):
            if table not in NOT_SWEPT:
                wh.execute(f"DELETE FROM {table} WHERE user_id = ?", [user_id])
        left = residue(wh, user_id)
        if left:
            _save_deleted(wh, req.request_id, deleted)
            return ProcessResult(req.request_id, req.user_hash, deleted, False,
                                 "the id is still held by " + ", ".join(f"{k} ({v} rows)" for k, v in left.items()))
        wh.execute("UPDATE gdpr_requests SET status = 'completed', completed_at = ?, deleted = ? "
                   "WHERE request_id = ?", [now, json.dumps(deleted, sort_keys=True), req.request_id])
        wh.execute("DELETE FROM gdpr_pending_ids WHERE request_id = ?", [req.request_id])
    return ProcessResult(req.request_id, req.user_hash, deleted, True)


def process_pending(wh: Warehouse, landing: Landing | None, reg: Registry,
                    now: dt.datetime | None = None) -> list[ProcessResult]:
    """Process every pending request, oldest first (what `nova gdpr process` and the daemon do).
    A completed request is never processed again, so re-running is a no-op."""
    with writer_lock(wh, "gdpr process"):
        return [process_request(wh, landing, reg, req, now) for req in list_requests(wh, pending_only=True)]


def summary(deleted: dict[str, Any]) -> str:
    parts = [f"{k} {v:,}" for k, v in sorted(deleted.get("tables", {}).items()) if v]
    parts += [f"{k} {v:,} (recomputed)" for k, v in sorted(deleted.get("curated", {}).items()) if v]
    files = deleted.get("landing", [])
    if files:
        parts.append(f"{len(files)} landing file(s) rewritten")
    return ", ".join(parts) or "nothing held"
