"""SEMANTICS.md "Curated tables", table by table: hand-built staged events → the exact curated rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pipeline.curate import curate, rebuild_all
from tests.pipeline.stg_factory import event, insert, remove, rows

D = dt.datetime
MON, TUE, SUN = dt.date(2026, 11, 23), dt.date(2026, 11, 24), dt.date(2026, 11, 29)
MENTION, REPLY, COMMENTS, EDITOR = "editor.comments.mention", "editor.comments.reply", "editor.comments", "editor"


def select(wh: Any, sql: str) -> list[tuple[Any, ...]]:
    return sorted(wh.query(sql), key=lambda r: tuple(str(v) for v in r))


@pytest.fixture
def run(wh: Any, registry: Any):
    """Stage events (with their pending changes) and curate them."""

    def go(*events: dict[str, Any]) -> Any:
        insert(wh, events)
        return curate(wh, registry)

    return go


def test_daily_rolls_up_to_every_level_with_platform_all(wh, run) -> None:
    run(event("e1", feature=MENTION, user="u1", ws="w1", platform="web"),
        event("e2", feature=MENTION, user="u2", ws="w2", platform="ios"),
        event("e3", feature=REPLY, user="u1", ws="w1", platform="ios"),
        event("e4", feature=COMMENTS, user="u3", ws="w1", platform="web"))  # sent on a non-leaf id
    got = select(wh, "SELECT feature_id, platform, event_count, user_count, workspace_count "
                     f"FROM feature_usage_daily WHERE event_date = DATE '{MON}'")
    assert got == sorted([
        (MENTION, "web", 1, 1, 1), (MENTION, "ios", 1, 1, 1), (MENTION, "all", 2, 2, 2),
        (REPLY, "ios", 1, 1, 1), (REPLY, "all", 1, 1, 1),
        (COMMENTS, "web", 2, 2, 1), (COMMENTS, "ios", 2, 2, 2), (COMMENTS, "all", 4, 3, 2),
        (EDITOR, "web", 2, 2, 1), (EDITOR, "ios", 2, 2, 2), (EDITOR, "all", 4, 3, 2),
    ], key=lambda r: tuple(str(v) for v in r))
    # Rows only where there are events: no android or backend row, no row for an unused feature.
    assert wh.scalar("SELECT COUNT(*) FROM feature_usage_daily WHERE platform IN ('android', 'backend') "
                     "OR event_count = 0 OR feature_id = 'editor.text'") == 0


def test_weekly_counts_distinct_over_the_week_not_sums_of_days(wh, run) -> None:
    run(event("e1", user="u1", at=D(2026, 11, 23, 9)), event("e2", user="u1", at=D(2026, 11, 24, 9)),
        event("e3", user="u2", ws="w2", at=D(2026, 11, 29, 23, 59)),  # Sunday: same ISO week
        event("e4", user="u2", ws="w2", at=D(2026, 11, 30, 0, 0)))  # Monday: next week
    daily = select(wh, f"SELECT event_date, user_count FROM feature_usage_daily WHERE feature_id = '{MENTION}' "
                       "AND platform = 'all'")
    assert daily == [(MON, 1), (TUE, 1), (SUN, 1), (dt.date(2026, 11, 30), 1)]
    weekly = select(wh, "SELECT week_start, event_count, user_count, workspace_count FROM feature_usage_weekly "
                        f"WHERE feature_id = '{MENTION}' AND platform = 'all'")
    assert weekly == [(MON, 3, 2, 2), (dt.date(2026, 11, 30), 1, 1, 1)]


def test_adoption_by_workspace_per_week_and_month(wh, run) -> None:
    run(event("e1", feature=MENTION, user="u1", ws="w1", at=D(2026, 11, 23, 10)),
        event("e2", feature=MENTION, user="u1", ws="w1", at=D(2026, 11, 25, 10), platform="ios"),
        event("e3", feature=REPLY, user="u2", ws="w1", at=D(2026, 11, 24, 8)),
        event("e4", feature="editor.text.bold", user="u3", ws="w1", at=D(2026, 11, 24, 9)),
        event("e5", feature=MENTION, user="u4", ws="w2", at=D(2026, 11, 26, 7)))
    cols = ("workspace_id, feature_id, period, period_start, active_users, feature_users, adoption_rate, "
            "event_count, first_used_at, last_used_at")
    w1 = select(wh, f"SELECT {cols} FROM feature_adoption_by_workspace WHERE workspace_id = 'w1' "
                    "AND period = 'week'")
    wk = MON
    assert w1 == [
        ("w1", EDITOR, "week", wk, 3, 3, 1.0, 4, D(2026, 11, 23, 10), D(2026, 11, 25, 10)),
        ("w1", COMMENTS, "week", wk, 3, 2, 2 / 3, 3, D(2026, 11, 23, 10), D(2026, 11, 25, 10)),
        ("w1", MENTION, "week", wk, 3, 1, 1 / 3, 2, D(2026, 11, 23, 10), D(2026, 11, 25, 10)),
        ("w1", REPLY, "week", wk, 3, 1, 1 / 3, 1, D(2026, 11, 24, 8), D(2026, 11, 24, 8)),
        ("w1", "editor.text", "week", wk, 3, 1, 1 / 3, 1, D(2026, 11, 24, 9), D(2026, 11, 24, 9)),
        ("w1", "editor.text.bold", "week", wk, 3, 1, 1 / 3, 1, D(2026, 11, 24, 9), D(2026, 11, 24, 9)),
    ]
    month = select(wh, "SELECT period_start, active_users, feature_users FROM feature_adoption_by_workspace "
                       f"WHERE workspace_id = 'w2' AND period = 'month' AND feature_id = '{MENTION}'")
    assert month == [(dt.date(2026, 11, 1), 1, 1)]
    # A row only where the feature has users: w2 never used bold.
    assert wh.scalar("SELECT COUNT(*) FROM feature_adoption_by_workspace WHERE workspace_id = 'w2' "
                     "AND feature_id LIKE 'editor.text%'") == 0
    assert wh.query("SELECT typeof(adoption_rate) FROM feature_adoption_by_workspace LIMIT 1")[0][0] == "DOUBLE"


def test_active_users_count_any_event_of_the_workspace(wh, run) -> None:
    """A new user of another feature lowers the adoption rate of every feature of the workspace."""
    run(event("e1", feature=MENTION, user="u1", ws="w1"))
    assert wh.query(f"SELECT adoption_rate FROM feature_adoption_by_workspace WHERE feature_id = '{MENTION}' "
                    "AND period = 'week'") == [(1.0,)]
    run(event("e2", feature="editor.text.bold", user="u2", ws="w1"))
    assert wh.query("SELECT active_users, feature_users, adoption_rate FROM feature_adoption_by_workspace "
                    f"WHERE feature_id = '{MENTION}' AND period = 'week'") == [(2, 1, 0.5)]


def test_last_seen_tie_breaks_and_no_roll_up(wh, run) -> None:
    t = D(2026, 11, 24, 10)
    run(event("e1", user="u1", ws="w1", platform="web", at=t - dt.timedelta(hours=1)),
        event("e2", user="u1", ws="w2", platform="ios", at=t, received=t + dt.timedelta(seconds=2)),
        event("e3", user="u1", ws="w3", platform="android", at=t, received=t + dt.timedelta(seconds=5)),
        # Same event_ts and received_at: the smaller event_id wins.
        event("b2", user="u2", ws="w2", platform="ios", at=t, received=t),
        event("a9", user="u2", ws="w1", platform="web", at=t, received=t),
        event("e6", feature=COMMENTS, user="u1", ws="w1", at=t - dt.timedelta(days=1)))
    got = select(wh, "SELECT * FROM user_feature_last_seen")
    assert got == [
        ("u1", COMMENTS, t - dt.timedelta(days=1), t - dt.timedelta(days=1), 1, "w1", "web"),
        ("u1", MENTION, t - dt.timedelta(hours=1), t, 3, "w3", "android"),  # latest received_at
        ("u2", MENTION, t, t, 2, "w1", "web"),  # a9 < b2
    ]


def test_fct_has_one_row_per_staged_event_with_the_semantics_columns(wh, run) -> None:
    run(event("e1", properties={"source": "toolbar"}), event("e2", user="u2"))
    cur = wh.execute("SELECT * FROM fct_feature_events ORDER BY event_id")
    assert [d[0] for d in cur.description] == [
        "event_id", "event_ts", "event_date", "received_at", "platform", "feature_id", "action", "user_id",
        "workspace_id", "app_version", "drift_seconds", "properties"]
    got = cur.fetchall()
    assert [r[0] for r in got] == ["e1", "e2"] and got[0][-1] == '{"source": "toolbar"}'


def test_removed_events_leave_every_table(wh, run, registry) -> None:
    run(event("e1", user="u1"), event("e2", user="u2", ws="w2", feature=REPLY))
    remove(wh, ["e2"])
    curate(wh, registry)
    assert wh.scalar(f"SELECT COUNT(*) FROM feature_usage_daily WHERE feature_id = '{REPLY}'") == 0
    assert wh.query("SELECT user_count, workspace_count FROM feature_usage_daily "
                    f"WHERE feature_id = '{COMMENTS}' AND platform = 'all'") == [(1, 1)]
    assert wh.scalar("SELECT COUNT(*) FROM feature_adoption_by_workspace WHERE workspace_id = 'w2'") == 0
    assert wh.scalar("SELECT COUNT(*) FROM user_feature_last_seen WHERE user_id = 'u2'") == 0
    assert wh.scalar("SELECT COUNT(*) FROM fct_feature_events") == 1


def test_a_late_earlier_copy_moves_the_event(wh, run, registry) -> None:
    """The kept copy changes (another event_ts, even another day): curated rows follow it."""
    run(event("e1", at=D(2026, 11, 24, 0, 30)))
    remove(wh, ["e1"])
    insert(wh, [event("e1", at=D(2026, 11, 23, 23, 50))])
    curate(wh, registry)
    assert select(wh, "SELECT event_date, event_count FROM feature_usage_daily WHERE platform = 'all' "
                      f"AND feature_id = '{MENTION}'") == [(MON, 1)]
    assert wh.query("SELECT first_seen_at, last_seen_at FROM user_feature_last_seen") == [
        (D(2026, 11, 23, 23, 50), D(2026, 11, 23, 23, 50))]
    before = {t: rows(wh, t) for t in ("feature_usage_weekly", "feature_adoption_by_workspace")}
    rebuild_all(wh, registry)
    assert {t: rows(wh, t) for t in before} == before


def test_a_feature_the_catalog_no_longer_has_counts_for_itself(wh, run) -> None:
    run(event("e1", feature="retired.feature"))
    assert select(wh, "SELECT feature_id, platform FROM feature_usage_daily") == [
        ("retired.feature", "all"), ("retired.feature", "web")]
