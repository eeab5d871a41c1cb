"""Failing results → incidents: grouping, repeats, resolution, severity (through the warehouse)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from alerts.definition import SEVERITY_RULES
from alerts.service import process_incidents
from tests.alerts.helpers import anomaly, batch, result
from warehouse import clock

T0 = dt.datetime(2026, 11, 25, 14, 0)
H = dt.timedelta(hours=1)


def incidents(wh: Any) -> dict[str, dict[str, Any]]:
    return {r["incident_key"]: r for r in wh.query_dicts("SELECT * FROM incidents")}


def outbox(wh: Any) -> list[tuple[str, str, str]]:
    return wh.query("SELECT incident_key, action, state FROM alert_outbox ORDER BY created_at, dedup_key")


def step(wh: Any, registry: Any, at: dt.datetime) -> dict[str, Any]:
    with clock.set_now(at):
        return process_incidents(wh, registry)


def test_checks_of_one_platform_batch_are_one_incident(wh: Any, registry: Any) -> None:
    batch(wh, "L1/ios", "held", T0)
    batch(wh, "L1/web", "promoted", T0)
    for check in ("unknown_feature_share", "null_user_id", "volume"):
        result(wh, check, "failed", T0, batch_id="L1/ios", platform="ios", blocking=True, value=0.2, threshold=0.05)
    result(wh, "unknown_feature_share", "passed", T0, batch_id="L1/web", platform="web")
    res = step(wh, registry, T0)
    assert res["opened"] == ["batch:L1/ios"] and res["enqueued"] == 1
    inc = incidents(wh)["batch:L1/ios"]
    assert (inc["severity"], inc["state"], inc["platform"], inc["owner_team"]) == ("critical", "open", "ios",
                                                                                  "mobile-ios")
    assert "3 checks failed" in inc["title"]
    # nothing new: nothing changes, nothing is queued twice
    assert step(wh, registry, T0 + H) == {"opened": [], "updated": [], "resolved": [], "enqueued": 0}
    assert outbox(wh) == [("batch:L1/ios", "open", "pending")]


def test_release_or_drop_resolves_the_batch_incident(wh: Any, registry: Any) -> None:
    batch(wh, "L1/ios", "held", T0)
    batch(wh, "L2/android", "held", T0)
    result(wh, "unknown_feature_share", "failed", T0, batch_id="L1/ios", platform="ios", blocking=True)
    result(wh, "unknown_feature_share", "failed", T0, batch_id="L2/android", platform="android", blocking=True)
    step(wh, registry, T0)
    batch(wh, "L1/ios", "released", T0 + H)
    batch(wh, "L2/android", "dropped", T0 + H)
    res = step(wh, registry, T0 + H)
    assert sorted(res["resolved"]) == ["batch:L1/ios", "batch:L2/android"]
    inc = incidents(wh)
    assert inc["batch:L1/ios"]["resolved_at"] == T0 + H and inc["batch:L2/android"]["state"] == "resolved"
    assert [a for _, a, _ in outbox(wh)] == ["open", "open", "resolve", "resolve"]


def test_a_batch_released_before_anyone_was_told_opens_nothing(wh: Any, registry: Any) -> None:
    batch(wh, "L1/ios", "released", T0)
    result(wh, "unknown_feature_share", "failed", T0, batch_id="L1/ios", platform="ios", blocking=True)
    assert step(wh, registry, T0)["opened"] == []


def test_non_blocking_batch_failure_resolves_when_the_next_batch_passes(wh: Any, registry: Any) -> None:
    batch(wh, "L1/ios", "promoted", T0)
    result(wh, "drift", "failed", T0, batch_id="L1/ios", platform="ios", blocking=False)
    assert incidents(wh) == {} and step(wh, registry, T0)["opened"] == ["batch:L1/ios"]
    assert incidents(wh)["batch:L1/ios"]["severity"] == "warning"
    batch(wh, "L2/ios", "promoted", T0 + H)
    result(wh, "drift", "failed", T0 + H, batch_id="L2/ios", platform="ios")
    result(wh, "drift", "failed", T0 + H, batch_id="L2/web", platform="web")  # another platform: its own
    res = step(wh, registry, T0 + H)
    assert res["updated"] == ["batch:L1/ios"] and res["opened"] == ["batch:L2/web"]  # the next batch repeats it
    assert incidents(wh)["batch:L1/ios"]["title"] == "iOS: 2 batches, 1 check failed"
    batch(wh, "L3/ios", "promoted", T0 + 2 * H)
    result(wh, "drift", "passed", T0 + 2 * H, batch_id="L3/ios", platform="ios")
    assert step(wh, registry, T0 + 2 * H)["resolved"] == ["batch:L1/ios"]


def test_held_batches_of_one_release_are_one_incident_resolved_when_all_are_decided(wh: Any, registry: Any) -> None:
    for b in ("L1/ios", "L2/ios"):
        batch(wh, b, "held", T0)
        result(wh, "unknown_feature_share", "failed", T0, batch_id=b, platform="ios", blocking=True)
    assert step(wh, registry, T0)["opened"] == ["batch:L1/ios"]
    body = incidents(wh)["batch:L1/ios"]["body"]
    assert "nova batches release L1/ios" in body and "nova batches drop L2/ios" in body
    batch(wh, "L3/ios", "promoted", T0 + H)
    result(wh, "unknown_feature_share", "passed", T0 + H, batch_id="L3/ios", platform="ios")
    batch(wh, "L1/ios", "released", T0 + H)
    assert step(wh, registry, T0 + H)["resolved"] == []  # L2 still waits for a decision
    batch(wh, "L2/ios", "dropped", T0 + H)
    assert step(wh, registry, T0 + 2 * H)["resolved"] == ["batch:L1/ios"]


def test_a_platform_outage_is_one_incident_not_one_per_feature(wh: Any, registry: Any) -> None:
    anomaly(wh, "platform=ios", "failed", T0, platform="ios")
    anomaly(wh, "area=editor", "failed", T0, platform="ios", feature_id="editor")
    anomaly(wh, "feature=editor.comments", "failed", T0, platform="ios", feature_id="editor.comments")
    anomaly(wh, "feature=editor.comments.mention", "failed", T0 + 10 * dt.timedelta(minutes=1), platform="ios",
            feature_id="editor.comments.mention")
    anomaly(wh, "platform=web", "failed", T0, platform="web")  # another platform: its own incident
    res = step(wh, registry, T0 + H)
    assert sorted(res["opened"]) == ["anomaly:platform=ios:20261125T1400", "anomaly:platform=web:20261125T1400"]
    inc = incidents(wh)["anomaly:platform=ios:20261125T1400"]
    assert (inc["severity"], inc["platform"], inc["scope"]) == ("high", "ios", "platform=ios")
    assert inc["title"] == "Volume drop on iOS"


def test_children_first_then_parent_join_one_incident_and_a_repeat_updates_it(wh: Any, registry: Any) -> None:
    anomaly(wh, "feature=editor.comments", "failed", T0, platform="ios", feature_id="editor.comments")
    assert step(wh, registry, T0)["opened"] == ["anomaly:feature=editor.comments:20261125T1400"]
    key = "anomaly:feature=editor.comments:20261125T1400"
    anomaly(wh, "platform=ios", "failed", T0 + H, platform="ios")
    res = step(wh, registry, T0 + H)
    assert res["opened"] == [] and res["updated"] == [key]
    inc = incidents(wh)[key]
    assert inc["title"] == "Volume drop on iOS" and inc["revision"] == 1 and inc["severity"] == "high"
    # an unrelated area of the same platform is another incident... only if not within the family
    anomaly(wh, "area=calendar", "failed", T0 + H, platform="android", feature_id="calendar")
    assert step(wh, registry, T0 + H)["opened"] == ["anomaly:area=calendar:20261125T1500"]


def test_anomalies_further_apart_than_the_window_are_separate(wh: Any, registry: Any) -> None:
    anomaly(wh, "platform=ios", "failed", T0, platform="ios")
    step(wh, registry, T0)
    anomaly(wh, "feature=editor.comments", "failed", T0 + 7 * H, platform="ios", feature_id="editor.comments")
    assert step(wh, registry, T0 + 7 * H)["opened"] == ["anomaly:feature=editor.comments:20261125T2100"]


def test_anomaly_resolves_when_every_series_passes_again(wh: Any, registry: Any) -> None:
    anomaly(wh, "platform=ios", "failed", T0, platform="ios")
    anomaly(wh, "feature=editor.comments", "failed", T0, platform="ios", feature_id="editor.comments")
    step(wh, registry, T0)
    anomaly(wh, "platform=ios", "passed", T0 + H, platform="ios", value=1000)
    assert step(wh, registry, T0 + H)["resolved"] == []  # the feature still fails
    anomaly(wh, "feature=editor.comments", "passed", T0 + 2 * H, platform="ios", feature_id="editor.comments")
    assert step(wh, registry, T0 + 2 * H)["resolved"] == ["anomaly:platform=ios:20261125T1400"]
    # it comes back later: a new incident, the old one stays resolved
    anomaly(wh, "platform=ios", "failed", T0 + 3 * H, platform="ios")
    assert step(wh, registry, T0 + 3 * H)["opened"] == ["anomaly:platform=ios:20261125T1700"]


def test_table_check_repeat_then_pass(wh: Any, registry: Any) -> None:
    result(wh, "freshness", "failed", T0, source="soda", scope_type="table", scope="feature_usage_daily",
           blocking=True)
    assert step(wh, registry, T0)["opened"] == ["check:freshness:feature_usage_daily"]
    assert incidents(wh)["check:freshness:feature_usage_daily"]["severity"] == "high"
    result(wh, "freshness", "failed", T0 + H, source="soda", scope_type="table", scope="feature_usage_daily",
           blocking=True)
    assert step(wh, registry, T0 + H)["updated"] == ["check:freshness:feature_usage_daily"]
    result(wh, "freshness", "passed", T0 + 2 * H, source="soda", scope_type="table", scope="feature_usage_daily")
    assert step(wh, registry, T0 + 2 * H)["resolved"] == ["check:freshness:feature_usage_daily"]
    assert [a for _, a, _ in outbox(wh)] == ["open", "update", "resolve"]


def test_warn_outcomes_page_nobody(wh: Any, registry: Any) -> None:
    result(wh, "volume", "warn", T0, batch_id="L1/ios", platform="ios")
    assert step(wh, registry, T0)["opened"] == []


def test_every_severity_rule_is_in_the_runbook() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "alerts.md").read_text()
    for rule in SEVERITY_RULES:
        assert rule.why in doc, f"severity rule not documented: {rule.why}"


def test_a_failure_that_recovered_before_anyone_looked_opens_nothing(wh: Any, registry: Any) -> None:
    anomaly(wh, "feature=editor.comments", "failed", T0, platform="ios", feature_id="editor.comments")
    anomaly(wh, "feature=editor.comments", "passed", T0 + H, platform="ios", feature_id="editor.comments")
    anomaly(wh, "feature=editor.text", "passed", T0 + H, platform="ios", feature_id="editor.text")
    assert step(wh, registry, T0 + H) == {"opened": [], "updated": [], "resolved": [], "enqueued": 0}


def test_detector_rows_as_written_by_nova_monitor(wh: Any, registry: Any) -> None:
    detail = {"direction": "drop", "severity": "critical", "expected": 900.0, "lower": 600.0, "upper": 1200.0,
              "score": -12.0, "first_anomalous_bucket": "2026-11-25T12:00:00",
              "last_anomalous_bucket": "2026-11-25T13:00:00", "anomalous_buckets": 2}
    result(wh, "volume_anomaly", "failed", T0, source="detector", scope_type="series", scope="platform=ios",
           platform="ios", value=3, normal=900, detail=detail)
    result(wh, "volume_anomaly", "failed", T0, source="detector", scope_type="series", scope="area=editor",
           feature_id="editor", value=400, normal=700, detail=detail | {"severity": "high"})
    assert step(wh, registry, T0)["opened"] == ["anomaly:platform=ios:20261125T1400"]
    inc = incidents(wh)["anomaly:platform=ios:20261125T1400"]
    assert (inc["severity"], inc["title"]) == ("critical", "Volume drop on iOS")  # the detector's rating


def test_an_acknowledgement_survives_updates(wh: Any, registry: Any) -> None:
    anomaly(wh, "platform=ios", "failed", T0, platform="ios")
    step(wh, registry, T0)
    wh.execute("UPDATE incidents SET acknowledged_as = 'expected'")
    anomaly(wh, "platform=ios", "failed", T0 + H, platform="ios")
    assert step(wh, registry, T0 + H)["updated"] == ["anomaly:platform=ios:20261125T1400"]
    assert incidents(wh)["anomaly:platform=ios:20261125T1400"]["acknowledged_as"] == "expected"
