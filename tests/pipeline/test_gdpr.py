"""Invariant 5, erasure is complete: after a request is processed no table (raw included) and no
landing file holds the user, curated tables are as if their lines never arrived, the audit keeps
only a keyed hash, reconcile still adds up, and processing again changes nothing."""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from pipeline import gdpr, gdpr_search
from pipeline.cli import run_pipeline
from pipeline.gdpr_landing import strip_lines
from pipeline.landing import Landing
from pipeline.load import load
from pipeline.reconcile import adds_up, reconcile
from tests.conftest import write_landing
from tests.pipeline.helpers import android, backend, ios, web
from warehouse.session import Warehouse, open_warehouse

USER = "u_7"
# Stricter than the erasure rule (any word-bounded occurrence), so the check is independent of it.
WORD = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(USER)}(?![A-Za-z0-9_])")
HAS_CURATE = importlib.util.find_spec("pipeline.curate") is not None
TECHNICAL = {"load_id", "line_number", "staged_at", "quarantined_at", "loaded_at"}
# Tables about the runs themselves (loads, requests, clocks), not about the data.
RUN_TABLES = {"load_ledger", "batches", "erasure_counts", "gdpr_requests", "gdpr_pending_ids", "model_state",
              "backfill_progress", "dim_feature", "check_results", "metric_history", "batch_decisions"}


def ws(w: str) -> dict[str, str]:
    return {"feature": "editor.comments.mention", "action": "used", "workspaceId": w}


# Batches as delivered: (platform, file name, lines, gzip). u_70, u_71, u_17 must survive.
BATCH_1 = [
    ("web", "a.jsonl", [
        web("w1", userId=USER),
        web("w2", userId="u_71"),
        web("w3", userId="u_17", properties={**ws("ws_001"), "mentioned": USER}),  # another user's line
        '{"userId":"u_7", "broken',  # unparseable, holds the id
        '{"messageId":"x9","userId":"u_7',  # truncated right after the id
        web("p1", type="page", userId=USER),  # ignored
        web("w4", userId=USER, properties={**ws("ws_001"), "feature": "nope.nope"}),  # unknown_feature
        web("w5", userId="u_70"),
        # Kept copy of "tk" is the user's (earliest); the later copy, another user's, must take over.
        web("tk", userId=USER, received_at="2026-11-25T17:00:01.000Z"),
    ], False),
    ("ios", "b.jsonl.gz", [
        ios("I1", user={"id": USER, "workspace_id": "ws_002"}),
        ios("I2", user={"id": "u_71", "workspace_id": "ws_002"}),
    ], True),
]
BATCH_2 = [
    ("android", "c.jsonl", [
        android("d1", userId=USER),
        android("d2", userId="u_70", workspaceId=None),  # quarantined, another user
        android("W1", userId=USER, received_at="2026-11-25T18:00:00Z"),  # duplicate of web w1
        android("tk", userId="u_71", received_at="2026-11-25T17:30:00Z"),  # duplicate of the user's "tk"
    ], False),
    ("backend", "d.jsonl", [
        backend("e1", actor={"type": "user", "user_id": USER, "workspace_id": "ws_004"}),
        backend("e2", actor={"type": "system"}, attributes={"on_behalf": USER}),  # ignored, holds the id
        backend("e3", actor=None, user_id="u_71", workspace_id="ws_004", schema_version=1),
    ], False),
]
BATCH_3 = [("web", "e.jsonl", [web("w9", userId=USER), web("w10", userId="u_17")], False)]  # loaded, not run
UNLOADED = [("web", "f.jsonl.gz", [web("w11", userId=USER), web("w12", userId="u_71")], True)]


def write(root: Path, files: list[tuple[str, str, list[Any], bool]], *, without: str | None = None) -> None:
    token = re.compile(gdpr.token_pattern(without).encode()) if without else None
    for platform, name, lines, gz in files:
        text = [x if isinstance(x, str) else __import__("json").dumps(x) for x in lines]
        kept = [x for x in text if token is None or not token.search(x.encode())]
        write_landing(root, platform, name, kept, gz=gz)


