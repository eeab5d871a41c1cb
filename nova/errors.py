"""Exit codes and the friendly error every command raises instead of a traceback."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """Documented exit codes of `nova` (docs/cli.md)."""

    OK = 0
    FINDINGS = 1  # the command ran and found problems: lint errors, breaking change without bump, invalid lines
    USAGE = 2  # bad arguments or options
    CONFIG = 3  # settings, contracts or warehouse unusable
    DATA = 4  # input data unusable (missing file, unreadable landing path)
    BUSY = 5  # another writing step holds the warehouse's writer lock: nothing was written, retry later
    INTERRUPTED = 130


class NovaError(Exception):
    """An error a person can act on; printed without traceback."""

    def __init__(self, message: str, *, hint: str = "", code: Exit = Exit.CONFIG):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code
