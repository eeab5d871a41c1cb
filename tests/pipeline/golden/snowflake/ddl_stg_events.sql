CREATE TRANSIENT TABLE IF NOT EXISTS stg_events (
  event_id VARCHAR,
  event_name VARCHAR,
  feature_id VARCHAR,
  feature_sent VARCHAR,
  action VARCHAR,
  user_id VARCHAR,
  anonymous_id VARCHAR,
  workspace_id VARCHAR,
  platform VARCHAR,
  app_version VARCHAR,
  contract_version VARCHAR,
  client_ts TIMESTAMP_NTZ(6),
  sent_at TIMESTAMP_NTZ(6),
  received_at TIMESTAMP_NTZ(6),
  event_ts TIMESTAMP_NTZ(6),
  event_date DATE,
  drift_seconds FLOAT,
  is_late BOOLEAN,
  clock_ahead BOOLEAN,
  properties VARIANT,
  load_id VARCHAR,
  file_path VARCHAR,
  line_number BIGINT,
  staged_at TIMESTAMP_NTZ(6)
)
CLUSTER BY (event_date)
DATA_RETENTION_TIME_IN_DAYS = 1;
