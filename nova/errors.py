"""Exit codes and the friendly error every command raises instead of a traceback."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """Documented exit codes of `nova` (docs/cli.md)."""

    OK = 0
    FINDINGS = 1  # the command ran and found problems: lint errors, breaking change without bump, invalid lines
    USAGE = 2  # bad arguments or options
    CONFIG = 3  # settings, contracts or warehouse unusable
    DATA = 4  # input data unusable (unreadable landing path, a file whose content cannot be used)
    BUSY = 5  # another writing step holds the warehouse's writer lock: nothing was written, retry later
    INTERNAL = 70  # an unexpected error (a bug): short message, full trace in a file (EX_SOFTWARE)
    INTERRUPTED = 130


EXIT_MEANINGS: dict[Exit, str] = {
    Exit.OK: "ok",
    Exit.FINDINGS: "findings: lint errors, a breaking change without its version bump, invalid sample lines, "
                   "reconcile counts that do not add up, an overdue GDPR request, an alert Slack refused for good",
    Exit.USAGE: "usage: an unknown command or option, a missing argument, an invalid value, a file that cannot "
                "be read",
    Exit.CONFIG: "configuration: settings, contract registry or warehouse unusable",
    Exit.DATA: "data: the landing path or an input's content cannot be used",
    Exit.BUSY: "busy: another writing step holds the warehouse's writer lock (`nova lock show`); nothing was "
               "written, retry later",
    Exit.INTERNAL: "internal error (a bug): one line on the terminal, the full trace in a file",
    Exit.INTERRUPTED: "interrupted (the next run resumes from the last committed step)",
}


class NovaError(Exception):
    """An error a person can act on; printed without traceback."""

    def __init__(self, message: str, *, hint: str = "", code: Exit = Exit.CONFIG):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code
