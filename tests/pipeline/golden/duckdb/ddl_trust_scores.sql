CREATE TABLE IF NOT EXISTS trust_scores (
  day DATE,
  scope_type VARCHAR,
  scope VARCHAR,
  score DOUBLE,
  grade VARCHAR,
  components VARCHAR,
  reasons VARCHAR,
  computed_at TIMESTAMP,
  label VARCHAR
);
