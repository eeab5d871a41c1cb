CREATE STAGE IF NOT EXISTS NOVA_LANDING_STAGE
  URL = 's3://novasuite-events-landing/events/'
  STORAGE_INTEGRATION = NOVA_S3_LANDING
  FILE_FORMAT = (FORMAT_NAME = 'NOVA_JSON_LINES')
  COMMENT = 'NovaSuite landing bucket (read only)';
