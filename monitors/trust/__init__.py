"""Trust scores for PMs: can today's numbers of a table, platform, area or feature be trusted, and why not.

`compute_trust(wh, reg, day=None)` is the entry point the daemon, the demo and `nova trust` call.
"""

from monitors.trust.compute import compute_trust, default_day, history
from monitors.trust.definition import COMPONENTS, TrustScore

__all__ = ["COMPONENTS", "TrustScore", "compute_trust", "default_day", "history"]
