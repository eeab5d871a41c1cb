SELECT load_id, file_path, line_number, platform, raw_line, 'unknown_platform' AS reason FROM stage_input WHERE platform IS NULL OR platform NOT IN ('android', 'backend', 'ios', 'web');
