CREATE TRANSIENT TABLE IF NOT EXISTS stg_events (
  event_id VARCHAR NOT NULL,
  event_name VARCHAR,
  feature_id VARCHAR NOT NULL,
  feature_sent VARCHAR,
  action VARCHAR,
  user_id VARCHAR NOT NULL,
  anonymous_id VARCHAR,
  workspace_id VARCHAR NOT NULL,
  platform VARCHAR NOT NULL,
  app_version VARCHAR,
  contract_version VARCHAR,
  client_ts TIMESTAMP_NTZ(6) NOT NULL,
  sent_at TIMESTAMP_NTZ(6),
  received_at TIMESTAMP_NTZ(6) NOT NULL,
  event_ts TIMESTAMP_NTZ(6) NOT NULL,
  event_date DATE NOT NULL,
  drift_seconds FLOAT,
  is_late BOOLEAN,
  clock_ahead BOOLEAN,
  properties VARIANT,
  load_id VARCHAR NOT NULL,
  file_path VARCHAR NOT NULL,
  line_number BIGINT NOT NULL,
  staged_at TIMESTAMP_NTZ(6)
)
CLUSTER BY (event_date)
DATA_RETENTION_TIME_IN_DAYS = 1;
