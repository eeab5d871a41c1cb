"""One writer at a time: a lease on a row of `writer_lock`, taken by each writing step.

Snowflake runs each statement read-committed, and promote, curate and GDPR erasure read, then
write over several statements: two writers interleaved (the scheduled `nova run` and a `nova gdpr
process` or `nova retention apply` started by hand) could drop or double pending changes. Every
writing step (load, run, gdpr process, retention, backfill, quarantine replay) therefore holds
the lease below for its whole duration, on both engines.

- Taking it is one conditional UPDATE, committed at once: free, expired or already ours → ours.
- A step that finds it held waits up to `lock_timeout_seconds`, then stops with a message naming
  the holder, its step and since when (exit 5); nothing was written.
- A crashed holder leaves its lease: on the same machine a dead process's lease is taken over at
  once (the holder is host:pid); from another machine it lapses after `writer_lock_lease_minutes`,
  or on-call frees it with `nova lock release` once sure the process is gone.
- Re-entrant within one process: a step calling another (quarantine replay runs the pipeline)
  keeps the outer lease.

Daemon jobs wrap themselves the same way: `with writer_lock(wh, "job name"): ...`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nova.errors import Exit, NovaError
from warehouse import clock

LOCK_NAME = "writer"
_held: dict[int, tuple[str, int]] = {}  # id(warehouse) → (holder, depth)


@dataclass(frozen=True)
class LockState:
    holder: str | None
    step: str | None
    since: dt.datetime | None
    expires_at: dt.datetime | None

    def describe(self) -> str:
        if not self.holder:
            return "free"
        return f"held by {self.holder} for `{self.step}` since {self.since:%Y-%m-%d %H:%M:%S} UTC " \
               f"(lease until {self.expires_at:%Y-%m-%d %H:%M:%S} UTC)"


def _ensure_row(wh: Any) -> None:
    if not wh.scalar("SELECT COUNT(*) FROM writer_lock WHERE name = ?", [LOCK_NAME]):
        wh.execute("INSERT INTO writer_lock (name) VALUES (?)", [LOCK_NAME])


def state(wh: Any) -> LockState:
    _ensure_row(wh)
    rows = wh.query("SELECT holder, step, since, expires_at FROM writer_lock WHERE name = ? ORDER BY since",
                    [LOCK_NAME])
    return LockState(*rows[0]) if rows else LockState(None, None, None, None)


def _dead_here(holder: str | None) -> bool:
    """A holder on this machine whose process is gone (killed, crashed): its lease is void."""
    if not holder:
        return False
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _try_take(wh: Any, holder: str, step: str, lease: dt.timedelta) -> bool:
    now = clock.now()
    current = state(wh).holder
    dead = current if current != holder and _dead_here(current) else holder
    try:
        with wh.transaction():
            wh.execute("UPDATE writer_lock SET holder = ?, step = ?, since = ?, expires_at = ? WHERE name = ? "
                       "AND (holder IS NULL OR holder = ? OR holder = ? OR expires_at < ?)",
                       [holder, step, now, now + lease, LOCK_NAME, holder, dead, now])
            # Every lock row must now be ours (two rows could exist after a racing first insert).
            others = wh.scalar("SELECT COUNT(*) FROM writer_lock WHERE name = ? AND "
                               "(holder IS NULL OR holder <> ?)", [LOCK_NAME, holder])
            if others:
                raise _Busy
    except _Busy:
        return False
    except Exception as exc:  # a write conflict with a concurrent taker: it won
        if "conflict" in str(exc).lower() or "lock" in str(exc).lower():
            return False
        raise
    return True


class _Busy(Exception):
    pass


def release(wh: Any, holder: str | None = None) -> None:
    """Free the lease (only `holder`'s, unless None: on-call's forced release)."""
    with wh.transaction():
        if holder is None:
            wh.execute("UPDATE writer_lock SET holder = NULL, step = NULL, since = NULL, expires_at = NULL "
                       "WHERE name = ?", [LOCK_NAME])
        else:
            wh.execute("UPDATE writer_lock SET holder = NULL, step = NULL, since = NULL, expires_at = NULL "
                       "WHERE name = ? AND holder = ?", [LOCK_NAME, holder])


@contextlib.contextmanager
def writer_lock(wh: Any, step: str, *, timeout_seconds: float | None = None,
                lease_minutes: float | None = None) -> Iterator[str]:
    """Hold the writer lease for the duration of a writing step; yields the holder id."""
    key = id(wh)
    if key in _held:
        holder, depth = _held[key]
        _held[key] = (holder, depth + 1)
        try:
            yield holder
        finally:
            _held[key] = (holder, _held[key][1] - 1)
        return
    settings = wh.settings
    wait = settings.lock_timeout_seconds if timeout_seconds is None else timeout_seconds
    lease = dt.timedelta(minutes=settings.writer_lock_lease_minutes if lease_minutes is None else lease_minutes)
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    _ensure_row(wh)
    deadline = time.monotonic() + wait
    while not _try_take(wh, holder, step, lease):
        if time.monotonic() >= deadline:
            held = state(wh)
            raise NovaError(f"`{step}` did not start: the warehouse's writer lock is {held.describe()}",
                            hint="one writing step runs at a time: wait for it, or if that process is gone, "
                                 "`nova lock release` (docs/snowflake.md, Writers)", code=Exit.BUSY)
        time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
    _held[key] = (holder, 1)
    try:
        yield holder
    finally:
        del _held[key]
        with contextlib.suppress(Exception):  # a lost connection: the lease lapses by itself
            release(wh, holder)
