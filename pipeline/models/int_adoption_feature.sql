{#- int_adoption_feature, grain (workspace_id, feature_id, period, period_start): feature_users =
    distinct users of the workspace who used the feature or a descendant in the period,
    event_count, first_used_at / last_used_at over the subtree's events.
    delta: feature_users moves by the int_adoption_presence rows that appeared or disappeared;
    events add up from the changed daily rows; first/last merge with them, except for keys fed by
    a shrunk daily row, recomputed from the daily rows. range / full: from the daily rows. -#}
{%- import "_macros.jinja" as m with context -%}
{%- macro rolled(source) -%}
SELECT x.workspace_id, COALESCE(a.ancestor_id, x.feature_id) AS feature_id, pr.period,
       CASE WHEN pr.period = 'week' THEN {{ e.week_start("x.event_date") }}
            ELSE {{ e.month_start("x.event_date") }} END AS period_start,
       x.user_id, x.first_ts, x.last_ts, x.{{ caller() }}
FROM {{ source }} x
CROSS JOIN (SELECT 'week' AS period UNION ALL SELECT 'month' AS period) pr
LEFT JOIN feature_ancestors a ON a.feature_id = x.feature_id
{%- endmacro %}
{%- set keys = ["workspace_id", "feature_id", "period", "period_start"] %}
{%- set periods = in_ranges("event_date", scope.period_ranges("week") + scope.period_ranges("month")) %}

{%- if mode == "delta" %}
INSERT INTO curate_work_adoption_feature (
  workspace_id, feature_id, period, period_start, feature_users, event_count, first_used_at, last_used_at,
  existed, shrink)
SELECT c.workspace_id, c.feature_id, c.period, c.period_start,
       COALESCE(o.feature_users, 0) + c.d_users, COALESCE(o.event_count, 0) + c.d_events,
       {{ m.earliest("c.first_ts", "o.first_used_at") }},
       {{ m.latest("c.last_ts", "o.last_used_at") }},
       o.workspace_id IS NOT NULL, c.shrink
FROM (
  SELECT r.workspace_id, r.feature_id, r.period, r.period_start, SUM(r.d_users) AS d_users,
         SUM(r.d_events) AS d_events, MIN(r.first_ts) AS first_ts, MAX(r.last_ts) AS last_ts,
         MAX(r.shrink) = 1 AS shrink
  FROM (
    SELECT x.workspace_id, x.feature_id, x.period, x.period_start, 0 AS d_users, x.d_count AS d_events,
           x.first_ts, x.last_ts, CASE WHEN x.shrink THEN 1 ELSE 0 END AS shrink
    FROM ({% call rolled("curate_work_daily_delta") %}d_count, x.shrink{% endcall %}) x
    UNION ALL
    SELECT w.workspace_id, w.feature_id, w.period, w.period_start, w.change, 0, NULL, NULL, 0
    FROM curate_work_adoption_presence w
    WHERE w.feature_id <> {{ e.lit(any_feature) }}
  ) r
  GROUP BY r.workspace_id, r.feature_id, r.period, r.period_start
) c
LEFT JOIN (SELECT * FROM int_adoption_feature t WHERE {{ m.period_touched("t") }}) o
  ON {{ m.same(keys, "o", "c") }};

{{ m.only_if("SELECT COUNT(*) FROM curate_work_adoption_feature WHERE shrink") }}
UPDATE curate_work_adoption_feature
SET first_used_at = r.first_ts, last_used_at = r.last_ts
FROM (
  SELECT y.workspace_id, y.feature_id, y.period, y.period_start, MIN(y.first_ts) AS first_ts,
         MAX(y.last_ts) AS last_ts
  FROM ({% call rolled("(SELECT * FROM int_user_feature_daily WHERE " ~ periods ~ " AND workspace_id IN "
                       ~ "(SELECT workspace_id FROM curate_work_adoption_feature WHERE shrink))") %}event_count{% endcall %}) y
  JOIN curate_work_adoption_feature k ON k.shrink AND {{ m.same(keys, "k", "y") }}
  GROUP BY y.workspace_id, y.feature_id, y.period, y.period_start
) r
WHERE curate_work_adoption_feature.shrink AND {{ m.same(keys, "r", "curate_work_adoption_feature") }};

DELETE FROM int_adoption_feature
WHERE {{ m.period_touched("int_adoption_feature") }}
  AND EXISTS (
    SELECT 1 FROM curate_work_adoption_feature w
    WHERE w.existed AND {{ m.same(keys, "w", "int_adoption_feature") }});

INSERT INTO int_adoption_feature (
  workspace_id, feature_id, period, period_start, feature_users, event_count, first_used_at, last_used_at)
SELECT workspace_id, feature_id, period, period_start, feature_users, event_count, first_used_at, last_used_at
FROM curate_work_adoption_feature
WHERE event_count > 0;
{%- else %}
DELETE FROM int_adoption_feature
{%- if mode == "range" %}
WHERE {{ m.period_touched("int_adoption_feature") }}
{%- endif %};

INSERT INTO int_adoption_feature (
  workspace_id, feature_id, period, period_start, feature_users, event_count, first_used_at, last_used_at)
SELECT r.workspace_id, r.feature_id, r.period, r.period_start, COUNT(DISTINCT r.user_id), SUM(r.event_count),
       MIN(r.first_ts), MAX(r.last_ts)
{%- if mode == "range" %}
FROM ({% call rolled("(SELECT * FROM int_user_feature_daily WHERE " ~ periods ~ ")") %}event_count{% endcall %}) r
WHERE {{ m.period_touched("r") }}
{%- else %}
FROM ({% call rolled("int_user_feature_daily") %}event_count{% endcall %}) r
{%- endif %}
GROUP BY r.workspace_id, r.feature_id, r.period, r.period_start
ORDER BY r.period, r.period_start;
{%- endif %}
