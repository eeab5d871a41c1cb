CREATE TABLE IF NOT EXISTS batches (
  load_id VARCHAR,
  state VARCHAR,
  created_at TIMESTAMP,
  updated_at TIMESTAMP,
  file_count BIGINT,
  line_count BIGINT,
  staged_at TIMESTAMP,
  checks VARCHAR,
  note VARCHAR,
  batch_id VARCHAR,
  platform VARCHAR
);
