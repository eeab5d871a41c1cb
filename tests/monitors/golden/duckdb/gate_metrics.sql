SELECT l.load_id, l.platform,
  COUNT(*) AS lines,
  SUM(CASE WHEN l.reason IS NULL THEN 1 ELSE 0 END) AS valid,
  SUM(CASE WHEN l.reason = 'missing_event_id' THEN 1 ELSE 0 END) AS n_missing_event_id,
  SUM(CASE WHEN l.reason = 'missing_user_id' THEN 1 ELSE 0 END) AS n_missing_user_id,
  SUM(CASE WHEN l.reason = 'missing_workspace_id' THEN 1 ELSE 0 END) AS n_missing_workspace_id,
  SUM(CASE WHEN l.reason = 'missing_feature' THEN 1 ELSE 0 END) AS n_missing_feature,
  SUM(CASE WHEN l.reason = 'missing_timestamp' THEN 1 ELSE 0 END) AS n_missing_timestamp,
  SUM(CASE WHEN l.reason = 'unknown_feature' THEN 1 ELSE 0 END) AS n_unknown_feature,
  SUM(CASE WHEN l.reason = 'invalid_json' THEN 1 ELSE 0 END) AS n_invalid_json,
  SUM(CASE WHEN l.reason = 'invalid_timestamp' THEN 1 ELSE 0 END) AS n_invalid_timestamp,
  SUM(CASE WHEN l.reason = 'too_late' THEN 1 ELSE 0 END) AS n_too_late,
  SUM(CASE WHEN l.reason IS NULL THEN 1 ELSE 0 END) - COUNT(DISTINCT CASE WHEN l.seen = 0 THEN l.event_id END) AS n_duplicate,
  COUNT(l.clock_offset) AS drift_measured,
  SUM(CASE WHEN ABS(l.clock_offset) > CASE l.platform WHEN 'web' THEN 7200.0 ELSE 3600.0 END THEN 1 ELSE 0 END) AS n_drift,
  MEDIAN(l.clock_offset) AS drift_median,
  MIN(l.received_at) AS first_received_at,
  MAX(l.received_at) AS last_received_at
FROM (
  SELECT p.load_id, p.platform, CAST(NULL AS VARCHAR) AS reason, p.event_id,
    CASE WHEN k.event_id IS NULL THEN 0 ELSE 1 END AS seen,
    CASE WHEN p.sent_at IS NOT NULL THEN ((epoch_us(p.received_at) - epoch_us(p.sent_at)) / 1000000.0) END AS clock_offset, p.received_at
  FROM stg_pending p LEFT JOIN stg_events k ON k.event_id = p.event_id
  WHERE p.load_id IN ('L20261125T170000000-0a1b2c', 'L20261125T180000000-3d4e5f')
  UNION ALL
  SELECT q.load_id, COALESCE(q.platform, 'unknown'), q.reason, CAST(NULL AS VARCHAR), 0,
    CAST(NULL AS DOUBLE), CAST(NULL AS TIMESTAMP)
  FROM quarantined_events q WHERE q.load_id IN ('L20261125T170000000-0a1b2c', 'L20261125T180000000-3d4e5f') AND q.reason <> 'unknown_platform'
) l
GROUP BY l.load_id, l.platform
ORDER BY l.load_id, l.platform;

SELECT platform, DATE_TRUNC('HOUR', received_at) AS hour, COUNT(*) AS lines FROM stg_pending WHERE load_id IN ('L20261125T170000000-0a1b2c', 'L20261125T180000000-3d4e5f') GROUP BY 1, 2 ORDER BY 1, 2;
