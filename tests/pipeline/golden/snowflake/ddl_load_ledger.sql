CREATE TABLE IF NOT EXISTS load_ledger (
  file_path VARCHAR,
  size_bytes BIGINT,
  checksum VARCHAR,
  load_id VARCHAR,
  platform VARCHAR,
  line_count BIGINT,
  file_mtime TIMESTAMP_NTZ(6),
  loaded_at TIMESTAMP_NTZ(6),
  status VARCHAR,
  note VARCHAR
);
