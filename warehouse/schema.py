"""Every table of the warehouse, declared once as data and rendered per engine.

Logical types (text, int, float, bool, ts, date, json) are mapped by the Engine; Snowflake
options (transient tables, short Time Travel, clustering) are declared here per table and
rendered only by the Snowflake engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.engine import Engine, SnowflakeEngine


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]
    layer: str
    personal_data: bool = False  # holds user ids: short Time Travel, transient in Snowflake
    # The columns of a personal-data table that can hold a user id (GDPR's residue audit reads only
    # these); empty: every text and JSON column of it. A table without personal_data is not read.
    personal: tuple[str, ...] = ()
    cluster_by: tuple[str, ...] = ()
    doc: str = ""
    # Large text columns: zstd in DuckDB is both faster to write and ~10x smaller than the
    # default string compression (measured on 1.5 KB event lines); Snowflake compresses by itself.
    compressed: tuple[str, ...] = ()
    # Columns declared NOT NULL by both engines (Snowflake enforces NOT NULL, unlike its other
    # constraints); tables created before a declaration get it from their step (pipeline.stage_audit).
    not_null: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]

    @property
    def personal_columns(self) -> tuple[str, ...]:
        """What erasure must search in this table: nothing unless it holds personal data."""
        if not self.personal_data:
            return ()
        return self.personal or tuple(c for c, k in self.columns if k in ("text", "json"))


# The canonical staged event (ARCHITECTURE `stg_events`), shared by pending, kept and duplicate copies.
EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id", "text"),
    ("event_name", "text"),
    ("feature_id", "text"),
    ("feature_sent", "text"),
    ("action", "text"),
    ("user_id", "text"),
    ("anonymous_id", "text"),
    ("workspace_id", "text"),
    ("platform", "text"),
    ("app_version", "text"),
    ("contract_version", "text"),
    ("client_ts", "ts"),
    ("sent_at", "ts"),
    ("received_at", "ts"),
    ("event_ts", "ts"),
    ("event_date", "date"),
    ("drift_seconds", "float"),
    ("is_late", "bool"),
    ("clock_ahead", "bool"),
    ("properties", "json"),
    ("load_id", "text"),
    ("file_path", "text"),
    ("line_number", "int"),
    ("staged_at", "ts"),
)
LINE_KEY = ("load_id", "file_path", "line_number")
# What the curated models key on, and the line each row came from: a staged row without one of
# them is impossible (issue 18), so the warehouse refuses it instead of curate tripping on it later.
EVENT_NOT_NULL: tuple[str, ...] = (
    "event_id", "feature_id", "user_id", "workspace_id", "platform", "client_ts", "received_at", "event_ts",
    "event_date", *LINE_KEY,
)
# Column names that hold a user id, or text that may: a table declaring one is personal_data and
# lists it in its personal columns (tests/warehouse/test_personal_columns.py), so a new table must say.
PERSONAL_COLUMN_NAMES = ("user_id", "anonymous_id", "raw_line", "properties")
# Where each platform's line names its user (the contracts' `user_id.from`, first present wins):
# the load extracts it into raw_events.user_id, so erasure finds a user's lines by a small column.
USER_ID_PATHS: dict[str, tuple[str, ...]] = {
    "web": ("userId",), "ios": ("user.id",), "android": ("userId",), "backend": ("actor.user_id", "user_id"),
}
# Lines of files outside `platform=<p>/` have no platform; their batch is `<load_id>/unknown`.
NO_PLATFORM = "unknown"


def batch_platform(col: str = "platform") -> str:
    """The batch platform of a line (raw, staged or quarantined): its platform, or `unknown`."""
    return f"COALESCE({col}, '{NO_PLATFORM}')"


def batch_id_sql(load_col: str = "load_id", platform_col: str = "platform") -> str:
    """`<load_id>/<platform>` in SQL (|| is the same on both engines)."""
    return f"({load_col} || '/' || {batch_platform(platform_col)})"


def in_batches(ids_sql: str, prefix: str = "") -> str:
    """Predicate: the line (columns load_id, platform) belongs to one of these batch ids."""
    return (f"({prefix}load_id, {batch_platform(prefix + 'platform')}) IN "
            f"(SELECT load_id, platform FROM batches WHERE batch_id IN {ids_sql})")

# The staged columns a user id can reach: the user, the anonymous id, a mention in the properties.
STAGED_PERSONAL = ("user_id", "anonymous_id", "properties")

TABLES: tuple[Table, ...] = (
    Table("raw_events", (
        ("load_id", "text"), ("file_path", "text"), ("line_number", "int"), ("platform", "text"),
        ("raw_line", "text"), ("decode_error", "bool"), ("received_at", "ts"), ("file_mtime", "ts"),
        ("loaded_at", "ts"), ("user_id", "text"),
    ), "raw", personal_data=True, cluster_by=("load_id",), compressed=("raw_line",), personal=("user_id", "raw_line"),
        doc="One row per received line, append-only; the line is kept as text even when unparseable. "
            "user_id: the line's user as its platform's contract reads it (NULL: unparseable, none, "
            "or loaded before the column existed), extracted by the load (Snowflake: the claim)."),
    Table("load_ledger", (
        ("file_path", "text"), ("size_bytes", "int"), ("checksum", "text"), ("load_id", "text"),
        ("platform", "text"), ("line_count", "int"), ("file_mtime", "ts"), ("loaded_at", "ts"),
        ("status", "text"), ("note", "text"),
    ), "raw", doc="A file is loaded once: keyed by path, size and checksum."),
    Table("batches", (
        ("load_id", "text"), ("state", "text"), ("created_at", "ts"), ("updated_at", "ts"),
        ("file_count", "int"), ("line_count", "int"), ("staged_at", "ts"), ("checks", "text"),
        ("note", "text"), ("batch_id", "text"), ("platform", "text"), ("decided_by", "text"),
        ("decided_at", "ts"), ("reason", "text"),
    ), "quarantine", doc="One platform's part of one load is a batch (batch_id = <load_id>/<platform>): "
                         "loading / pending / promoted / held / released / dropped; checks = the gate's "
                         "failed and warned checks (JSON); decided_by / reason = the last person's decision."),
    Table("batch_decisions", (
        ("batch_id", "text"), ("action", "text"), ("from_state", "text"), ("to_state", "text"),
        ("decided_by", "text"), ("reason", "text"), ("decided_at", "ts"),
    ), "quarantine", doc="Every decision on a batch (gate hold, release, drop) with who and why: the audit trail."),
    Table("stg_pending", EVENT_COLUMNS, "staged", personal_data=True, not_null=EVENT_NOT_NULL,
          compressed=("properties",), personal=STAGED_PERSONAL,
          doc="Valid events of batches not yet promoted (the gate runs on them)."),
    Table("stg_events", EVENT_COLUMNS, "staged", personal_data=True, not_null=EVENT_NOT_NULL,
          cluster_by=("event_date",), personal=STAGED_PERSONAL,
          compressed=("properties",),
          doc="Kept copy of each event_id (earliest received_at) of promoted or released batches."),
    Table("stg_duplicates", EVENT_COLUMNS, "staged", personal_data=True, not_null=EVENT_NOT_NULL,
          compressed=("properties",), personal=STAGED_PERSONAL,
          doc="Other copies of an event_id; linked to the kept event by event_id."),
    Table("quarantined_events", (
        ("load_id", "text"), ("file_path", "text"), ("line_number", "int"), ("platform", "text"),
        ("raw_line", "text"), ("reason", "text"), ("contract_version", "text"), ("event_id", "text"),
        ("user_id", "text"), ("quarantined_at", "ts"), ("feature_sent", "text"), ("app_version", "text"),
    ), "quarantine", personal_data=True, compressed=("raw_line",), personal=("raw_line", "user_id"),
        doc="Lines that broke the contract, with a reason code."),
    Table("ignored_events", (
        ("load_id", "text"), ("file_path", "text"), ("line_number", "int"), ("platform", "text"),
        ("reason", "text"),
    ), "quarantine", doc="Lines out of scope by contract (page views, system actors); the line stays in raw."),
    Table("pending_changes", (
        ("event_date", "date"), ("workspace_id", "text"), ("user_id", "text"), ("change", "text"),
        ("created_at", "ts"), ("event_id", "text"),
    ), "ops", personal_data=True, personal=("user_id",),
        doc="Partitions touched by staged events added or removed, consumed by the next curate step; "
            "event_id names the event (NULL: the whole (event_date, workspace_id, user_id) unit)."),
    Table("ref_feature_lookup", (
        ("kind", "text"), ("lookup_key", "text"), ("area", "text"), ("feature_id", "text"),
    ), "reference", doc="Catalog keys staging resolves features by: ids, legacy ids, display names per area."),
    # --- monitoring (monitors/, alerts/): ordinary tables that BI tools can query ---------------
    Table("check_results", (
        ("result_id", "text"), ("run_id", "text"), ("check_name", "text"), ("source", "text"),
        ("scope_type", "text"), ("scope", "text"), ("batch_id", "text"), ("platform", "text"),
        ("feature_id", "text"), ("value", "float"), ("threshold", "float"), ("normal", "float"),
        ("outcome", "text"), ("blocking", "bool"), ("detail", "text"), ("checked_at", "ts"),
    ), "ops", cluster_by=("checked_at",),
        doc="Every check evaluated (gate, table checks, Soda, pandera, detector): value against threshold "
            "and the scope's normal; outcome passed / warn / failed / not_evaluated; detail is JSON evidence."),
    Table("metric_history", (
        ("metric", "text"), ("scope", "text"), ("bucket_start", "ts"), ("bucket_seconds", "int"),
        ("value", "float"), ("updated_at", "ts"),
    ), "ops", cluster_by=("metric", "bucket_start"),
        doc="Time series the detector, the relative thresholds and the trust scores read; one row per "
            "(metric, scope, bucket_start, bucket_seconds), updated in place when late data arrives."),
    Table("incidents", (
        ("incident_key", "text"), ("kind", "text"), ("scope", "text"), ("platform", "text"),
        ("area", "text"), ("feature_id", "text"), ("batch_id", "text"), ("severity", "text"),
        ("state", "text"), ("title", "text"), ("summary", "text"), ("likely_cause", "text"),
        ("owner_team", "text"), ("opened_at", "ts"), ("last_seen_at", "ts"), ("resolved_at", "ts"),
        ("result_ids", "text"), ("snoozed_until", "ts"), ("acknowledged_as", "text"),
        ("revision", "int"), ("body", "text"), ("cause", "text"), ("members", "text"), ("updated_at", "ts"),
    ), "ops", doc="Failing results grouped: one row per incident (open / resolved), with its likely cause; "
                  "acknowledged_as = 'expected' teaches the volume detector that the day was expected; "
                  "revision counts the changes the on-call was told about; body is the last message (JSON); "
                  "cause the likely-cause evidence (JSON); members the series/checks it groups (JSON)."),
    Table("alert_outbox", (
        ("dedup_key", "text"), ("incident_key", "text"), ("action", "text"), ("state", "text"),
        ("attempts", "int"), ("next_attempt_at", "ts"), ("last_error", "text"), ("channel", "text"),
        ("transport", "text"), ("slack_channel_id", "text"), ("slack_ts", "text"), ("thread_ts", "text"),
        ("client_token", "text"), ("body", "text"), ("created_at", "ts"), ("sending_at", "ts"),
        ("sent_at", "ts"), ("updated_at", "ts"),
    ), "ops", doc="Every alert message, written before it is sent (ARCHITECTURE invariant 8): action open / update / "
                  "resolve; state pending / sending / sent / resolved / suppressed / failed; the Slack reference "
                  "(channel id + ts); client_token marks a post in flight so a restart can look it up."),
    Table("volume_expectations", (
        ("scope", "text"), ("bucket_start", "ts"), ("bucket_seconds", "int"), ("value", "float"),
        ("expected", "float"), ("lower", "float"), ("upper", "float"), ("confidence", "text"),
        ("score", "float"), ("p_value", "float"), ("direction", "text"), ("anomalous", "bool"),
        ("episode_start", "ts"), ("judged", "bool"), ("computed_at", "ts"),
    ), "ops", cluster_by=("bucket_start",),
        doc="The volume detector's expectation per series and bucket: judged buckets (value, band, score, "
            "anomalous) and forecasts of the next buckets (judged = false, value NULL) for the gate and charts."),
    Table("trust_scores", (
        ("day", "date"), ("scope_type", "text"), ("scope", "text"), ("score", "float"), ("grade", "text"),
        ("components", "text"), ("reasons", "text"), ("computed_at", "ts"), ("label", "text"),
    ), "ops", doc="Daily trust score per table, platform, area and feature, with components and reasons (JSON); "
                  "one row per (day, scope_type, scope), replaced when the day is scored again. "
                  "The view trust_scores_latest holds each scope's latest day."),
    Table("service_runs", (
        ("run_id", "text"), ("job", "text"), ("started_at", "ts"), ("finished_at", "ts"), ("seconds", "float"),
        ("outcome", "text"), ("attempt", "int"), ("error", "text"), ("summary", "text"), ("pid", "int"),
        ("host", "text"),
    ), "ops", doc="One row per job run of the service (`nova daemon`): outcome ok / failed / timeout / killed / "
                  "abandoned; attempt counts consecutive failures; summary is JSON (docs/service.md)."),
    Table("writer_lock", (
        ("name", "text"), ("holder", "text"), ("step", "text"), ("since", "ts"), ("expires_at", "ts"),
    ), "ops", doc="The lease each writing step holds (warehouse/lock.py): one writer at a time, on both engines."),
    Table("erasure_counts", (
        ("load_id", "text"), ("request_id", "text"), ("lines", "int"), ("erased_at", "ts"),
    ), "ops", doc="Lines removed from each load by GDPR erasure (reconcile reports them as `erased`)."),
)
TABLES_BY_NAME = {t.name: t for t in TABLES}


def column_sql(table: Table, name: str, kind: str, engine: Engine) -> str:
    return f"{name} {engine.t(kind)}" + (" NOT NULL" if name in table.not_null else "")


def create_table_sql(table: Table, engine: Engine, *, temporary: bool = False) -> str:
    cols = ",\n  ".join(column_sql(table, name, kind, engine) for name, kind in table.columns)
    if isinstance(engine, SnowflakeEngine):
        # Transient tables have no Fail-safe, and 1 day of Time Travel keeps erased rows for
        # at most a day: together they let a GDPR erasure finish well within 30 days.
        kind = "TEMPORARY " if temporary else ("TRANSIENT " if table.personal_data else "")
        opts = []
        if table.cluster_by:
            opts.append(f"CLUSTER BY ({', '.join(table.cluster_by)})")
        if table.personal_data and not temporary:
            opts.append("DATA_RETENTION_TIME_IN_DAYS = 1")
        tail = ("\n" + "\n".join(opts)) if opts else ""
        return f"CREATE {kind}TABLE IF NOT EXISTS {table.name} (\n  {cols}\n){tail}"
    kind = "TEMPORARY " if temporary else ""
    zstd = " USING COMPRESSION zstd"
    cols = ",\n  ".join(column_sql(table, name, k, engine) + (zstd if name in table.compressed else "")
                        for name, k in table.columns)
    return f"CREATE {kind}TABLE IF NOT EXISTS {table.name} (\n  {cols}\n)"
