{#- feature_usage_daily, grain (event_date, feature_id, platform): every catalog level, each platform
    and 'all'. event_count = events; user_count / workspace_count = distinct users / workspaces of
    the day. A row exists only where event_count > 0.
    delta: a day's distinct users can only change for the users of the run's units, and its distinct
    workspaces for their workspaces; their daily rows before (the unchanged ones and
    curate_work_daily_old) and after give the presence rows that appear (+1) or disappear (-1).
    This reads the dirty users' and workspaces' rows of the dirty days, never whole days. -#}
{%- import "_macros.jinja" as m with context -%}
{%- macro rolled(source, measure) -%}
SELECT x.event_date, CASE WHEN p.is_all = 1 THEN {{ e.lit(platform_all) }} ELSE x.platform END AS platform,
       COALESCE(a.ancestor_id, x.feature_id) AS feature_id, x.user_id, x.workspace_id, x.{{ measure }} AS n
FROM {{ source }} x
LEFT JOIN feature_ancestors a ON a.feature_id = x.feature_id
CROSS JOIN (SELECT 0 AS is_all UNION ALL SELECT 1 AS is_all) p
{%- endmacro %}
{#- The daily rows of the dirty (event_date, <entity>) pairs: now (sign +1) and before (sign -1). -#}
{%- macro both_states(entity) -%}
(
  SELECT d.event_date, d.platform, d.workspace_id, d.user_id, d.feature_id, 1 AS sign
  FROM int_user_feature_daily d
  JOIN (SELECT DISTINCT event_date, {{ entity }} FROM curate_work_units) k
    ON k.event_date = d.event_date AND k.{{ entity }} = d.{{ entity }}
  WHERE {{ in_ranges("d.event_date", scope.date_ranges) }}
  UNION ALL
  SELECT d.event_date, d.platform, d.workspace_id, d.user_id, d.feature_id, -1 AS sign
  FROM int_user_feature_daily d
  JOIN (SELECT DISTINCT event_date, {{ entity }} FROM curate_work_units) k
    ON k.event_date = d.event_date AND k.{{ entity }} = d.{{ entity }}
  WHERE {{ in_ranges("d.event_date", scope.date_ranges) }}
    AND NOT EXISTS (
      SELECT 1 FROM curate_work_units u
      WHERE u.event_date = d.event_date AND u.workspace_id = d.workspace_id AND u.user_id = d.user_id)
  UNION ALL
  SELECT o.event_date, o.platform, o.workspace_id, o.user_id, o.feature_id, -1 AS sign
  FROM curate_work_daily_old o
)
{%- endmacro %}

{%- if mode == "delta" %}
{% call m.apply_usage_delta("feature_usage_daily", "event_date", "day", in_ranges("event_date", scope.date_ranges)) %}
  SELECT r.event_date, r.feature_id, r.platform, SUM(r.d_events) AS d_events, SUM(r.d_users) AS d_users,
         SUM(r.d_workspaces) AS d_workspaces
  FROM (
    SELECT x.event_date, x.feature_id, x.platform, x.n AS d_events, 0 AS d_users, 0 AS d_workspaces
    FROM ({{ rolled("curate_work_daily_delta", "d_count") }}) x
    UNION ALL
    SELECT y.event_date, y.feature_id, y.platform, 0, y.n, 0
    FROM (SELECT DISTINCT z.event_date, z.feature_id, z.platform, z.user_id, z.n
          FROM ({{ rolled(both_states("user_id"), "sign") }}) z) y
    UNION ALL
    SELECT y.event_date, y.feature_id, y.platform, 0, 0, y.n
    FROM (SELECT DISTINCT z.event_date, z.feature_id, z.platform, z.workspace_id, z.n
          FROM ({{ rolled(both_states("workspace_id"), "sign") }}) z) y
  ) r
  GROUP BY r.event_date, r.feature_id, r.platform
{%- endcall %}
{%- else %}
DELETE FROM feature_usage_daily
{%- if mode == "range" %}
WHERE {{ in_ranges("event_date", scope.date_ranges) }}
{%- endif %};

INSERT INTO feature_usage_daily (event_date, feature_id, platform, event_count, user_count, workspace_count)
SELECT r.event_date, r.feature_id, r.platform, SUM(r.n), COUNT(DISTINCT r.user_id), COUNT(DISTINCT r.workspace_id)
{%- if mode == "range" %}
FROM ({{ rolled("(SELECT * FROM int_user_feature_daily WHERE " ~ in_ranges("event_date", scope.date_ranges) ~ ")",
                "event_count") }}) r
{%- else %}
FROM ({{ rolled("int_user_feature_daily", "event_count") }}) r
{%- endif %}
GROUP BY r.event_date, r.feature_id, r.platform
ORDER BY r.event_date;
{%- endif %}
