"""Settings of the service (`nova daemon`, `nova status`, readers while it runs): the `[daemon]` section."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DaemonConfig(BaseModel):
    load_interval_s: int = Field(15, ge=1, description="Seconds between load passes (new landing files → raw)")
    load_max_mb: int = Field(500, ge=0, description="A load job takes at most this many MB of new files, oldest "
                                                     "first (0: no limit): short jobs behind a backlog keep "
                                                     "readers' waits short")
    run_interval_s: int = Field(60, ge=1, description="Seconds between stage → gate → curate runs; the monitor "
                                                      "round follows each run")
    run_max_lines: int = Field(1_000_000, ge=0, description="A run job stages at most this many raw lines, whole "
                                                            "loads, oldest first (0: no limit; always at least one "
                                                            "load): the rest waits for the next run, so a backlog "
                                                            "never makes one job hold the DuckDB file for minutes")
    alerts_interval_s: int = Field(60, ge=1, description="Seconds between alert rounds (incidents, then sending)")
    trust_interval_s: int = Field(3600, ge=1, description="Seconds between trust-score computations")
    gdpr_interval_s: int = Field(86400, ge=1, description="Seconds between GDPR processing rounds")
    retention_interval_s: int = Field(86400, ge=1, description="Seconds between retention passes")
    misfire_grace_s: int = Field(3600, ge=1, description="A run that could not start within this many seconds "
                                                         "of its time is skipped (missed runs coalesce into one "
                                                         "either way)")
    worker_max_jobs: int = Field(500, ge=1, description="The job process is replaced after this many jobs")
    worker_max_rss_mb: int = Field(3000, ge=100, description="The job process is replaced after a job that left "
                                                             "it larger than this (MB)")
    backoff_base_s: int = Field(10, ge=1, description="First retry delay after a failed job; doubles per failure")
    backoff_max_s: int = Field(600, ge=1, description="Longest retry delay after repeated failures")
    stop_grace_s: int = Field(30, ge=0, description="On SIGTERM/Ctrl-C, seconds the current step may take to "
                                                    "finish before it is abandoned (rolled back)")
    heartbeat_interval_s: int = Field(5, ge=1, description="Seconds between heartbeat writes to the state file")
    heartbeat_stale_s: int = Field(60, ge=1, description="`nova status` calls the daemon down when its heartbeat "
                                                         "is older than this")
    reader_wait_s: float = Field(300.0, ge=0, description="Readers (batches list, query, reconcile, status...) "
                                                         "wait up to this long for the daemon's current job to "
                                                         "release the DuckDB file")
    reader_priority_s: float = Field(20.0, ge=0, description="The daemon holds its next job back up to this long "
                                                             "while a reader is waiting for the DuckDB file")
    writer_wait_s: float = Field(600.0, ge=0, description="A job waits up to this long for readers to close the "
                                                          "DuckDB file")
    raw_freshness_slo_s: int = Field(120, ge=1, description="Service level: a landed file is queryable in raw "
                                                            "within this many seconds")
    curated_freshness_slo_s: int = Field(900, ge=1, description="Service level: a landed file's events are in the "
                                                                "curated tables within this many seconds")
    log_file: str = Field("", description="Also write the JSON log lines to this file (empty: stderr only)")
