"""The seasonal volume-anomaly detector: pure, typed, no warehouse.

A series is a run of equal buckets (hourly by default) of event counts. Each bucket is judged
as if live, from the buckets before it only (no look-ahead):

- **expected** = the median of the same hour-of-week slot over the last `baseline_weeks` weeks
  (the daily cycle only, same hour of the last 7 days, while less than `weekly_history_days` of
  history exist: the *cold start*), times the recent **level**: the median ratio of the last day's
  values to their own slot medians, which follows a trend or a slow drift;
- **band**: in log space, `log(v+1)` around `log(expected+1)`, with a scale that adds the robust
  (MAD) spread of the recent residuals to the Poisson noise of a count this size; a cold start
  adds a wide term; a holiday lowers the floor of a drop to `holiday_floor_share`;
- **score** = that log residual in units of the scale (negative: drop), **p-value** two-sided
  from the normal distribution (scipy);
- the **decision** runs across every series judged at the same bucket: Benjamini-Hochberg at
  `fdr_level` (the same adjustment as scipy.stats.false_discovery_control), and the change must
  also reach `min_relative_change` of the expected value and `min_abs_change` events (the band);
  below 30 expected events the p-value comes from a negative binomial count distribution;
- buckets decided anomalous are kept out of every later baseline (an incident is never learned
  as normal) until an episode outlasts `relearn_after_hours`; holidays are kept out as well.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import special, stats

from config.detector import DetectorConfig

Direction = Literal["drop", "spike"]
Confidence = Literal["low", "medium", "high"]
EPOCH = dt.datetime(1970, 1, 1)
SIGMA_FLOOR = 0.03  # a model never knows a count to better than ~3 %
SIGMA_UNKNOWN = 0.20  # residual spread assumed until a day of residuals exists
EPISODE_GAP = 2  # buckets: a flicker back inside the band does not split an episode
SMALL_COUNT = 30.0  # below this expected count the score comes from the count distribution itself


def bucket_index(ts: dt.datetime, bucket_seconds: int) -> int:
    return int((ts - EPOCH).total_seconds()) // bucket_seconds


def bucket_time(index: int, bucket_seconds: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=index * bucket_seconds)


@dataclass
class Series:
    """One series on the bucket grid: `values[i]` is the bucket `start_index + i`; NaN = no data."""

    key: str
    start_index: int
    values: np.ndarray
    # Decisions already taken by earlier rounds (buckets alerted then): they stay out of the baseline.
    known_anomalous: np.ndarray | None = None
    # Share of each bucket's events already arrived (late data); 1 where complete.
    completeness: np.ndarray | None = None
    # Expected days of this series only (learned from acknowledged alerts), besides the calendar.
    holidays: dict[dt.date, str] = field(default_factory=dict)

    @classmethod
    def from_points(cls, key: str, starts: Sequence[dt.datetime], values: Sequence[float], bucket_seconds: int,
                    missing_as_zero: bool = False) -> Series:
        """Bucket starts (any order, gaps allowed) and values → a dense series; values of one bucket are summed."""
        if not starts:
            return cls(key, 0, np.zeros(0))
        idx = np.array([bucket_index(s, bucket_seconds) for s in starts], dtype=np.int64)
        lo = int(idx.min())
        dense = np.zeros(int(idx.max()) - lo + 1)
        np.add.at(dense, idx - lo, np.asarray(values, dtype=float))
        if not missing_as_zero:
            seen = np.zeros(len(dense), bool)
            seen[idx - lo] = True
            dense[~seen] = np.nan
        return cls(key, lo, dense)

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.values)


@dataclass(frozen=True)
class Judgement:
    """One bucket of one series, judged."""

    key: str
    bucket_start: dt.datetime
    value: float
    expected: float
    lower: float
    upper: float
    score: float
    p_value: float
    direction: Direction
    confidence: Confidence
    history_days: float
    holiday: str | None = None
    anomalous: bool = False
    severity: str | None = None  # critical (near zero) / high (drop) / medium (spike) when anomalous
    episode_start: dt.datetime | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "series": self.key, "timestamp": self.bucket_start.isoformat(), "value": self.value,
            "expected": round(self.expected, 3), "lower": round(self.lower, 3), "upper": round(self.upper, 3),
            "direction": self.direction, "score": round(self.score, 3), "p_value": self.p_value,
            "confidence": self.confidence, "history_days": round(self.history_days, 2), "holiday": self.holiday,
            "anomalous": self.anomalous, "severity": self.severity,
            "episode_start": self.episode_start.isoformat() if self.episode_start else None,
        }


@dataclass
class Expectation:
    expected: float
    sigma: float
    confidence: Confidence
    history_days: float
    base: float  # the slot median before the level adjustment
    extra_var: float = 0.0  # relative variance beyond Poisson noise (model spread, cold start)


@dataclass
class _State:
    series: Series
    first: int  # offset of the first bucket with data
    usable: np.ndarray  # may enter a baseline: has data, not alerted, not a holiday
    base_w: np.ndarray  # hour-of-week slot median of each judged bucket (NaN: none)
    base_d: np.ndarray  # hour-of-day median of the last 7 days of each judged bucket
    expected: np.ndarray
    episode_len: int = 0
    episode_dir: str | None = None
    episode_start: int | None = None
    gap: int = 0
    extra2: float = 0.0
    extra_at: int | None = None
    out: list[Judgement] = field(default_factory=list)


class Detector:
    """Judges a set of series bucket by bucket, as a live monitor would have."""

    def __init__(self, config: DetectorConfig, holidays: Mapping[dt.date, str] | None = None):
        self.cfg = config
        self.holidays = dict(holidays or {})
        self.B = config.bucket_seconds
        self.P = 86_400 // self.B  # buckets per day
        self.W = 7 * self.P
        self.z_band = float(stats.norm.isf(config.fdr_level / 2))
        self.sigma_cold = math.log(config.cold_start_band_factor) / 2.0
        self._states: dict[str, _State] = {}

    # --- expected value ---------------------------------------------------------------------
    def expectation(self, st: _State, t: int) -> Expectation | None:
        """The expectation of offset `t` from the usable buckets before it; None below min history."""
        cfg, v = self.cfg, st.series.values
        history_days = (min(t, len(v)) - st.first) / self.P
        if history_days < cfg.min_history_days:
            return None
        usable = st.usable
        n = len(v)
        # Both medians are kept per bucket, so the level below compares like with like.
        wi = [i for i in (t - self.W * k for k in range(1, cfg.baseline_weeks + 1)) if 0 <= i < n and usable[i]]
        di = [i for i in (t - self.P * k for k in range(1, 8)) if 0 <= i < n and usable[i]]
        wb = statistics.median(v[wi].tolist()) if wi else math.nan
        db = statistics.median(v[di].tolist()) if len(di) >= 2 else math.nan
        if t < len(st.base_w):
            st.base_w[t], st.base_d[t] = wb, db
        if history_days >= cfg.weekly_history_days and wi:
            base, bases, samples = wb, st.base_w, len(wi)
            confidence: Confidence = "high" if len(wi) >= 3 else "medium"
        elif not math.isnan(db):
            base, bases, samples, confidence = db, st.base_d, len(di), "low"
        else:
            return None
        # Level: how the last day ran against the same medians (trend, drift, a quiet weekend).
        recent = np.arange(max(st.first, t - self.P), min(t, n))
        ok = recent[usable[recent] & np.isfinite(bases[recent])] if len(recent) else recent
        level = 1.0
        if len(ok) >= max(3, self.P // 4):
            level = math.exp(statistics.median(np.log((v[ok] + 1) / (bases[ok] + 1)).tolist()))
            level = min(max(level, 1 / 3), 3.0)
        expected = max(base * level, 0.0)
        extra = self._extra_variance(st, t) + SIGMA_FLOOR ** 2
        # A prediction, not a fit: the residual spread of the last week already holds the noise of
        # the expected values then, except on the first week of the weekly model, whose expected
        # value is one past week's single noisy value while the residuals came from 7-day medians.
        if samples == 1 and bases is st.base_w:
            extra += extra + 1.0 / (base + 1)
        if confidence == "low":
            extra += self.sigma_cold ** 2
        sigma = math.sqrt(extra + 1.0 / (expected + 1))
        return Expectation(expected, sigma, confidence, history_days, base, extra)

    def _extra_variance(self, st: _State, t: int) -> float:
        """Robust (MAD) variance of the last week's log residuals beyond their Poisson part;
        refreshed every few buckets (it moves slowly)."""
        if st.extra_at is not None and 0 <= t - st.extra_at < max(1, self.P // 8):
            return st.extra2
        v, n = st.series.values, len(st.series.values)
        recent = np.arange(max(st.first, t - self.W), min(t, n))
        ok = recent[st.usable[recent] & np.isfinite(st.expected[recent])] if len(recent) else recent
        if len(ok) >= self.P:
            res = np.log((v[ok] + 1) / (st.expected[ok] + 1))
            mad = 1.4826 * float(np.median(np.abs(res - np.median(res))))
            pois = float(np.median(1.0 / (st.expected[ok] + 1)))
            extra2 = max(mad * mad - pois, 0.0)
        else:
            extra2 = SIGMA_UNKNOWN ** 2
        st.extra2, st.extra_at = extra2, t
        return extra2

    def band(self, e: Expectation, holiday: str | None) -> tuple[float, float]:
        c = math.log(e.expected + 1)
        lower = math.exp(c - self.z_band * e.sigma) - 1
        upper = math.exp(c + self.z_band * e.sigma) - 1
        mrc, mac = self.cfg.min_relative_change, self.cfg.min_abs_change
        lower = max(min(lower, e.expected * (1 - mrc), e.expected - mac), 0.0)
        upper = max(upper, e.expected * (1 + mrc), e.expected + mac)
        if holiday:
            lower = min(lower, e.expected * self.cfg.holiday_floor_share)
        return lower, upper

    def _score(self, value: float, e: Expectation, holiday: str | None) -> float:
        """Signed z: negative for a drop. On a holiday a drop is measured against the holiday floor."""
        mu = e.expected
        if holiday and value < mu:
            mu = e.expected * self.cfg.holiday_floor_share
            if value >= mu:
                return 0.0
        if mu < SMALL_COUNT:
            return _count_z(value, mu, e.extra_var)
        return (math.log(value + 1) - math.log(mu + 1)) / math.sqrt(e.extra_var + 1.0 / (mu + 1))

    # --- the run ------------------------------------------------------------------------------
    def run(self, series: Sequence[Series], report_from: dt.datetime | Mapping[str, dt.datetime] | None = None,
            end: dt.datetime | None = None, start: dt.datetime | None = None) -> dict[str, list[Judgement]]:
        """Judge every bucket of every series in time order. Buckets before `report_from` (one time,
        or one per series key) are judged, so baselines and decisions are as live, but not returned;
        buckets before `start` (their values still form baselines) and from `end` on are not judged."""
        states = [self._state(s) for s in series]
        self._states = {s.series.key: s for s in states}
        if not states:
            return {}
        lo = min(s.series.start_index for s in states)
        hi = max(s.series.end_index for s in states)
        if end is not None:
            hi = min(hi, bucket_index(end, self.B))
        if start is not None:
            lo = max(lo, bucket_index(start, self.B))
        reports: dict[str, int] = {}
        for st in states:
            r = report_from.get(st.series.key) if isinstance(report_from, Mapping) else report_from
            reports[st.series.key] = bucket_index(r, self.B) if r is not None else lo
        for g in range(lo, hi):
            day = bucket_time(g, self.B).date()
            cands: list[tuple[_State, int, float, Expectation, str | None, float]] = []
            for st in states:
                t = g - st.series.start_index
                if t < 0 or t >= len(st.series.values):
                    continue
                value = float(st.series.values[t])
                if math.isnan(value):
                    self._close(st)
                    continue
                e = self.expectation(st, t)
                if e is None:
                    continue
                comp = 1.0 if st.series.completeness is None else float(st.series.completeness[t])
                if comp < 1.0:
                    e = Expectation(e.expected * comp, e.sigma, e.confidence, e.history_days, e.base, e.extra_var)
                st.expected[t] = e.expected
                holiday = self.holidays.get(day) or st.series.holidays.get(day)
                cands.append((st, t, value, e, holiday, self._score(value, e, holiday)))
            if not cands:
                continue
            pvals = np.array([math.erfc(abs(z) / math.sqrt(2)) for *_, z in cands])  # two-sided normal
            bands = [self.band(e, holiday) for _, _, _, e, holiday, _ in cands]
            outside = [c[2] < low or c[2] > high for c, (low, high) in zip(cands, bands, strict=True)]
            decided = self.decide(pvals, outside)
            for (st, t, value, e, holiday, z), p, (lower, upper), alert in zip(cands, pvals, bands, decided,
                                                                             strict=True):
                known = st.series.known_anomalous
                report = reports[st.series.key]
                anomalous = bool(known[t]) if g < report and known is not None else alert
                direction: Direction = "drop" if z < 0 else "spike"
                episode = self._track(st, t, anomalous, direction)
                if anomalous and st.episode_len <= self.cfg.relearn_after_hours * 3600 // self.B:
                    st.usable[t] = False
                if g >= report:
                    st.out.append(Judgement(
                        st.series.key, bucket_time(g, self.B), value, e.expected, lower, upper, z, float(p),
                        direction, e.confidence, e.history_days, holiday, anomalous,
                        self._severity(value, e, direction) if anomalous else None,
                        bucket_time(st.series.start_index + episode, self.B) if episode is not None else None))
        return {s.series.key: s.out for s in states}

    def decide(self, pvals: np.ndarray, outside: Sequence[bool]) -> list[bool]:
        """The alerting decision for the series judged at one bucket: Benjamini-Hochberg across
        all of them at `fdr_level`, and the value outside its band (practical size of the change)."""
        adjusted = benjamini_hochberg(np.asarray(pvals, dtype=float))
        return [bool(a <= self.cfg.fdr_level and o) for a, o in zip(adjusted, outside, strict=True)]

    def forecast(self, key: str, buckets: int) -> list[tuple[dt.datetime, Expectation, tuple[float, float]]]:
        """Expectations for the `buckets` buckets after a series of the last `run` (gate, charts)."""
        st = self._states[key]
        n = len(st.series.values)
        grow = np.full(buckets, np.nan)
        st.series = Series(key, st.series.start_index, np.concatenate([st.series.values, grow]),
                           holidays=st.series.holidays)
        st.usable = np.concatenate([st.usable, np.zeros(buckets, bool)])
        st.base_w = np.concatenate([st.base_w, grow.copy()])
        st.base_d = np.concatenate([st.base_d, grow.copy()])
        st.expected = np.concatenate([st.expected, grow.copy()])
        out = []
        for k in range(buckets):
            g = st.series.start_index + n + k
            e = self.expectation(st, n + k)
            if e is None:
                continue
            st.expected[n + k] = e.expected
            day = bucket_time(g, self.B).date()
            out.append((bucket_time(g, self.B), e, self.band(e, self.holidays.get(day) or st.series.holidays.get(day))))
        return out

    # --- helpers ------------------------------------------------------------------------------
    def _state(self, s: Series) -> _State:
        v = s.values
        finite = np.isfinite(v)
        first = int(np.argmax(finite)) if finite.any() else len(v)
        days = {**self.holidays, **s.holidays}
        hol = np.array([bucket_time(s.start_index + i, self.B).date() in days for i in range(len(v))], bool) \
            if days else np.zeros(len(v), bool)
        usable = finite & ~hol
        if s.known_anomalous is not None:
            usable &= ~s.known_anomalous
        return _State(s, first, usable, np.full(len(v), np.nan), np.full(len(v), np.nan), np.full(len(v), np.nan))

    def _close(self, st: _State) -> None:
        st.episode_len, st.episode_dir, st.episode_start, st.gap = 0, None, None, 0

    def _track(self, st: _State, t: int, anomalous: bool, direction: str) -> int | None:
        """Consecutive anomalous buckets of one direction are one episode (gaps of EPISODE_GAP allowed)."""
        if anomalous:
            if st.episode_start is not None and st.episode_dir == direction:
                st.episode_len += 1 + st.gap
            else:
                st.episode_start, st.episode_dir, st.episode_len = t, direction, 1
            st.gap = 0
            return st.episode_start
        if st.episode_start is not None:
            st.gap += 1
            if st.gap > EPISODE_GAP:
                self._close(st)
        return None

    def _severity(self, value: float, e: Expectation, direction: str) -> str:
        if direction == "spike":
            return "medium"
        return "critical" if value <= e.expected * self.cfg.near_zero_share else "high"


def episodes(judgements: Sequence[Judgement]) -> list[list[Judgement]]:
    """Anomalous judgements of one series grouped by episode (one alert each)."""
    groups: dict[dt.datetime | None, list[Judgement]] = {}
    for j in judgements:
        if j.anomalous:
            groups.setdefault(j.episode_start, []).append(j)
    return list(groups.values())


def _count_z(value: float, mu: float, extra_var: float) -> float:
    """Signed z of a count against a negative binomial of mean `mu` and variance mu + extra_var * mu^2
    (Poisson when extra_var is 0): the log-normal approximation overstates small drops.
    Tails through the incomplete beta / gamma functions (scipy.special: ufuncs, no frozen objects)."""
    mu = max(mu, 1e-9)
    k = math.floor(value + 1e-9)
    if extra_var > 1e-9:
        r = 1.0 / extra_var
        q = r / (r + mu)

        def cdf(x: int) -> float:
            return float(special.betainc(r, x + 1, q)) if x >= 0 else 0.0
    else:
        def cdf(x: int) -> float:
            return float(special.gammaincc(x + 1, mu)) if x >= 0 else 0.0
    if value < mu:
        return float(special.ndtri(min(cdf(k), 0.5)))
    return -float(special.ndtri(min(1.0 - cdf(k - 1), 0.5)))


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (as scipy.stats.false_discovery_control(method="bh"),
    without its per-call overhead, which dominates at a few series per bucket)."""
    m = len(p)
    if m <= 1:
        return np.asarray(p, dtype=float)
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adj
    return out


def arrival_readiness(delays_seconds: Sequence[float], share: float) -> float:
    """Seconds after a bucket ends until at most `share` of its events are still to come
    (the (1 - share) quantile of received_at - event_ts); 0 without data."""
    d = np.asarray([x for x in delays_seconds if x is not None and math.isfinite(x)], dtype=float)
    if not len(d):
        return 0.0
    return float(max(np.quantile(np.maximum(d, 0.0), 1 - share), 0.0))


def completeness(delays_seconds: np.ndarray, seconds_since_end: float, bucket_seconds: int) -> float:
    """Share of a bucket's events arrived when its end is `seconds_since_end` behind the horizon
    (events spread evenly over the bucket; empirical delay distribution)."""
    if not len(delays_seconds):
        return 1.0
    ages = seconds_since_end + np.linspace(0, bucket_seconds, 61)
    d = np.sort(delays_seconds)
    return float(np.mean(np.searchsorted(d, ages, side="right") / len(d)))
