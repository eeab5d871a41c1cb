"""The message body and its two renderings, pinned by golden files (UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from alerts.body import AlertBody, build_body
from alerts.cause import Cause, Finding, describe
from alerts.definition import Action, Kind, Result
from alerts.incidents import Incident
from alerts.render import render_blocks, render_text, render_update_text
from config.settings import Settings

GOLDEN = Path(__file__).with_name("golden")
T0 = dt.datetime(2026, 11, 25, 14, 5)


def _result(rid: str, check: str, **kw: object) -> Result:
    row = {"result_id": rid, "check_name": check, "source": "gate", "scope_type": "batch", "scope": "",
           "outcome": "failed", "checked_at": T0, "detail": "{}"} | kw
    return Result.from_row(row)


def held_batch(registry: object) -> tuple[Incident, Cause]:
    bid = "L20261125T140000123-a1b2c3/ios"
    inc = Incident(f"batch:{bid}", Kind.batch)
    inc.add(_result("r1", "unknown_feature_share", batch_id=bid, scope=bid, platform="ios", value=0.139,
                    threshold=0.05, normal=0.004, blocking=True, detail=json.dumps({"lines": 71})))
    inc.add(_result("r2", "volume", batch_id=bid, scope=bid, platform="ios", value=509, threshold=300, normal=520,
                    outcome="passed"))
    f = Finding("app_version", "5.2.0", 70, 71, 0, 21_940, dt.datetime(2026, 11, 25, 13, 1))
    cause = Cause(describe(f, "ios", "unknown_feature lines"), f.strength, [f], [],
                  "SELECT q.reason, app_version, COUNT(*) FROM quarantined_events q WHERE q.load_id = '...'")
    return inc, cause


def anomaly_family() -> Incident:
    detail = json.dumps({"expected": 1200, "lower": 840, "upper": 1560, "direction": "down", "score": -9.1})
    inc = Incident("anomaly:platform=android:20261125T1405", Kind.anomaly)
    inc.add(_result("a1", "volume_anomaly", source="detector", scope_type="series", scope="platform=android",
                    platform="android", value=24, normal=1200, detail=detail))
    inc.add(_result("a2", "volume_anomaly", source="detector", scope_type="series", scope="feature=editor.comments",
                    platform="android", feature_id="editor.comments", value=2, normal=95,
                    detail=json.dumps({"expected": 95, "lower": 60, "upper": 130, "direction": "down"})))
    return inc


@pytest.fixture
def settings() -> Settings:
    return Settings(alerts={"channels": {"mobile-ios": "#ios-alerts"},
                            "mentions": {"critical": "<!here>", "high": "<!subteam^S0ONCALL>", "warning": ""}})


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; UPDATE_GOLDEN=1 rewrites it after review"


def _both(name: str, body: AlertBody) -> None:
    _check(f"{name}.txt", render_text(body) + "\n")
    _check(f"{name}.blocks.json", json.dumps(render_blocks(body), indent=2, ensure_ascii=False) + "\n")


def test_held_batch_with_a_bad_release(registry: object, settings: Settings) -> None:
    inc, cause = held_batch(registry)
    body = build_body(inc, cause, registry, settings, Action.open)
    # routed by the iOS contract owner through the channel map; critical mentions the channel
    assert (body.owner_team, body.channel, body.severity, body.mention) == ("mobile-ios", "#ios-alerts", "critical",
                                                                           "<!here>")
    assert "nova batches release L20261125T140000123-a1b2c3/ios" in body.commands
    assert any(c.startswith("nova batches drop L20261125T140000123-a1b2c3/ios --reason") for c in body.commands)
    assert "99% of the unknown_feature lines (70 of 71) come from iOS 5.2.0, first seen 13:01 UTC" in body.likely_cause
    assert "strong evidence" in body.likely_cause
    _both("batch_held_open", body)


def test_anomaly_family_is_one_message_named_by_the_platform(registry: object, settings: Settings) -> None:
    body = build_body(anomaly_family(), None, registry, settings, Action.open)
    assert body.title == "Volume drop on Android"
    assert (body.severity, body.mention, body.owner_team, body.channel) == (
        "high", "<!subteam^S0ONCALL>", "mobile-android", "#nova-data-oncall")
    assert "1 related series" in body.what and "editor.comments" in body.what
    _both("anomaly_open", body)


def test_resolved_and_update_renderings(registry: object, settings: Settings) -> None:
    inc, cause = held_batch(registry)
    inc.revision = 2
    inc.resolve(T0 + dt.timedelta(hours=1, minutes=40), "batch L20261125T140000123-a1b2c3/ios was dropped")
    body = build_body(inc, cause, registry, settings, Action.resolve)
    _both("batch_resolved", body)
    _check("batch_resolved.reply.txt", render_update_text(body) + "\n")
    assert AlertBody.from_json(json.loads(json.dumps(body.to_json()))) == body  # the outbox round trip


def test_no_evidence_says_so(registry: object, settings: Settings) -> None:
    body = build_body(anomaly_family(), None, registry, settings, Action.open)
    assert "Likely cause: none found in the evidence" in render_text(body)
