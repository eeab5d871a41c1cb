"""The one clock (ARCHITECTURE invariant 7): every "now" of the project comes from here.

`NOVA_NOW` (ISO-8601, UTC when no offset) pins it for a replay, a demo or a test; `set_now`
pins it inside one process. Times are naive UTC, like every timestamp column of the warehouse.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator

_pinned: dt.datetime | None = None


def parse_instant(text: str) -> dt.datetime:
    """ISO-8601 text (a trailing Z or an offset allowed; none means UTC) → naive UTC."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def now() -> dt.datetime:
    """The current instant, naive UTC."""
    if _pinned is not None:
        return _pinned
    pinned = os.environ.get("NOVA_NOW", "").strip()
    if pinned:
        try:
            return parse_instant(pinned)
        except ValueError as exc:
            raise ValueError(f"NOVA_NOW={pinned!r} is not an ISO-8601 time") from exc
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def today() -> dt.date:
    return now().date()


@contextlib.contextmanager
def set_now(instant: dt.datetime | None) -> Iterator[None]:
    """Pin the clock to `instant` (naive UTC, or aware and converted) within the block."""
    global _pinned
    before = _pinned
    if instant is not None and instant.tzinfo is not None:
        instant = instant.astimezone(dt.UTC).replace(tzinfo=None)
    _pinned = instant
    try:
        yield
    finally:
        _pinned = before


def wall_now() -> dt.datetime:
    """The real instant (aware UTC), never pinned: only for timers that sleep in real time (the
    daemon's scheduler, freshness against file arrival times). Data records `now()`."""
    return dt.datetime.now(dt.UTC)
