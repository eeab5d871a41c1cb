CREATE TABLE IF NOT EXISTS volume_expectations (
  scope VARCHAR,
  bucket_start TIMESTAMP,
  bucket_seconds BIGINT,
  value DOUBLE,
  expected DOUBLE,
  lower DOUBLE,
  upper DOUBLE,
  confidence VARCHAR,
  score DOUBLE,
  p_value DOUBLE,
  direction VARCHAR,
  anomalous BOOLEAN,
  episode_start TIMESTAMP,
  judged BOOLEAN,
  computed_at TIMESTAMP
);
