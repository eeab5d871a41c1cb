"""Deterministic crash points for the crash-recovery tests.

NOVA_CRASH_AT=<name> makes the process kill itself (SIGKILL: no cleanup, no rollback
handler, like a lost machine) when it reaches that point. Unset in normal use. With
NOVA_CRASH_ONCE=<file> it crashes only the first time (it creates the file first): a long-running
process (the daemon's jobs) crashes once and the next run shows the recovery.
"""

from __future__ import annotations

import os
import signal


def crash_point(name: str) -> None:
    if os.environ.get("NOVA_CRASH_AT") == name:
        once = os.environ.get("NOVA_CRASH_ONCE")
        if once:
            if os.path.exists(once):
                return
            open(once, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