def table_rows(wh: Warehouse, table: str, drop: set[str] = TECHNICAL) -> list[tuple[Any, ...]]:
    cols = [r[0] for r in wh.query("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                   "ORDER BY ordinal_position", [table]) if r[0] not in drop]
    return sorted(wh.query(f"SELECT {', '.join(cols)} FROM {table}"), key=repr)


def all_tables(wh: Warehouse, kind: str = "BASE TABLE") -> list[str]:
    return [r[0] for r in wh.query("SELECT table_name FROM information_schema.tables WHERE table_type = ? "
                                   "AND table_catalog = current_database() ORDER BY 1", [kind])]


def holders(wh: Warehouse) -> list[str]:
    """Every table.column (text or JSON) with a value holding the user id as a word."""
    found = []
    for table, column in wh.query(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t "
            "USING (table_catalog, table_schema, table_name) WHERE t.table_type = 'BASE TABLE' "
            "AND t.table_catalog = current_database() AND c.data_type IN ('VARCHAR', 'JSON')"):
        for (value,) in wh.query(f"SELECT CAST({column} AS VARCHAR) FROM {table} WHERE {column} IS NOT NULL"):
            if WORD.search(value):
                found.append(f"{table}.{column}")
                break
    return found


def landing_text(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*.json*")):
        data = p.read_bytes()
        out[p.relative_to(root).as_posix()] = (gzip.decompress(data) if p.name.endswith(".gz") else data).decode()
    return out


@pytest.fixture
def erased(tmp_path: Path, landing: Path, registry: Any, wh: Warehouse) -> dict[str, Any]:
    """The full story: three batches (the last one loaded but not run), a file not loaded yet, the
    request, processing, then the pipeline runs on."""
    lr = Landing(str(landing))
    for batch in (BATCH_1, BATCH_2):
        write(landing, batch)
        load(wh, lr)
        run_pipeline(wh, registry)
    write(landing, BATCH_3)
    load(wh, lr)
    write(landing, UNLOADED)
    lines_before = int(wh.scalar("SELECT COUNT(*) FROM raw_events"))
    req, created = gdpr.record_request(wh, Settings(), USER, reason=f"ticket 4711: {USER} wrote to privacy@")
    assert created
    results = gdpr.process_pending(wh, lr, registry)
    load(wh, lr)
    run_pipeline(wh, registry)
    return {"request": req, "results": results, "lines_before": lines_before}


def test_no_table_and_no_landing_file_holds_the_user(erased: dict[str, Any], wh: Warehouse, landing: Path) -> None:
    assert [r.completed for r in erased["results"]] == [True], erased["results"]
    assert holders(wh) == []
    assert gdpr.residue(wh, USER, exclude=()) == {}
    assert wh.scalar("SELECT COUNT(*) FROM gdpr_pending_ids") == 0
    for path, text in landing_text(landing).items():
        assert not WORD.search(text), f"{path} still holds the user"
    # Users whose ids start or end like the erased one are untouched.
    users = {r[0] for r in wh.query("SELECT user_id FROM stg_events UNION SELECT user_id FROM quarantined_events")}
    assert {"u_70", "u_71", "u_17"} <= users


def test_erased_lines_leave_every_line_table(erased: dict[str, Any], wh: Warehouse) -> None:
    deleted = erased["results"][0].deleted["tables"]
    # a.jsonl: 8 lines hold the id (w2, w5 survive); b: I1; c: d1, W1; d: e1, e2; e.jsonl: w9.
    assert deleted["raw_events"] == 7 + 1 + 2 + 2 + 1
    assert deleted["quarantined_events"] == 3  # invalid_json x2, unknown_feature
    assert deleted["ignored_events"] == 2  # page view, system actor
    assert deleted["stg_duplicates"] == 1  # android W1
    assert deleted["taken_over"] == 1
    kept = wh.query_dicts("SELECT user_id, platform FROM stg_events WHERE event_id = 'tk'")
    assert kept == [{"user_id": "u_71", "platform": "android"}]
    assert wh.scalar("SELECT COUNT(*) FROM stg_duplicates WHERE event_id = 'tk'") == 0


def test_audit_keeps_only_the_keyed_hash(erased: dict[str, Any], wh: Warehouse) -> None:
    row = wh.query_dicts("SELECT * FROM gdpr_requests")[0]
    assert row["user_hash"] == gdpr.user_hash(USER, Settings()) != gdpr.user_hash(USER, Settings(
        gdpr_hash_key="another-key"))
    assert row["status"] == "completed" and row["completed_at"] is not None
    assert row["deadline"] - row["requested_at"] == dt.timedelta(days=30)
    assert row["reason"] == "ticket 4711: [erased user] wrote to privacy@"
    assert USER not in str(row)
    landing = erased["results"][0].deleted["landing"]
    assert sorted(f["path"].rsplit("/", 1)[-1] for f in landing) == [
        "a.jsonl", "b.jsonl.gz", "c.jsonl", "d.jsonl", "e.jsonl", "f.jsonl.gz"]


def test_reconcile_adds_up_and_reports_erased(erased: dict[str, Any], wh: Warehouse) -> None:
    rec = reconcile(wh)
    assert all(adds_up(r) for r in rec["loads"]), rec["loads"]
    erased_lines = erased["results"][0].deleted["tables"]["raw_events"]
    assert rec["total"]["erased"] == erased_lines
    # Lines of the file loaded after processing never held the user: received counts them.
    assert rec["total"]["received"] + erased_lines == erased["lines_before"] + 1
    assert rec["total"]["pending"] == 0


def test_rewritten_files_are_not_loaded_again(erased: dict[str, Any], wh: Warehouse, landing: Path) -> None:
    res = load(wh, Landing(str(landing)))
    assert res.load_id is None and res.files_loaded == 0
    paths = [r[0] for r in wh.query("SELECT file_path FROM load_ledger")]
    assert len(paths) == len(set(paths)) == 6


@pytest.mark.skipif(not HAS_CURATE, reason="pipeline.curate is not installed")
def test_curated_tables_are_as_if_the_lines_never_arrived(erased: dict[str, Any], wh: Warehouse, tmp_path: Path,
                                                          registry: Any) -> None:
    root = tmp_path / "landing_without"
    write(root, BATCH_1 + BATCH_2 + BATCH_3 + UNLOADED, without=USER)
    with open_warehouse(Settings(warehouse_url=f"duckdb:///{tmp_path}/expected.duckdb")) as fresh:
        load(fresh, Landing(str(root)))
        run_pipeline(fresh, registry)
        tables = [t for t in all_tables(fresh) + all_tables(fresh, "VIEW") if t not in RUN_TABLES]
        assert {"stg_events", "fct_feature_events", "feature_usage_daily", "user_feature_last_seen"} <= set(tables)
        for table in tables:
            assert table_rows(wh, table) == table_rows(fresh, table), f"{table} differs from a never-arrived load"
        assert landing_text(root) == landing_text(tmp_path / "landing")


def test_processing_again_is_a_no_op(erased: dict[str, Any], wh: Warehouse, landing: Path, registry: Any) -> None:
    before = {t: table_rows(wh, t, set()) for t in all_tables(wh)}
    files = landing_text(landing)
    assert gdpr.process_pending(wh, Landing(str(landing)), registry) == []
    assert {t: table_rows(wh, t, set()) for t in all_tables(wh)} == before
    assert landing_text(landing) == files
    # A new request for the same user finds nothing left and completes with nothing deleted.
    gdpr.record_request(wh, Settings(), USER)
    [again] = gdpr.process_pending(wh, Landing(str(landing)), registry)
    assert again.completed and not any(again.deleted.get("tables", {}).values())
    assert "landing" not in again.deleted


def test_deadline_flags_with_a_faked_clock(wh: Warehouse) -> None:
    s = Settings()
    now = dt.datetime(2026, 11, 25, 12, 0)
    fresh, _ = gdpr.record_request(wh, s, "u_a", requested_at=now - dt.timedelta(days=2))
    near, _ = gdpr.record_request(wh, s, "u_b", requested_at=now - dt.timedelta(days=24))
    late, _ = gdpr.record_request(wh, s, "u_c", requested_at=now - dt.timedelta(days=31))
    same, created = gdpr.record_request(wh, s, "u_a")
    assert not created and same.request_id == fresh.request_id
    flags = {r.request_id: r.flag(now, s.gdpr_warn_days) for r in gdpr.list_requests(wh)}
    assert flags == {fresh.request_id: "ok", near.request_id: "warn", late.request_id: "overdue"}
    assert round(near.days_left(now), 1) == 6.0
    assert gdpr.list_requests(wh)[0].flag(now + dt.timedelta(days=40), 7) == "overdue"


def test_token_matches_whole_json_strings_only() -> None:
    token = re.compile(gdpr.token_pattern("u_1"))
    assert token.search('{"userId":"u_1","x":1}')
    assert token.search('{"p":"{\\"userId\\":\\"u_1\\"}"}')  # inside an escaped JSON string
    assert token.search('{"userId":"u_1')  # truncated line
    for other in ('{"userId":"u_12"}', '{"userId":"xu_1"}', '{"userId":"u_1 "}', '{"u":"u_1\\n"}'):
        assert not token.search(other), other
    special = re.compile(gdpr.token_pattern('a.b"c\\d'))
    assert special.search('{"u":"a.b\\"c\\\\d"}') and not special.search('{"u":"axb\\"c\\\\d"}')
    # The warehouse tests the same rule with substrings (no regex): the same answer on every case.
    cases = ['{"userId":"u_1","x":1}', '{"p":"{\\"userId\\":\\"u_1\\"}"}', '{"userId":"u_1', '{"userId":"u_12"}',
             '{"userId":"xu_1"}', '{"userId":"u_1 "}', '{"u":"u_1\\n"}', '"u_1"', 'u_1', '{"a":"u_1\\\\"}']
    for user, text in [("u_1", c) for c in cases] + [("é_1", '{"u":"\\u00e9_1"}'), ("é_1", '{"u":"é_1"}'),
                                                     ("é_1", '{"u":"e_1"}')]:
        inside, tail = gdpr_search.probes(user)
        by_probes = any(p in text for p in inside) or any(text.endswith(t) for t in tail)
        assert by_probes == bool(re.search(gdpr.token_pattern(user), text)), (user, text)


def test_strip_lines_keeps_other_bytes_exactly() -> None:
    token = re.compile(gdpr.token_pattern("u_1").encode())
    body = b'\xef\xbb\xbf{"u":"u_1"}\r\n{"u":"u_2"}\r\n\xff{"u":"u_1"}\n{"u":"u_3"}'
    out = strip_lines(body, False, token, set())
    assert out == (b'\xef\xbb\xbf{"u":"u_2"}\r\n{"u":"u_3"}', 2)
    assert strip_lines(gzip.compress(b'{"u":"u_2"}\n'), True, token, set()) is None
    gz = strip_lines(gzip.compress(b'{"u":"u_1"}\n{"u":"u_2"}\n'), True, token, set())
    assert gz is not None and gz[0] == gzip.compress(b'{"u":"u_2"}\n', mtime=0)
    # A line found through its parsed user_id (id sent with JSON escapes) goes by its text.
    assert strip_lines(b'{"u":"u\\u005f1"}\n{"u":"u_2"}\n', False, token, {'{"u":"u\\u005f1"}'}) == (
        b'{"u":"u_2"}\n', 1)


def test_an_escaped_id_is_found_through_the_parsed_user_id(landing: Path, registry: Any, wh: Warehouse) -> None:
    line = '{"messageId":"z1","type":"track","event":"Feature Used","userId":"u\\u005f7",' \
           '"properties":{"feature":"editor","workspaceId":"ws_9"},"originalTimestamp":"2026-11-25T17:00:00Z",' \
           '"received_at":"2026-11-25T17:00:01Z"}'
    write_landing(landing, "web", "z.jsonl", [line, web("z2", userId="u_71")])
    load(wh, Landing(str(landing)))
    run_pipeline(wh, registry)
    assert wh.scalar("SELECT user_id FROM stg_events WHERE event_id = 'z1'") == USER
    gdpr.record_request(wh, Settings(), USER)
    [res] = gdpr.process_pending(wh, Landing(str(landing)), registry)
    assert res.completed and res.deleted["tables"]["raw_events"] == 1
    assert "u\\u005f7" not in next(iter(landing_text(landing).values()))
    assert wh.scalar("SELECT COUNT(*) FROM raw_events") == 1


def test_a_request_without_its_id_is_reported_not_completed(wh: Warehouse, registry: Any) -> None:
    gdpr.record_request(wh, Settings(), "u_x")
    wh.execute("DELETE FROM gdpr_pending_ids")
    [res] = gdpr.process_pending(wh, None, registry)
    assert not res.completed and "missing" in res.problem
    assert gdpr.list_requests(wh)[0].status == "pending"


def test_an_id_only_in_an_unparseable_line_is_erased(landing: Path, registry: Any, wh: Warehouse) -> None:
    """The load reads each line's user into raw_events.user_id; a line that does not parse has none,
    and erasure still finds the id in its text (and in the landing file)."""
    lines = [web("k1", userId="u_71"), '{"messageId":"k2","userId":"u_q9","properties":{"feature":',
             web("k3", userId="u_70"), backend("k4", actor={"type": "user", "user_id": "u_72", "workspace_id": "w"})]
    write_landing(landing, "web", "q.jsonl", lines[:3])
    write_landing(landing, "backend", "r.jsonl", lines[3:])
    load(wh, Landing(str(landing)))
    run_pipeline(wh, registry)
    assert wh.query("SELECT platform, line_number, user_id FROM raw_events ORDER BY 1, 2") == [
        ("backend", 1, "u_72"), ("web", 1, "u_71"), ("web", 2, None), ("web", 3, "u_70")]
    gdpr.record_request(wh, Settings(), "u_q9")
    [res] = gdpr.process_pending(wh, Landing(str(landing)), registry)
    assert res.completed, res.problem
    assert res.deleted["tables"] == {"raw_events": 1, "quarantined_events": 1}
    assert wh.scalar("SELECT COUNT(*) FROM raw_events") == 3
    assert all("u_q9" not in text for text in landing_text(landing).values())
    assert gdpr.residue(wh, "u_q9", exclude=()) == {}


def test_pending_requests_are_processed_together_in_one_pass(landing: Path, registry: Any, wh: Warehouse,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Three requests: the raw text is searched once and audited once, not once per request; a line
    two of them match (u_17's line mentions u_7) counts once, for the older request."""
    lr = Landing(str(landing))
    for batch in (BATCH_1, BATCH_2):
        write(landing, batch)
        load(wh, lr)
        run_pipeline(wh, registry)
    before = int(wh.scalar("SELECT COUNT(*) FROM raw_events"))
    users = [USER, "u_17", "u_70"]
    for user in users:
        gdpr.record_request(wh, Settings(), user)
    statements: list[str] = []
    execute = wh.execute

    def spy(sql: str, params: Any = None) -> Any:
        statements.append(sql)
        return execute(sql, params)

    monkeypatch.setattr(wh, "execute", spy)
    results = gdpr.process_pending(wh, lr, registry)
    monkeypatch.undo()
    assert [r.completed for r in results] == [True, True, True], results
    text_reads = [s for s in statements if "raw_line" in s and "raw_events" in s]
    assert len(text_reads) == 2, text_reads  # the search, then the audit
    erased = [r.deleted["tables"].get("raw_events", 0) for r in results]
    assert erased == [12, 0, 2]  # u_17's one line mentions u_7: the first request's
    assert before - int(wh.scalar("SELECT COUNT(*) FROM raw_events")) == sum(erased)
    assert sorted(wh.query("SELECT request_id, SUM(lines) FROM erasure_counts GROUP BY 1")) == sorted(
        (r.request_id, n) for r, n in zip(results, erased, strict=True) if n)
    assert holders(wh) == []
    for user in users:
        assert gdpr.residue(wh, user, exclude=()) == {}
        assert all(not re.search(gdpr.token_pattern(user), t) for t in landing_text(landing).values())


def test_the_audit_reads_personal_columns_and_tables_nobody_declared(wh: Warehouse) -> None:
    # A declared table without personal data is not read (its declaration says no user id goes there).
    wh.execute("INSERT INTO check_results (result_id, detail) VALUES ('r1', ?)", ['{"sample": "u_z"}'])
    assert gdpr.residue(wh, "u_z") == {}
    wh.execute("INSERT INTO pending_changes (user_id) VALUES ('u_z')")
    wh.execute("CREATE TABLE analyst_notes (note VARCHAR, n INTEGER)")  # nobody declared it: read whole
    wh.execute("""INSERT INTO analyst_notes VALUES ('{"who": "u_z"}', 1), ('{"who": "u_zz"}', 2)""")
    assert gdpr.residue(wh, "u_z") == {"pending_changes.user_id": 1, "analyst_notes.note": 1}
