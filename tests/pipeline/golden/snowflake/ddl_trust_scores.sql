CREATE TABLE IF NOT EXISTS trust_scores (
  day DATE,
  scope_type VARCHAR,
  scope VARCHAR,
  score FLOAT,
  grade VARCHAR,
  components VARCHAR,
  reasons VARCHAR,
  computed_at TIMESTAMP_NTZ(6),
  label VARCHAR
);
