SELECT * FROM TABLE(VALIDATE(raw_events, JOB_ID => '_last'));
