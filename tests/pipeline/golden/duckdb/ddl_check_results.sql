CREATE TABLE IF NOT EXISTS check_results (
  result_id VARCHAR,
  run_id VARCHAR,
  check_name VARCHAR,
  source VARCHAR,
  scope_type VARCHAR,
  scope VARCHAR,
  batch_id VARCHAR,
  platform VARCHAR,
  feature_id VARCHAR,
  value DOUBLE,
  threshold DOUBLE,
  normal DOUBLE,
  outcome VARCHAR,
  blocking BOOLEAN,
  detail VARCHAR,
  checked_at TIMESTAMP
);
