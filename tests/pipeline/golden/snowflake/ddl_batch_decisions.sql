CREATE TABLE IF NOT EXISTS batch_decisions (
  batch_id VARCHAR,
  action VARCHAR,
  from_state VARCHAR,
  to_state VARCHAR,
  decided_by VARCHAR,
  reason VARCHAR,
  decided_at TIMESTAMP_NTZ(6)
);
