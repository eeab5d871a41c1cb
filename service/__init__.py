"""The service: `nova daemon` (APScheduler), `nova status`, and the Airflow DAG over the same jobs."""
