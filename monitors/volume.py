"""The gate's volume check: how much one platform's part of a load should hold, from the seasonal
detector's expectation, or from the simple bound when the detector has none.

**The detector** (monitors/anomaly.py) stores per platform and bucket of EVENT time the expected
count of staged events (one per event_id, duplicates never counted) with its band
(`volume_expectations`: judged buckets, and `forecast_buckets` ahead of the last one). A part is a
set of lines by ARRIVAL time, so the expectation is converted explicitly:

- the quantity compared is the part's **new events**: valid lines minus duplicates (lines whose
  event id was already staged, or repeated within the part), the detector's unit;
- arrival time: the events arriving in bucket H are those of bucket H - k that arrived k buckets
  late, so `arriving(H) = sum_k q_k * expected(H - k)`, with `q_k` the share of a bucket's events
  that arrive k buckets after it ends, from the detector's own arrival-delay distribution
  (received_at - event_ts of staged events of the last `delay_sample_days`, which its latest round
  stored in metric_history: the gate does not scan a week of events again). Each hour's model
  spread is carried along, weighted by expected count;
- the hours the part covers are weighted by the share of each covered (pro rata). The band of the
  part's total is built the way the detector builds a bucket's (`Detector.band`): in log space around
  the expected total, its scale the model spread of each hour (read back from the hour's stored band
  minus its Poisson part) and the Poisson noise of the total, the hours taken as independent (the
  detector measures its spread hour by hour), at the detector's `fdr_level`, never tighter than its
  `min_relative_change` (25 %) / `min_abs_change`; a part touching a holiday of the detector's
  calendar (or one on-call acknowledged for the platform) gets the holiday floor. Summing the hourly
  bands instead would keep each hour's width: at 20 events an hour a day could lose 80 % unseen.

The detector's expectation must exist for every bucket the part's arrivals cover; a bucket k back
that it never judged (before its first round) counts as the bucket itself.

**The simple bound** (the fallback): valid lines by hour of arrival, the median of the same hour on
the last `lookback_days` days (at least `min_history`), / and x `volume_factor`. It is used when the
detector has not judged or forecast the part's hours (a new deployment, a detector round that has
not run for a day), and says so in the result's detail (`expectation_source`, `fallback_reason`).
Neither (cold start): the check is not evaluated, with the reason in its detail.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitors.detector import Detector, completeness
from monitors.detector import Expectation as DetectorExpectation
from monitors.store import median
from warehouse.session import Warehouse

HOUR = dt.timedelta(hours=1)
VOLUME_METRIC = "volume.valid_lines"
MIN_VOLUME_SPAN = dt.timedelta(minutes=5)
LATE_BUCKETS_MAX = 73  # staged events are at most 72 h late (later ones are quarantined)
NOISE_ALLOWANCE = 3.0  # Poisson standard errors added around a part's expected count

Expectation = tuple[float, float, float]  # expected, lower, upper


@dataclass(frozen=True)
class PartExpectation:
    expected: float
    lower: float
    upper: float
    source: str  # detector / simple_bound
    quantity: str  # what the part's value counts: new_events / valid_lines
    fallback_reason: str = ""
    holiday: str = ""

    def detail(self) -> dict[str, Any]:
        d: dict[str, Any] = {"expected": self.expected, "lower": self.lower, "upper": self.upper,
                             "expectation_source": self.source, "quantity": self.quantity}
        if self.fallback_reason:
            d["fallback_reason"] = self.fallback_reason
        if self.holiday:
            d["holiday"] = self.holiday
        return d


def scope_of(platform: str) -> str:
    return f"platform={platform}"


def simple_expectation(history: dict[dt.datetime, float], hour: dt.datetime, lookback_days: int,
                       min_history: int, factor: float) -> Expectation | None:
    """The simple bound of one hour of arrival from its platform's hourly valid lines."""
    days = [hour - dt.timedelta(days=k) for k in range(1, lookback_days + 1)]
    mid = median([history[d] for d in days if d in history], min_history)
    if mid is None:
        return None
    return mid, mid / factor, mid * factor


