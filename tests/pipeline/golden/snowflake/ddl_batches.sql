CREATE TABLE IF NOT EXISTS batches (
  load_id VARCHAR,
  state VARCHAR,
  created_at TIMESTAMP_NTZ(6),
  updated_at TIMESTAMP_NTZ(6),
  file_count BIGINT,
  line_count BIGINT,
  staged_at TIMESTAMP_NTZ(6),
  checks VARCHAR,
  note VARCHAR,
  batch_id VARCHAR,
  platform VARCHAR
);
