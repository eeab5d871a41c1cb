CREATE TABLE IF NOT EXISTS service_runs (
  run_id VARCHAR,
  job VARCHAR,
  started_at TIMESTAMP_NTZ(6),
  finished_at TIMESTAMP_NTZ(6),
  seconds FLOAT,
  outcome VARCHAR,
  attempt BIGINT,
  error VARCHAR,
  summary VARCHAR,
  pid BIGINT,
  host VARCHAR
);
