"""GDPR erasure: requests kept under a keyed hash, processed across every table and landing file.

A request is recorded in `gdpr_requests` (audit, never the id in clear). Processing needs the
id itself (a hash cannot be searched for in raw text), so it waits in `gdpr_pending_ids`, a
separate transient table whose row is deleted when the request completes: after completion the
id exists nowhere in the warehouse. See docs/gdpr.md for the flow and the 30-day argument.

Every pending request is processed together (up to gdpr_search.MAX_IDS per pass: one scan of
each table for N users, not N scans; each step idempotent, so a crash anywhere is repaired by
re-running):
1. landing: files holding one of the ids are rewritten without those lines (pipeline.gdpr_landing);
2. one transaction deletes the users' lines from raw to staged and marks their curated
   partitions dirty (pending_changes), with per-load, per-request counts in `erasure_counts`;
3. curate recomputes the dirty partitions ("as if the lines never arrived");
4. one transaction checks that no personal column still holds an id, then completes each
   request whose id is gone (one that is not stays pending, named in the result).
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
from pipeline.gdpr_search import IDS, MAX_IDS, fill_ids, in_ids, residues, token_match, token_pattern, token_sql
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
LINES = "_nova_gdpr_lines"  # temp: the lines to erase, each with the `ord` of the request it counts for
IN_LINES = f"{KEY} IN (SELECT load_id, file_path, line_number FROM {LINES})"
ON_LINE = "l.load_id = t.load_id AND l.file_path = t.file_path AND l.line_number = t.line_number"
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
    """Every personal column (warehouse.schema `personal`) that still holds the id (equal, or as a
    token): an audit, a SELECT of the bad rows; empty when the erasure is complete."""
    return residues(wh, [user_id], exclude=exclude).get(user_id, {})


def _collect_lines(wh: Warehouse, user_ids: list[str]) -> None:
    """The raw lines to erase, one scan of each line table for every id of the pass: a line whose
    user (read at load, or staged) is an id, or whose text holds an id as a token (a line that does
    not parse, a mention in another user's line), tested by substrings, no regex. The few lines
    found are matched to the ids table for the request each one counts for."""
    own, own_p = in_ids("user_id", user_ids)
    text, text_p = token_sql(wh.engine, "raw_line", user_ids)
    staged = " UNION ALL ".join(
        f"SELECT load_id, file_path, line_number, user_id AS uid, CAST(NULL AS {wh.engine.t('text')}) AS txt "
        f"FROM {t} WHERE {own}" for t in ("stg_pending", "stg_events", "stg_duplicates"))
    cand = (f"SELECT load_id, file_path, line_number, user_id AS uid, raw_line AS txt FROM raw_events "
            f"WHERE {own} OR {text} UNION ALL "
            f"SELECT load_id, file_path, line_number, user_id AS uid, raw_line AS txt FROM quarantined_events "
            f"WHERE {own} OR {text} UNION ALL {staged}")
    wh.execute(f"DELETE FROM {LINES}")
    wh.execute(f"INSERT INTO {LINES} (load_id, file_path, line_number, ord, raw_line) "
               f"SELECT c.load_id, c.file_path, c.line_number, MIN(i.ord), MAX(c.txt) FROM ({cand}) c JOIN {IDS} i "
               f"ON c.uid = i.user_id OR {token_match(wh, 'c.txt')} GROUP BY c.load_id, c.file_path, c.line_number",
               own_p + text_p + own_p + text_p + own_p * 3)


def _prepare_work_tables(wh: Warehouse, todo: list[tuple[str, str]]) -> None:
    # DDL before the transaction: Snowflake commits an open transaction on any DDL.
    t = wh.engine.t
    fill_ids(wh, todo)
    wh.execute(f"CREATE OR REPLACE TEMP TABLE {LINES} (load_id {t('text')}, file_path {t('text')}, "
               f"line_number {t('int')}, ord {t('int')}, raw_line {t('text')})")
    wh.execute(f"CREATE OR REPLACE TEMP TABLE {REMOVED} AS SELECT {EVENT_COLS} FROM stg_events WHERE 1 = 0")


def _drop_work_tables(wh: Warehouse) -> None:
    for name in (IDS, LINES, REMOVED):  # the ids in clear leave the session's tables too
        wh.execute(f"DROP TABLE IF EXISTS {name}")


PerRequest = dict[int, dict[str, int]]  # ord → table → rows


def _count_by_ord(wh: Warehouse, sql: str, params: list[Any] | None = None) -> dict[int, int]:
    return {int(o): int(n) for o, n in wh.query(sql, params or []) if n}


def _erase_rows(wh: Warehouse, user_ids: list[str], now: dt.datetime) -> tuple[PerRequest, dict[str, dict[str, int]]]:
    """Step 2, inside the caller's transaction: the lines leave every line-level table together,
    so reconcile still adds up; their curated partitions are marked dirty. Returns the rows
    deleted per request and table, and each user's rows per curated table (curate recomputes them)."""
    counts: PerRequest = {}

    def add(table: str, by_ord: dict[int, int]) -> None:
        for o, n in by_ord.items():
            _add(counts.setdefault(o, {}), table, n)

    wh.execute("INSERT INTO erasure_counts (load_id, request_id, lines, erased_at) "
               f"SELECT t.load_id, i.request_id, COUNT(*), ? FROM raw_events t JOIN {LINES} l ON {ON_LINE} "
               f"JOIN (SELECT DISTINCT ord, request_id FROM {IDS}) i ON i.ord = l.ord "
               "GROUP BY t.load_id, i.request_id", [now])
    wh.execute(f"DELETE FROM {REMOVED}")
    wh.execute(f"INSERT INTO {REMOVED} SELECT {EVENT_COLS} FROM stg_events WHERE {IN_LINES}")
    changes = "INSERT INTO pending_changes (event_date, workspace_id, user_id, change, created_at) "
    wh.execute(changes + f"SELECT DISTINCT event_date, workspace_id, user_id, 'removed', ? FROM {REMOVED}", [now])
    users = f"user_id IN (SELECT user_id FROM {IDS})"
    # Curated units of the users whose events are no longer staged (older than raw retention):
    # any curated table keyed by (event_date, workspace_id, user_id) names them.
    unit_tables = set(_tables_with_column(wh, "event_date")) & set(_tables_with_column(wh, "workspace_id"))
    for table in sorted(unit_tables & set(_tables_with_column(wh, "user_id")) - NOT_SWEPT):
        if not table.startswith("curate_work"):
            wh.execute(changes + f"SELECT DISTINCT event_date, workspace_id, user_id, 'removed', ? FROM {table} "
                       f"WHERE {users}", [now])
    per_table = f"SELECT l.ord, COUNT(*) FROM {{}} t JOIN {LINES} l ON {ON_LINE} GROUP BY l.ord"
    add("stg_events", _count_by_ord(wh, per_table.format("stg_events")))
    wh.execute(f"DELETE FROM stg_events WHERE {IN_LINES}")
    add("taken_over", _take_over(wh, IN_LINES, now))
    for table in ("stg_duplicates", "stg_pending", "quarantined_events", "ignored_events", "raw_events"):
        add(table, _count_by_ord(wh, per_table.format(table)))
        wh.execute(f"DELETE FROM {table} WHERE {IN_LINES}")
    curated: dict[str, dict[str, int]] = {}
    for table in _tables_with_column(wh, "user_id"):
        if table not in NOT_SWEPT:
            for user_id, n in wh.query(f"SELECT user_id, COUNT(*) FROM {table} WHERE {users} GROUP BY user_id"):
                _add(curated.setdefault(user_id, {}), table, n)
    return counts, curated


def _take_over(wh: Warehouse, in_lines: str, now: dt.datetime) -> dict[int, int]:
    """A removed kept copy whose event has a surviving duplicate (another user's line, rarely):
    the best remaining copy (earliest received_at, then path, line) becomes the kept one.
    Returns the take-overs per request (the request whose line was the removed copy)."""
    best = (f"SELECT {EVENT_COLS} FROM (SELECT d.*, ROW_NUMBER() OVER (PARTITION BY event_id "
            "ORDER BY received_at, file_path, line_number, load_id) AS rn FROM stg_duplicates d "
            f"WHERE event_id IN (SELECT event_id FROM {REMOVED}) AND NOT {in_lines} "
            "AND event_id NOT IN (SELECT event_id FROM stg_events)) c WHERE rn = 1")
    by_ord = _count_by_ord(wh, f"SELECT l.ord, COUNT(*) FROM ({best}) b JOIN {REMOVED} t ON t.event_id = b.event_id "
                               f"JOIN {LINES} l ON {ON_LINE} GROUP BY l.ord")
    if by_ord:
        wh.execute(f"INSERT INTO stg_events ({EVENT_COLS}) {best}")
        wh.execute(f"DELETE FROM stg_duplicates WHERE {KEY} IN (SELECT load_id, file_path, line_number FROM "
                   f"stg_events WHERE event_id IN (SELECT event_id FROM {REMOVED}))")
        wh.execute("INSERT INTO pending_changes (event_date, workspace_id, user_id, change, created_at) "
                   "SELECT event_date, workspace_id, user_id, 'added', ? FROM stg_events "
                   f"WHERE event_id IN (SELECT event_id FROM {REMOVED})", [now])
    return by_ord


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


def _landing_step(wh: Warehouse, landing: Landing, todo: list[tuple[GdprRequest, str]],
                  deleted: dict[str, dict[str, Any]]) -> None:
    """Step 1 for the whole pass: the lines found in raw name the files to rewrite (by their text);
    the token patterns find the rest (files not loaded yet, lines raw no longer holds)."""
    texts: dict[str, dict[str, int]] = {}
    rows = wh.query(f"SELECT file_path, raw_line, ord FROM {LINES} WHERE raw_line IS NOT NULL")
    if wh.scalar(f"SELECT COUNT(*) FROM {LINES} WHERE raw_line IS NULL"):
        # Found through a staged user_id only (a row loaded before raw_events.user_id existed):
        # its text is read from raw, for the few files concerned.
        rows += wh.query(f"SELECT t.file_path, t.raw_line, l.ord FROM raw_events t JOIN {LINES} l ON {ON_LINE} "
                         f"WHERE l.raw_line IS NULL AND t.file_path IN (SELECT file_path FROM {LINES} "
                         "WHERE raw_line IS NULL)")
    for path, line, o in rows:
        texts.setdefault(path, {}).setdefault(line, int(o))
    wanted = [(req.request_id, token_pattern(u)) for req, u in todo]
    erase_from_landing(wh, landing, wanted, texts, deleted, _save_deleted)


def _process_pass(wh: Warehouse, landing: Landing | None, reg: Registry, batch: list[GdprRequest],
                  now: dt.datetime | None) -> list[ProcessResult]:
    marks = ", ".join("?" for _ in batch)
    ids = dict(wh.query(f"SELECT request_id, user_id FROM gdpr_pending_ids WHERE request_id IN ({marks})",
                        [r.request_id for r in batch]))
    results: dict[str, ProcessResult] = {
        r.request_id: ProcessResult(r.request_id, r.user_hash, r.deleted, False,
                                    "the user id of this pending request is missing from gdpr_pending_ids")
        for r in batch if r.request_id not in ids}
    todo = [(r, ids[r.request_id]) for r in batch if r.request_id in ids]
    if not todo:
        return [results[r.request_id] for r in batch]
    now = now or clock.now()
    deleted = {r.request_id: dict(r.deleted) for r, _ in todo}
    user_ids = [u for _, u in todo]
    _prepare_work_tables(wh, [(r.request_id, u) for r, u in todo])
    # One search for both steps: the writer lock keeps every other step out meanwhile (rows a
    # Snowpipe COPY adds after it are caught by the audit of step 4, and erased by the next run).
    _collect_lines(wh, user_ids)
    if landing is not None:
        _landing_step(wh, landing, todo, deleted)
    crash_point("gdpr:after_landing")
    with wh.transaction():
        counts, curated = _erase_rows(wh, user_ids, now)
        for o, (req, user_id) in enumerate(todo):
            d = deleted[req.request_id]
            tables = d.setdefault("tables", {})
            for name, n in counts.get(o, {}).items():
                _add(tables, name, n)
            # The user's curated rows are counted before curate recomputes them; a re-run after a
            # crash counts the same rows again, hence max and not a sum.
            recomputed = d.setdefault("curated", {})
            for name, n in curated.get(user_id, {}).items():
                recomputed[name] = max(recomputed.get(name, 0), n)
            # The old identity of each rewritten file leaves the ledger with the lines (its new one
            # was added before the file was written, so no `nova load` ever sees a new file).
            for f in d.get("landing", []):
                wh.execute("DELETE FROM load_ledger WHERE file_path = ? AND size_bytes = ? "
                           "AND (checksum = ? OR checksum IS NULL) AND EXISTS (SELECT 1 FROM load_ledger n "
                           "WHERE n.file_path = ? AND n.size_bytes = ? AND n.checksum = ?)",
                           [f["path"], f["size_before"], f["checksum_before"], f["path"], f["size"], f["checksum"]])
            _save_deleted(wh, req.request_id, d)
    crash_point("gdpr:after_erase")
    _curate(wh, reg)
    users, users_p = in_ids("user_id", user_ids)
    with wh.transaction():
        # Whatever curate left (or a table added since) must not keep the users either.
        left_over = dict(wh.query(f"SELECT user_id, COUNT(*) FROM pending_changes WHERE {users} GROUP BY user_id",
                                  users_p))
        wh.execute(f"DELETE FROM pending_changes WHERE {users}", users_p)
        for table in _tables_with_column(wh, "user_id"):
            if table not in NOT_SWEPT:
                wh.execute(f"DELETE FROM {table} WHERE {users}", users_p)
        left = residues(wh, user_ids)
        for req, user_id in todo:
            d = deleted[req.request_id]
            _add(d.setdefault("tables", {}), "pending_changes", left_over.get(user_id))
            if user_id in left:
                _save_deleted(wh, req.request_id, d)
                results[req.request_id] = ProcessResult(
                    req.request_id, req.user_hash, d, False, "the id is still held by " + ", ".join(
                        f"{k} ({v} rows)" for k, v in left[user_id].items()))
                continue
            wh.execute("UPDATE gdpr_requests SET status = 'completed', completed_at = ?, deleted = ? "
                       "WHERE request_id = ?", [now, json.dumps(d, sort_keys=True), req.request_id])
            wh.execute("DELETE FROM gdpr_pending_ids WHERE request_id = ?", [req.request_id])
            results[req.request_id] = ProcessResult(req.request_id, req.user_hash, d, True)
    _drop_work_tables(wh)
    return [results[r.request_id] for r in batch]


def process_pending(wh: Warehouse, landing: Landing | None, reg: Registry,
                    now: dt.datetime | None = None) -> list[ProcessResult]:
    """Process every pending request, oldest first, together: up to MAX_IDS requests share one
    scan of each table and one read of each landing file (what `nova gdpr process` and the daemon
    do). A completed request is never processed again, so re-running is a no-op."""
    with writer_lock(wh, "gdpr process"):
        ensure_gdpr_schema(wh)
        pending = list_requests(wh, pending_only=True)
        results: list[ProcessResult] = []
        for start in range(0, len(pending), MAX_IDS):
            results += _process_pass(wh, landing, reg, pending[start:start + MAX_IDS], now)
        return results


def summary(deleted: dict[str, Any]) -> str:
    parts = [f"{k} {v:,}" for k, v in sorted(deleted.get("tables", {}).items()) if v]
    parts += [f"{k} {v:,} (recomputed)" for k, v in sorted(deleted.get("curated", {}).items()) if v]
    files = deleted.get("landing", [])
    if files:
        parts.append(f"{len(files)} landing file(s) rewritten")
    return ", ".join(parts) or "nothing held"
