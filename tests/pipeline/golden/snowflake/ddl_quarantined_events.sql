CREATE TRANSIENT TABLE IF NOT EXISTS quarantined_events (
  load_id VARCHAR,
  file_path VARCHAR,
  line_number BIGINT,
  platform VARCHAR,
  raw_line VARCHAR,
  reason VARCHAR,
  contract_version VARCHAR,
  event_id VARCHAR,
  user_id VARCHAR,
  quarantined_at TIMESTAMP_NTZ(6),
  feature_sent VARCHAR,
  app_version VARCHAR
)
DATA_RETENTION_TIME_IN_DAYS = 1;
