"""Structured logs: one JSON object per line (to stderr, and to a file when configured)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from warehouse import clock


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {"ts": clock.now().isoformat(timespec="milliseconds") + "Z",
                                "level": record.levelname.lower(), "logger": record.name,
                                "event": record.getMessage()}
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class _Coalesced(logging.Filter):
    """APScheduler warns each time a due run is skipped because the job still runs: that is the
    coalescing asked for, so it is logged at debug level only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


def setup_logging(log_file: str = "") -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        h.setFormatter(JsonFormatter())
        h.addFilter(_Coalesced())
        root.addHandler(h)
    root.setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # its "job executed" lines repeat ours
