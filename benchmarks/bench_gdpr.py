"""Cost of finding N users' data for GDPR erasure (issue 17, point 5), before and after, on DuckDB.

Before: per request, the token regex over every raw_line twice (landing step, erase step; raw and
quarantine in one statement) and an audit of every text and JSON column of every table.
After (pipeline.gdpr_search): one search for all pending requests (raw_events.user_id, and one
pattern holding every id over the text) and one audit of the declared personal columns. Also the
price at load: reading each line's user (one plain JSON parse), against the load's own insert.

The warehouse is synthetic (SQL generate): raw lines in the web wire format (~700 B), 0.1 % of
them broken, the same events staged, 1 % quarantined. Ratios are measured in one run.
Run: `.venv/bin/python benchmarks/bench_gdpr.py [--lines 1000000] [--requests 1,10]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.settings import Settings
from pipeline import gdpr
from pipeline.gdpr_search import IDS, residues, token_pattern
from pipeline.raw_identity import doc_sql, user_id_sql
from warehouse.schema import EVENT_COLUMNS
from warehouse.session import Warehouse, open_warehouse

USERS = 50_000


def build(wh: Warehouse, lines: int) -> None:
    line = ("'{\"messageId\":\"m' || i || '\",\"type\":\"track\",\"event\":\"Feature Used\",\"userId\":\"' || u || "
            "'\",\"anonymousId\":\"a_' || md5(CAST(i AS VARCHAR)) || '\",\"properties\":{\"feature\":"
            "\"editor.comments.mention\",\"action\":\"used\",\"workspaceId\":\"ws_' || (i % 5000) || "
            "'\",\"docId\":\"d_' || (i % 99991) || '\"},\"context\":{\"library\":{\"name\":\"nova-web\","
            "\"version\":\"4.2.0\"},\"page\":{\"path\":\"/d/' || (i % 99991) || '\"},\"userAgent\":"
            "\"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.1 Safari/605.1.15\"},\"originalTimestamp\":\"2026-11-25T17:00:00.123Z\","
            "\"sentAt\":\"2026-11-25T17:00:02.000Z\",\"received_at\":\"2026-11-25T17:00:02.350Z\"}'")
    broken = "CASE WHEN i % 1000 = 7 THEN left(" + line + ", 90) ELSE " + line + " END"
    wh.execute(f"""
        CREATE TEMP TABLE bench_src AS
        SELECT i, 'u_' || lpad(CAST(CAST(floor(random() * {USERS}) AS BIGINT) AS VARCHAR), 7, '0') AS u
        FROM range({lines}) t(i)""")
    wh.execute(f"""
        INSERT INTO raw_events (load_id, file_path, line_number, platform, raw_line, decode_error, received_at,
                                file_mtime, loaded_at)
        SELECT 'L' || (i // 100000), 'platform=web/f' || (i // 1000) || '.jsonl', i % 1000 + 1, 'web', {broken},
               FALSE, TIMESTAMP '2026-11-25 17:00:02', TIMESTAMP '2026-11-25 17:05:00',
               TIMESTAMP '2026-11-25 17:06:00'
        FROM (SELECT i, u FROM bench_src) s""")
    cols = ", ".join(c for c, _ in EVENT_COLUMNS)
    vals = {c: "NULL" for c, _ in EVENT_COLUMNS} | {
        "event_id": "'m' || i", "event_name": "'Feature Used'", "feature_id": "'editor.comments.mention'",
        "feature_sent": "'editor.comments.mention'", "action": "'used'", "user_id": "u",
        "anonymous_id": "'a_' || md5(CAST(i AS VARCHAR))", "workspace_id": "'ws_' || (i % 5000)",
        "platform": "'web'", "app_version": "'4.2.0'", "contract_version": "'1.0.0'",
        "client_ts": "TIMESTAMP '2026-11-25 17:00:00'", "received_at": "TIMESTAMP '2026-11-25 17:00:02'",
        "event_ts": "TIMESTAMP '2026-11-25 17:00:00'", "event_date": "DATE '2026-11-25'",
        "properties": "json_object('docId', 'd_' || (i % 99991), 'feature', 'editor.comments.mention')",
        "load_id": "'L' || (i // 100000)", "file_path": "'platform=web/f' || (i // 1000) || '.jsonl'",
        "line_number": "i % 1000 + 1"}
    wh.execute(f"INSERT INTO stg_events ({cols}) SELECT {', '.join(vals[c] for c, _ in EVENT_COLUMNS)} "
               "FROM bench_src WHERE i % 1000 <> 7 AND i % 100 <> 3")
    wh.execute("INSERT INTO quarantined_events (load_id, file_path, line_number, platform, raw_line, reason, user_id) "
               "SELECT load_id, file_path, line_number, platform, raw_line, "
               "CASE WHEN line_number % 1000 = 8 THEN 'invalid_json' ELSE 'unknown_feature' END, NULL "
               "FROM raw_events WHERE (line_number - 1) % 1000 = 7 OR (line_number - 1) % 100 = 3")


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def old_search(wh: Warehouse, user_id: str) -> None:
    """One request as before: the token regex over raw and quarantine text (run twice: landing
    step and erase step), then the audit of every text and JSON column of every table."""
    e = wh.engine
    m = e.regexp_contains("raw_line", "?")
    p = token_pattern(user_id)
    for _ in range(2):
        wh.query(f"SELECT load_id, file_path, line_number FROM raw_events WHERE {m} UNION SELECT load_id, file_path, "
                 f"line_number FROM quarantined_events WHERE user_id = ? OR {m} UNION SELECT load_id, file_path, "
                 "line_number FROM stg_events WHERE user_id = ?", [p, user_id, p, user_id])
    for table, column, kind in wh.query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND data_type IN ('VARCHAR', 'JSON')"):
        text = e.json_as_text(column) if kind == "JSON" else column
        wh.scalar(f"SELECT COUNT(*) FROM {table} WHERE {text} = ? OR {e.regexp_contains(text, '?')}", [user_id, p])


def new_search(wh: Warehouse, user_ids: list[str]) -> int:
    """All requests at once: the search of gdpr.process_pending, then its audit."""
    gdpr._prepare_work_tables(wh, [(f"R{n}", u) for n, u in enumerate(user_ids)])
    gdpr._collect_lines(wh, user_ids)
    found = int(wh.scalar(f"SELECT COUNT(*) FROM {gdpr.LINES}"))
    residues(wh, user_ids)
    wh.execute(f"DROP TABLE IF EXISTS {IDS}")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--requests", default="1,10")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_gdpr_"))
    out: dict[str, object] = {"lines": args.lines}
    try:
        with open_warehouse(Settings(warehouse_url=f"duckdb:///{tmp}/w.duckdb")) as wh:
            t_build = timed(lambda: build(wh, args.lines))
            e = wh.engine
            base = "SELECT COUNT(*) FROM raw_events WHERE length(raw_line) > 0"
            read = f"SELECT COUNT({user_id_sql(e, 'd')}) FROM (SELECT platform, {doc_sql(e)} AS d FROM raw_events) x"
            t_base, t_read = timed(lambda: wh.scalar(base)), timed(lambda: wh.scalar(read))
            wh.execute(f"UPDATE raw_events SET user_id = x.u FROM (SELECT file_path AS p, line_number AS n, "
                       f"{user_id_sql(e, 'd')} AS u FROM (SELECT file_path, line_number, platform, {doc_sql(e)} AS d "
                       "FROM raw_events) y) x WHERE raw_events.file_path = x.p AND raw_events.line_number = x.n")
            out["build_s"] = round(t_build, 2)
            out["load_user_id_read_s_per_M_lines"] = round((t_read - t_base) * 1e6 / args.lines, 2)
            print(f"{args.lines:,} raw lines ({int(wh.scalar('SELECT COUNT(*) FROM stg_events')):,} staged), "
                  f"built in {t_build:.1f} s")
            print(f"load: reading each line's user costs {out['load_user_id_read_s_per_M_lines']} s per million "
                  "lines (one JSON parse)")
            users = [u for (u,) in wh.query("SELECT DISTINCT user_id FROM stg_events ORDER BY 1 LIMIT 50")]
            for n in (int(x) for x in args.requests.split(",")):
                ids = users[:n]
                t_old = timed(lambda ids=ids: [old_search(wh, u) for u in ids])
                t0 = time.perf_counter()
                found = new_search(wh, ids)
                t_new = time.perf_counter() - t0
                out[f"old_s_{n}"], out[f"new_s_{n}"] = round(t_old, 2), round(t_new, 2)
                print(f"{n:>3} request(s): before {t_old:7.2f} s   after {t_new:6.2f} s   "
                      f"({t_old / t_new:5.1f}x less; {found} lines found)")
        print(json.dumps(out))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
