"""Pure scoring: each component's curve, the cap at its weight, grades, roll-up by volume share, the
volume runs, and the wording of sizes; plus the settings that drive them and their documentation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.settings import Settings
from config.trust import COMPONENT_NAMES, TrustConfig
from monitors.trust.definition import (
    COMPONENTS,
    Deduction,
    badness,
    duration,
    grade_for,
    pct,
    points,
    roll_up,
    score_scope,
    volume_runs,
)
from tests.conftest import REPO

CFG = TrustConfig()


@pytest.mark.parametrize("component", COMPONENT_NAMES)
def test_each_component_takes_nothing_below_ok_and_its_weight_at_bad(component: str) -> None:
    ok, bad = CFG.threshold(component)
    assert points(CFG, component, ok) == 0
    assert points(CFG, component, (ok + bad) / 2) == pytest.approx(CFG.weight(component) / 2)
    assert points(CFG, component, bad * 3) == CFG.weight(component)


def test_badness_is_linear_between_ok_and_bad() -> None:
    assert [badness(v, 0.02, 0.10) for v in (0.0, 0.02, 0.04, 0.06, 0.10, 0.5)] == pytest.approx(
        [0, 0, 0.25, 0.5, 1, 1])


def test_default_weights_add_up_to_100_and_every_component_is_described() -> None:
    assert sum(CFG.weights.values()) == 100
    assert set(COMPONENTS) == set(CFG.weights) == set(CFG.thresholds)
    assert all(c.question and c.measure for c in COMPONENTS.values())


def test_grades() -> None:
    assert [grade_for(s, CFG.grades).grade for s in (100, 95, 94.9, 85, 70, 69.9, 50, 0)] == \
        ["A", "A", "B", "B", "C", "D", "D", "F"]


def test_clean_scope_is_100_with_no_reasons() -> None:
    score, band, components, reasons = score_scope(CFG, [], {})
    assert (score, band.grade, reasons) == (100.0, "A", [])
    assert set(components) == set(COMPONENT_NAMES) and all(c["points"] == 0 for c in components.values())


def test_a_component_never_takes_more_than_its_weight_and_reasons_are_sorted() -> None:
    ds = [Deduction("incidents", 15, "open incident A", "incident"), Deduction("incidents", 15, "open incident B",
          "incident"), Deduction("validity", 18, "iOS 5.2.0 sends unknown feature ids since 13:55", "quarantine"),
          Deduction("late", 0.3, "a tiny bit of late data", "late")]
    score, band, components, reasons = score_scope(CFG, ds, {})
    assert components["incidents"]["points"] == 20  # capped at the weight, shared by the two incidents
    assert score == pytest.approx(100 - 20 - 18 - 0.3, abs=0.05)
    assert band.grade == "D"
    assert reasons[0] == "\u221218: iOS 5.2.0 sends unknown feature ids since 13:55"
    assert reasons[1:] == ["\u221210: open incident A", "\u221210: open incident B"]  # under half a point: not shown


def test_roll_up_is_in_proportion_to_volume_share() -> None:
    # An incident worth 20 points on editor.comments.mention (300 events) lowers editor.comments (1,200)
    # by a quarter of that and editor (6,000) by a twentieth, not equally.
    assert roll_up(20, 300, 300) == 20
    assert roll_up(20, 300, 1200) == pytest.approx(5)
    assert roll_up(20, 300, 6000) == pytest.approx(1)
    assert roll_up(20, 0, 6000) == 0


def test_volume_runs_find_an_outage_and_ignore_noise() -> None:
    expected = [100.0] * 24
    noisy = [100 + (7 if h % 2 else -7) for h in range(24)]
    assert volume_runs(noisy, expected, 5.5, 0.25) == []
    outage = list(noisy)
    for h in range(8, 12):
        outage[h] = 2
    outage[7], outage[12] = 95, 96  # close to normal on both sides: not part of the window
    runs = volume_runs(outage, expected, 5.5, 0.25)
    assert [(r.start_hour, r.end_hour) for r in runs] == [(8, 12)]
    assert runs[0].gap == pytest.approx(-392)
    # A small scope: each hour alone is within the noise, the four hours together are not.
    small = [10.0] * 24
    obs = [10.0] * 24
    for h in range(8, 12):
        obs[h] = 0
    assert all(volume_runs(obs[h:h + 1], small[h:h + 1], 5.5, 0.25) == [] for h in range(8, 12))
    assert [(r.start_hour, r.end_hour) for r in volume_runs(obs, small, 5.5, 0.25)] == [(8, 12)]


def test_volume_runs_with_the_detectors_band() -> None:
    expected = [50.0] * 24
    lower, upper = [40.0] * 24, [60.0] * 24
    obs = [55.0] * 24
    obs[14] = 120
    runs = volume_runs(obs, expected, 5.5, 0.25, lower, upper)
    assert [(r.start_hour, r.end_hour, r.observed) for r in runs] == [(14, 15, 120)]


def test_sizes_read_like_a_person_wrote_them() -> None:
    assert [pct(x) for x in (0.12, 0.0123, 0.0004, 0.0)] == ["12 %", "1.2 %", "<0.1 %", "0 %"]
    assert [duration(m) for m in (5, 60, 130, 3000)] == ["5 min", "1 h", "2 h 10 min", "2 days"]


def test_settings_carry_the_trust_section_and_reject_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().trust == TrustConfig()  # config/local.toml spells out the defaults
    monkeypatch.setenv("NOVA_TRUST", '{"top_features": 3, "followed_features": ["chat"]}')
    s = Settings()
    assert s.trust.top_features == 3 and s.trust.followed_features == ["chat"]
    with pytest.raises(ValidationError, match="unknown component"):
        TrustConfig(weights={"speed": 10})
    with pytest.raises(ValidationError, match="must be above ok"):
        TrustConfig(thresholds={"volume": (0.5, 0.1)})


def test_docs_explain_every_trust_setting_and_component() -> None:
    doc = (REPO / "docs" / "trust.md").read_text()
    for name in TrustConfig.model_fields:
        assert f"`{name}`" in doc, f"[trust] {name} is not explained in docs/trust.md"
    for name in COMPONENT_NAMES:
        assert f"`{name}`" in doc, f"component {name} is not explained in docs/trust.md"
    assert "`trust`" in (REPO / "docs" / "configuration.md").read_text()


def test_a_scope_too_small_to_judge_says_so() -> None:
    import datetime as dt

    from monitors.trust.definition import TrustScore

    comps = {"validity": {"judged": False, "events": 7, "of": 15}, "completeness": {"judged": False, "events": 0,
                                                                                    "of": 15}}
    small = TrustScore(dt.date(2026, 11, 25), "feature", "boards.automation", "Boards > Automation", 100.0, "A",
                       comps, [])
    assert small.unjudged_note() == "too few events to judge (15 today, 7 with a problem)"
    clean = TrustScore(dt.date(2026, 11, 25), "feature", "x", "X", 100.0, "A", {"validity": {"judged": True}}, [])
    assert clean.unjudged_note() == ""
