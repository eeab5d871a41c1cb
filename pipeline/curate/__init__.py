"""The curated layer: dim_feature, the closure, and the models over stg_events (SEMANTICS.md).

`curate` is the incremental step `nova run` calls after staging; `rebuild_all` recomputes
everything; `plan` says what the next run would do; `backfill` rebuilds a date range.
"""

from pipeline.curate.backfill import backfill
from pipeline.curate.definition import BackfillResult, CurateResult, Plan
from pipeline.curate.run import curate, curate_isolating, plan, rebuild_all

__all__ = ["BackfillResult", "CurateResult", "Plan", "backfill", "curate", "curate_isolating", "plan", "rebuild_all"]
