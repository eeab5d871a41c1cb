"""Parity (issue 17): the same raw lines, loaded into a DuckDB warehouse and into the Snowflake
engine (fakesnow, its gaps filled by tests/snowflake/gaps.py), then staged, promoted and curated
on both, give the same tables: every line in the same state (quarantine reason included), the
same raw decisions (decode_error, received_at), the same staged rows and the same rows in each
curated table. On small generated traffic and on a corpus of edge cases.

Each engine loads the files its own way: DuckDB through pipeline.load, Snowflake through the
Snowpipe stand-in (the rows its COPY writes, tests/snowflake/snowpipe.py) and the claim of
`nova load`. Only representation is normalised: column-name case, number and time types, JSON
text, floats rounded at 1e-9.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline.curate import curate
from pipeline.landing import Landing
from pipeline.load import load
from pipeline.snowflake_load import claim
from pipeline.stage import gate, promote, stage
from tests.conftest import write_landing
from tests.pipeline.helpers import android, backend, ios, web
from tests.pipeline.test_snowflake_dialect import LAND, FakesnowWarehouse, registry
from tests.snowflake.snowpipe import snowpipe
from warehouse.session import Warehouse

CURATED = ("fct_feature_events", "feature_usage_daily", "feature_usage_weekly", "feature_adoption_by_workspace",
           "user_feature_last_seen")
# Identify the run, not the data: the load id each engine generates, the time of the run.
RUN_COLUMNS = {"load_id", "staged_at"}

W = ('"messageId":"{id}","type":"track","event":"Feature Used","userId":"u_1",'
     '"context":{{"library":{{"version":"4.2.0"}}}},')
P = '"properties":{{"feature":"editor.comments.mention","action":"used","workspaceId":"ws_1"{extra}}},'
T = '"originalTimestamp":"2026-11-25T17:00:00.000Z","received_at":"2026-11-25T17:00:02.500Z"}}'


def line(eid: str, extra: str = "", head: str = "") -> str:
    return "{" + head + W.format(id=eid) + P.format(extra=extra) + T.format()


# (name, raw line): the rule each follows is in docs/pipeline.md (JSON rules).
CORPUS: list[tuple[str, str]] = [
    ("plain", line("c1")),
    ("duplicate key, top level", line("c2", head='"userId":"u_other",')),
    ("duplicate key, nested", line("c3", extra=',"source":"a","source":"b"')),
    ("duplicate key, once escaped", line("c17", extra=',"source":"a","sourc\\u0065":"b"')),
    ("NaN as a number", line("c4", extra=',"score":NaN')),
    ("-Infinity as a number", line("c5", extra=',"score":-Infinity')),
    ("NaN inside a string", line("c6", extra=',"note":"NaN: \\"Infinity\\""')),
    ("huge integer", line("c7", extra=',"big":123456789012345678901234567890')),
    ("huge exponent", line("c8", extra=',"big":1e308')),
    ("replacement character sent", line("c9", extra=',"name_hint":"a\ufffdb"')),
    ("nested nulls", line("c10", extra=',"a":null,"b":{"c":null,"d":[null]}')),
    ("null user", line("c11", head='"userId":null,').replace('"userId":"u_1",', "", 1)),
    ("escaped unicode key", line("c12", extra=',"k\\u00e9y":1')),
    ("two objects on a line", line("c13") + line("c14")),
    ("array, not an object", "[" + line("c15") + "]"),
    ("two objects, a space between", line("c19") + " " + line("c20")),
    ("two objects, a tab between", line("c21") + "\t" + line("c22")),
    ("an object then garbage", line("c23") + " x"),
    ("empty line", ""),
    ("padded object", " \t" + line("c18") + "  "),
    ("a JSON string", '"' + "x" * 20 + '"'),
    ("personal keys among nulls", line("c16", extra=',"email":"x@y.z","ip":null,"keep":null')),
    ("same event again, received later", line("c1").replace("17:00:02.500Z", "17:00:09.000Z")),
    ("offset without colon", json.dumps(web("t1", originalTimestamp="2026-11-25 18:00:00 +0530", sentAt=None))),
    ("offset with colon", json.dumps(web("t2", originalTimestamp="2026-11-25T18:00:00+05:30", sentAt=None))),
    ("offset, hours only", json.dumps(web("t3", originalTimestamp="2026-11-25T18:00:00+05", sentAt=None))),
    ("legacy SDK: display name in its area", json.dumps(web("n1", userId="u_2", context={"library": {
        "version": "3.9.0"}}, properties={"feature": "Mention", "area": "editor", "workspaceId": "ws_2"}))),
    ("a non-leaf feature", json.dumps(web("n2", userId="u_2", properties={
        "feature": "editor.comments", "action": "used", "workspaceId": "ws_2"}))),
    ("clock ahead", json.dumps(web("n3", originalTimestamp="2026-11-25T19:00:00.000Z",
                                   sentAt="2026-11-25T16:00:00.000Z"))),
    ("too late", json.dumps(web("n4", originalTimestamp="2026-11-21T17:00:00.000Z", sentAt=None))),
    # Values of other JSON types where text is expected: read as their JSON text on both engines.
    ("numeric ids", json.dumps(web(12345, userId=67, properties={"feature": "editor.comments.mention",
                                                                   "action": "used", "workspaceId": 1.50}))),
    ("boolean user, object workspace", json.dumps(web("v2", userId=True, properties={
        "feature": "editor.comments.mention", "action": {"k": [1, "x"]}, "workspaceId": {"id": "ws_1"}}))),
    ("properties not an object", json.dumps(web("v3", properties="editor.comments.mention"))),
    ("version as a number", json.dumps(web("v4", context={"library": {"version": 3.9}}))),
    ("id with spaces and upper case", json.dumps(web("  V5-ÀB  "))),
    ("escaped strings", line("v6", extra=',"q":"tab\\t \\"quoted\\" \\u00e9 \\ud83d\\ude00"')),
    ("fraction of 7 digits", json.dumps(web("v7", originalTimestamp="2026-11-25T17:00:00.1234567Z",
                                            sentAt=None))),
]
# Bytes that are not UTF-8, beside a U+FFFD a client sent: (name, bytes of the line).
BYTES: list[tuple[str, bytes]] = [
    ("U+FFFD sent, alone", line("b1", extra=',"x":"\ufffd"').encode()),
    ("invalid byte", line("b2", extra=',"x":"a').encode() + b"\xff" + b'b"}}'),
    ("a cut 4-byte character (one U+FFFD for 3 bytes)", line("b3", extra=',"x":"').encode() + b'\xf0\x9f\x98"}}'),
    ("U+FFFD sent and an invalid byte", line("b4", extra=',"x":"\ufffd').encode() + b'\xc3"}}'),
    ("U+FFFD sent twice", line("b5", extra=',"x":"\ufffd\ufffd"').encode()),
]
OTHERS = {
    # Other platforms, users, workspaces, features and days: rows in every curated table.
    ("ios", "i.jsonl", "17"): [ios("I1"), ios("I2", ts=1764090000.5, sent_ts=None, app={"version": "4.9.0"}),
                               ios("I3", feature_key="editor.comments.mention_v1", app={"version": "4.2"},
                                   ts=1764090001.25, sent_ts=None),
                               ios("I1", received_at="2025-11-25T17:00:01.000Z"),  # same id, earlier copy
                               ios("I4", ts=1e30), ios("I5", ts="1764090000123"), ios("I6", ts=True),
                               ios("I7", props=[1, 2], user={"id": "u_7", "workspace_id": "ws_7"})],
    ("android", "a.jsonl", "17"): [android("d1"), android("d2", timestamp="2026-11-25 18:00:00", appVersion="4.2.0",
                                                          sentAt=None),
                                   android("d3", workspaceId=""), android("d4", workspaceId=None),
                                   android("d5", appVersion="29385635013002076.1")],
    ("backend", "b.jsonl", "17"): [backend("e1"), backend("e2", actor={"type": "system"}),
                                   backend("e3", occurred_at="2026-11-25T17:00:00.123456Z",
                                           actor={"type": "user", "user_id": "u_1", "workspace_id": "ws_1"}),
                                   # Same event time as c1 and a later receipt: the last-seen tie-break.
                                   backend("e4", occurred_at="2026-11-25T17:00:00.000Z",
                                           feature_id="editor.comments.mention",
                                           actor={"type": "user", "user_id": "u_1", "workspace_id": "ws_9"},
                                           received_at="2026-11-25T17:00:05.000Z")],
}
LATER = {
    # Monday of the next week and the first of the next month (weeks and months of adoption).
    ("web", "w2.jsonl", "2026-11-30"): [web("m1", originalTimestamp="2026-11-30T09:00:00.000Z",
                                             sentAt="2026-11-30T09:00:01.000Z",
                                             received_at="2026-11-30T09:00:01.200Z")],
    ("web", "w3.jsonl", "2026-12-01"): [web("m2", userId="u_5", originalTimestamp="2026-12-01T00:00:00.000Z",
                                             sentAt=None, received_at="2026-12-01T00:00:03.000Z"),
                                        web("m3", originalTimestamp="2026-11-30T23:59:59.999999Z", sentAt=None,
                                            received_at="2026-12-01T00:00:04.000Z")],
}


def _norm(column: str, value: Any) -> Any:
    if value is None or (isinstance(value, bool | str | dt.date) and not isinstance(value, dt.datetime)):
        if column == "properties" and isinstance(value, str):
            return json.loads(value)
        return value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, int | float | Decimal):
        return round(float(value), 9)
    if isinstance(value, dict | list):  # a VARIANT the driver already parsed
        return value
    raise AssertionError(f"{column}: no normal form for {type(value).__name__} {value!r}")


def rows_of(w: Any, sql: str) -> tuple[list[str], Counter[str]]:
    """Column names (lower case) and the rows as a multiset, in normal form."""
    cur = w.execute(sql)
    cols = [d[0].lower() for d in cur.description]
    keep = [i for i, c in enumerate(cols) if c not in RUN_COLUMNS]
    rows = Counter(json.dumps([_norm(cols[i], r[i]) for i in keep], default=str, sort_keys=True)
                   for r in cur.fetchall())
    return [cols[i] for i in keep], rows


def line_states(w: Any) -> dict[tuple[str, int], tuple[str, str | None]]:
    rows = w.query("SELECT file_path, line_number, 'staged', NULL FROM stg_events UNION ALL "
                   "SELECT file_path, line_number, 'duplicate', NULL FROM stg_duplicates UNION ALL "
                   "SELECT file_path, line_number, 'ignored', reason FROM ignored_events UNION ALL "
                   "SELECT file_path, line_number, 'quarantined', reason FROM quarantined_events")
    out: dict[tuple[str, int], tuple[str, str | None]] = {}
    for p, n, s, r in rows:
        assert (p, int(n)) not in out, f"{p}:{n} is in two states"
        out[(p, int(n))] = (s, r)
    return out


def run_both(wh: Warehouse, fw: FakesnowWarehouse, root: Path) -> None:
    """DuckDB loads the files; on Snowflake the COPY (stand-in) writes them and `nova load` claims
    them; then stage, gate (no checks: every batch promoted), promote and curate on each."""
    reg = registry()
    load(wh, Landing(str(root)))
    snowpipe(fw, root)
    assert claim(fw, "L20261125T180100000-sf0001", LAND) == wh.scalar("SELECT COUNT(*) FROM raw_events")
    for w in (wh, fw):
        stage(w, reg)
        gate(w, checks=[])
        promote(w)
        curate(w, reg)


def assert_same_tables(wh: Warehouse, fw: FakesnowWarehouse) -> dict[tuple[str, int], tuple[str, str | None]]:
    duck, snow = line_states(wh), line_states(fw)
    assert len(duck) == wh.scalar("SELECT COUNT(*) FROM raw_events"), "a line in no state"
    diff = {k: (duck.get(k), snow.get(k)) for k in duck.keys() | snow.keys() if duck.get(k) != snow.get(k)}
    assert not diff, f"line states differ (DuckDB, Snowflake): {diff}"
    # raw_events: what each load decided per line (the text of a line with invalid bytes differs:
    # DuckDB keeps \x.. escapes, Snowflake's COPY U+FFFD; both are quarantined invalid_json).
    raw = "SELECT file_path, line_number, platform, decode_error, received_at, file_mtime FROM raw_events"
    for sql in (raw, *(f"SELECT * FROM {table}" for table in ("stg_events", "stg_duplicates", *CURATED))):
        table = sql.rsplit(" ", 1)[-1]
        cols, d_rows = rows_of(wh, sql)
        s_cols, s_rows = rows_of(fw, sql)
        assert s_cols == cols, table
        only_d, only_s = d_rows - s_rows, s_rows - d_rows
        assert not only_d and not only_s, (f"{table} ({', '.join(cols)}):\n only on DuckDB: {list(only_d)}\n"
                                           f" only on Snowflake: {list(only_s)}")
    return duck


def test_edge_cases_curate_alike_on_both_engines(wh: Warehouse, landing: Path, fake_wh: FakesnowWarehouse) -> None:
    write_landing(landing, "web", "edge.jsonl", [text for _, text in CORPUS])
    write_landing(landing, "web", "bytes.jsonl", [], raw=b"".join(b + b"\n" for _, b in BYTES))
    for (platform, name, hour), lines in OTHERS.items():
        write_landing(landing, platform, name, lines, hour=hour)
    for (platform, name, day), lines in LATER.items():
        write_landing(landing, platform, name, lines, day=day, hour="09")
    run_both(wh, fake_wh, landing)
    states = assert_same_tables(wh, fake_wh)
    for table in CURATED:  # not vacuous: every table has rows
        assert wh.scalar(f"SELECT COUNT(*) FROM {table}"), table

    # The rules themselves (docs/pipeline.md, JSON rules): strict RFC 8259; bytes, not characters.
    by_name = {n: states[("platform=web/dt=2026-11-25/hour=17/edge.jsonl", i)] for i, (n, _) in enumerate(CORPUS, 1)}
    by_name |= {n: states[("platform=web/dt=2026-11-25/hour=17/bytes.jsonl", i)] for i, (n, _) in enumerate(BYTES, 1)}
    invalid = ("two objects, a space between", "two objects, a tab between", "an object then garbage",
               "empty line", "a JSON string", "duplicate key, top level", "duplicate key, nested",
               "duplicate key, once escaped", "NaN as a number",
               "-Infinity as a number", "two objects on a line", "array, not an object", "invalid byte",
               "a cut 4-byte character (one U+FFFD for 3 bytes)", "U+FFFD sent and an invalid byte")
    for name in invalid:
        assert by_name[name] == ("quarantined", "invalid_json"), name
    for name in ("plain", "NaN inside a string", "huge integer", "replacement character sent", "nested nulls",
                 "escaped unicode key", "offset without colon", "offset with colon", "offset, hours only",
                 "U+FFFD sent, alone", "U+FFFD sent twice", "legacy SDK: display name in its area", "numeric ids",
                 "boolean user, object workspace", "version as a number", "id with spaces and upper case",
                 "escaped strings", "fraction of 7 digits", "padded object"):
        assert by_name[name] == ("staged", None), name
    assert by_name["null user"] == ("quarantined", "missing_user_id")
    assert by_name["properties not an object"] == ("quarantined", "missing_workspace_id")
    assert by_name["same event again, received later"] == ("duplicate", None)
    assert by_name["too late"] == ("quarantined", "too_late")
    # Offsets read alike: 18:00 at +05:30 is 12:30 UTC, whether written +0530 or +05:30.
    assert {r[0] for r in wh.query("SELECT event_ts FROM stg_events WHERE event_id IN ('t1', 't2')")} == {
        dt.datetime(2026, 11, 25, 12, 30)}


def test_generated_traffic_curates_alike(wh: Warehouse, tmp_path: Path, fake_wh: FakesnowWarehouse) -> None:
    from traffic import generate
    from traffic.definition import GeneratorConfig

    out = tmp_path / "gen"
    generate(GeneratorConfig(out=out, start=dt.date(2026, 11, 24), days=1, events_per_day=400, seed=7))
    run_both(wh, fake_wh, out)
    states = assert_same_tables(wh, fake_wh)
    assert len(states) > 300
    assert {s for s, _ in states.values()} >= {"staged", "duplicate", "quarantined", "ignored"}


def test_the_claim_tells_a_sent_replacement_character_from_invalid_bytes(landing: Path,
                                                                          fake_wh: FakesnowWarehouse) -> None:
    """Point 11: the COPY flags every line holding U+FFFD; the claim keeps the flag only where the
    file's bytes were not UTF-8 (docs/snowflake.md, The claim, step 2)."""
    write_landing(landing, "web", "u.jsonl", [], raw=b"".join(b + b"\n" for _, b in BYTES) + b"plain\n")
    write_landing(landing, "ios", "clean.jsonl", [ios("I1")])
    snowpipe(fake_wh, landing)
    flags = "SELECT file_path, line_number, decode_error FROM raw_events ORDER BY 1, 2"
    copied = [(n, bad) for p, n, bad in fake_wh.query(flags) if p.endswith("u.jsonl")]
    assert copied == [(1, True), (2, True), (3, True), (4, True), (5, True), (6, False)]  # the COPY's guess
    claim(fake_wh, "L20261125T180100000-sf0002", LAND)
    claimed = {(p.rsplit("/", 1)[-1], n): bad for p, n, bad in fake_wh.query(flags)}
    assert claimed == {("u.jsonl", 1): False, ("u.jsonl", 2): True, ("u.jsonl", 3): True, ("u.jsonl", 4): True,
                       ("u.jsonl", 5): False, ("u.jsonl", 6): False, ("clean.jsonl", 1): False}
