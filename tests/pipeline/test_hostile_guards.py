"""Issue 18: every time bounded, no impossible staged row, no failing step freezing the pipeline."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb
import pytest

import pipeline.curate.run as curate_run
import pipeline.stage as stage_mod
from pipeline.curate.definition import Scope
from pipeline.reconcile import adds_up, reconcile
from tests.conftest import write_landing
from tests.pipeline.helpers import android, backend, ios, line_states, load_and_run, web
from warehouse.engine import DuckDBEngine

D = dt.datetime
E = DuckDBEngine()


# --- the one language of times, on DuckDB (the Snowflake rendering follows the same pattern) ------
@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-25T17:00:00.123Z", D(2026, 11, 25, 17, 0, 0, 123000)),
    ("2026-11-25 18:00:00", D(2026, 11, 25, 18)),
    ("2026-11-25T18:00", D(2026, 11, 25, 18)),
    ("2026-11-25 18:00:00 +0530", D(2026, 11, 25, 12, 30)),  # issue 17 point 8: read with its offset
    ("2026-11-25T18:00:00+0530", D(2026, 11, 25, 12, 30)),
    ("2026-11-25T18:00:00+05:30", D(2026, 11, 25, 12, 30)),
    ("2026-11-25T18:00:00-05", D(2026, 11, 25, 23)),
    ("2026-11-25T18:00:00.123456789Z", D(2026, 11, 25, 18, 0, 0, 123456)),
    ("infinity", None), ("-infinity", None), ("epoch", None), ("now", None), ("1 BC", None),
    ("0001-01-01 BC", None), ("10000-01-01T00:00:00Z", None), ("2026-02-29T00:00:00Z", None),
    ("2026-02-30T00:00:00Z", None), ("2026-11-25T24:00:00Z", None), ("2026-11-25T18:00:00+24:00", None),
    ("2026-11-25T18:00:00 America/New_York", None), ("2026-11-25T18:00:00 UTC", None), ("2026-11-25", None),
    (" 2026-11-25T18:00:00Z", None), ("2026-11-25t18:00:00z", None), ("1764090000", None), ("", None),
])
def test_iso_times_one_language(text: str, expected: dt.datetime | None) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    assert con.execute(f"SELECT {E.try_iso_timestamp('t')} FROM (SELECT ? AS t)", [text]).fetchone()[0] == expected


@pytest.mark.parametrize(("text", "ok"), [
    ("1764090000123", True), ("1764090000.5", True), ("1.7e12", True), ("-5", True),
    ("NaN", False), ("Infinity", False), ("-Infinity", False), ("0x1F", False), ("1_000", False),
    (" 12 ", False), ("", False), ("1e", False),
])
def test_epoch_numbers_as_json_writes_them(text: str, ok: bool) -> None:
    value = duckdb.connect().execute(f"SELECT {E.try_epoch_number('t')} FROM (SELECT ? AS t)", [text]).fetchone()[0]
    assert (value is not None) == ok


# --- the bounds through the pipeline -------------------------------------------------------------
def test_impossible_client_times_are_invalid_timestamp_on_every_platform(wh, registry, landing):
    bad = ["infinity", "-infinity", "0001-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
           "2024-11-25T17:00:00Z", "2028-01-01T00:00:00Z", "2026-02-30T10:00:00Z"]
    for i, t in enumerate(bad):
        write_landing(landing, "web", f"w{i}.jsonl", [web(f"w{i}", originalTimestamp=t)])
        write_landing(landing, "android", f"a{i}.jsonl", [android(f"a{i}", timestamp=t)])
        write_landing(landing, "backend", f"b{i}.jsonl", [backend(f"b{i}", occurred_at=t)])
    nan_lines = [json.dumps(ios("I1")).replace("1764090000123", v) for v in ("NaN", "Infinity", "-Infinity", "1e400")]
    write_landing(landing, "ios", "i.jsonl", [*nan_lines, ios("I5", ts="Infinity"), ios("I6", ts=-1)])
    load_and_run(wh, registry, landing)
    states = line_states(wh)
    assert len(states) == 3 * len(bad) + 6
    # docs/pipeline.md, JSON rules: NaN / Infinity written as bare numbers are not JSON (invalid_json on
    # both engines); 1e400 is a JSON number but not a time, and the strings and -1 are not times either.
    bare_non_numbers = {("i.jsonl", n) for n in (1, 2, 3)}
    assert {k: v for k, v in states.items() if k in bare_non_numbers} == dict.fromkeys(
        bare_non_numbers, ("quarantined", "invalid_json")), states
    assert {v for k, v in states.items() if k not in bare_non_numbers} == {("quarantined", "invalid_timestamp")}, states


def test_implausible_send_time_is_ignored_and_received_at_far_from_arrival_is_not_trusted(wh, registry, landing):
    write_landing(landing, "web", "f.jsonl", [
        web("s1", sentAt="infinity"),  # treated as absent: event_ts = client time
        web("s2", sentAt="0001-01-01T00:00:00Z"),
        web("r1", received_at="9999-12-31T23:59:59Z"),  # not the collector's: the file's arrival
        web("r2", received_at="2026-11-25T19:30:00Z"),  # 1.5 h after the file arrived: not trusted
        web("r3", received_at="2026-11-25T18:30:00Z"),  # within the hour: trusted
    ], mtime=D(2026, 11, 25, 18, 0, tzinfo=dt.UTC))
    load_and_run(wh, registry, landing)
    rows = {r["event_id"]: r for r in wh.query_dicts("SELECT * FROM stg_events")}
    assert rows["s1"]["sent_at"] is None and rows["s1"]["event_ts"] == D(2026, 11, 25, 17)
    assert rows["s2"]["sent_at"] is None
    assert rows["r1"]["received_at"] == rows["r2"]["received_at"] == D(2026, 11, 25, 18)
    assert rows["r3"]["received_at"] == D(2026, 11, 25, 18, 30)
    assert {r["event_date"] for r in rows.values()} == {dt.date(2026, 11, 25)}


# --- the staged layer cannot hold an impossible row -------------------------------------------
def test_staged_keys_are_declared_not_null(wh):
    with pytest.raises(duckdb.ConstraintException, match="event_date"):
        wh.execute("INSERT INTO stg_events (event_id, feature_id, user_id, workspace_id, platform, client_ts, "
                   "received_at, event_ts, event_date, load_id, file_path, line_number) VALUES "
                   "('e', 'editor', 'u', 'w', 'web', now(), now(), now(), NULL, 'L', 'f', 1)")


def _bug_on_line(line: int, column: str, value: str) -> Any:
    """A staging SQL with a bug: line `line` gets `value` as `column` (as a broken release would)."""
    original = stage_mod.classify_sql

    def broken(*args: Any) -> str:
        return (f"SELECT * REPLACE (CASE WHEN line_number = {line} THEN {value} ELSE {column} END AS {column}) "
                f"FROM ({original(*args)}) x")
    return broken


@pytest.mark.parametrize(("column", "value"), [
    ("event_date", "NULL"), ("event_date", "DATE 'infinity'"), ("event_ts", "TIMESTAMP '0001-01-01'"),
    ("user_id", "NULL"), ("client_ts", "TIMESTAMP 'infinity'"),
])
def test_a_staging_bug_fails_loudly_on_its_line_and_the_rest_goes_on(wh, registry, landing, monkeypatch,
                                                                      column, value):
    monkeypatch.setattr(stage_mod, "classify_sql", _bug_on_line(2, column, value))
    write_landing(landing, "web", "f.jsonl", [web("m1"), web("m2"), web("m3")])
    res = load_and_run(wh, registry, landing)
    states = line_states(wh)
    assert states[("f.jsonl", 2)] == ("quarantined", "stage_error")
    assert states[("f.jsonl", 1)] == states[("f.jsonl", 3)] == ("staged", None)
    [failure] = res["failures"]
    assert failure.batch_id.endswith("/web") and failure.lines == ["platform=web/dt=2026-11-25/hour=17/f.jsonl:2"]
    [row] = wh.query_dicts("SELECT * FROM check_results WHERE source = 'pipeline'")
    assert row["outcome"] == "failed" and row["batch_id"] == failure.batch_id and row["platform"] == "web"
    detail = json.loads(row["detail"])
    assert detail["lines"] == failure.lines and "impossible" in detail["error"]
    raw = wh.scalar("SELECT raw_line FROM quarantined_events WHERE reason = 'stage_error'")
    assert '"m2"' in raw  # the line itself, for whoever looks at it
    assert wh.scalar("SELECT COUNT(*) FROM fct_feature_events") == 2
    assert all(adds_up(r) for r in reconcile(wh)["loads"])


def test_a_load_whose_staging_fails_does_not_block_the_others(wh, registry, landing, monkeypatch):
    from pipeline.landing import Landing
    from pipeline.load import load

    write_landing(landing, "web", "a.jsonl", [web("m1")])
    bad_load = load(wh, Landing(str(landing))).load_id
    write_landing(landing, "ios", "b.jsonl", [ios("I1")])
    load(wh, Landing(str(landing)))
    original = stage_mod._classify_into_temp

    def fails_on_bad_load(w: Any, reg: Any, input_sql: str) -> None:
        if bad_load in input_sql:
            raise RuntimeError("Out of Memory Error: could not allocate block")
        original(w, reg, input_sql)
    monkeypatch.setattr(stage_mod, "_classify_into_temp", fails_on_bad_load)
    from pipeline.cli import run_pipeline

    res = run_pipeline(wh, registry)
    assert {r[0] for r in wh.query("SELECT event_id FROM stg_events")} == {"i1"}
    [failure] = res["failures"]
    assert failure.batch_id == f"{bad_load}/web" and "Out of Memory" in failure.error
    assert failure.lines == ["platform=web/dt=2026-11-25/hour=17/a.jsonl:1"]
    assert wh.scalar("SELECT note FROM batches WHERE load_id = ?", [bad_load]).startswith("stage failed")
    assert wh.scalar("SELECT COUNT(*) FROM check_results WHERE check_name = 'stage_failed'") == 1
    # The cause goes away (more memory): the next run stages the waiting batch.
    monkeypatch.setattr(stage_mod, "_classify_into_temp", original)
    assert run_pipeline(wh, registry)["failures"] == []
    assert {r[0] for r in wh.query("SELECT event_id FROM stg_events")} == {"i1", "m1"}


def test_a_date_that_fails_to_curate_keeps_its_changes_and_the_others_are_curated(wh, registry, landing,
                                                                                   monkeypatch):
    write_landing(landing, "web", "f.jsonl", [
        web("m1"), web("m2", originalTimestamp="2026-11-24T17:00:00.000Z", sentAt="2026-11-24T17:00:02.000Z",
                       received_at="2026-11-24T17:00:02.500Z")])
    original = curate_run.run_models

    def fails_on_the_24th(w: Any, models: Any, scope: Scope, *a: Any, **kw: Any) -> Any:
        if dt.date(2026, 11, 24) in scope.dates:
            raise RuntimeError("Conversion Error: boom")
        return original(w, models, scope, *a, **kw)
    monkeypatch.setattr(curate_run, "run_models", fails_on_the_24th)
    res = load_and_run(wh, registry, landing)
    assert [f.scope for f in res["failures"]] == ["event_date 2026-11-24"]
    assert res["failures"][0].lines == ["platform=web/dt=2026-11-25/hour=17/f.jsonl:2"]
    assert {r[0] for r in wh.query("SELECT event_id FROM fct_feature_events")} == {"m1"}
    assert {r[0] for r in wh.query("SELECT DISTINCT event_date FROM pending_changes")} == {dt.date(2026, 11, 24)}
    assert wh.scalar("SELECT COUNT(*) FROM check_results WHERE check_name = 'curate_failed'") == 1
    monkeypatch.setattr(curate_run, "run_models", original)
    from pipeline.cli import run_pipeline

    assert run_pipeline(wh, registry)["failures"] == []
    assert {r[0] for r in wh.query("SELECT event_id FROM fct_feature_events")} == {"m1", "m2"}


def test_scope_names_impossible_dates_instead_of_a_type_error():
    with pytest.raises(ValueError, match="impossible partition date"):
        Scope.of_dates([dt.date(2026, 11, 25), "0001-01-01 (BC)", None])  # type: ignore[list-item]


def test_a_blocking_check_that_cannot_run_holds_only_its_batch(wh, registry, landing, monkeypatch):
    from pipeline.landing import Landing
    from pipeline.load import load

    write_landing(landing, "web", "a.jsonl", [web("m1")])
    first = load(wh, Landing(str(landing))).load_id
    write_landing(landing, "ios", "b.jsonl", [ios("I1")])
    second = load(wh, Landing(str(landing))).load_id

    # The gate calls each evaluator once per load with that load's batch ids (`<load_id>/<platform>`).
    def explodes_on_first(w: Any, batch_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        if any(b.startswith(f"{first}/") for b in batch_ids):
            raise ZeroDivisionError("division by zero")
        return {b: [] for b in batch_ids}
    monkeypatch.setattr(stage_mod, "BLOCKING_CHECKS", [explodes_on_first])
    from pipeline.cli import run_pipeline

    res = run_pipeline(wh, registry)
    assert res["gate"] == {f"{first}/web": "held", f"{second}/ios": "promoted"}
    checks = json.loads(wh.scalar("SELECT checks FROM batches WHERE load_id = ?", [first]))
    assert "could not run" in checks[0]["detail"]
    assert {r[0] for r in wh.query("SELECT event_id FROM fct_feature_events")} == {"i1"}


# --- JSON strictness on DuckDB: where duplicate keys are looked for (docs/pipeline.md, JSON rules) ---
@pytest.mark.parametrize(("raw", "strict_fails"), [
    ('{"a":1,"a":2}', True),  # top level
    ('{"properties":{"x":1,"x":2}}', True),  # an object the contract reads from
    ('{"device":{"screen":{"w":1,"w":2}}}', True),  # a read path's grandparent
    ('{"x":{"id":1},"id":2}', False),  # the same name in two objects is no duplicate
    ('{"other":{"x":1,"x":2}}', False),  # no field is read from `other`: documented engine difference
    ('{"properties":"text"}', False), ('{"properties":[1,1]}', False),
    ('{"a":NaN}', True), ('{"a":-Infinity}', True), ('{"a":"NaN and Infinity"}', False), ('{"info":1}', False),
    ('{"a":1', False), ("not json", False),
])
def test_duplicate_keys_are_looked_for_in_the_objects_read(raw: str, strict_fails: bool) -> None:
    expr = E.json_not_strict("raw", ["properties.docId", "device.screen.width", "eventId"])
    assert duckdb.connect().execute(f"SELECT {expr} FROM (SELECT ? AS raw)", [raw]).fetchone()[0] is strict_fails
