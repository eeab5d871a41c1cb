CREATE TABLE IF NOT EXISTS metric_history (
  metric VARCHAR,
  scope VARCHAR,
  bucket_start TIMESTAMP_NTZ(6),
  bucket_seconds BIGINT,
  value FLOAT,
  updated_at TIMESTAMP_NTZ(6)
)
CLUSTER BY (metric, bucket_start);
