CREATE TABLE IF NOT EXISTS volume_expectations (
  scope VARCHAR,
  bucket_start TIMESTAMP_NTZ(6),
  bucket_seconds BIGINT,
  value FLOAT,
  expected FLOAT,
  lower FLOAT,
  upper FLOAT,
  confidence VARCHAR,
  score FLOAT,
  p_value FLOAT,
  direction VARCHAR,
  anomalous BOOLEAN,
  episode_start TIMESTAMP_NTZ(6),
  judged BOOLEAN,
  computed_at TIMESTAMP_NTZ(6)
)
CLUSTER BY (bucket_start);
