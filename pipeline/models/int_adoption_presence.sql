{#- int_adoption_presence: which users of a workspace used a feature (every catalog level) in a week and
    in a month; feature_id '*' stands for "any feature" (the user had a staged event of the workspace
    in the period: its rows are the active users).
    delta: as int_usage_presence, a row appears only through a daily row that appeared and disappears
    only through one that disappeared when no daily row of the period still holds it. -#}
{%- import "_macros.jinja" as m with context -%}
{%- macro rolled(source) -%}
SELECT pr.period,
       CASE WHEN pr.period = 'week' THEN {{ e.week_start("x.event_date") }}
            ELSE {{ e.month_start("x.event_date") }} END AS period_start,
       x.workspace_id,
       CASE WHEN f.any_feature = 1 THEN {{ e.lit(any_feature) }} ELSE COALESCE(a.ancestor_id, x.feature_id) END
         AS feature_id,
       x.user_id
FROM {{ source }} x
CROSS JOIN (SELECT 'week' AS period UNION ALL SELECT 'month' AS period) pr
CROSS JOIN (SELECT 0 AS any_feature UNION ALL SELECT 1 AS any_feature) f
LEFT JOIN feature_ancestors a ON f.any_feature = 0 AND a.feature_id = x.feature_id
{%- endmacro %}
{%- set keys = ["period", "period_start", "workspace_id", "feature_id", "user_id"] %}
{%- set cols = keys | join(", ") %}
{%- set periods = in_ranges("d.event_date", scope.period_ranges("week") + scope.period_ranges("month")) %}
{%- set same_row = "t.period = r.period AND t.period_start = r.period_start AND t.row_key = r.row_key" %}

{%- if mode == "delta" %}
INSERT INTO curate_work_adoption_presence ({{ cols }}, row_key, change)
SELECT DISTINCT {{ cols }}, row_key, 1  {#- distinct after the anti-join: fewer rows #}
FROM (SELECT r0.*, {{ row_key("int_adoption_presence", "r0") }} AS row_key FROM ({{ rolled(m.appeared) }}) r0) r
WHERE NOT EXISTS (SELECT 1 FROM int_adoption_presence t WHERE {{ m.period_touched("t") }} AND {{ same_row }});

{{ m.only_if("SELECT COUNT(*) FROM curate_work_daily_delta WHERE existed AND NOT exists_now") }}
INSERT INTO curate_work_adoption_presence ({{ cols }}, row_key, change)
SELECT {{ cols }}, row_key, -1
FROM ({{ m.keyed("int_adoption_presence", cols, rolled(m.disappeared)) }}) r
WHERE NOT EXISTS (
  SELECT 1
  FROM ({{ rolled("(SELECT d.* FROM int_user_feature_daily d WHERE " ~ periods ~ " AND EXISTS (SELECT 1 FROM "
                  ~ m.disappeared ~ " g WHERE g.workspace_id = d.workspace_id AND g.user_id = d.user_id))") }}) s
  WHERE {{ m.same(keys, "s", "r") }});

{{ m.only_if("SELECT COUNT(*) FROM curate_work_adoption_presence WHERE change < 0") }}
DELETE FROM int_adoption_presence
WHERE {{ m.period_touched("int_adoption_presence") }}
  AND EXISTS (
    SELECT 1 FROM curate_work_adoption_presence w
    WHERE w.change < 0 AND {{ m.same(["period", "period_start", "row_key"], "w", "int_adoption_presence") }});

INSERT INTO int_adoption_presence ({{ cols }}, row_key)
SELECT {{ cols }}, row_key FROM curate_work_adoption_presence WHERE change > 0;
{%- else %}
DELETE FROM int_adoption_presence
{%- if mode == "range" %}
WHERE {{ m.period_touched("int_adoption_presence") }}
{%- endif %};

INSERT INTO int_adoption_presence ({{ cols }}, row_key)
SELECT {{ cols }}, row_key
{%- if mode == "range" %}
FROM ({{ m.keyed("int_adoption_presence", cols, rolled("(SELECT * FROM int_user_feature_daily d WHERE " ~ periods ~ ")")) }}) r
WHERE {{ m.period_touched("r") }}
{%- else %}
FROM ({{ m.keyed("int_adoption_presence", cols, rolled("int_user_feature_daily")) }}) r
{%- endif %}
ORDER BY period, period_start;  {#- clustered: a run reads its periods only (zone maps) #}
{%- endif %}
