"""Property (issue 18): whatever a line holds, the staging SQL classifies it, exactly once, and a
line it lets through is within every bound. Lines are built from the wire formats of the four
platforms (tests/pipeline/helpers.py) with arbitrary values in every field the contracts read,
then mutated (truncated, bytes spliced in, re-encoded, fields dropped or retyped). Many lines go
through one staging call per example, through the real load expression and the real SQL."""

from __future__ import annotations

import collections
import datetime as dt
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import Settings
from pipeline.landing import FileLines, LandingFile, received_tails, split_lines_arrow
from pipeline.load import _insert_chunk
from pipeline.stage import CLASSIFIED, _classify_into_temp, sync_feature_lookup
from pipeline.stage_audit import broken_rule
from tests.pipeline.helpers import android, backend, ios, web
from warehouse.session import open_warehouse

ARRIVAL = dt.datetime(2026, 11, 25, 18, 0)
REASONS = {"invalid_json", "out_of_scope", "missing_event_id", "missing_user_id", "missing_workspace_id",
           "missing_feature", "missing_timestamp", "unknown_feature", "invalid_timestamp", "too_late",
           "unknown_platform", "missing_field"}
BUILDERS = {"web": web, "ios": ios, "android": android, "backend": backend}
# Fields the contracts read, per platform (top-level or nested), the targets of the mutations.
FIELDS = {
    "web": [("messageId",), ("userId",), ("properties", "workspaceId"), ("properties", "feature"),
            ("originalTimestamp",), ("sentAt",), ("received_at",), ("type",), ("event",),
            ("context", "library", "version"), ("properties",)],
    "ios": [("event_id",), ("user", "id"), ("user", "workspace_id"), ("feature_key",), ("ts",), ("sent_ts",),
            ("received_at",), ("name",), ("app", "version"), ("props",)],
    "android": [("eventId",), ("userId",), ("workspaceId",), ("featureId",), ("timestamp",), ("sentAt",),
                ("received_at",), ("eventName",), ("appVersion",), ("properties",)],
    "backend": [("id",), ("actor", "user_id"), ("actor", "workspace_id"), ("feature_id",), ("occurred_at",),
                ("received_at",), ("type",), ("actor", "type"), ("schema_version",), ("attributes",)],
}

near = st.datetimes(min_value=dt.datetime(2025, 11, 1), max_value=dt.datetime(2027, 12, 1))
anywhen = st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59))
offsets = st.sampled_from(["Z", "", "+00:00", "+05:30", " +0530", "-0800", "+14", "+24:00", " UTC", "z"])
iso_text = st.builds(lambda t, off, sep: t.isoformat(sep=sep) + off, st.one_of(near, anywhen), offsets,
                     st.sampled_from(["T", " "]))
times = st.one_of(
    iso_text,
    st.sampled_from(["infinity", "-infinity", "NaN", "epoch", "now", "2026-02-30T10:00:00Z", "0000-01-01T00:00:00Z",
                     "2026-11-25", "", " "]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any, drop: bool = False) -> None:
    for key in path[:-1]:
        child = doc.get(key)
        if not isinstance(child, dict):
            child = doc[key] = {}
        doc = child
    if drop:
        doc.pop(path[-1], None)
    else:
        doc[path[-1]] = value


@st.composite
def lines(draw: st.DrawFn) -> tuple[str, bytes]:
    platform = draw(st.sampled_from(sorted(BUILDERS)))
    doc = BUILDERS[platform](draw(st.text(min_size=1, max_size=12)))
    doc["received_at"] = draw(st.one_of(iso_text, st.just("2026-11-25T17:30:00Z")))
    for path in draw(st.lists(st.sampled_from(FIELDS[platform]), max_size=4)):
        kind = draw(st.sampled_from(["time", "value", "drop"]))
        _set(doc, path, draw(times) if kind == "time" else draw(json_values), drop=kind == "drop")
    text = json.dumps(doc, allow_nan=True, ensure_ascii=draw(st.booleans()))
    data = text.encode("utf-8", "surrogatepass")
    mutation = draw(st.sampled_from(["none", "none", "truncate", "splice", "utf16", "bom", "duplicate_key"]))
    if mutation == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif mutation == "splice":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=6)) + data[at:]
    elif mutation == "utf16":
        data = text.encode("utf-16", "surrogatepass")
    elif mutation == "bom":
        data = b"\xef\xbb\xbf" + data
    elif mutation == "duplicate_key":
        data = data[:-1] + b', "received_at": "9999-12-31T23:59:59Z"}'
    return platform, data.replace(b"\n", b" ").replace(b"\r", b" ")


