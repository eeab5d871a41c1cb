{#- fct_feature_events: one row per staged event (SEMANTICS "Curated tables").
    delta: a change that names its event (staging writes the event_id of every row it adds to or
    removes from stg_events) touches that event only: a removed copy leaves, the kept copy comes in
    unless it is curated already. New events are appended, so a run writes the batch and rewrites
    nothing else. A change without an event id (an erasure, a release before event ids) names a
    whole (event_date, workspace_id, user_id) unit, replaced from the staged rows of the unit.
    range: the scope's days; full: every day from scope.rebuild_from on (older days have no staged
    events any more: retention). -#}
{%- import "_macros.jinja" as m with context -%}
{%- set cols = "event_id, event_ts, event_date, received_at, platform, feature_id, action, user_id, workspace_id, "
               ~ "app_version, drift_seconds, properties" %}
{%- macro staged() -%}
SELECT s.event_id, s.event_ts, s.event_date, s.received_at, s.platform, s.feature_id, s.action, s.user_id,
       s.workspace_id, s.app_version, s.drift_seconds, s.properties
FROM stg_events s
{%- endmacro %}
{%- if mode == "delta" %}
{%- set whole = "(SELECT DISTINCT event_date, workspace_id, user_id FROM curate_work_pending WHERE event_id IS NULL)" %}
{%- set named = "SELECT event_id FROM curate_work_pending WHERE event_id IS NOT NULL" %}
{{ m.only_if("SELECT COUNT(*) FROM curate_work_pending WHERE event_id IS NULL") }}
DELETE FROM fct_feature_events
WHERE {{ in_ranges("event_date", scope.date_ranges) }}
  AND EXISTS (
    SELECT 1 FROM {{ whole }} u
    WHERE u.event_date = fct_feature_events.event_date AND u.workspace_id = fct_feature_events.workspace_id
      AND u.user_id = fct_feature_events.user_id);

{{ m.only_if("SELECT COUNT(*) FROM curate_work_pending WHERE event_id IS NULL") }}
INSERT INTO fct_feature_events ({{ cols }})
{{ staged() }}
JOIN {{ whole }} u
  ON u.event_date = s.event_date AND u.workspace_id = s.workspace_id AND u.user_id = s.user_id
WHERE {{ in_ranges("s.event_date", scope.date_ranges) }}
ORDER BY s.event_date;

{{ m.only_if("SELECT COUNT(*) FROM curate_work_pending WHERE event_id IS NOT NULL AND change <> 'added'") }}
DELETE FROM fct_feature_events
WHERE {{ in_ranges("event_date", scope.date_ranges) }}
  AND event_id IN ({{ named }} AND change <> 'added');
{%- if scope.received_from is not none %}

{#- "Curated already" (a backfill ran since, or the unit was replaced above) reads only the rows
    received since the earliest of these events: a curated copy is never received earlier. -#}
INSERT INTO fct_feature_events ({{ cols }})
{{ staged() }}
WHERE {{ in_ranges("s.event_date", scope.date_ranges) }}
  AND s.event_id IN ({{ named }})
  AND NOT EXISTS (
    SELECT 1 FROM fct_feature_events f
    WHERE {{ in_ranges("f.event_date", scope.date_ranges) }} AND f.received_at >= {{ ts_lit(scope.received_from) }}
      AND f.event_id = s.event_id)
ORDER BY s.event_date;
{%- endif %}
{%- else %}
DELETE FROM fct_feature_events
{%- if mode == "range" %}
WHERE {{ in_ranges("event_date", scope.date_ranges) }}
{%- elif scope.rebuild_from %}
WHERE event_date >= {{ date_lit(scope.rebuild_from) }}
{%- endif %};

INSERT INTO fct_feature_events ({{ cols }})
{{ staged() }}
{%- if mode == "range" %}
WHERE {{ in_ranges("s.event_date", scope.date_ranges) }}
{%- endif %}
ORDER BY s.event_date;  {#- clustered by day: a run reads its days only (zone maps) #}
{%- endif %}
