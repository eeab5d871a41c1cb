{#- int_usage_presence: which users and which workspaces used a feature (every catalog level) in an ISO
    week, per platform and 'all'. A distinct count over the week is the number of such rows, so
    feature_usage_weekly follows a change by the rows that appear or disappear (grain is always
    'week'; a day needs no such table, see feature_usage_daily). An id the catalog no longer has
    counts for itself only.
    delta: a row can only appear through a daily row that appeared, and only disappear through one
    that disappeared (and then only if no daily row of the week still holds it); daily rows that
    merely gained or lost events change nothing here. -#}
{%- import "_macros.jinja" as m with context -%}
{%- macro rolled(source) -%}
SELECT 'week' AS grain, {{ e.week_start("x.event_date") }} AS period_start,
       CASE WHEN p.is_all = 1 THEN {{ e.lit(platform_all) }} ELSE x.platform END AS platform,
       COALESCE(a.ancestor_id, x.feature_id) AS feature_id,
       k.entity_kind,
       CASE WHEN k.entity_kind = 'user' THEN x.user_id ELSE x.workspace_id END AS entity_id
FROM {{ source }} x
LEFT JOIN feature_ancestors a ON a.feature_id = x.feature_id
CROSS JOIN (SELECT 0 AS is_all UNION ALL SELECT 1 AS is_all) p
CROSS JOIN (SELECT 'user' AS entity_kind UNION ALL SELECT 'workspace' AS entity_kind) k
{%- endmacro %}
{%- set keys = ["grain", "period_start", "platform", "feature_id", "entity_kind", "entity_id"] %}
{%- set cols = keys | join(", ") %}
{%- set weeks = in_ranges("d.event_date", scope.period_ranges("week")) %}
{%- set same_row = "t.grain = r.grain AND t.period_start = r.period_start AND t.row_key = r.row_key" %}

{%- if mode == "delta" %}
INSERT INTO curate_work_usage_presence ({{ cols }}, row_key, change)
SELECT DISTINCT {{ cols }}, row_key, 1  {#- distinct after the anti-join: fewer rows #}
FROM (SELECT r0.*, {{ row_key("int_usage_presence", "r0") }} AS row_key FROM ({{ rolled(m.appeared) }}) r0) r
WHERE NOT EXISTS (SELECT 1 FROM int_usage_presence t WHERE {{ m.usage_touched("t") }} AND {{ same_row }});

{{ m.only_if("SELECT COUNT(*) FROM curate_work_daily_delta WHERE existed AND NOT exists_now") }}
INSERT INTO curate_work_usage_presence ({{ cols }}, row_key, change)
SELECT {{ cols }}, row_key, -1
FROM ({{ m.keyed("int_usage_presence", cols, rolled(m.disappeared)) }}) r
WHERE NOT EXISTS (
  SELECT 1
  FROM ({{ rolled("(SELECT d.* FROM int_user_feature_daily d WHERE " ~ weeks ~ " AND (d.user_id IN "
                  ~ "(SELECT user_id FROM " ~ m.disappeared ~ " g) OR d.workspace_id IN "
                  ~ "(SELECT workspace_id FROM " ~ m.disappeared ~ " g)))") }}) s
  WHERE {{ m.same(keys, "s", "r") }});

{{ m.only_if("SELECT COUNT(*) FROM curate_work_usage_presence WHERE change < 0") }}
DELETE FROM int_usage_presence
WHERE {{ m.usage_touched("int_usage_presence") }}
  AND EXISTS (
    SELECT 1 FROM curate_work_usage_presence w
    WHERE w.change < 0 AND {{ m.same(["grain", "period_start", "row_key"], "w", "int_usage_presence") }});

INSERT INTO int_usage_presence ({{ cols }}, row_key)
SELECT {{ cols }}, row_key FROM curate_work_usage_presence WHERE change > 0;
{%- else %}
DELETE FROM int_usage_presence
{%- if mode == "range" %}
WHERE {{ m.usage_touched("int_usage_presence") }}
{%- endif %};

INSERT INTO int_usage_presence ({{ cols }}, row_key)
SELECT {{ cols }}, row_key
{%- if mode == "range" %}
FROM ({{ m.keyed("int_usage_presence", cols, rolled("(SELECT * FROM int_user_feature_daily d WHERE " ~ weeks ~ ")")) }}) r
WHERE {{ m.usage_touched("r") }}
{%- else %}
FROM ({{ m.keyed("int_usage_presence", cols, rolled("int_user_feature_daily")) }}) r
{%- endif %}
ORDER BY grain, period_start;  {#- clustered: a run reads its weeks only (zone maps) #}
{%- endif %}