@pytest.fixture(scope="module")
def warehouse() -> Any:
    from contracts.registry import load_registry
    from tests.conftest import REPO

    reg = load_registry(REPO / "contracts")
    wh = open_warehouse(Settings(warehouse_url="duckdb:///:memory:", contracts_path=str(REPO / "contracts")))
    sync_feature_lookup(wh, reg)
    yield wh, reg
    wh.close()


COUNTER = iter(range(10**9))
SEEN: collections.Counter = collections.Counter()


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(lines(), min_size=20, max_size=60))
def test_every_line_is_classified_once_and_staged_rows_are_within_bounds(warehouse: Any, batch: list) -> None:
    wh, reg = warehouse
    load_id = f"Lprop{next(COUNTER)}"
    chunk = []
    for i, platform in enumerate(sorted({p for p, _ in batch})):
        body = b"".join(data + b"\n" for p, data in batch if p == platform)
        text, errors = split_lines_arrow(body)
        f = LandingFile(f"platform={platform}/dt=2026-11-25/hour=17/f{i}.jsonl", len(body), ARRIVAL)
        chunk.append((f, FileLines(text, errors, "", "", received_tails(text))))
    _insert_chunk(wh, load_id, chunk)
    expected = {(f.rel_path, n) for f, fl in chunk for n in range(1, len(fl.lines) + 1)}
    assert len(expected) == len(batch) == sum(len(fl.lines) for _, fl in chunk)

    _classify_into_temp(wh, reg, f"SELECT * FROM raw_events WHERE load_id = '{load_id}'")
    rows = wh.query(f"SELECT file_path, line_number, reason FROM {CLASSIFIED}")
    assert len(rows) == len(expected) and {(p, n) for p, n, _ in rows} == expected  # each line exactly once
    assert {r for _, _, r in rows} <= REASONS | {None}
    SEEN.update(r for _, _, r in rows)
    broken = wh.query(f"SELECT file_path, line_number, {broken_rule(wh.engine, reg.rules)} AS why FROM {CLASSIFIED} "
                      f"WHERE reason IS NULL AND ({broken_rule(wh.engine, reg.rules)}) IS NOT NULL")
    assert broken == []
    # The received_at of every line, staged or not, is within the hour after the file's arrival
    # and at most a year before it.
    lo, hi = ARRIVAL - dt.timedelta(days=366), ARRIVAL + dt.timedelta(hours=1)
    for (received,) in wh.query(f"SELECT received_at FROM {CLASSIFIED} WHERE received_at IS NOT NULL"):
        assert lo <= received <= hi
    for drift, event_date in wh.query(f"SELECT drift_seconds, event_date FROM {CLASSIFIED} WHERE reason IS NULL"):
        assert math.isfinite(drift) and isinstance(event_date, dt.date)
    wh.execute(f"DROP TABLE {CLASSIFIED}")
    wh.execute("DELETE FROM raw_events WHERE load_id = ?", [load_id])


def test_the_property_is_not_vacuous() -> None:
    """The generated lines stage, and fail in many ways (outcomes seen by the property above)."""
    if not SEEN:
        pytest.skip("runs after the property test")
    assert SEEN[None] > 0 and {"invalid_json", "invalid_timestamp"} <= set(SEEN), SEEN
