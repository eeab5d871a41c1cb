"""A rate check's normal by time of day of arrival (monitors/normal.py): the window, circular over
midnight, and the fallbacks to all hours and to cold start."""

from __future__ import annotations

import datetime as dt

import pytest

from monitors.normal import DayHistory, NormalBasis, arrival, rate_normal, second_of_day

DAY = dt.datetime(2026, 11, 20)


def at(hhmm: str, day: int = 0) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return DAY + dt.timedelta(days=day, hours=h, minutes=m)


def test_the_window_is_circular_over_midnight() -> None:
    late, early = DayHistory.of([(at("23:30"), 1.0)]), DayHistory.of([(at("00:30"), 2.0)])
    assert late.around(second_of_day(at("00:30")), 3600) == [1.0]  # 23:30 is one hour before 00:30
    assert early.around(second_of_day(at("23:30")), 3600) == [2.0]
    assert late.around(second_of_day(at("00:31")), 3600) == []
    assert early.around(second_of_day(at("12:30")), 12 * 3600) == [2.0]  # 12 h: every hour


def test_window_selects_the_same_time_of_day_on_every_day_across_midnight() -> None:
    # 23:10 and 00:50 on different days are within ±1 h of 00:00; 01:10 and 22:50 are not.
    h = DayHistory.of([(at("23:10", 0), 1.0), (at("00:50", 3), 2.0), (at("01:10", 1), 50.0),
                    (at("22:50", 2), 60.0), (at("12:00", 4), 70.0), (at("00:00", 5), 3.0)])
    assert sorted(h.around(0.0, 3600)) == [1.0, 2.0, 3.0]
    assert sorted(h.around(second_of_day(at("23:45")), 3600)) == [1.0, 3.0, 60.0]  # 22:45-00:45
    n = rate_normal(h, at("00:05", 6), 1.0, 3)
    assert (n.value, n.basis, n.n) == (2.0, NormalBasis.time_of_day, 3)
    assert n.text == "time of day 23:05-01:05 UTC (n=3)"


def test_fallbacks_all_hours_then_cold_start() -> None:
    h = DayHistory.of([(at("03:00", d), 0.03) for d in range(3)] + [(at("14:00", d), 0.005) for d in range(4)])
    night = rate_normal(h, at("03:30", 5), 1.0, 3)
    assert (night.value, night.basis) == (0.03, NormalBasis.time_of_day)
    # 08:00: nothing within ±1 h → the median of every hour, and the reason.
    morning = rate_normal(h, at("08:00", 5), 1.0, 3)
    assert (morning.value, morning.basis, morning.n) == (0.005, NormalBasis.all_hours, 7)
    assert morning.text == "all hours (n=7): fewer than min_history (3) at this time of day (n=0)"
    # min_history 4: the three night values are not enough at night either.
    assert rate_normal(h, at("03:30", 5), 1.0, 4).basis is NormalBasis.all_hours
    # 12 hours = every hour: the old behaviour.
    whole = rate_normal(h, at("03:30", 5), 12.0, 3)
    assert (whole.value, whole.basis) == (0.005, NormalBasis.all_hours)
    cold = rate_normal(DayHistory.of(h_pts := [(at("03:00"), 0.03), (at("04:00"), 0.03)]), at("03:30", 5), 1.0, 3)
    assert (cold.value, cold.basis, cold.n) == (None, NormalBasis.cold_start, len(h_pts))
    assert cold.text.startswith("cold start: fewer than min_history (3)")


def test_a_part_wider_than_the_window_uses_all_hours() -> None:
    h = DayHistory.of([(at("12:00", d), 0.005) for d in range(5)] + [(at("03:00", d), 0.03) for d in range(3)])
    wide = rate_normal(h, at("12:00", 6), 1.0, 3, span=dt.timedelta(hours=23))
    assert wide.basis is NormalBasis.all_hours and "span 23.0 h" in wide.text


def test_arrival_is_the_midpoint_of_reception_else_the_load_time() -> None:
    assert arrival(at("02:00"), at("02:10"), at("09:00")) == at("02:05")
    assert arrival(None, None, at("09:00")) == at("09:00")


@pytest.mark.parametrize("hours", [0.0, 12.5])
def test_window_setting_is_bounded(hours: float) -> None:
    from pydantic import ValidationError

    from config.monitor import MonitorConfig

    with pytest.raises(ValidationError):
        MonitorConfig(normal_window_hours=hours)
