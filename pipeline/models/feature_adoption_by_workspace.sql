{#- feature_adoption_by_workspace, grain (workspace_id, feature_id, period, period_start), all platforms
    (SEMANTICS): a view, so that a new active user of a workspace changes the adoption_rate of all
    its features without rewriting them; its two tables are maintained incrementally. -#}
{{ e.replace_view("feature_adoption_by_workspace") }} AS
SELECT f.workspace_id, f.feature_id, f.period, f.period_start, a.active_users, f.feature_users,
       CAST(f.feature_users AS {{ e.t("float") }}) / a.active_users AS adoption_rate,
       f.event_count, f.first_used_at, f.last_used_at
FROM int_adoption_feature f
JOIN int_workspace_active a
  ON a.period = f.period AND a.period_start = f.period_start AND a.workspace_id = f.workspace_id
