{#- user_feature_last_seen, grain (user_id, feature_id) on the resolved feature id, no roll-up
    (SEMANTICS): int_user_feature_last without its tie-break columns. delta copies the pairs that
    changed; range the scope's users; full everything. -#}
{%- set cols = "user_id, feature_id, first_seen_at, last_seen_at, event_count, last_workspace_id, last_platform" %}
{%- set source = "user_id, feature_id, first_ts, last_ts, event_count, last_workspace_id, last_platform" %}
DELETE FROM user_feature_last_seen
{%- if mode == "delta" %}
WHERE EXISTS (
  SELECT 1 FROM curate_work_user_feature_last w
  WHERE w.user_id = user_feature_last_seen.user_id AND w.feature_id = user_feature_last_seen.feature_id)
{%- elif mode == "range" %}
WHERE user_id IN (SELECT user_id FROM curate_work_users)
{%- endif %};

INSERT INTO user_feature_last_seen ({{ cols }})
{%- if mode == "delta" %}
SELECT {{ source }} FROM curate_work_user_feature_last WHERE event_count > 0
{%- elif mode == "range" %}
SELECT {{ source }} FROM int_user_feature_last WHERE user_id IN (SELECT user_id FROM curate_work_users)
{%- else %}
SELECT {{ source }} FROM int_user_feature_last
{%- endif %};
