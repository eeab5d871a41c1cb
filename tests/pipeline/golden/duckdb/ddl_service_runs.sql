CREATE TABLE IF NOT EXISTS service_runs (
  run_id VARCHAR,
  job VARCHAR,
  started_at TIMESTAMP,
  finished_at TIMESTAMP,
  seconds DOUBLE,
  outcome VARCHAR,
  attempt BIGINT,
  error VARCHAR,
  summary VARCHAR,
  pid BIGINT,
  host VARCHAR
);
