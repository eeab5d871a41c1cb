"""Steps the service needs that no package offers as one function."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config import Settings
from warehouse.session import Warehouse


def load(wh: Warehouse, settings: Settings) -> Any:
    """What `nova load` does: new landing files → raw_events; on Snowflake, claim what Snowpipe copied."""
    from pipeline.cli import _claim_snowflake
    from pipeline.landing import Landing
    from pipeline.load import load as run_load

    if not wh.is_duckdb:
        _claim_snowflake(wh)
        return {"claimed": True}
    root = settings.landing_path
    if not root.startswith("s3://") and not Path(root).exists():
        return {"note": f"landing path {root} does not exist yet: nothing to load"}
    res = run_load(wh, Landing(root), max_bytes=settings.daemon.load_max_mb * 1_000_000 or None)
    return {"load_id": res.load_id, "files": res.files_loaded, "lines": res.lines,
            "skipped": res.files_skipped, "seconds": round(res.seconds, 2)}


def run(wh: Warehouse, reg: Any, settings: Settings) -> Any:
    """What `nova run` does (stage → gate → promote → curate), capped at `daemon.run_max_lines`, with a
    load pass after each step: while a run holds the DuckDB file, files that land are loaded after
    the current step instead of after the whole run (raw freshness stays within one step)."""
    from pipeline.cli import run_pipeline

    return run_pipeline(wh, reg, settings, between=(lambda: load(wh, settings)) if wh.is_duckdb else None)
