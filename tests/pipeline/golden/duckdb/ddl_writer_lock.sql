CREATE TABLE IF NOT EXISTS writer_lock (
  name VARCHAR,
  holder VARCHAR,
  step VARCHAR,
  since TIMESTAMP,
  expires_at TIMESTAMP
);
