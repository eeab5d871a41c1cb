CREATE TABLE IF NOT EXISTS metric_history (
  metric VARCHAR,
  scope VARCHAR,
  bucket_start TIMESTAMP,
  bucket_seconds BIGINT,
  value DOUBLE,
  updated_at TIMESTAMP
);
