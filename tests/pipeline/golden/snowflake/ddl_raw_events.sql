CREATE TRANSIENT TABLE IF NOT EXISTS raw_events (
  load_id VARCHAR,
  file_path VARCHAR,
  line_number BIGINT,
  platform VARCHAR,
  raw_line VARCHAR,
  decode_error BOOLEAN,
  received_at TIMESTAMP_NTZ(6),
  file_mtime TIMESTAMP_NTZ(6),
  loaded_at TIMESTAMP_NTZ(6),
  user_id VARCHAR
)
CLUSTER BY (load_id)
DATA_RETENTION_TIME_IN_DAYS = 1;
