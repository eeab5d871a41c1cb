CREATE TABLE IF NOT EXISTS raw_events (
  load_id VARCHAR,
  file_path VARCHAR,
  line_number BIGINT,
  platform VARCHAR,
  raw_line VARCHAR USING COMPRESSION zstd,
  decode_error BOOLEAN,
  received_at TIMESTAMP,
  file_mtime TIMESTAMP,
  loaded_at TIMESTAMP,
  user_id VARCHAR
);
