"""Each gate check at its threshold (just below passes, just above fails or warns), through the one
aggregate query on DuckDB; the relative normal, cold start, per-platform configuration and the
rule table's documentation."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pytest

from config.monitor import CheckSettings, MonitorConfig
from monitors.checks import RULES, RULES_BY_NAME, Comparison, Outcome, judge, rule_for, threshold
from monitors.gate import VOLUME_METRIC, evaluate_batches, volume_expectation
from monitors.store import put_metrics
from pipeline.stage import gate
from tests.conftest import REPO
from tests.monitors.parts import T0, make_part

N = 400  # in-scope lines of each test batch
REASON_RULES = [r for r in RULES if r.evidence.startswith("reason:")]


def outcome_of(wh: Any, batch_id: str, check: str) -> tuple[str, float | None, float | None]:
    res = [r for r in evaluate_batches(wh, [batch_id]) if r.check == check]
    assert len(res) == 1
    return res[0].outcome, res[0].value, res[0].threshold


def bad(rule: Any) -> str:
    return Outcome.failed.value if rule.blocking else Outcome.warn.value


@pytest.mark.parametrize("rule", REASON_RULES, ids=lambda r: r.name)
def test_each_reason_share_at_its_cold_start_threshold(wh: Any, rule: Any) -> None:
    limit = threshold(rule, None, N)
    code = rule.evidence.split(":", 1)[1]
    k = math.floor(limit * N)  # k / N <= limit < (k + 1) / N
    below = make_part(wh, "Lbelow", "ios", valid=N - k, reasons={code: k})
    above = make_part(wh, "Labove", "ios", valid=N - k - 1, reasons={code: k + 1})
    assert outcome_of(wh, below, rule.name)[0] == "passed"
    out, value, thr = outcome_of(wh, above, rule.name)
    assert out == bad(rule) and value == pytest.approx((k + 1) / N) and thr == pytest.approx(limit)


def test_duplicate_share_at_its_threshold(wh: Any) -> None:
    rule = RULES_BY_NAME["duplicate_rate"]
    limit = threshold(rule, None, N)
    k = math.floor(limit * N)
    below = make_part(wh, "Lbelow", "ios", valid=N, repeats=k)
    above = make_part(wh, "Labove", "ios", valid=N, repeats=k + 1)
    assert outcome_of(wh, below, "duplicate_rate")[0] == "passed"
    assert outcome_of(wh, above, "duplicate_rate")[:2] == ("warn", pytest.approx((k + 1) / N))


def test_duplicates_of_events_already_staged_count(wh: Any) -> None:
    make_part(wh, "Lold", "web", valid=N)
    wh.execute("INSERT INTO stg_events SELECT * FROM stg_pending")
    wh.execute("DELETE FROM stg_pending")
    wh.execute("UPDATE batches SET state = 'promoted'")
    # The same event ids arrive again in a new load: every line is a duplicate.
    wh.execute("INSERT INTO stg_pending SELECT * REPLACE ('Lnew' AS load_id) FROM stg_events")
    wh.execute("INSERT INTO batches (batch_id, load_id, platform, state, staged_at, created_at) "
               "VALUES ('Lnew/web', 'Lnew', 'web', 'pending', ?, ?)", [T0, T0])
    assert outcome_of(wh, "Lnew/web", "duplicate_rate")[:2] == ("warn", 1.0)


def test_clock_drift_share_at_its_threshold(wh: Any) -> None:
    rule = RULES_BY_NAME["clock_drift"]
    limit = threshold(rule, None, N)
    k = math.floor(limit * N)
    off = rule.limit + 1  # seconds: just beyond what a clock may be off
    below = make_part(wh, "Lbelow", "web", valid=N, offsets=[off] * k + [rule.limit] * (N - k))
    above = make_part(wh, "Labove", "web", valid=N, offsets=[-off] * (k + 1))
    assert outcome_of(wh, below, "clock_drift")[0] == "passed"
    assert outcome_of(wh, above, "clock_drift")[:2] == ("warn", pytest.approx((k + 1) / N))


def test_drift_shift_at_its_threshold(wh: Any) -> None:
    limit = RULES_BY_NAME["drift_shift"].cold_start  # cold start: the normal offset is 0
    below = make_part(wh, "Lbelow", "android", valid=N, offsets=[limit - 1] * N)
    above = make_part(wh, "Labove", "android", valid=N, offsets=[limit + 1] * N)
    assert outcome_of(wh, below, "drift_shift")[:2] == ("passed", pytest.approx(limit - 1))
    assert outcome_of(wh, above, "drift_shift")[:2] == ("warn", pytest.approx(limit + 1))


def test_volume_against_the_expectation_of_the_hours_covered(wh: Any) -> None:
    cfg = wh.settings.monitor
    hours = [T0 - dt.timedelta(days=d) + dt.timedelta(hours=h) for d in range(1, 8) for h in (0, 1)]
    with wh.transaction():
        put_metrics(wh, [(VOLUME_METRIC, "platform=ios", h, 3600, 1000.0) for h in hours], add=True)
    assert volume_expectation(wh, "ios", T0) == (1000.0, 1000.0 / cfg.volume_factor, 1000.0 * cfg.volume_factor)
    assert volume_expectation(wh, "web", T0) is None  # cold start: not evaluated
    low = math.floor(1000 / cfg.volume_factor)  # one whole hour covered: [T0, T0 + 1 h]
    span = dt.timedelta(hours=1)
    assert outcome_of(wh, make_part(wh, "La", "ios", valid=low + 1, span=span), "volume")[0] == "passed"
    assert outcome_of(wh, make_part(wh, "Lb", "ios", valid=low - 1, span=span), "volume")[0] == "warn"
    assert outcome_of(wh, make_part(wh, "Lc", "web", valid=50, span=span), "volume")[0] == "not_evaluated"


def test_relative_normal_from_history_and_min_lines(wh: Any) -> None:
    rule = RULES_BY_NAME["unknown_feature"]
    # Seven healthy iOS batches at 4 % unknown ids (a release with a known typo): the normal is 4 %.
    for i in range(7):
        make_part(wh, f"Lh{i}", "ios", valid=N - 16, reasons={"unknown_feature": 16},
                  created_at=dt.datetime.now() - dt.timedelta(days=1))
        gate(wh)
    limit = threshold(rule, 0.04, N)
    assert limit == pytest.approx(rule.factor * 0.04 + 3 * math.sqrt(0.12 * 0.88 / N))
    k = math.floor(limit * N)
    ok = make_part(wh, "Lok", "ios", valid=N - k, reasons={"unknown_feature": k})
    out, _, thr = outcome_of(wh, ok, "unknown_feature")
    assert out == "passed" and thr == pytest.approx(limit)  # above the cold-start threshold, within iOS's normal
    tiny = make_part(wh, "Ltiny", "ios", valid=10, reasons={"unknown_feature": 10})
    assert outcome_of(wh, tiny, "unknown_feature")[0] == "not_evaluated"  # below min_lines


def test_thresholds_per_check_and_per_platform_from_config() -> None:
    cfg = MonitorConfig(checks={"duplicate_rate": CheckSettings(blocking=True, cold_start=0.5)},
                        platforms={"ios": {"duplicate_rate": CheckSettings(cold_start=0.9)}})
    assert rule_for("duplicate_rate", "web", cfg).cold_start == 0.5
    assert rule_for("duplicate_rate", "ios", cfg).cold_start == 0.9
    assert rule_for("duplicate_rate", "ios", cfg).blocking is True
    assert judge(rule_for("duplicate_rate", "web", cfg), 0.6, None, 10_000)[0] is Outcome.failed


def test_blocking_failure_holds_only_that_platform(wh: Any) -> None:
    make_part(wh, "L1", "ios", valid=N - 100, reasons={"unknown_feature": 100})
    make_part(wh, "L1", "web", valid=N)
    decided = gate(wh)
    assert decided == {"L1/ios": "held", "L1/web": "promoted"}
    stored = wh.query("SELECT DISTINCT source, batch_id FROM check_results ORDER BY 2")
    assert stored == [("gate", "L1/ios"), ("gate", "L1/web")]
    assert wh.scalar("SELECT COUNT(*) FROM metric_history WHERE metric = 'gate.unknown_feature'") == 2
    assert wh.query("SELECT decided_by, reason FROM batch_decisions") == [("gate", "unknown_feature")]


def test_defaults_block_as_the_issue_says() -> None:
    blocking = {r.name for r in RULES if r.blocking}
    assert blocking == {r.name for r in REASON_RULES}  # null keys, unknown features, contract violations
    assert {"duplicate_rate", "clock_drift", "drift_shift", "volume"}.isdisjoint(blocking)
    assert all(r.comparison in Comparison for r in RULES)


def test_every_check_is_documented() -> None:
    doc = (REPO / "docs" / "monitoring.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", doc, re.M))
    assert [r.name for r in RULES if r.name not in rows] == []
    assert [f for f in MonitorConfig.model_fields if f"`{f}`" not in doc] == []
