"""Done when: on generated traffic with injected incidents, each incident yields exactly one Slack
message in the right channel, naming the likely cause where one was injected, updated while it
lasts and resolved when it ends; a Slack outage in the middle loses and doubles nothing.

The real gate of `run_pipeline` holds the iOS batches of the bad release (blocking unknown features):
a held batch waits for a person, so the on-call runs the `nova batches release <batch_id>` commands
the message gives, and the incident resolves. A stand-in below also writes check_results rows (their
shape) of a share check and of the volume detector from the real lines of each wave."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from alerts.service import notify
from config.settings import Settings
from monitors.batches import release
from pipeline.cli import run_pipeline
from pipeline.landing import Landing
from pipeline.load import load
from tests.alerts.slack_server import TOKEN, FakeSlack, running
from traffic import GeneratorConfig, Incident, generate
from warehouse import clock

DAY2 = dt.datetime(2026, 11, 25)
# waves of landing files by hour of reception: day 1 and the morning, then 13-15, 15-17, the rest
WAVES = [DAY2 + dt.timedelta(hours=h) for h in (13, 15, 17, 48)]


def stand_in_checks(wh: Any, load_id: str, at: dt.datetime) -> None:
    """Per platform part of the load: the share of unknown feature ids against the platform's
    earlier share (the gate's check), and lines per hour against day 1's same hours (the detector)."""
    for (platform,) in wh.query("SELECT DISTINCT platform FROM raw_events WHERE load_id = ?", [load_id]):
        lines, unknown = wh.query(
            "SELECT (SELECT COUNT(*) FROM raw_events WHERE load_id = ? AND platform = ?), "
            "(SELECT COUNT(*) FROM quarantined_events WHERE load_id = ? AND platform = ? "
            "AND reason = 'unknown_feature')", [load_id, platform, load_id, platform])[0]
        before, before_unknown = wh.query(
            "SELECT (SELECT COUNT(*) FROM raw_events WHERE load_id < ? AND platform = ?), "
            "(SELECT COUNT(*) FROM quarantined_events WHERE load_id < ? AND platform = ? "
            "AND reason = 'unknown_feature')", [load_id, platform, load_id, platform])[0]
        share = unknown / max(lines, 1)
        _write(wh, "unknown_feature_share", "failed" if share > 0.05 else "passed", at,
               batch_id=f"{load_id}/{platform}", platform=platform, scope_type="batch", value=share,
               threshold=0.05, normal=before_unknown / max(before, 1), detail={"lines": unknown})
        end = DAY2 + dt.timedelta(days=1)  # day 2 against day 1, hour for hour
        lo, hi = wh.query("SELECT MIN(received_at), MAX(received_at) FROM raw_events WHERE load_id = ? "
                          "AND platform = ? AND received_at >= ? AND received_at < ?",
                          [load_id, platform, DAY2, end])[0]
        if lo is None:
            continue
        now_n = wh.scalar("SELECT COUNT(*) FROM raw_events WHERE load_id = ? AND platform = ? AND received_at >= ? "
                          "AND received_at < ?", [load_id, platform, DAY2, end])
        day1 = wh.scalar("SELECT COUNT(*) FROM raw_events WHERE platform = ? AND received_at >= ? AND received_at <= ?",
                         [platform, lo - dt.timedelta(days=1), hi - dt.timedelta(days=1)])
        outcome = "failed" if now_n < 0.5 * day1 else "passed"
        detail = {"expected": day1, "lower": 0.5 * day1, "upper": 1.5 * day1,
                  "direction": "down" if now_n < day1 else "up", "score": round((now_n - day1) / max(day1, 1) * 10, 1)}
        _write(wh, "volume_anomaly", outcome, at, source="detector", scope_type="series",
               scope=f"platform={platform}", platform=platform, value=now_n, normal=day1, detail=detail)


def _write(wh: Any, check: str, outcome: str, at: dt.datetime, **kw: Any) -> None:
    kw.setdefault("source", "gate")
    detail = json.dumps(kw.pop("detail", {}))
    cols = {"result_id": uuid.uuid4().hex, "run_id": "wave", "check_name": check, "outcome": outcome,
            "checked_at": at, "blocking": False, "detail": detail, "scope": kw.get("batch_id", ""), **kw}
    wh.execute(f"INSERT INTO check_results ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
               list(cols.values()))


def _reception_hour(p: Path) -> dt.datetime:
    day = next(x[3:] for x in p.parts if x.startswith("dt="))
    hour = next(x[5:] for x in p.parts if x.startswith("hour="))
    return dt.datetime.fromisoformat(f"{day}T{hour}:00")


def test_injected_incidents_one_message_each_updated_and_resolved_through_an_outage(
        wh: Any, registry: Any, tmp_path: Path) -> None:
    staging, landing = tmp_path / "staging", tmp_path / "landing"
    generate(GeneratorConfig(out=staging, start=dt.date(2026, 11, 24), days=2, events_per_day=12_000, seed=11,
                             incidents=[Incident.parse("bad_release-ios:2026-11-25T13:4"),
                                        Incident.parse("outage-android:2026-11-25T13:4")]))
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    fake = FakeSlack({"nova-data-oncall": "C0DEFAULT", "ios-alerts": "C0IOS", "android-alerts": "C0AND",
                      "web-alerts": "C0WEB"})
    with running(fake) as (_, url):
        settings = Settings(slack_token=TOKEN, slack_api_url=url + "api/", alerts={
            "channels": {"mobile-ios": "#ios-alerts", "mobile-android": "#android-alerts",
                         "web-platform": "#web-alerts"}, "timeout_seconds": 2})
        done: set[Path] = set()
        for i, until in enumerate(WAVES):
            for p in files:
                if p not in done and _reception_hour(p) < until:
                    target = landing / p.relative_to(staging)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(p, target)
                    done.add(p)
            at = min(until, DAY2 + dt.timedelta(hours=23)) + dt.timedelta(minutes=5)
            with clock.set_now(at):
                if i == 3:  # the on-call runs the commands the iOS message gives for its held batches
                    commands = re.findall(r"nova batches release ([\w-]+/\w+)",
                                          json.dumps(fake.posts("C0IOS")[0]["blocks"]))
                    held = [b for (b,) in wh.query("SELECT batch_id FROM batches WHERE state = 'held'")]
                    assert held and sorted(set(commands)) == sorted(held)
                    for batch_id in held:
                        release(wh, batch_id, "oncall")
                res = load(wh, Landing(str(landing)))
                run_pipeline(wh, registry)
                stand_in_checks(wh, res.load_id, at)
                if i == 1:
                    fake.fail_next("chat.postMessage", "429", 30)  # rate-limited on the first post
                if i == 2:
                    fake.down = True  # Slack is down when the updates are due
                out = notify(wh, registry, settings)
            if i == 0:
                assert out["incidents"]["opened"] == [] and fake.calls == []  # a normal morning: silence
            if i == 1:
                assert len(out["incidents"]["opened"]) == 2 and out["sent"]["retried"] == 1
                with clock.set_now(at + dt.timedelta(minutes=1)):
                    assert notify(wh, registry, settings)["sent"]["sent"] == 2
            if i == 2:
                assert len(out["incidents"]["updated"]) == 2 and out["sent"]["sent"] == 0
                fake.down = False
                with clock.set_now(at + dt.timedelta(minutes=10)):
                    assert notify(wh, registry, settings)["sent"]["sent"] == 2
            if i == 3:
                assert len(out["incidents"]["resolved"]) == 2 and out["sent"]["sent"] == 2

    ios, android = fake.posts("C0IOS"), fake.posts("C0AND")
    assert len(ios) == 1 and len(android) == 1 and len(fake.posts()) == 2  # one message per incident
    ios_blocks, android_blocks = json.dumps(ios[0]["blocks"]), json.dumps(android[0]["blocks"])
    assert "come from iOS 5.2.0" in ios_blocks and "strong evidence" in ios_blocks  # the injected cause
    assert "Volume drop on Android" in android[0]["text"]
    assert "5.2.0" not in android_blocks and "none found in the evidence" in android_blocks  # a uniform outage
    for root, cid in ((ios[0], "C0IOS"), (android[0], "C0AND")):
        assert root["text"].startswith("RESOLVED")  # the message itself now says it is over
        replies = [m["text"] for m in fake.replies(cid, root["ts"])]
        assert len(replies) == 2 and replies[0].startswith("Still failing") and "Resolved" in replies[1]
    states = wh.query("SELECT action, state, COUNT(*) FROM alert_outbox GROUP BY 1, 2 ORDER BY 1, 2")
    assert states == [("open", "sent", 2), ("resolve", "resolved", 2), ("update", "sent", 2)]
    assert wh.scalar("SELECT COUNT(*) FROM incidents WHERE state = 'open'") == 0
