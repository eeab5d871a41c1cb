"""Deterministic crash points for the crash-recovery tests.

NOVA_CRASH_AT=<name> makes the process kill itself (SIGKILL: no cleanup, no rollback
handler, like a lost machine) when it reaches that point. Unset in normal use.
"""

from __future__ import annotations

import os
import signal


def crash_point(name: str) -> None:
    if os.environ.get("NOVA_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
