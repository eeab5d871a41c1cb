"""The meaning of every column an analyst reads, written once (wording from SEMANTICS.md).

The generated dbt package takes its column descriptions from here and its table descriptions from
the tables' own `doc`; `tests/analytics/test_dbt_package.py` fails when an exported table has a
column without a description, or a description of a column that no longer exists.
"""

from __future__ import annotations

_EVENT_TS = ("When the event happened (UTC): the client time corrected for clock skew "
             "(received_at − (sent − client time)), clamped to received_at when more than 5 minutes ahead.")
_FEATURE_ROLLUP = ("Catalog feature id at every level of today's hierarchy: an event of editor.comments.mention "
                   "counts for editor.comments.mention, editor.comments and editor.")
_PLATFORM_ALL = "web, ios, android, backend (the registry's platforms), or all: every platform, counted distinct."
_USAGE = {
    "event_count": "Staged events (after deduplication); greater than 0 on every row. Adds up across rows.",
    "user_count": "Distinct user_id of the row's events. Never sum it across days, platforms or features.",
    "workspace_count": "Distinct workspace_id of the row's events. Never sum it across rows.",
    "feature_id": _FEATURE_ROLLUP,
    "platform": _PLATFORM_ALL,
}

COLUMN_DOCS: dict[str, dict[str, str]] = {
    "fct_feature_events": {
        "event_id": "The event's id as sent (web messageId, ios event_id, android eventId, backend id), trimmed "
                    "and lower-cased; one row per id across all platforms (the copy received first).",
        "event_ts": _EVENT_TS,
        "event_date": "UTC date of event_ts.",
        "received_at": "When the collector received the line (UTC; the file's modification time for lines "
                       "without one). received_at − event_ts is how late the event arrived (at most 72 h).",
        "platform": "Platform the event was sent from: a platform of the contract registry (web, ios, android, "
                    "backend).",
        "feature_id": "Catalog feature the event resolved to (its id, a legacy id, or an old web SDK's display "
                      "name), as sent: no roll-up. Joins dim_feature.feature_id.",
        "action": "The action the client reported with the feature (e.g. used).",
        "user_id": "The user who used the feature. Personal data: erased on a GDPR request.",
        "workspace_id": "The workspace the user acted in.",
        "app_version": "Client version (web SDK, ios and android app versions); NULL for backend events.",
        "drift_seconds": "received_at − client time as sent, in seconds (before the skew correction): the "
                         "client's clock error plus transit; negative when the clock was ahead.",
        "properties": "The event's free-form properties (JSON), personal-data keys (email, ip, ip_address, name, "
                      "phone) removed.",
    },
    "feature_usage_daily": {
        "event_date": "UTC day of the events (event_date of fct_feature_events).",
        **_USAGE,
    },
    "feature_usage_weekly": {
        "week_start": "Monday of the ISO week (UTC) of the events.",
        **_USAGE,
        "user_count": "Distinct user_id over the whole week (not a sum of days). Never sum it across rows.",
        "workspace_count": "Distinct workspace_id over the whole week (not a sum of days).",
    },
    "feature_adoption_by_workspace": {
        "workspace_id": "The workspace.",
        "feature_id": _FEATURE_ROLLUP + " All platforms together.",
        "period": "week (ISO week, starts Monday) or month (starts on the 1st), UTC.",
        "period_start": "First day of the period: a Monday for week, the 1st for month.",
        "active_users": "Distinct users of the workspace with any staged event in the period.",
        "feature_users": "Distinct users of the workspace who used the feature or a descendant in the period; "
                         "greater than 0 on every row.",
        "adoption_rate": "feature_users / active_users, between 0 and 1.",
        "event_count": "Events of the feature's subtree in this workspace and period.",
        "first_used_at": "Earliest event_ts of those events.",
        "last_used_at": "Latest event_ts of those events.",
    },
    "user_feature_last_seen": {
        "user_id": "The user. Personal data: erased on a GDPR request.",
        "feature_id": "Resolved feature as sent, without roll-up. Joins dim_feature.feature_id.",
        "first_seen_at": "Earliest event_ts of the user on the feature.",
        "last_seen_at": "Latest event_ts of the user on the feature.",
        "event_count": "Events of the user on the feature, all time (within retention).",
        "last_workspace_id": "Workspace of the latest event (latest event_ts, then latest received_at, then the "
                             "smaller event_id).",
        "last_platform": "Platform of that latest event.",
    },
    "dim_feature": {
        "feature_id": "Catalog id (dotted path of ids, e.g. editor.comments.mention).",
        "name": "Display name of the feature.",
        "parent_id": "Parent feature id; NULL for a top-level area.",
        "path": "Display names from the top-level area down to the feature, joined by ' > ' "
                "(e.g. Editor > Comments > Mention).",
        "depth": "0 for a top-level area, 1 for its children, and so on.",
        "owner": "Team that owns the feature's instrumentation.",
        "status": "Lifecycle: active, beta or deprecated (deprecated features still count).",
        "platforms": "Comma-separated platforms the feature is instrumented on.",
        "valid_from": "When this version of the feature's attributes took effect (UTC).",
        "valid_to": "When it was replaced or the feature left the catalog; NULL on the current version.",
        "is_current": "True on the current version of each feature still in the catalog.",
    },
    "feature_ancestors": {
        "feature_id": "A catalog feature.",
        "ancestor_id": "The feature itself or one of its ancestors.",
        "depth_diff": "Levels between them: 0 for the feature itself, 1 for its parent.",
    },
    "trust_scores": {
        "day": "UTC day the score describes.",
        "scope_type": "What is scored: table (a curated table), platform, area (a top-level feature) or feature.",
        "scope": "The table name, platform, area id or feature id (joins feature_id of the usage tables for "
                 "area and feature).",
        "score": "0 (do not use) to 100 (fully trustworthy) for that day.",
        "grade": "Letter grade of the score, for dashboards.",
        "components": "JSON: the points each component (freshness, completeness, validity, uniqueness, volume, "
                      "held batches and incidents, late data) took off.",
        "reasons": "JSON array: why points were taken off, in plain words, largest first.",
        "computed_at": "When the score was computed (UTC); a day is rescored while its data still changes.",
        "label": "The scope as people read it (a table name, a platform's name, a feature's display name), for "
                 "dashboards.",
    },
}
# Each scope's latest scored day: the same columns (a view the trust job creates with its first scores).
COLUMN_DOCS["trust_scores_latest"] = {
    **COLUMN_DOCS["trust_scores"], "day": "The latest day scored for this scope (UTC)."}
