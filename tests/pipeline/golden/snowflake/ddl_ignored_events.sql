CREATE TABLE IF NOT EXISTS ignored_events (
  load_id VARCHAR,
  file_path VARCHAR,
  line_number BIGINT,
  platform VARCHAR,
  reason VARCHAR
);
