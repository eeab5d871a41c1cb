CREATE TRANSIENT TABLE IF NOT EXISTS pending_changes (
  event_date DATE,
  workspace_id VARCHAR,
  user_id VARCHAR,
  change VARCHAR,
  created_at TIMESTAMP_NTZ(6),
  event_id VARCHAR
)
DATA_RETENTION_TIME_IN_DAYS = 1;
