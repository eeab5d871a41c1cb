CREATE TABLE IF NOT EXISTS ref_feature_lookup (
  kind VARCHAR,
  lookup_key VARCHAR,
  area VARCHAR,
  feature_id VARCHAR
);
