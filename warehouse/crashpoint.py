"""Deterministic crash points for the crash-recovery tests.

NOVA_CRASH_AT=<name> makes the process kill itself (SIGKILL: no cleanup, no rollback
handler, like a lost machine) when it reaches that point; NOVA_CRASH_AT=raise:<name> raises
an unexpected error there instead (how the CLI reports a bug). Unset in normal use. With
NOVA_CRASH_ONCE=<file> it crashes only the first time (it creates the file first): a long-running
process (the daemon's jobs) crashes once and the next run shows the recovery.
"""

from __future__ import annotations

import os
import signal


class CrashPointError(RuntimeError):
    """The error NOVA_CRASH_AT=raise:<name> raises: stands for any bug at that point."""


def crash_point(name: str) -> None:
    target = os.environ.get("NOVA_CRASH_AT")
    if target in (name, f"raise:{name}"):
        once = os.environ.get("NOVA_CRASH_ONCE")
        if once:
            if os.path.exists(once):
                return
            open(once, "w").close()
    if target == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if target == f"raise:{name}":
        raise CrashPointError(f"simulated failure at {name}")
