{#- fct_feature_events: one row per staged event (SEMANTICS "Curated tables").
    delta: the rows of a dirty (event_date, workspace_id, user_id) unit come only from the staged
    rows of the same unit, so replacing the units is exact and costs what the batch touched.
    range: the scope's days; full: every day from scope.rebuild_from on (older days have no staged
    events any more: retention). -#}
{%- import "_macros.jinja" as m with context -%}
DELETE FROM fct_feature_events
{%- if mode == "delta" %}
WHERE {{ in_ranges("event_date", scope.date_ranges) }}
  AND EXISTS (
    SELECT 1 FROM curate_work_units u
    WHERE u.event_date = fct_feature_events.event_date AND u.workspace_id = fct_feature_events.workspace_id
      AND u.user_id = fct_feature_events.user_id)
{%- elif mode == "range" %}
WHERE {{ in_ranges("event_date", scope.date_ranges) }}
{%- elif scope.rebuild_from %}
WHERE event_date >= {{ date_lit(scope.rebuild_from) }}
{%- endif %};

INSERT INTO fct_feature_events (
  event_id, event_ts, event_date, received_at, platform, feature_id, action, user_id, workspace_id,
  app_version, drift_seconds, properties)
SELECT s.event_id, s.event_ts, s.event_date, s.received_at, s.platform, s.feature_id, s.action, s.user_id,
       s.workspace_id, s.app_version, s.drift_seconds, s.properties
FROM stg_events s
{%- if mode == "delta" %}
{{ m.units_of("s") }}
{%- endif %}
{%- if mode != "full" %}
WHERE {{ in_ranges("s.event_date", scope.date_ranges) }}
{%- endif %}
ORDER BY s.event_date;  {#- clustered by day: a run reads its days only (zone maps) #}
