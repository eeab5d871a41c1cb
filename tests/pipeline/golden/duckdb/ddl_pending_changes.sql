CREATE TABLE IF NOT EXISTS pending_changes (
  event_date DATE,
  workspace_id VARCHAR,
  user_id VARCHAR,
  change VARCHAR,
  created_at TIMESTAMP,
  event_id VARCHAR
);
