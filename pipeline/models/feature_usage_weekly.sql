{#- feature_usage_weekly, grain (week_start, feature_id, platform): as feature_usage_daily over the ISO
    week (Monday start). Distinct counts are over the week, not sums of days.
    delta: old row + the events of the changed daily rows + the int_usage_presence rows (users,
    workspaces) that appeared or disappeared this run. range / full: from the daily rows. -#}
{%- import "_macros.jinja" as m with context -%}
{%- macro rolled(source, measure) -%}
SELECT {{ e.week_start("x.event_date") }} AS week_start,
       CASE WHEN p.is_all = 1 THEN {{ e.lit(platform_all) }} ELSE x.platform END AS platform,
       COALESCE(a.ancestor_id, x.feature_id) AS feature_id, x.user_id, x.workspace_id, x.{{ measure }} AS n
FROM {{ source }} x
LEFT JOIN feature_ancestors a ON a.feature_id = x.feature_id
CROSS JOIN (SELECT 0 AS is_all UNION ALL SELECT 1 AS is_all) p
{%- endmacro %}

{%- if mode == "delta" %}
{% call m.apply_usage_delta("feature_usage_weekly", "week_start", "week", in_dates("week_start", scope.weeks)) %}
  SELECT r.week_start, r.feature_id, r.platform, SUM(r.d_events) AS d_events, SUM(r.d_users) AS d_users,
         SUM(r.d_workspaces) AS d_workspaces
  FROM (
    SELECT x.week_start, x.feature_id, x.platform, x.n AS d_events, 0 AS d_users, 0 AS d_workspaces
    FROM ({{ rolled("curate_work_daily_delta", "d_count") }}) x
    UNION ALL
    SELECT w.period_start, w.feature_id, w.platform, 0,
           CASE WHEN w.entity_kind = 'user' THEN w.change ELSE 0 END,
           CASE WHEN w.entity_kind = 'workspace' THEN w.change ELSE 0 END
    FROM curate_work_usage_presence w
  ) r
  GROUP BY r.week_start, r.feature_id, r.platform
  HAVING SUM(r.d_events) <> 0 OR SUM(r.d_users) <> 0 OR SUM(r.d_workspaces) <> 0
{%- endcall %}
{%- else %}
DELETE FROM feature_usage_weekly
{%- if mode == "range" %}
WHERE {{ in_dates("week_start", scope.weeks) }}
{%- endif %};

INSERT INTO feature_usage_weekly (week_start, feature_id, platform, event_count, user_count, workspace_count)
SELECT r.week_start, r.feature_id, r.platform, SUM(r.n), COUNT(DISTINCT r.user_id), COUNT(DISTINCT r.workspace_id)
{%- if mode == "range" %}
FROM ({{ rolled("(SELECT * FROM int_user_feature_daily WHERE "
                ~ in_ranges("event_date", scope.period_ranges("week")) ~ ")", "event_count") }}) r
WHERE {{ in_dates("r.week_start", scope.weeks) }}
{%- else %}
FROM ({{ rolled("int_user_feature_daily", "event_count") }}) r
{%- endif %}
GROUP BY r.week_start, r.feature_id, r.platform
ORDER BY r.week_start;
{%- endif %}