def arrival_kernel(delays: np.ndarray, bucket_seconds: int) -> np.ndarray:
    """q[k]: share of a bucket's events that arrive in the k-th bucket after it (k = 0: the bucket itself),
    events spread evenly over their bucket; from quantiles of received_at - event_ts (seconds)."""
    if not len(delays):
        return np.array([1.0])
    # completeness(k B): the share arrived by the end of the k-th bucket after the event's own.
    arrived = [0.0] + [completeness(delays, k * bucket_seconds, bucket_seconds) for k in range(LATE_BUCKETS_MAX)]
    q = np.diff(np.array(arrived))
    q = np.clip(q, 0.0, None)
    return q / q.sum() if q.sum() > 0 else np.array([1.0])


def convolve(rows: dict[dt.datetime, tuple[float, float]], bucket: dt.datetime, step: dt.timedelta,
             kernel: np.ndarray) -> tuple[float, float] | None:
    """(expected count, model variance) of the events ARRIVING in `bucket`, from the detector's
    (expected, model variance) per event-time bucket; None when it has no expectation for `bucket`
    itself. A bucket k back that it never judged counts as `bucket`."""
    own = rows.get(bucket)
    if own is None:
        return None
    expected = weighted = 0.0
    for k, q in enumerate(kernel):
        if q <= 0:
            continue
        e, extra = rows.get(bucket - step * k, own)
        expected += q * e
        weighted += q * e * extra
    return expected, (weighted / expected if expected > 0 else own[1])


def model_variance(expected: float, upper: float, z: float) -> float:
    """The model part of a stored band's log-space variance: its half-width squared minus the Poisson
    part (from the upper side; where the band was widened to the minimum change this overstates it)."""
    sigma = (math.log(max(upper, expected) + 1) - math.log(expected + 1)) / z
    return max(sigma * sigma - 1.0 / (expected + 1), 0.0)


