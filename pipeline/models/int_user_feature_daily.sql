{#- int_user_feature_daily: staged events per (event_date, platform, workspace, user, resolved feature),
    no roll-up (it does not depend on the catalog hierarchy). last_* describe the latest event by the
    user_feature_last_seen order (event_ts desc, received_at desc, event_id asc), so the latest of a
    user's feature over any span is the latest of these rows.
    delta: the dirty units are recomputed from stg_events into curate_work_daily_new and compared
    with their rows before (curate_work_daily_old); only the rows that differ are deleted and
    written, and what changed goes to curate_work_daily_delta (count difference, new values, shrink)
    for the models downstream to apply. A unit's rows of features the batch did not touch stay.
    full: days before scope.rebuild_from are kept (their staged events left by retention). -#}
{%- import "_macros.jinja" as m with context -%}
{%- set cols = "event_date, platform, workspace_id, user_id, feature_id, event_count, first_ts, last_ts, "
               ~ "last_received_at, last_event_id" %}
{%- set keys = ["event_date", "platform", "workspace_id", "user_id", "feature_id"] %}
{%- macro from_staged() -%}
SELECT r.event_date, r.platform, r.workspace_id, r.user_id, r.feature_id,
       COUNT(*), MIN(r.event_ts), MAX(r.event_ts),
       MAX(CASE WHEN r.rn = 1 THEN r.received_at END), MAX(CASE WHEN r.rn = 1 THEN r.event_id END)
FROM (
  SELECT s.event_date, s.platform, s.workspace_id, s.user_id, s.feature_id, s.event_ts, s.received_at,
         s.event_id,
         ROW_NUMBER() OVER (
           PARTITION BY s.event_date, s.platform, s.workspace_id, s.user_id, s.feature_id
           ORDER BY s.event_ts DESC, s.received_at DESC, s.event_id ASC) AS rn
  FROM stg_events s
{%- if mode == "delta" %}
  {{ m.units_of("s") }}
{%- endif %}
{%- if mode != "full" %}
  WHERE {{ in_ranges("s.event_date", scope.date_ranges) }}
{%- endif %}
) r
GROUP BY r.event_date, r.platform, r.workspace_id, r.user_id, r.feature_id
{%- endmacro %}
{%- if mode == "delta" %}
INSERT INTO curate_work_daily_old ({{ cols }})
SELECT d.event_date, d.platform, d.workspace_id, d.user_id, d.feature_id, d.event_count, d.first_ts, d.last_ts,
       d.last_received_at, d.last_event_id
FROM int_user_feature_daily d
{{ m.units_of("d") }}
WHERE {{ in_ranges("d.event_date", scope.date_ranges) }};

INSERT INTO curate_work_daily_new ({{ cols }})
{{ from_staged() }};

{#- shrink: a merge (min, max, latest) cannot follow a row that lost its earliest or latest event or
    disappeared; models downstream recompute the keys such rows feed. -#}
INSERT INTO curate_work_daily_delta (
  event_date, platform, workspace_id, user_id, feature_id, d_count, first_ts, last_ts, last_received_at,
  last_event_id, existed, exists_now, shrink)
SELECT COALESCE(n.event_date, o.event_date), COALESCE(n.platform, o.platform),
       COALESCE(n.workspace_id, o.workspace_id), COALESCE(n.user_id, o.user_id),
       COALESCE(n.feature_id, o.feature_id),
       COALESCE(n.event_count, 0) - COALESCE(o.event_count, 0),
       n.first_ts, n.last_ts, n.last_received_at, n.last_event_id,
       o.event_date IS NOT NULL, n.event_date IS NOT NULL,
       CASE WHEN o.event_date IS NULL THEN FALSE
            WHEN n.event_date IS NULL THEN TRUE
            WHEN n.first_ts > o.first_ts OR n.last_ts < o.last_ts THEN TRUE
            WHEN n.last_ts = o.last_ts AND (n.last_received_at < o.last_received_at
                 OR (n.last_received_at = o.last_received_at AND n.last_event_id > o.last_event_id)) THEN TRUE
            ELSE FALSE END
FROM curate_work_daily_new n
FULL OUTER JOIN curate_work_daily_old o
  ON o.event_date = n.event_date AND o.platform = n.platform AND o.workspace_id = n.workspace_id
 AND o.user_id = n.user_id AND o.feature_id = n.feature_id
WHERE o.event_date IS NULL OR n.event_date IS NULL OR n.event_count <> o.event_count
   OR n.first_ts <> o.first_ts OR n.last_ts <> o.last_ts OR n.last_received_at <> o.last_received_at
   OR n.last_event_id <> o.last_event_id;

DELETE FROM int_user_feature_daily
WHERE {{ in_ranges("event_date", scope.date_ranges) }}
  AND EXISTS (
    SELECT 1 FROM curate_work_daily_delta w
    WHERE w.existed AND {{ m.same(keys, "w", "int_user_feature_daily") }});

INSERT INTO int_user_feature_daily ({{ cols }})
SELECT n.event_date, n.platform, n.workspace_id, n.user_id, n.feature_id, n.event_count, n.first_ts, n.last_ts,
       n.last_received_at, n.last_event_id
FROM curate_work_daily_new n
JOIN curate_work_daily_delta w ON w.exists_now AND {{ m.same(keys, "w", "n") }}
ORDER BY n.event_date;
{%- else %}
DELETE FROM int_user_feature_daily
{%- if mode == "range" %}
WHERE {{ in_ranges("event_date", scope.date_ranges) }}
{%- elif scope.rebuild_from %}
WHERE event_date >= {{ date_lit(scope.rebuild_from) }}
{%- endif %};

INSERT INTO int_user_feature_daily ({{ cols }})
{{ from_staged() }}
ORDER BY r.event_date;  {#- clustered by day: a run reads its days only (zone maps) #}
{%- endif %}
