CREATE TABLE IF NOT EXISTS erasure_counts (
  load_id VARCHAR,
  request_id VARCHAR,
  lines BIGINT,
  erased_at TIMESTAMP_NTZ(6)
);
