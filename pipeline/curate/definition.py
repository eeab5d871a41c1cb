"""What the curated layer is, as data: its tables, its models, the partition algebra and the plan.

Pure values and pure functions only (STYLE: data first, effects at the edge); `models.py` is
the one place that renders SQL and touches the warehouse. Intervals are half-open
`[start, end)` dates; a week starts on Monday, a month on the 1st (SEMANTICS).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from warehouse.schema import Table

Interval = tuple[dt.date, dt.date]
Period = Literal["week", "month"]
PLATFORM_ALL = "all"
ANY_FEATURE = "*"  # int_adoption_presence rows of a user's events on any feature

# --- tables ------------------------------------------------------------------------------
_USAGE = (("event_count", "int"), ("user_count", "int"), ("workspace_count", "int"))
_DAILY = (
    ("event_date", "date"), ("platform", "text"), ("workspace_id", "text"), ("user_id", "text"),
    ("feature_id", "text"), ("event_count", "int"), ("first_ts", "ts"), ("last_ts", "ts"),
    ("last_received_at", "ts"), ("last_event_id", "text"),
)
# A presence row is found by its period and one 128-bit key of its other key columns (Engine.row_key),
# the anti-join of each run then hashes one narrow column instead of four text columns.
ROW_KEY_PARTS: dict[str, tuple[str, ...]] = {
    "int_usage_presence": ("platform", "feature_id", "entity_kind", "entity_id"),
    "int_adoption_presence": ("feature_id", "workspace_id", "user_id"),
}
_USAGE_PRESENCE = (
    ("grain", "text"), ("period_start", "date"), ("platform", "text"), ("feature_id", "text"),
    ("entity_kind", "text"), ("entity_id", "text"), ("row_key", "key"),
)
_ADOPTION_PRESENCE = (
    ("period", "text"), ("period_start", "date"), ("workspace_id", "text"), ("feature_id", "text"),
    ("user_id", "text"), ("row_key", "key"),
)
_ADOPTION_FEATURE = (
    ("workspace_id", "text"), ("feature_id", "text"), ("period", "text"), ("period_start", "date"),
    ("feature_users", "int"), ("event_count", "int"), ("first_used_at", "ts"), ("last_used_at", "ts"),
)
_LAST = (
    ("user_id", "text"), ("feature_id", "text"), ("first_ts", "ts"), ("last_ts", "ts"), ("event_count", "int"),
    ("last_workspace_id", "text"), ("last_platform", "text"), ("last_received_at", "ts"),
    ("last_event_id", "text"),
)

CURATED_TABLES: tuple[Table, ...] = (
    Table("dim_feature", (
        ("feature_id", "text"), ("name", "text"), ("parent_id", "text"), ("path", "text"), ("depth", "int"),
        ("owner", "text"), ("status", "text"), ("platforms", "text"), ("valid_from", "ts"), ("valid_to", "ts"),
        ("is_current", "bool"),
    ), "reference", doc="The feature catalog, SCD2: one row per version; valid_to NULL on the current one."),
    Table("feature_ancestors", (
        ("feature_id", "text"), ("ancestor_id", "text"), ("depth_diff", "int"),
    ), "reference", doc="Closure of the catalog hierarchy the roll-ups were computed with, self included."),
    Table("fct_feature_events", (
        ("event_id", "text"), ("event_ts", "ts"), ("event_date", "date"), ("received_at", "ts"),
        ("platform", "text"), ("feature_id", "text"), ("action", "text"), ("user_id", "text"),
        ("workspace_id", "text"), ("app_version", "text"), ("drift_seconds", "float"), ("properties", "json"),
    ), "curated", personal_data=True, cluster_by=("event_date",), doc="One row per staged event."),
    Table("int_user_feature_daily", _DAILY, "intermediate", personal_data=True, cluster_by=("event_date",),
          doc="Staged events per day, platform, workspace, user and resolved feature (no roll-up); "
              "last_* describe the latest event by the user_feature_last_seen order."),
    Table("int_usage_presence", _USAGE_PRESENCE, "intermediate", personal_data=True,
          cluster_by=("grain", "period_start"),
          doc="Which users and workspaces used a feature (every level) per week and platform (and 'all'): "
              "a distinct count over the week is a count of these rows."),
    Table("feature_usage_daily", (("event_date", "date"), ("feature_id", "text"), ("platform", "text"), *_USAGE),
          "curated", cluster_by=("event_date",), doc="Usage per day, feature (every level) and platform."),
    Table("feature_usage_weekly", (("week_start", "date"), ("feature_id", "text"), ("platform", "text"), *_USAGE),
          "curated", cluster_by=("week_start",), doc="Usage per ISO week; distinct counts over the week."),
    Table("int_adoption_presence", _ADOPTION_PRESENCE, "intermediate", personal_data=True,
          cluster_by=("period", "period_start"),
          doc="Which users of a workspace used a feature (every level, and '*' for any) per week and month."),
    Table("int_workspace_active", (
        ("period", "text"), ("period_start", "date"), ("workspace_id", "text"), ("active_users", "int"),
    ), "intermediate", cluster_by=("period", "period_start"), doc="Active users of a workspace per period."),
    Table("int_adoption_feature", _ADOPTION_FEATURE, "intermediate", cluster_by=("period", "period_start"),
          doc="Adoption of a feature in a workspace per period, without the workspace's active users."),
    # Not clustered: a run changes more (user, feature) keys than the table has micro-partitions, so
    # no key order bounds what its MERGE rewrites (measured: docs/snowflake.md, "Clustering").
    Table("int_user_feature_last", _LAST, "intermediate", personal_data=True,
          doc="user_feature_last_seen with the received_at and event_id that break ties."),
    Table("user_feature_last_seen", (
        ("user_id", "text"), ("feature_id", "text"), ("first_seen_at", "ts"), ("last_seen_at", "ts"),
        ("event_count", "int"), ("last_workspace_id", "text"), ("last_platform", "text"),
    ), "curated", personal_data=True,
          doc="Per user and resolved feature: first and last use."),
    Table("model_state", (
        ("model", "text"), ("last_run_at", "ts"), ("rows_written", "int"), ("partitions", "text"),
        ("mode", "text"), ("rows_deleted", "int"),
    ), "ops", doc="Last processed work of each curated model (for ops): rows written and deleted by its last run."),
    Table("backfill_progress", (
        ("range_from", "date"), ("range_to", "date"), ("model", "text"), ("chunk_date", "date"),
        ("rows_written", "int"), ("finished_at", "ts"),
    ), "ops", doc="Finished chunks of a backfill range: a re-run skips them."),
)
# feature_adoption_by_workspace is a view (int_adoption_feature joined with int_workspace_active):
# a new active user changes adoption_rate of every feature of the workspace without rewriting them.
VIEWS: tuple[str, ...] = ("feature_adoption_by_workspace",)

_CHANGE, _SHRINK, _EXISTED = ("change", "int"), ("shrink", "bool"), ("existed", "bool")
# Working sets of one transaction; emptied before it commits, so they never keep user ids.
WORK_TABLES: tuple[Table, ...] = (
    Table("curate_work_pending", (
        ("event_date", "date"), ("workspace_id", "text"), ("user_id", "text"), ("change", "text"),
        ("created_at", "ts"), ("event_id", "text"),
    ), "ops", personal_data=True, doc="The pending_changes rows this run consumes."),
    Table("curate_work_units", (("event_date", "date"), ("workspace_id", "text"), ("user_id", "text")),
          "ops", personal_data=True, doc="Dirty (event_date, workspace, user) units."),
    Table("curate_work_users", (("user_id", "text"),), "ops", personal_data=True, doc="Users of the units."),
    Table("curate_work_daily_old", _DAILY, "ops", personal_data=True, doc="Daily rows of the units before."),
    Table("curate_work_daily_new", _DAILY, "ops", personal_data=True,
          doc="Daily rows of the units recomputed from stg_events (only those that differ are written)."),
    Table("curate_work_daily_delta", (
        *_DAILY[:5], ("d_count", "int"), *_DAILY[6:], ("existed", "bool"), ("exists_now", "bool"), _SHRINK,
    ), "ops", personal_data=True,
        doc="Changed daily rows: count difference, new values (NULL when gone), whether the row existed "
            "before and exists now, shrink = its earliest or latest event moved back or it disappeared "
            "(a min/max merge cannot follow: recompute)."),
    Table("curate_work_usage_presence", (*_USAGE_PRESENCE, _CHANGE), "ops", personal_data=True,
          doc="int_usage_presence rows that appear (+1) or disappear (-1)."),
    Table("curate_work_usage", (
        ("grain", "text"), ("period_start", "date"), ("feature_id", "text"), ("platform", "text"), *_USAGE, _EXISTED,
    ), "ops", doc="New daily or weekly usage rows of the changed keys."),
    Table("curate_work_adoption_presence", (*_ADOPTION_PRESENCE, _CHANGE), "ops", personal_data=True,
          doc="int_adoption_presence rows that appear (+1) or disappear (-1)."),
    Table("curate_work_adoption_feature", (*_ADOPTION_FEATURE, _EXISTED, _SHRINK), "ops",
          doc="New int_adoption_feature rows of the changed keys."),
    Table("curate_work_user_feature_last", (*_LAST, _EXISTED, _SHRINK), "ops", personal_data=True,
          doc="New int_user_feature_last rows of the changed keys."),
)

# --- models ------------------------------------------------------------------------------
Partition = Literal["unit", "date", "week", "week_month", "workspace_period", "user"]
# delta: apply the changes of this run's units; range: recompute the scope's partitions from the
# model's inputs (backfill); full: recompute everything (rebuild, hierarchy change).
Mode = Literal["delta", "range", "full"]


class Model(BaseModel):
    """One SQL model: `pipeline/models/<name>.sql` refreshes the table of that name."""

    model_config = ConfigDict(frozen=True)

    name: str
    partition: Partition
    upstream: tuple[str, ...] = ()
    hierarchy: bool = False  # reads feature_ancestors: a hierarchy change recomputes it in full


# In run order: each model reads stg_events, the tables of the models before it and, in delta
# mode, the changes they wrote to their work table.
MODELS: tuple[Model, ...] = (
    Model(name="fct_feature_events", partition="unit"),
    Model(name="int_user_feature_daily", partition="unit"),
    Model(name="int_usage_presence", partition="week", upstream=("int_user_feature_daily",), hierarchy=True),
    Model(name="feature_usage_daily", partition="date", upstream=("int_user_feature_daily",), hierarchy=True),
    Model(name="feature_usage_weekly", partition="week", upstream=("int_user_feature_daily", "int_usage_presence"),
          hierarchy=True),
    Model(name="int_adoption_presence", partition="week_month", upstream=("int_user_feature_daily",),
          hierarchy=True),
    Model(name="int_workspace_active", partition="workspace_period", upstream=("int_adoption_presence",),
          hierarchy=True),
    Model(name="int_adoption_feature", partition="workspace_period",
          upstream=("int_user_feature_daily", "int_adoption_presence"), hierarchy=True),
    Model(name="int_user_feature_last", partition="user", upstream=("int_user_feature_daily",)),
    Model(name="user_feature_last_seen", partition="user", upstream=("int_user_feature_last",)),
)
MODELS_BY_NAME = {m.name: m for m in MODELS}
# What a person may name in `nova backfill --model`: the models and the view (its two tables).
MODEL_ALIASES = {"feature_adoption_by_workspace": ("int_workspace_active", "int_adoption_feature")}


def with_upstream(names: Iterable[str]) -> tuple[Model, ...]:
    """The named models and every model they read, in run order."""
    wanted: set[str] = set()
    todo = [n for name in names for n in MODEL_ALIASES.get(name, (name,))]
    while todo:
        name = todo.pop()
        if name not in MODELS_BY_NAME:
            raise KeyError(name)
        if name not in wanted:
            wanted.add(name)
            todo.extend(MODELS_BY_NAME[name].upstream)
    return tuple(m for m in MODELS if m.name in wanted)


# --- partition algebra -------------------------------------------------------------------
def week_start(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())


def month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def period_start(period: Period, d: dt.date) -> dt.date:
    return week_start(d) if period == "week" else month_start(d)


def period_end(period: Period, start: dt.date) -> dt.date:
    """The first day after the period that starts on `start`."""
    if period == "week":
        return start + dt.timedelta(days=7)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping or adjacent intervals joined."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def date_intervals(dates: Iterable[dt.date]) -> list[Interval]:
    return merge_intervals((d, d + dt.timedelta(days=1)) for d in dates)


def days(interval: Interval) -> list[dt.date]:
    start, end = interval
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


def missing_days(interval: Interval, finished: Iterable[dt.date]) -> list[dt.date]:
    """The days of the interval not yet done (what a resumed backfill still has to run)."""
    done = set(finished)
    return [d for d in days(interval) if d not in done]


class Scope(BaseModel):
    """The partitions one run touches. In delta mode they follow from the dirty (event_date,
    workspace, user) units; in range mode (backfill) they are the partitions to recompute."""

    model_config = ConfigDict(frozen=True)

    dates: tuple[dt.date, ...] = ()
    weeks: tuple[dt.date, ...] = ()
    months: tuple[dt.date, ...] = ()
    units: int = 0
    users: int = 0
    workspace_weeks: int = 0
    workspace_months: int = 0
    # Full mode rebuilds the event-level tables from this day on: older days have no staged
    # events any more (retention keeps aggregates and daily rows longer than stg_events).
    rebuild_from: dt.date | None = None
    # Delta mode: the earliest received_at of the staged events named by this run's changes. A
    # curated copy of such an event was received no earlier (the kept copy is the earliest), so
    # "is it curated already?" reads only fct_feature_events rows received since then.
    received_from: dt.datetime | None = None

    @classmethod
    def of_dates(cls, dates: Iterable[dt.date], **counts: int) -> Scope:
        ds = list(set(dates))
        # A NULL or unrepresentable date (DuckDB returns a BC date as text) is no partition: say
        # which, instead of failing inside sorted() (issue 18); staging can no longer produce one.
        impossible = [d for d in ds if not isinstance(d, dt.date) or isinstance(d, dt.datetime)]
        if impossible:
            raise ValueError(f"impossible partition date(s) {sorted(map(repr, impossible))[:5]}: "
                             "every staged event_date must be a calendar date")
        ds.sort()
        return cls(dates=tuple(ds), weeks=tuple(sorted({week_start(d) for d in ds})),
                   months=tuple(sorted({month_start(d) for d in ds})), **counts)

    @property
    def empty(self) -> bool:
        return not (self.dates or self.weeks or self.months)

    @property
    def date_ranges(self) -> list[Interval]:
        return date_intervals(self.dates)

    def period_starts(self, period: Period) -> tuple[dt.date, ...]:
        return self.weeks if period == "week" else self.months

    def period_ranges(self, period: Period) -> list[Interval]:
        return merge_intervals((s, period_end(period, s)) for s in self.period_starts(period))

    def describe(self, partition: Partition) -> str:
        """The partitions of one kind, as a person reads them."""
        return {
            "unit": f"{self.units} (date, workspace, user) units on {_dates(self.dates)}",
            "date": f"{len(self.dates)} date(s): {_dates(self.dates)}",
            "week": f"{len(self.weeks)} week(s): {_dates(self.weeks)}",
            "week_month": f"weeks {_dates(self.weeks)}; months {_months(self.months)}",
            "workspace_period": f"{self.workspace_weeks} workspace-weeks, {self.workspace_months} workspace-months",
            "user": f"{self.users} user(s)",
        }[partition]


def _dates(values: Sequence[dt.date]) -> str:
    if not values:
        return "none"
    shown = ", ".join(d.isoformat() for d in values[:5])
    return shown + (f" … (+{len(values) - 5})" if len(values) > 5 else "")


def _months(values: Sequence[dt.date]) -> str:
    return ", ".join(d.strftime("%Y-%m") for d in values) or "none"


# --- plan and results --------------------------------------------------------------------
class ModelPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    full: bool
    partitions: str
    estimated_rows: int  # input rows the model reads


class Plan(BaseModel):
    """What the next curate run would recompute; a value, printable before anything runs."""

    model_config = ConfigDict(frozen=True)

    pending_changes: int
    scope: Scope
    hierarchy_changed: bool = False
    models: tuple[ModelPlan, ...] = ()

    @property
    def empty(self) -> bool:
        return self.scope.empty and not self.hierarchy_changed

    def render(self) -> str:
        if self.empty:
            return "curate: nothing to recompute (no pending changes)"
        s = self.scope
        lines = [f"curate plan: {self.pending_changes:,} pending change(s) → {s.units:,} unit(s), "
                 f"{len(s.dates)} date(s), {len(s.weeks)} week(s), {len(s.months)} month(s), {s.users:,} user(s)"]
        if self.hierarchy_changed:
            lines.append("  the catalog hierarchy changed: every roll-up is recomputed in full")
        width = max(len(m.model) for m in self.models)
        for m in self.models:
            what = "ALL partitions" if m.full else m.partitions
            lines.append(f"  {m.model:<{width}}  {what}  (~{m.estimated_rows:,} input rows)")
        return "\n".join(lines)


class ModelRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    full: bool
    rows_written: int
    partitions: str
    rows_deleted: int = 0  # with rows_written: what the run rewrote in the model's table


class CurateResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    mode: Literal["incremental", "rebuild", "backfill"]
    changes_consumed: int
    scope: Scope
    hierarchy_changed: bool = False
    dim_opened: int = 0
    dim_closed: int = 0
    models: tuple[ModelRun, ...] = ()
    seconds: float = 0.0

    @property
    def rows_written(self) -> int:
        return sum(m.rows_written for m in self.models)

    def __str__(self) -> str:
        if not self.models:
            return f"{self.mode}: nothing to recompute"
        full = " (hierarchy changed: roll-ups in full)" if self.hierarchy_changed else ""
        return (f"{self.mode}: {self.changes_consumed:,} change(s), {len(self.scope.dates)} date(s), "
                f"{self.scope.users:,} user(s) → {self.rows_written:,} rows in {len(self.models)} models "
                f"in {self.seconds:.2f}s{full}")


class BackfillResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: dt.date
    end: dt.date  # inclusive, as typed
    models: tuple[str, ...]
    chunks_run: tuple[dt.date, ...] = ()
    chunks_skipped: tuple[dt.date, ...] = ()  # finished by an earlier run of the same range
    chunks_expired: tuple[dt.date, ...] = ()  # before the first staged day: nothing to rebuild from
    rows_written: int = 0
    rebuilt_all: bool = False  # the hierarchy had changed: everything was rebuilt instead
    seconds: float = 0.0
