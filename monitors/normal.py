"""The normal a rate check of the gate is judged against: pure (history in, normal out).

A part's normal is the median of its scope's recent values whose time of day of arrival lies within
± `normal_window_hours` of the part's own (circular over midnight): at night live traffic is thin
while offline flushes keep coming, so a night part's too_late share is several times a day part's
(the soak: 2 of 230 healthy night parts held against the all-hours normal). Fewer than
`min_history` values at that time of day: the all-hours median; fewer than that: cold start.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from monitors.store import median

DAY_SECONDS = 86_400


class NormalBasis(StrEnum):
    time_of_day = "time_of_day"
    all_hours = "all_hours"
    cold_start = "cold_start"


@dataclass(frozen=True)
class Normal:
    value: float | None  # None: cold start
    basis: NormalBasis
    n: int  # history values the median is over (cold start: the values there were)
    text: str  # what `detail.normal_basis` and `nova batches show` say


def arrival(first: dt.datetime | None, last: dt.datetime | None, fallback: dt.datetime) -> dt.datetime:
    """When a part's lines arrived: the midpoint of their reception times, else `fallback` (its load time)."""
    if first is None or last is None:
        return fallback
    return first + (last - first) / 2


def second_of_day(at: dt.datetime) -> float:
    return at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6


class DayHistory:
    """One scope's history values of one metric, sorted by the second of the day they arrived at (a
    window is two bisects, not a scan: a streaming gate has thousands of parts a day)."""

    def __init__(self, seconds: list[float], values: list[float]) -> None:
        order = sorted(range(len(seconds)), key=seconds.__getitem__)  # linear when already sorted
        self.seconds = [float(seconds[i]) for i in order]
        self.values = [float(values[i]) for i in order]

    @classmethod
    def of(cls, points: Iterable[tuple[dt.datetime, float]]) -> DayHistory:
        pairs = list(points)
        return cls([second_of_day(t) for t, _ in pairs], [v for _, v in pairs])

    def around(self, at: float, window: float) -> list[float]:
        """The values whose time of day is within ± `window` seconds of `at`, the short way round
        midnight (23:30 and 00:30 are one hour apart)."""
        if window * 2 >= DAY_SECONDS:
            return list(self.values)
        lo, hi = at - window, at + window
        ranges = [(max(lo, 0.0), min(hi, DAY_SECONDS))]
        if lo < 0:
            ranges.append((lo + DAY_SECONDS, DAY_SECONDS))
        if hi > DAY_SECONDS:
            ranges.append((0.0, hi - DAY_SECONDS))
        out: list[float] = []
        for a, b in ranges:
            out += self.values[bisect.bisect_left(self.seconds, a):bisect.bisect_right(self.seconds, b)]
        return out


def _hhmm(seconds: float) -> str:
    s = round(seconds) % DAY_SECONDS
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def rate_normal(history: DayHistory, at: dt.datetime, window_hours: float, min_history: int,
                span: dt.timedelta = dt.timedelta(0)) -> Normal:
    """The normal of a part that arrived around `at` (its arrivals spanning `span`)."""
    need = max(min_history, 1)
    window = window_hours * 3600
    why = ""
    if window * 2 >= DAY_SECONDS:
        why = f"normal_window_hours = {window_hours:g} covers the whole day"
    elif span.total_seconds() > 2 * window:
        # A part spanning more than the window (a day's catch-up) has no one time of day.
        why = (f"the part's arrivals span {span.total_seconds() / 3600:.1f} h, more than the "
               f"±{window_hours:g} h window")
    else:
        own = second_of_day(at)
        near = history.around(own, window)
        if len(near) >= need:
            return Normal(median(near), NormalBasis.time_of_day, len(near),
                          f"time of day {_hhmm(own - window)}-{_hhmm(own + window)} UTC (n={len(near)})")
        why = f"fewer than min_history ({need}) at this time of day (n={len(near)})"
    every = history.values
    if len(every) >= need:
        return Normal(median(every), NormalBasis.all_hours, len(every), f"all hours (n={len(every)}): {why}")
    return Normal(None, NormalBasis.cold_start, len(every),
                  f"cold start: fewer than min_history ({need}) values in the lookback (n={len(every)})")
