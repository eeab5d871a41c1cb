"""Pure parts of the curated layer: partition algebra, the model graph, dimension decisions, the
read-only check and the rendering of the models."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts.model import Catalog, Feature, FeatureStatus
from nova.errors import NovaError
from pipeline.curate.definition import (
    MODELS,
    Plan,
    Scope,
    date_intervals,
    merge_intervals,
    missing_days,
    month_start,
    period_end,
    period_start,
    week_start,
    with_upstream,
)
from pipeline.curate.dim import closure, diff_dim, dim_rows, hierarchy_changed
from pipeline.curate.models import in_ranges, split_statements, statements
from pipeline.curate.query import check_read_only
from warehouse.engine import DuckDBEngine

d = dt.date


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    assert week_start(d(2026, 11, 29)) == d(2026, 11, 23)  # Sunday → Monday before
    assert week_start(d(2026, 11, 30)) == d(2026, 11, 30)
    assert month_start(d(2026, 2, 28)) == d(2026, 2, 1)
    assert period_end("month", d(2026, 12, 1)) == d(2027, 1, 1)
    assert period_end("week", d(2026, 12, 28)) == d(2027, 1, 4)
    assert period_start("week", d(2027, 1, 1)) == d(2026, 12, 28)  # an ISO week across years


def test_half_open_intervals_merge_when_they_touch_or_overlap() -> None:
    assert merge_intervals([(d(2026, 1, 5), d(2026, 1, 7)), (d(2026, 1, 1), d(2026, 1, 3)),
                            (d(2026, 1, 3), d(2026, 1, 4)), (d(2026, 1, 6), d(2026, 1, 9)),
                            (d(2026, 2, 1), d(2026, 2, 1))]) == [(d(2026, 1, 1), d(2026, 1, 4)),
                                                                 (d(2026, 1, 5), d(2026, 1, 9))]
    assert date_intervals([d(2026, 1, 2), d(2026, 1, 1), d(2026, 1, 4)]) == [
        (d(2026, 1, 1), d(2026, 1, 3)), (d(2026, 1, 4), d(2026, 1, 5))]
    assert missing_days((d(2026, 1, 1), d(2026, 1, 4)), [d(2026, 1, 2)]) == [d(2026, 1, 1), d(2026, 1, 3)]


def test_scope_of_dates_derives_weeks_months_and_ranges() -> None:
    s = Scope.of_dates([d(2026, 11, 30), d(2026, 12, 1), d(2026, 11, 29)])
    assert s.weeks == (d(2026, 11, 23), d(2026, 11, 30))
    assert s.months == (d(2026, 11, 1), d(2026, 12, 1))
    assert s.date_ranges == [(d(2026, 11, 29), d(2026, 12, 2))]
    assert s.period_ranges("week") == [(d(2026, 11, 23), d(2026, 12, 7))]
    assert Scope().empty and not s.empty
    assert in_ranges("x", []) == "(1 = 0)"


def test_model_graph_runs_upstream_first() -> None:
    names = [m.name for m in with_upstream(["feature_usage_weekly"])]
    assert names == ["int_user_feature_daily", "int_usage_presence", "feature_usage_weekly"]
    assert [m.name for m in with_upstream(["feature_adoption_by_workspace"])] == [
        "int_user_feature_daily", "int_adoption_presence", "int_workspace_active", "int_adoption_feature"]
    with pytest.raises(KeyError):
        with_upstream(["nope"])
    for i, m in enumerate(MODELS):  # every model reads only models before it
        assert all(up in [x.name for x in MODELS[:i]] for up in m.upstream)


def _catalog(*features: tuple[str, str | None]) -> Catalog:
    return Catalog(version="1.0.0", owner="t", features=[
        Feature(id=fid, name=fid.rsplit(".", 1)[-1].title(), parent=parent, owner="o", status=FeatureStatus.active,
                introduced_on=d(2024, 1, 1), platforms=["web"]) for fid, parent in features])


def test_dim_rows_and_closure() -> None:
    cat = _catalog(("a", None), ("a.b", "a"), ("a.b.c", "a.b"))
    rows = dim_rows(cat)
    assert rows["a.b.c"].path == "A > B > C" and rows["a.b.c"].depth == 2 and rows["a"].depth == 0
    assert closure(cat) == {("a", "a", 0), ("a.b", "a.b", 0), ("a.b", "a", 1), ("a.b.c", "a.b.c", 0),
                            ("a.b.c", "a.b", 1), ("a.b.c", "a", 2)}


def test_dim_diff_opens_and_closes_versions() -> None:
    old = dim_rows(_catalog(("a", None), ("a.b", "a"), ("a.x", "a")))
    new = dim_rows(_catalog(("a", None), ("a.b", None), ("a.y", "a")))
    close, open_ = diff_dim(old, new)
    assert close == ["a.b", "a.x"]  # moved, removed
    assert [r.feature_id for r in open_] == ["a.b", "a.y"]  # moved, added
    assert diff_dim(new, new) == ([], [])


def test_only_changes_to_known_features_change_the_roll_ups() -> None:
    base = closure(_catalog(("a", None), ("a.b", "a")))
    assert not hierarchy_changed(base, base)
    assert not hierarchy_changed(set(), base)  # first build
    assert not hierarchy_changed(base, closure(_catalog(("a", None), ("a.b", "a"), ("a.c", "a"))))  # new leaf
    assert hierarchy_changed(base, closure(_catalog(("a", None), ("a.b", None))))  # moved
    assert hierarchy_changed(base, closure(_catalog(("a", None))))  # removed


@pytest.mark.parametrize("sql", [
    "SELECT 1", "WITH x AS (SELECT 1 AS a) SELECT a FROM x", "SELECT 1 UNION ALL SELECT 2",
    "select * from feature_usage_daily where feature_id = 'editor;delete'",
])
def test_read_only_queries_pass(sql: str) -> None:
    check_read_only(sql, "duckdb")


@pytest.mark.parametrize("sql", [
    "DELETE FROM feature_usage_daily", "SELECT 1; DELETE FROM x", "DROP TABLE x", "UPDATE x SET a = 1",
    "CREATE TABLE x AS SELECT 1", "INSERT INTO x SELECT 1", "WITH d AS (SELECT 1) DELETE FROM x",
    "SET TimeZone = 'UTC'", "COPY x TO 'f.csv'", "ATTACH 'other.db'", "SELEC 1 FROM",
])
def test_anything_else_is_refused(sql: str) -> None:
    with pytest.raises(NovaError):
        check_read_only(sql, "duckdb")


def test_statements_split_outside_literals_and_comments() -> None:
    assert split_statements("SELECT ';' AS a; /* ; */ SELECT 2;\n", "duckdb") == [
        "SELECT ';' AS a", "/* ; */ SELECT 2"]


@pytest.mark.parametrize("mode", ["delta", "range", "full"])
def test_every_model_renders_in_every_mode(mode: str) -> None:
    scope = Scope.of_dates([d(2026, 11, 23)], units=1, users=1).model_copy(
        update={"received_from": dt.datetime(2026, 11, 23, 9)})  # a delta scope names its earliest event
    for m in MODELS:
        stmts = statements(m.name, DuckDBEngine(), scope, mode)  # type: ignore[arg-type]
        assert stmts and any(s.startswith(f"INSERT INTO {m.name} ") for s in stmts), m.name


def test_empty_plan_renders_one_line() -> None:
    assert Plan(pending_changes=0, scope=Scope()).render() == "curate: nothing to recompute (no pending changes)"
