"""No line may be a poison pill (issue 18): a corpus of 10,400 malformed lines on the four
platforms (traffic/hostile.py) through `nova load`, `nova run` (stage, gate, promote, curate) and
`nova reconcile`, as a user runs them. No command crashes, every line ends in exactly one state
with a reason, the counts add up, every staged row is within the time bounds, and the curated
layer keeps updating on the runs after it."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
from pathlib import Path

import duckdb
import pytest

from tests.conftest import write_landing
from tests.e2e.test_pipeline_cli import nova
from tests.pipeline.helpers import web
from traffic import hostile

LINES_PER_PLATFORM = 2600

# Every staged copy (kept or duplicate) against the bounds of docs/pipeline.md ("Times").
OUT_OF_BOUNDS = """
SELECT s.file_path, s.line_number FROM (SELECT * FROM stg_events UNION ALL SELECT * FROM stg_duplicates) s
JOIN raw_events r USING (load_id, file_path, line_number)
WHERE NOT COALESCE(
      s.event_id <> '' AND s.user_id IS NOT NULL AND s.workspace_id IS NOT NULL AND s.feature_id IS NOT NULL
  AND s.platform IS NOT NULL
  AND s.received_at BETWEEN r.file_mtime - INTERVAL 366 DAY AND r.file_mtime + INTERVAL 1 HOUR
  AND s.client_ts BETWEEN s.received_at - INTERVAL 366 DAY AND s.received_at + INTERVAL 366 DAY
  AND (s.sent_at IS NULL OR s.sent_at BETWEEN s.received_at - INTERVAL 366 DAY AND s.received_at + INTERVAL 366 DAY)
  AND s.event_ts BETWEEN s.received_at - INTERVAL 72 HOUR AND s.received_at + INTERVAL 5 MINUTE
  AND s.event_date = CAST(s.event_ts AS DATE) AND isfinite(s.event_ts) AND isfinite(s.event_date)
  AND isfinite(s.drift_seconds), FALSE)
