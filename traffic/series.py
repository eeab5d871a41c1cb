"""Labelled hourly count series for the detector's tests and benchmark.

The same daily and weekly cycles and holidays as the event generator (traffic.definition), a
slow drift, Poisson noise with some over-dispersion, and incidents whose windows are the labels.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from traffic.definition import HOURLY, WEEKDAY

HOLIDAY_FACTOR = 0.15  # a holiday: most customers off


@dataclass(frozen=True)
class Injected:
    kind: str  # outage / partial_drop / spike / holiday_like
    start: dt.datetime
    hours: int
    factor: float

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(hours=self.hours)


@dataclass
class LabelledSeries:
    name: str
    start: dt.datetime
    values: np.ndarray  # hourly counts
    incidents: list[Injected] = field(default_factory=list)
    holidays: dict[dt.date, str] = field(default_factory=dict)

    def times(self) -> list[dt.datetime]:
        return [self.start + dt.timedelta(hours=i) for i in range(len(self.values))]


def hourly_series(name: str, start: dt.datetime, days: int, level: float, *, seed: int,
                  holidays: dict[dt.date, str] | None = None, drift_per_week: float = 0.0,
                  incidents: list[Injected] | None = None, dispersion: float = 0.05) -> LabelledSeries:
    """Counts per hour: `level` is the mean hourly count of a regular weekday."""
    rng = np.random.default_rng(seed)
    holidays = dict(holidays or {})
    incidents = list(incidents or [])
    n = days * 24
    hourly = np.asarray(HOURLY) / np.mean(HOURLY)
    mean = np.empty(n)
    for i in range(n):
        t = start + dt.timedelta(hours=i)
        f = hourly[t.hour] * WEEKDAY[t.weekday()] * (1 + drift_per_week) ** (i / 168)
        if t.date() in holidays:
            f *= HOLIDAY_FACTOR
        mean[i] = level * f
    for inc in incidents:
        lo = int((inc.start - start).total_seconds() // 3600)
        mean[max(lo, 0):max(lo + inc.hours, 0)] *= inc.factor
    noisy = mean * rng.gamma(1 / dispersion**2, dispersion**2, n)
    return LabelledSeries(name, start, rng.poisson(noisy).astype(float), incidents, holidays)


def benchmark_suite(seed: int = 7, weeks: int = 8) -> list[LabelledSeries]:
    """The benchmark's labelled series: weekly cycles, holidays, a cold start, a slow drift and
    incidents of four shapes (outage, partial drop, spike, a day repeating a holiday pattern)."""
    start = dt.datetime(2026, 10, 5)  # a Monday
    days = weeks * 7
    hol = {dt.date(2026, 11, 26): "Thanksgiving", dt.date(2026, 11, 27): "Day after Thanksgiving",
           dt.date(2026, 10, 12): "Company holiday"}

    def at(day: int, hour: int) -> dt.datetime:
        return start + dt.timedelta(days=day, hours=hour)

    suite = [
        hourly_series("platform=web", start, days, 600, seed=seed, holidays=hol, drift_per_week=0.02,
                      incidents=[Injected("outage", at(30, 14), 4, 0.02),
                                 Injected("spike", at(44, 10), 3, 3.0)]),
        hourly_series("platform=ios", start, days, 180, seed=seed + 1, holidays=hol,
                      incidents=[Injected("partial_drop", at(23, 9), 6, 0.5),
                                 Injected("holiday_like", at(38, 0), 24, HOLIDAY_FACTOR)]),
        hourly_series("platform=android", start, days, 150, seed=seed + 2, holidays=hol, drift_per_week=-0.03,
                      incidents=[Injected("spike", at(19, 15), 2, 4.0),
                                 Injected("outage", at(47, 2), 8, 0.0)]),
        hourly_series("area=editor", start, days, 400, seed=seed + 3, holidays=hol, drift_per_week=0.05,
                      incidents=[Injected("partial_drop", at(33, 11), 5, 0.4)]),
        hourly_series("feature=editor.comments", start, days, 60, seed=seed + 4, holidays=hol,
                      incidents=[Injected("outage", at(40, 8), 6, 0.05)]),
        # A new series: four days of history (two of them holidays), then an outage on a Saturday.
        hourly_series("platform=backend", at(days - 6, 0), 6, 120, seed=seed + 5, holidays=hol,
                      incidents=[Injected("outage", at(days - 2, 10), 5, 0.0)]),
    ]
    return suite
