{#- int_user_feature_last, grain (user_id, feature_id) on the resolved feature id (no roll-up): first and
    last event_ts, events, and the latest event (latest event_ts, then latest received_at, then
    smaller event_id) with the received_at / event_id that decide ties.
    delta: merge with the changed daily rows; pairs fed by a shrunk row are recomputed over the
    user's daily rows. range: the scope's users; full: everyone. -#}
{%- import "_macros.jinja" as m with context -%}
{%- macro from_daily(where) -%}
SELECT y.user_id, y.feature_id, MIN(y.first_ts) AS first_ts, MAX(y.last_ts) AS last_ts,
       SUM(y.event_count) AS event_count,
       MAX(CASE WHEN y.rn = 1 THEN y.workspace_id END) AS last_workspace_id,
       MAX(CASE WHEN y.rn = 1 THEN y.platform END) AS last_platform,
       MAX(CASE WHEN y.rn = 1 THEN y.last_received_at END) AS last_received_at,
       MAX(CASE WHEN y.rn = 1 THEN y.last_event_id END) AS last_event_id
FROM (
  SELECT d.user_id, d.feature_id, d.workspace_id, d.platform, d.event_count, d.first_ts, d.last_ts,
         d.last_received_at, d.last_event_id,
         ROW_NUMBER() OVER (
           PARTITION BY d.user_id, d.feature_id
           ORDER BY d.last_ts DESC, d.last_received_at DESC, d.last_event_id ASC) AS rn
  FROM int_user_feature_daily d
  {{ where }}
) y
GROUP BY y.user_id, y.feature_id
{%- endmacro %}
{%- set cols = "user_id, feature_id, first_ts, last_ts, event_count, last_workspace_id, last_platform, "
               ~ "last_received_at, last_event_id" %}

{%- if mode == "delta" %}
INSERT INTO curate_work_user_feature_last ({{ cols }}, existed, shrink)
SELECT j.user_id, j.feature_id,
       {{ m.earliest("j.first_ts", "j.o_first_ts") }},
       CASE WHEN j.better THEN j.last_ts ELSE j.o_last_ts END,
       COALESCE(j.o_event_count, 0) + j.d_count,
       CASE WHEN j.better THEN j.workspace_id ELSE j.o_workspace_id END,
       CASE WHEN j.better THEN j.platform ELSE j.o_platform END,
       CASE WHEN j.better THEN j.last_received_at ELSE j.o_last_received_at END,
       CASE WHEN j.better THEN j.last_event_id ELSE j.o_last_event_id END,
       j.o_event_count IS NOT NULL, j.shrink
FROM (
  SELECT c.*, o.first_ts AS o_first_ts, o.last_ts AS o_last_ts, o.event_count AS o_event_count,
         o.last_workspace_id AS o_workspace_id, o.last_platform AS o_platform,
         o.last_received_at AS o_last_received_at, o.last_event_id AS o_last_event_id,
         CASE WHEN o.user_id IS NULL THEN TRUE
              WHEN c.last_ts > o.last_ts THEN TRUE
              WHEN c.last_ts = o.last_ts AND c.last_received_at > o.last_received_at THEN TRUE
              WHEN c.last_ts = o.last_ts AND c.last_received_at = o.last_received_at
                   AND c.last_event_id < o.last_event_id THEN TRUE
              ELSE FALSE END AS better
  FROM (
    SELECT b.user_id, b.feature_id, SUM(b.d_count) AS d_count, MIN(b.first_ts) AS first_ts,
           MAX(CASE WHEN b.rn = 1 THEN b.last_ts END) AS last_ts,
           MAX(CASE WHEN b.rn = 1 THEN b.workspace_id END) AS workspace_id,
           MAX(CASE WHEN b.rn = 1 THEN b.platform END) AS platform,
           MAX(CASE WHEN b.rn = 1 THEN b.last_received_at END) AS last_received_at,
           MAX(CASE WHEN b.rn = 1 THEN b.last_event_id END) AS last_event_id,
           MAX(CASE WHEN b.shrink THEN 1 ELSE 0 END) = 1 AS shrink
    FROM (
      SELECT x.*, ROW_NUMBER() OVER (
               PARTITION BY x.user_id, x.feature_id
               ORDER BY x.last_ts DESC NULLS LAST, x.last_received_at DESC, x.last_event_id ASC) AS rn
      FROM curate_work_daily_delta x
    ) b
    GROUP BY b.user_id, b.feature_id
  ) c
  LEFT JOIN int_user_feature_last o ON o.user_id = c.user_id AND o.feature_id = c.feature_id
) j;

UPDATE curate_work_user_feature_last
SET first_ts = r.first_ts, last_ts = r.last_ts, event_count = r.event_count,
    last_workspace_id = r.last_workspace_id, last_platform = r.last_platform,
    last_received_at = r.last_received_at, last_event_id = r.last_event_id
FROM ({{ from_daily("WHERE EXISTS (SELECT 1 FROM curate_work_user_feature_last w WHERE w.shrink "
                    ~ "AND w.user_id = d.user_id AND w.feature_id = d.feature_id)") }}) r
WHERE curate_work_user_feature_last.shrink AND r.user_id = curate_work_user_feature_last.user_id
  AND r.feature_id = curate_work_user_feature_last.feature_id;

DELETE FROM int_user_feature_last
WHERE EXISTS (
  SELECT 1 FROM curate_work_user_feature_last w
  WHERE w.existed AND w.user_id = int_user_feature_last.user_id AND w.feature_id = int_user_feature_last.feature_id);

INSERT INTO int_user_feature_last ({{ cols }})
SELECT {{ cols }} FROM curate_work_user_feature_last WHERE event_count > 0;
{%- else %}
DELETE FROM int_user_feature_last
{%- if mode == "range" %}
WHERE user_id IN (SELECT user_id FROM curate_work_users)
{%- endif %};

INSERT INTO int_user_feature_last ({{ cols }})
{{ from_daily("WHERE d.user_id IN (SELECT user_id FROM curate_work_users)" if mode == "range" else "") }};
{%- endif %}