class VolumeContext:
    """Everything one gate evaluation needs for the volume of its parts, read once: the detector's
    expectations of the platforms over the parts' spans, its arrival kernel, the simple bound's history."""

    def __init__(self, wh: Warehouse, platforms: list[str], spans: list[tuple[dt.datetime, dt.datetime]]):
        self.wh = wh
        self.cfg = wh.settings.monitor
        self.det = wh.settings.detector
        self.step = dt.timedelta(seconds=self.det.bucket_seconds)
        self.detector: dict[str, dict[dt.datetime, tuple[float, float]]] = {p: {} for p in platforms}
        self._model = Detector(self.det, self.det.holiday_names())
        self._holidays: dict[str, dict[dt.date, str]] | None = None
        self.simple: dict[str, dict[dt.datetime, float]] = {p: {} for p in platforms}
        self._kernel: np.ndarray | None = None
        if not spans or not platforms:
            return
        first, last = min(s[0] for s in spans), max(s[1] for s in spans)
        scopes = {scope_of(p): p for p in platforms}
        marks = ", ".join("?" for _ in scopes)
        # Judged rows win over forecasts of the same bucket, the latest round over older ones.
        for scope, start, exp, _lo, hi, _judged, _at in wh.query(
                "SELECT scope, bucket_start, expected, lower, upper, judged, computed_at FROM volume_expectations "
                f"WHERE bucket_seconds = ? AND scope IN ({marks}) AND bucket_start >= ? AND bucket_start <= ? "
                "AND expected IS NOT NULL ORDER BY scope, bucket_start, judged, computed_at",
                [self.det.bucket_seconds, *scopes, first - self.step * (LATE_BUCKETS_MAX + 1), last]):
            self.detector[scopes[scope]][start] = (float(exp), model_variance(float(exp), float(hi),
                                                                              self._model.z_band))
        since = first - dt.timedelta(days=self.cfg.lookback_days + 1)
        for scope, start, v in wh.query(
                "SELECT scope, bucket_start, value FROM metric_history WHERE metric = ? AND bucket_seconds = 3600 "
                f"AND scope IN ({marks}) AND bucket_start >= ? AND bucket_start < ?",
                [VOLUME_METRIC, *scopes, since, last]):
            self.simple[scopes[scope]][start] = float(v)

    def kernel(self) -> np.ndarray:
        if self._kernel is None:
            from monitors.anomaly import stored_delays

            self._kernel = arrival_kernel(stored_delays(self.wh), self.det.bucket_seconds)
        return self._kernel

    def part(self, platform: str, first: dt.datetime | None, last: dt.datetime | None
             ) -> tuple[PartExpectation | None, str]:
        """The part's expectation, or None with the reason it is not evaluated."""
        if first is None or last is None:
            return None, "no valid line: nothing arrived to compare"
        if last - first < MIN_VOLUME_SPAN:
            return None, f"the part's arrivals span less than {MIN_VOLUME_SPAN.seconds // 60} minutes"
        rows = self.detector.get(platform, {})
        missing: list[dt.datetime] = []
        parts: list[tuple[dt.datetime, float, float, float]] = []  # bucket, share, expected, model variance
        if rows:
            parts = self._buckets(first, last, self.step, lambda b: convolve(rows, b, self.step, self.kernel()),
                                  missing)
        else:
            self._buckets(first, last, self.step, lambda b: None, missing)
        if not missing:
            return self._detector_band(platform, parts), ""
        reason = (f"the seasonal detector has no expectation for {len(missing)} bucket(s) the part covers "
                  f"(first {missing[0]:%Y-%m-%d %H:%M}): it has not run for this platform, has too little history, "
                  "or its last round did not forecast that far")
        history = self.simple.get(platform, {})
        hours = self._buckets(first, last, HOUR, lambda h: simple_expectation(
            history, h, self.cfg.lookback_days, self.cfg.min_history, self.cfg.volume_factor), [])
        if hours is not None:
            simple = [sum(share * e[i] for _, share, *e in hours) for i in range(3)]
            return _allow_noise(PartExpectation(*simple, "simple_bound", "valid_lines", reason)), ""
        return None, f"cold start: {reason}, and fewer than {self.cfg.min_history} days of the simple bound's history"

    def _detector_band(self, platform: str, parts: list[tuple[dt.datetime, float, float, float]]
                       ) -> PartExpectation:
        expected = sum(share * e for _, share, e, _ in parts)
        # Each hour's model variance is its own (the detector measures it hour by hour): on the total it
        # adds up as independent variances, like the Poisson part.
        extra = sum((share * e) ** 2 * x for _, share, e, x in parts) / expected ** 2 if expected > 0 else 0.0
        sigma = math.sqrt(extra + 1.0 / (expected + 1))
        days = {b.date() for b, share, _, _ in parts if share > 0}
        calendar = {**self._model.holidays, **self.learned().get(scope_of(platform), {})}
        holiday = next((calendar[d] for d in sorted(days) if d in calendar), None)
        lower, upper = self._model.band(DetectorExpectation(expected, sigma, "high", 0.0, expected, extra), holiday)
        return PartExpectation(expected, lower, upper, "detector", "new_events",
                               holiday=holiday or "")

    def learned(self) -> dict[str, dict[dt.date, str]]:
        if self._holidays is None:
            from monitors.anomaly import learned_holidays

            self._holidays = learned_holidays(self.wh)
        return self._holidays

    @staticmethod
    def _buckets(first: dt.datetime, last: dt.datetime, step: dt.timedelta, one: Any,
                 missing: list[dt.datetime]) -> list[Any] | None:
        """(bucket, share covered, *one(bucket)) for each bucket of [first, last]; None (and `missing`
        filled) when `one` has nothing for a covered bucket."""
        out: list[Any] = []
        epoch = dt.datetime(1970, 1, 1)
        b = epoch + step * ((first - epoch) // step)
        while b <= last:
            share = (min(b + step, last) - max(b, first)) / step
            if share > 0:
                got = one(b)
                if got is None:
                    missing.append(b)
                else:
                    out.append((b, share, *got))
            b += step
        return None if missing else out


def _allow_noise(e: PartExpectation) -> PartExpectation:
    noise = NOISE_ALLOWANCE * math.sqrt(max(e.expected, 0.0))
    return PartExpectation(e.expected, max(min(e.lower, e.expected - noise), 0.0), max(e.upper, e.expected + noise),
                           e.source, e.quantity, e.fallback_reason)
