SELECT COUNT(*) FROM raw_events WHERE load_id IS NULL;