"""
STATES = """
SELECT file_path, line_number, 'staged', NULL FROM stg_events UNION ALL
SELECT file_path, line_number, 'duplicate', NULL FROM stg_duplicates UNION ALL
SELECT file_path, line_number, 'pending', NULL FROM stg_pending UNION ALL
SELECT file_path, line_number, 'ignored', reason FROM ignored_events UNION ALL
SELECT file_path, line_number, 'quarantined', reason FROM quarantined_events
"""


def _db() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(os.environ["NOVA_WAREHOUSE_URL"].removeprefix("duckdb:///"), read_only=True)


def _ok(*args: str) -> str:
    res = nova(*args)
    assert res.returncode == 0, f"nova {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
    assert "Traceback" not in res.stderr + res.stdout
    return res.stdout


@pytest.fixture(scope="module")
def corpus() -> hostile.Corpus:
    return hostile.build(LINES_PER_PLATFORM, seed=18)


def test_corpus_covers_every_kind_on_every_platform(corpus: hostile.Corpus) -> None:
    lines = corpus.lines()
    assert len(lines) >= 10_000
    per_platform = {(ln.platform, ln.kind) for _, _, ln in lines}
    assert per_platform == {(p, k) for p in hostile.PLATFORMS for k in hostile.KINDS}
    # Deterministic: the same seed gives the same bytes.
    again = hostile.build(LINES_PER_PLATFORM, seed=18)
    assert [ln.data for _, _, ln in again.lines()[:500]] == [ln.data for _, _, ln in lines[:500]]


def test_hostile_corpus_through_the_cli(corpus: hostile.Corpus) -> None:
    landing = Path(os.environ["NOVA_LANDING_PATH"])
    hostile.write(corpus, landing)
    _ok("load")
    first = _ok("run")
    assert "curated:" in first
    # The gate holds every platform's part: a corpus that is mostly broken is what a bad release
    # looks like. Holding is an outcome, not a freeze: the counts add up, and a person releases it.
    gated = json.loads(_ok("reconcile", "--json"))
    assert gated["held"] == gated["received"] == len(corpus.lines()) and gated["pending"] == 0
    _ok("batches", "release", "--all")
    assert "curated:" in _ok("run")

    rec = json.loads(_ok("reconcile", "--json"))
    q = sum(rec["quarantined"].values())
    assert rec["received"] == len(corpus.lines())
    assert rec["received"] == rec["staged"] + rec["duplicate"] + rec["ignored"] + rec["held"] + q
    assert rec["pending"] == 0 and rec["held"] == 0

    with _db() as con:
        states: dict[tuple[str, int], tuple[str, str | None]] = {}
        for path, n, state, reason in con.execute(STATES).fetchall():
            assert (path, n) not in states, f"{path}:{n} is in two states"
            states[(path, n)] = (state, reason)
        assert con.execute(OUT_OF_BOUNDS).fetchall() == []
        no_reason = "SELECT COUNT(*) FROM quarantined_events WHERE reason IS NULL OR reason = ''"
        assert con.execute(no_reason).fetchone() == (0,)
        curated = con.execute("SELECT COUNT(*), MIN(event_date), MAX(event_date) FROM fct_feature_events").fetchone()

    wrong = collections.Counter()
    for path, n, line in corpus.lines():
        assert (path, n) in states, f"{path}:{n} ({line.kind}) is in no state"
        state = states[(path, n)]
        allowed = hostile.expected_outcome(line.kind)
        if state[0] == "duplicate":
            state = ("staged", None)  # hostile ids collide: a copy of a valid event
        if allowed is not None and state not in allowed:
            wrong[(line.platform, line.kind, state)] += 1
    assert not wrong, wrong
    # Every kind ended somewhere sensible: the valid share and the good times in every offset form
    # were curated, the impossible times were not.
    assert curated[0] > 0 and curated[1] == curated[2] == dt.date(2026, 11, 25)

    # The runs after it work, and the curated layer keeps updating.
    assert "nothing new" in _ok("load")
    _ok("run")
    write_landing(landing, "web", "after.jsonl", [web("after-1", received_at="2026-11-25T17:59:00Z")], hour="18")
    _ok("load")
    _ok("run")
    with _db() as con:
        assert con.execute("SELECT COUNT(*) FROM fct_feature_events WHERE event_id = 'after-1'").fetchone() == (1,)


def test_a_warehouse_poisoned_by_an_older_release_recovers_on_the_next_run() -> None:
    """What the issue's user had: staged rows with NULL, infinite and BC dates that made every
    `nova run` crash in curate. The upgrade's first run moves them to quarantine (stage_error),
    says so (exit 4, naming the lines), declares NOT NULL, and curate runs again."""
    landing = Path(os.environ["NOVA_LANDING_PATH"])
    write_landing(landing, "web", "f.jsonl", [web(f"m{i}", received_at="2026-11-25T17:59:00Z") for i in range(1, 6)])
    _ok("load")
    _ok("run")
    db = os.environ["NOVA_WAREHOUSE_URL"].removeprefix("duckdb:///")
    with duckdb.connect(db) as con:  # the older release: no constraint, and it staged these
        for table in ("stg_pending", "stg_events", "stg_duplicates"):
            con.execute(f"ALTER TABLE {table} ALTER COLUMN event_date DROP NOT NULL")
        for n, date in ((2, "NULL"), (3, "DATE 'infinity'"), (4, "DATE '0001-01-01 (BC)'")):
            con.execute(f"UPDATE stg_events SET event_date = {date} WHERE line_number = {n}")
            con.execute("INSERT INTO pending_changes (event_date, workspace_id, user_id, change, created_at) "
                        f"VALUES ({date}, 'ws_001', 'u_0001', 'added', now())")
    res = nova("run")
    assert res.returncode == 4, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert "stg_events" in res.stderr and "f.jsonl:2" in res.stderr and "f.jsonl:4" in res.stderr
    _ok("run")  # nothing left to repair
    rec = json.loads(_ok("reconcile", "--json"))
    assert rec["quarantined"] == {"stage_error": 3} and rec["staged"] == 2
    with _db() as con:
        assert con.execute("SELECT is_nullable FROM information_schema.columns WHERE table_name = 'stg_events' "
                           "AND column_name = 'event_date'").fetchone() == ("NO",)
        assert con.execute("SELECT COUNT(*) FROM check_results WHERE source = 'pipeline'").fetchone() == (1,)
    write_landing(landing, "web", "g.jsonl", [web("m9", received_at="2026-11-25T17:59:00Z")])
    _ok("load")
    _ok("run")
    with _db() as con:
        assert con.execute("SELECT COUNT(*) FROM fct_feature_events WHERE event_id = 'm9'").fetchone() == (1,)
