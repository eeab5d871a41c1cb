"""Incremental equals full (ARCHITECTURE invariant 3), and both equal SEMANTICS.

Random sequences of staged inserts, removals, late earlier copies taking over an event_id and
GDPR erasures, with pending_changes written as the staging layer writes them and curate runs in
between. After the last run every curated (and intermediate) table must equal `rebuild_all`,
and the public tables must equal a plain-Python reading of SEMANTICS.md.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.settings import Settings
from contracts.registry import load_registry
from pipeline.curate import curate, rebuild_all
from pipeline.curate.definition import CURATED_TABLES, WORK_TABLES, month_start, week_start
from pipeline.curate.dim import chains
from tests.conftest import REPO
from tests.pipeline.stg_factory import erase_user, event, insert, remove, rows
from warehouse.session import Warehouse, open_warehouse

REGISTRY = load_registry(REPO / "contracts")
# Fri 27 Nov .. Wed 2 Dec 2026: crosses an ISO week (Mon 30 Nov) and a month boundary.
DATES = [dt.date(2026, 11, 27) + dt.timedelta(days=i) for i in range(6)]
FEATURES = ["editor.comments.mention", "editor.comments.reply", "editor.comments", "editor.text.bold", "editor"]
USERS, WORKSPACES, PLATFORMS = ["u1", "u2", "u3"], ["w1", "w2"], ["web", "ios"]
PUBLIC = ["fct_feature_events", "feature_usage_daily", "feature_usage_weekly", "feature_adoption_by_workspace",
          "user_feature_last_seen"]
COMPARED = [*PUBLIC, *(t.name for t in CURATED_TABLES if t.name.startswith("int_"))]

# Few distinct times, so that ties on event_ts and received_at happen.
attrs = st.fixed_dictionaries({
    "feature": st.sampled_from(FEATURES), "user": st.sampled_from(USERS), "ws": st.sampled_from(WORKSPACES),
    "platform": st.sampled_from(PLATFORMS), "day": st.sampled_from(DATES), "hour": st.sampled_from([0, 12, 23]),
    "lag": st.sampled_from([1, 2]),
})
ops = st.lists(st.one_of(
    st.tuples(st.just("add"), attrs),
    st.tuples(st.just("remove"), st.integers(0, 99)),
    st.tuples(st.just("replace"), st.integers(0, 99), attrs),
    st.tuples(st.just("erase"), st.sampled_from(USERS)),
    st.tuples(st.just("curate")),
), min_size=1, max_size=25)

@pytest.fixture(scope="module")
def shared() -> Iterator[Warehouse]:
    """One in-memory warehouse for all examples (opening one costs more than an example)."""
    with open_warehouse(Settings(warehouse_url="duckdb:///:memory:")) as wh:
        yield wh


def emptied(wh: Warehouse) -> Warehouse:
    for table in ("stg_events", "pending_changes", *(t.name for t in (*CURATED_TABLES, *WORK_TABLES))):
        if wh.table_exists(table):
            wh.execute(f"DELETE FROM {table}")
    return wh


def make(event_id: str, a: dict[str, Any]) -> dict[str, Any]:
    at = dt.datetime.combine(a["day"], dt.time(a["hour"]))
    return event(event_id, feature=a["feature"], user=a["user"], ws=a["ws"], platform=a["platform"], at=at,
                 received=at + dt.timedelta(seconds=a["lag"]))


def apply(wh: Warehouse, steps: list[tuple[Any, ...]]) -> None:
    live: list[str] = []
    for n, step in enumerate(steps):
        kind = step[0]
        if kind == "add":
            insert(wh, [make(f"e{n}", step[1])])
            live.append(f"e{n}")
        elif kind in ("remove", "replace") and live:
            eid = live[step[1] % len(live)]
            remove(wh, [eid])
            if kind == "replace":  # an earlier copy took over: same id, other values
                insert(wh, [make(eid, step[2])])
            else:
                live.remove(eid)
        elif kind == "erase":
            erase_user(wh, step[1])
            gone = {r[0] for r in wh.query("SELECT event_id FROM stg_events")}
            live = [e for e in live if e in gone]
        elif kind == "curate":
            curate(wh, REGISTRY)


def semantics(wh: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    """The public tables as SEMANTICS.md defines them, computed in Python from stg_events."""
    events = wh.query_dicts("SELECT * FROM stg_events")
    up = chains(REGISTRY.catalog)
    usage: dict[str, dict[tuple[Any, ...], list[Any]]] = {"d": defaultdict(lambda: [0, set(), set()]),
                                                          "w": defaultdict(lambda: [0, set(), set()])}
    active: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    adopt: dict[tuple[Any, ...], list[Any]] = {}
    seen: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for ev in events:
        seen[(ev["user_id"], ev["feature_id"])].append(ev)
        for anc in up.get(ev["feature_id"], [ev["feature_id"]]):
            for platform in (ev["platform"], "all"):
                for grain, start in (("d", ev["event_date"]), ("w", week_start(ev["event_date"]))):
                    u = usage[grain][(start, anc, platform)]
                    u[0] += 1
                    u[1].add(ev["user_id"])
                    u[2].add(ev["workspace_id"])
        for period, start in (("week", week_start(ev["event_date"])), ("month", month_start(ev["event_date"]))):
            active[(ev["workspace_id"], period, start)].add(ev["user_id"])
            for anc in up.get(ev["feature_id"], [ev["feature_id"]]):
                key = (ev["workspace_id"], anc, period, start)
                a = adopt.setdefault(key, [set(), 0, ev["event_ts"], ev["event_ts"]])
                a[0].add(ev["user_id"])
                a[1] += 1
                a[2], a[3] = min(a[2], ev["event_ts"]), max(a[3], ev["event_ts"])
    micros = dt.timedelta(microseconds=1)
    epoch = dt.datetime(1970, 1, 1)

    def last(evs: list[dict[str, Any]]) -> dict[str, Any]:
        return min(evs, key=lambda e: (-((e["event_ts"] - epoch) // micros), -((e["received_at"] - epoch) // micros),
                                       e["event_id"]))

    def srt(xs: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return sorted(xs, key=lambda r: tuple((v is not None, str(v)) for v in r))

    fct_cols = ["event_id", "event_ts", "event_date", "received_at", "platform", "feature_id", "action", "user_id",
                "workspace_id", "app_version", "drift_seconds", "properties"]
    return {
        "fct_feature_events": srt([tuple(ev[c] for c in fct_cols) for ev in events]),
        "feature_usage_daily": srt([(*k, v[0], len(v[1]), len(v[2])) for k, v in usage["d"].items()]),
        "feature_usage_weekly": srt([(*k, v[0], len(v[1]), len(v[2])) for k, v in usage["w"].items()]),
        "feature_adoption_by_workspace": srt([
            (ws, f, p, s, len(active[(ws, p, s)]), len(a[0]), len(a[0]) / len(active[(ws, p, s)]), a[1], a[2], a[3])
            for (ws, f, p, s), a in adopt.items()]),
        "user_feature_last_seen": srt([
            (u, f, min(e["event_ts"] for e in evs), max(e["event_ts"] for e in evs), len(evs),
             last(evs)["workspace_id"], last(evs)["platform"]) for (u, f), evs in seen.items()]),
    }


def snapshot(wh: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    return {t: rows(wh, t) for t in COMPARED}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_incremental_runs_equal_a_full_rebuild_and_semantics(shared: Warehouse, steps: list[tuple[Any, ...]]) -> None:
    wh = emptied(shared)
    apply(wh, steps)
    curate(wh, REGISTRY)
    incremental = snapshot(wh)
    assert wh.scalar("SELECT COUNT(*) FROM pending_changes") == 0
    expected = semantics(wh)
    for table in PUBLIC:
        assert incremental[table] == expected[table], table
    curate(wh, REGISTRY)  # idempotent: nothing pending, nothing changes
    assert snapshot(wh) == incremental
    rebuild_all(wh, REGISTRY)
    full = snapshot(wh)
    for table in COMPARED:
        assert incremental[table] == full[table], table
    for table in WORK_TABLES:  # work sets never outlive their transaction (they hold user ids)
        assert wh.scalar(f"SELECT COUNT(*) FROM {table.name}") == 0
