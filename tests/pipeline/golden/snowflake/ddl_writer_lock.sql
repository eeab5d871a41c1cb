CREATE TABLE IF NOT EXISTS writer_lock (
  name VARCHAR,
  holder VARCHAR,
  step VARCHAR,
  since TIMESTAMP_NTZ(6),
  expires_at TIMESTAMP_NTZ(6)
);
