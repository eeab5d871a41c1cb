"""The detector alone (pure): cycles, holidays, cold start, incidents kept out of the baseline,
the false-discovery correction, late-data readiness."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from config.detector import DetectorConfig, Holiday
from monitors.detector import (
    Detector,
    Judgement,
    Series,
    arrival_readiness,
    benjamini_hochberg,
    bucket_index,
    completeness,
    episodes,
)
from traffic.series import HOLIDAY_FACTOR, Injected, hourly_series

START = dt.datetime(2026, 10, 5)  # a Monday
CFG = DetectorConfig()


def at(day: int, hour: int = 0) -> dt.datetime:
    return START + dt.timedelta(days=day, hours=hour)


def run(values: np.ndarray, start: dt.datetime = START, cfg: DetectorConfig = CFG,
        holidays: dict[dt.date, str] | None = None) -> list[Judgement]:
    return Detector(cfg, holidays).run([Series("s", bucket_index(start, 3600), values)])["s"]


def alerts(judged: list[Judgement]) -> list[Judgement]:
    return [j for j in judged if j.anomalous]


def by_time(judged: list[Judgement]) -> dict[dt.datetime, Judgement]:
    return {j.bucket_start: j for j in judged}


def test_daily_and_weekly_cycles_are_expected_not_alerted() -> None:
    s = hourly_series("web", START, 35, 500, seed=1)
    judged = run(s.values)
    # one series alone: BH is the plain p <= fdr_level (0.001), about one noise hour per 1,000 judged
    assert len(alerts(judged)) <= 1 and len(judged) > 700
    j = by_time(judged)
    # Sunday afternoon is ~3x below a Tuesday afternoon; both are expected within ~15 %
    for t in (at(29, 15), at(34, 15), at(29, 3)):
        assert j[t].expected == pytest.approx(s.values[(t - START) // dt.timedelta(hours=1)], rel=0.15)
    assert j[at(34, 15)].expected < 0.5 * j[at(29, 15)].expected
    assert j[at(30, 10)].confidence == "high"


def test_outage_spike_and_partial_drop_are_caught_with_their_direction() -> None:
    incidents = [Injected("outage", at(22, 10), 4, 0.02), Injected("spike", at(24, 14), 3, 3.0),
                 Injected("partial_drop", at(26, 9), 5, 0.5)]
    judged = run(hourly_series("web", START, 30, 500, seed=2, incidents=incidents).values)
    inside = [ep for ep in episodes(judged) if any(i.start <= ep[0].bucket_start < i.end for i in incidents)]
    # a single series alerts on noise about once per 1 / fdr_level buckets (~650 judged here)
    assert len(episodes(judged)) - len(inside) <= 2
    eps = inside
    assert [(ep[0].bucket_start, ep[0].direction) for ep in eps] == [
        (at(22, 10), "drop"), (at(24, 14), "spike"), (at(26, 9), "drop")]
    assert [len(ep) for ep in eps] == [4, 3, 5]  # one episode per incident, every hour of it
    assert {j.severity for j in eps[0]} == {"critical"}  # near zero
    assert {j.severity for j in eps[1]} == {"medium"} and {j.severity for j in eps[2]} == {"high"}
    assert all(j.episode_start == ep[0].bucket_start for ep in eps for j in ep)


def test_a_holiday_in_the_calendar_is_expected_and_an_unknown_one_alerts() -> None:
    day = at(24).date()
    s = hourly_series("web", START, 26, 500, seed=3, holidays={day: "Thanksgiving"})
    assert s.values[24 * 24 + 12] < 0.3 * s.values[23 * 24 + 12]
    assert not any(j.bucket_start.date() == day for j in alerts(run(s.values, holidays={day: "Thanksgiving"})))
    assert any(j.bucket_start.date() == day and j.direction == "drop" for j in alerts(run(s.values)))
    # an outage on a holiday still alerts: a drop below the holiday floor
    out = hourly_series("web", START, 26, 500, seed=3, holidays={day: "x"},
                        incidents=[Injected("outage", at(24, 11), 4, 0.0)])
    hits = alerts(run(out.values, holidays={day: "x"}))
    assert hits and hits[0].bucket_start == at(24, 11) and hits[0].holiday == "x"
    # learned days (acknowledged alerts) work per series like the calendar
    learned = Series("s", bucket_index(START, 3600), s.values, holidays={day: "acknowledged as expected"})
    assert not any(j.bucket_start.date() == day for j in alerts(Detector(CFG).run([learned])["s"]))


def test_cold_start_judges_after_min_history_with_low_confidence() -> None:
    s = hourly_series("new", START, 6, 300, seed=4, incidents=[Injected("outage", at(4, 10), 3, 0.0)])
    judged = run(s.values)
    assert judged[0].bucket_start == at(3)  # nothing judged with less than min_history_days (3)
    assert {j.confidence for j in judged} == {"low"}
    hits = alerts(judged)
    assert [j.bucket_start for j in hits] == [at(4, 10), at(4, 11), at(4, 12)]
    # the band is wider than with weekly history: a halving is not enough on day 4
    half = hourly_series("new", START, 6, 300, seed=4, incidents=[Injected("drop", at(4, 10), 3, 0.5)])
    assert alerts(run(half.values)) == []
    assert run(hourly_series("new", START, 2, 300, seed=4).values) == []


def test_an_alerted_incident_is_not_learned_into_the_baseline() -> None:
    spike = [Injected("spike", at(23, 8), 10, 4.0)]  # a Wednesday morning
    with_incident = by_time(run(hourly_series("web", START, 32, 500, seed=5, incidents=spike).values))
    clean = by_time(run(hourly_series("web", START, 32, 500, seed=5).values))
    assert with_incident[at(23, 10)].anomalous
    # one week later, same slot: the expectation ignores the spike
    later = at(30, 10)
    assert with_incident[later].expected == pytest.approx(clean[later].expected, rel=0.05)
    assert not with_incident[later].anomalous


def test_false_discovery_control_across_series_of_one_bucket() -> None:
    p = np.array([0.2, 1e-5, 0.04, 3e-4, 0.9])
    assert np.allclose(benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"))
    det = Detector(DetectorConfig(fdr_level=0.001))
    assert det.decide(np.array([5e-4]), [True]) == [True]  # alone: below the level
    assert det.decide(np.array([5e-4] + [0.5] * 9), [True] * 10) == [False] + [False] * 9  # 1 of 10
    assert det.decide(np.array([1e-9] + [0.5] * 399), [True] * 400)[0] is True  # strong stays
    assert det.decide(np.array([1e-9]), [False]) == [False]  # inside the band: never
    # 40 noise series watched together raise no alert over two weeks
    rng = np.random.default_rng(6)
    noise = [Series(f"n{i}", bucket_index(START, 3600), rng.poisson(200, 14 * 24).astype(float)) for i in range(40)]
    assert sum(j.anomalous for js in Detector(CFG).run(noise).values() for j in js) == 0


def test_late_data_readiness_and_completeness() -> None:
    delays = np.concatenate([np.full(950, 30.0), np.linspace(3600, 72 * 3600, 50)])  # 5 % arrive 1-72 h late
    assert arrival_readiness(delays, 0.10) == pytest.approx(30.0)
    assert 3600 <= arrival_readiness(delays, 0.02) <= 72 * 3600
    assert arrival_readiness([], 0.05) == 0.0
    just_ended = completeness(np.sort(delays), 0.0, 3600)
    assert 0.9 < just_ended < 0.96
    assert completeness(np.sort(delays), 80 * 3600, 3600) == 1.0
    # a bucket still half to come is judged against half its expectation: no false drop
    s = hourly_series("web", START, 22, 500, seed=7)
    v = s.values.copy()
    v[-1] *= 0.5
    comp = np.ones(len(v))
    comp[-1] = 0.5
    assert alerts(run(v))[-1].bucket_start == at(21, 23)
    det = Detector(CFG)
    assert not det.run([Series("s", bucket_index(START, 3600), v, completeness=comp)])["s"][-1].anomalous


def test_config_rejects_a_bucket_that_does_not_divide_a_day() -> None:
    with pytest.raises(ValueError):
        DetectorConfig(bucket_minutes=7)
    assert DetectorConfig(holidays=[Holiday(date=dt.date(2026, 12, 25), name="Christmas")]).holiday_names() == {
        dt.date(2026, 12, 25): "Christmas"}
    assert HOLIDAY_FACTOR < 0.3
