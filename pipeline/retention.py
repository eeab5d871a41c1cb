"""Retention: event-level data for `raw_retention_days`, aggregates for `aggregate_retention_days`.

The decisions (docs/retention.md):
- A raw line and everything derived from it line by line (quarantine, ignored, staged,
  duplicate, fct_feature_events) leave together, so reconcile still adds up per load. A line's
  date is its event_date when it was staged (or is a duplicate), else its received date: whole
  days leave at once, so a curated day is never recomputed from half its events.
- Aggregates and the daily per-user intermediate follow the aggregate retention; a week or a
  month leaves only once it lies entirely before the cutoff.
- No pending change is written: an aggregate outlives its events on purpose.
- load_ledger, batches, erasure_counts and gdpr_requests stay: the ledger is how a file that
  is still in the landing folder is recognised (without it, it would be loaded again).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from config import Settings
from warehouse import clock
from warehouse.lock import writer_lock
from warehouse.session import Warehouse

KEY = "(load_id, file_path, line_number)"
EXPIRED = "_nova_retention_lines"
IN_EXPIRED = f"{KEY} IN (SELECT load_id, file_path, line_number FROM {EXPIRED})"


@dataclass(frozen=True)
class Cutoffs:
    """Rows dated before these dates go. Pure: computed from the settings and the clock."""

    events: dt.date
    aggregates: dt.date

    @property
    def aggregate_week(self) -> dt.date:
        return self.aggregates - dt.timedelta(days=self.aggregates.weekday())

    @property
    def aggregate_month(self) -> dt.date:
        return self.aggregates.replace(day=1)


def cutoffs(settings: Settings, now: dt.datetime) -> Cutoffs:
    return Cutoffs(events=(now - dt.timedelta(days=settings.raw_retention_days)).date(),
                   aggregates=(now - dt.timedelta(days=settings.aggregate_retention_days)).date())


def _date(d: dt.date) -> str:
    return f"CAST('{d.isoformat()}' AS DATE)"


def plan(c: Cutoffs) -> list[tuple[str, str]]:
    """(table, predicate of the rows that go), in the order they must be deleted: line-level
    tables by the expired line keys, then the curated tables by date. A table missing (or a
    view: it follows its tables) is skipped."""
    ev, ag, wk, mo = _date(c.events), _date(c.aggregates), _date(c.aggregate_week), _date(c.aggregate_month)
    periods = f"((period = 'week' AND period_start < {wk}) OR (period = 'month' AND period_start < {mo}))"
    grains = f"((grain = 'day' AND period_start < {ag}) OR (grain = 'week' AND period_start < {wk}))"
    return [
        ("raw_events", IN_EXPIRED),
        ("quarantined_events", IN_EXPIRED),
        ("ignored_events", IN_EXPIRED),
        ("stg_pending", IN_EXPIRED),
        ("stg_events", IN_EXPIRED),
        ("stg_duplicates", IN_EXPIRED),
        ("fct_feature_events", f"event_date < {ev}"),
        ("int_user_feature_daily", f"event_date < {ag}"),
        ("int_usage_presence", grains),
        ("int_adoption_presence", periods),
        ("int_workspace_active", periods),
        ("int_adoption_feature", periods),
        ("feature_usage_daily", f"event_date < {ag}"),
        ("feature_usage_weekly", f"week_start < {wk}"),
        ("feature_adoption_by_workspace", periods),
        # Seen last before the cutoff: every daily row of that (user, feature) is gone too.
        ("int_user_feature_last", f"last_ts < {ag}"),
        ("user_feature_last_seen", f"last_seen_at < {ag}"),
    ]


# Per-user summaries kept while the user is active: (table, first column, count column).
SUMMARIES = (("int_user_feature_last", "first_ts", "event_count"),
             ("user_feature_last_seen", "first_seen_at", "event_count"))


def _collect_expired(wh: Warehouse, c: Cutoffs) -> None:
    ev = _date(c.events)
    staged = ("SELECT load_id, file_path, line_number, event_id, event_date FROM stg_events UNION ALL "
              "SELECT load_id, file_path, line_number, event_id, event_date FROM stg_duplicates UNION ALL "
              "SELECT load_id, file_path, line_number, event_id, event_date FROM stg_pending")
    t = wh.engine.t
    wh.execute(f"CREATE OR REPLACE TEMP TABLE {EXPIRED} (load_id {t('text')}, file_path {t('text')}, "
               f"line_number {t('int')})")
    wh.execute(
        f"INSERT INTO {EXPIRED} "
        f"SELECT load_id, file_path, line_number FROM ({staged}) s WHERE event_date < {ev} "
        # A duplicate goes with its kept copy: no duplicate outlives the event it duplicates.
        f"UNION SELECT load_id, file_path, line_number FROM stg_duplicates WHERE event_id IN "
        f"(SELECT event_id FROM stg_events WHERE event_date < {ev}) "
        f"UNION SELECT load_id, file_path, line_number FROM raw_events r "
        f"WHERE CAST(COALESCE(received_at, loaded_at) AS DATE) < {ev} "
        # A staged line's event_ts is at most received_at + 5 minutes (the clock_ahead clamp), so
        # a raw line received before the cutoff that is still staged has event_date ev or ev + 1:
        # only those two days of the staged tables are read, not 180 (their clustering key).
        f"AND {KEY} NOT IN (SELECT load_id, file_path, line_number FROM ({staged}) s "
        f"WHERE event_date BETWEEN {ev} AND {_date(c.events + dt.timedelta(days=1))})")


def _trim_sql(table: str, first: str, count: str, c: Cutoffs) -> str:
    """Users still active keep their row, but its first use and event count must not count days
    that left int_user_feature_daily (curate derives them from it: a rebuild must agree)."""
    return (f"UPDATE {table} SET {first} = d.first_ts, {count} = d.n "
            "FROM (SELECT user_id, feature_id, MIN(first_ts) AS first_ts, SUM(event_count) AS n "
            "FROM int_user_feature_daily GROUP BY user_id, feature_id) d "
            f"WHERE d.user_id = {table}.user_id AND d.feature_id = {table}.feature_id "
            f"AND {table}.{first} < {_date(c.aggregates)}")


def _base_tables(wh: Warehouse) -> set[str]:
    return {r[0] for r in wh.query(
        "SELECT lower(table_name) FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
        "AND table_catalog = current_database() AND table_schema = current_schema()")}


def apply_retention(wh: Warehouse, settings: Settings, now: dt.datetime | None = None,
                    dry_run: bool = False) -> dict[str, int]:
    """Delete what is older than the retention; returns rows removed (or that would be) per table,
    and `<table>:trimmed` for per-user summaries whose history was shortened. One transaction."""
    if dry_run:
        return _apply(wh, settings, now, dry_run)
    with writer_lock(wh, "retention"):
        return _apply(wh, settings, now, dry_run)


def _apply(wh: Warehouse, settings: Settings, now: dt.datetime | None, dry_run: bool) -> dict[str, int]:
    c = cutoffs(settings, now or clock.now())
    tables = _base_tables(wh)
    _collect_expired(wh, c)  # DDL before the transaction: Snowflake commits on DDL
    out: dict[str, int] = {}
    with wh.transaction():
        for table, where in plan(c):
            if table in tables:
                verb = "SELECT COUNT(*)" if dry_run else "DELETE"
                out[table] = int(wh.scalar(f"{verb} FROM {table} WHERE {where}") or 0)
        for table, first, count in SUMMARIES:
            if table in tables and "int_user_feature_daily" in tables:
                if dry_run:  # rows first used before the cutoff that do not leave
                    n = wh.scalar(f"SELECT COUNT(*) FROM {table} WHERE {first} < {_date(c.aggregates)} "
                                  f"AND NOT ({dict(plan(c))[table]})")
                else:
                    n = wh.scalar(_trim_sql(table, first, count, c))
                out[f"{table}:trimmed"] = int(n or 0)
    wh.execute(f"DROP TABLE IF EXISTS {EXPIRED}")
    return out
