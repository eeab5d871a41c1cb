{#- int_workspace_active, grain (period, period_start, workspace_id): active_users = distinct users of
    the workspace with any staged event in the period = its '*' rows of int_adoption_presence.
    delta: the (workspace, period) pairs where such a row appeared or disappeared are recounted
    (one row per active user: small next to the events). -#}
{%- import "_macros.jinja" as m with context -%}
{%- if mode == "delta" %}
{%- set changed %}(
    SELECT DISTINCT period, period_start, workspace_id FROM curate_work_adoption_presence
    WHERE feature_id = {{ e.lit(any_feature) }}
  ){% endset %}
DELETE FROM int_workspace_active
WHERE EXISTS (
  SELECT 1 FROM {{ changed }} k
  WHERE k.period = int_workspace_active.period AND k.period_start = int_workspace_active.period_start
    AND k.workspace_id = int_workspace_active.workspace_id);

INSERT INTO int_workspace_active (period, period_start, workspace_id, active_users)
SELECT p.period, p.period_start, p.workspace_id, COUNT(*)
FROM int_adoption_presence p
JOIN {{ changed }} k
  ON k.period = p.period AND k.period_start = p.period_start AND k.workspace_id = p.workspace_id
WHERE p.feature_id = {{ e.lit(any_feature) }} AND {{ m.period_touched("p") }}
GROUP BY p.period, p.period_start, p.workspace_id;
{%- else %}
DELETE FROM int_workspace_active
{%- if mode == "range" %}
WHERE {{ m.period_touched("int_workspace_active") }}
{%- endif %};

INSERT INTO int_workspace_active (period, period_start, workspace_id, active_users)
SELECT p.period, p.period_start, p.workspace_id, COUNT(*)
FROM int_adoption_presence p
WHERE p.feature_id = {{ e.lit(any_feature) }}
{%- if mode == "range" %}
  AND {{ m.period_touched("p") }}
{%- endif %}
GROUP BY p.period, p.period_start, p.workspace_id;
{%- endif %}
