"""The evaluator on small warehouses built from wire-format lines: each component finds its problem,
says it in a PM's words, and leaves clean scopes alone."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from monitors.trust import compute_trust
from monitors.trust.compute import LATEST_VIEW
from pipeline.landing import Landing
from pipeline.load import load
from pipeline.stage import stage
from tests.conftest import write_landing
from tests.pipeline.helpers import android, backend, ios, load_and_run, web
from warehouse import clock

DAY = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 23, 30)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _ms(t: dt.datetime) -> int:
    return int(t.replace(tzinfo=dt.UTC).timestamp() * 1000)


def at(i: int, hour: int | None = None) -> dt.datetime:
    """Event i of the day, spread over the whole day until 23:00 (or within one hour)."""
    if hour is not None:
        return dt.datetime.combine(DAY, dt.time(hour)) + dt.timedelta(seconds=7 * i % 3500)
    return dt.datetime.combine(DAY, dt.time()) + dt.timedelta(minutes=(i * 37) % 1380)


def ios_line(i: int, t: dt.datetime, feature: str = "editor.comments.mention", version: str = "5.1.2",
             prefix: str = "I") -> dict[str, Any]:
    return ios(f"{prefix}{i}", feature_key=feature, ts=_ms(t), sent_ts=_ms(t) + 1000, received_at=_iso(t + dt.timedelta(
        seconds=2)), app={"version": version, "build": "1"}, user={"id": f"u_{i % 7}", "workspace_id": "ws_1"})


def web_line(i: int, t: dt.datetime, feature: str = "editor.text.bold", prefix: str = "W") -> dict[str, Any]:
    return web(f"{prefix}{i}", properties={"feature": feature, "action": "used", "workspaceId": "ws_1"},
               originalTimestamp=_iso(t), sentAt=_iso(t + dt.timedelta(seconds=1)),
               received_at=_iso(t + dt.timedelta(seconds=2)))


def android_line(i: int, t: dt.datetime, workspace: str | None = "ws_3", prefix: str = "A") -> dict[str, Any]:
    return android(f"{prefix}{i}", timestamp=_iso(t), sentAt=_iso(t + dt.timedelta(seconds=1)),
                   received_at=_iso(t + dt.timedelta(seconds=2)), workspaceId=workspace,
                   featureId="chat.threads.reply_in_thread")


def backend_line(i: int, t: dt.datetime, prefix: str = "evt_") -> dict[str, Any]:
    return backend(f"{prefix}{i}", occurred_at=_iso(t), received_at=_iso(t + dt.timedelta(seconds=1)))


def by_scope(scores: list[Any]) -> dict[tuple[str, str], Any]:
    return {(s.scope_type, s.scope): s for s in scores}


def base_day(landing: Path, n: int = 200) -> None:
    """A clean day: web on Editor, iOS on Editor > Comments, Android on Chat."""
    write_landing(landing, "web", "w.jsonl", [web_line(i, at(i)) for i in range(n)], day=str(DAY))
    write_landing(landing, "ios", "i.jsonl", [ios_line(i, at(i)) for i in range(n)], day=str(DAY))
    write_landing(landing, "android", "a.jsonl", [android_line(i, at(i)) for i in range(n)], day=str(DAY))


@pytest.fixture
def pinned() -> Any:
    with clock.set_now(NOW):
        yield


def test_clean_day_scores_100_without_reasons(wh: Any, registry: Any, landing: Path, pinned: Any) -> None:
    base_day(landing)
    load_and_run(wh, registry, landing)
    scores = by_scope(compute_trust(wh, registry, DAY))
    for key in [("platform", "web"), ("platform", "ios"), ("platform", "android"), ("area", "editor"),
                ("area", "chat"), ("table", "feature_usage_daily"), ("feature", "editor.comments")]:
        assert scores[key].score >= 99 and scores[key].grade == "A", (key, scores[key].reasons)
        assert scores[key].reasons == [], key
    # Stored with history, and the latest view shows the day.
    assert wh.scalar("SELECT COUNT(*) FROM trust_scores WHERE day = ?", [DAY]) == len(scores)
    assert wh.scalar(f"SELECT COUNT(*) FROM {LATEST_VIEW} WHERE scope_type = 'platform'") == 4
    # Scoring the day again replaces it (no duplicate rows).
    compute_trust(wh, registry, DAY)
    assert wh.scalar("SELECT COUNT(*) FROM trust_scores WHERE day = ?", [DAY]) == len(scores)


def test_unknown_feature_ids_from_one_release(wh: Any, registry: Any, landing: Path, pinned: Any) -> None:
    base_day(landing)
    bad = [ios_line(i, at(i, hour=14) + dt.timedelta(minutes=-5), feature="editor.comments.mentionz",
                    version="5.2.0", prefix="X") for i in range(40)]
    write_landing(landing, "ios", "bad.jsonl", bad, day=str(DAY), hour="14")
    load_and_run(wh, registry, landing)
    scores = by_scope(compute_trust(wh, registry, DAY))
    ios_score = scores[("platform", "ios")]
    assert ios_score.score < 90
    reason = ios_score.reasons[0]
    # "−N: iOS 5.2.0 sends unknown feature ids since 13:55 (17 % of iOS events today; ...)"
    assert reason.startswith("\u2212") and "iOS 5.2.0 sends unknown feature ids since 13:55" in reason, reason
    assert "17 % of iOS events today" in reason and "editor.comments.mentionz" in reason
    assert ios_score.components["validity"]["events"] == 40
    # The lines name Editor > Comments (known prefix): the area and the feature are lowered too...
    assert scores[("area", "editor")].score < 100 and "unknown feature ids" in scores[("area", "editor")].reasons[0]
    assert scores[("feature", "editor.comments")].score < scores[("area", "editor")].score
    # ...other platforms and areas are not.
    assert scores[("platform", "web")].reasons == [] and scores[("platform", "android")].reasons == []
    assert scores[("area", "chat")].reasons == []


def test_missing_workspace_is_completeness(wh: Any, registry: Any, landing: Path, pinned: Any) -> None:
    base_day(landing)
    write_landing(landing, "android", "nows.jsonl", [android_line(i, at(i), workspace=None, prefix="N")
                                                      for i in range(30)], day=str(DAY))
    load_and_run(wh, registry, landing)
    scores = by_scope(compute_trust(wh, registry, DAY))
    android_score = scores[("platform", "android")]
    assert android_score.components["completeness"]["points"] > 0
    assert any("Android 5.1.2 sends events that arrive without a workspace id" in r and "missing_workspace_id" in r
               for r in android_score.reasons), android_score.reasons
    assert scores[("platform", "web")].components["completeness"]["points"] == 0


def test_duplicates_are_uniqueness(wh: Any, registry: Any, landing: Path, pinned: Any) -> None:
    base_day(landing)
    lines = [web_line(i, at(i)) for i in range(200)]
    for copy in range(2):  # every web event retried twice more, a few seconds later
        write_landing(landing, "web", f"retry{copy}.jsonl", [
            {**line, "received_at": _iso(at(i) + dt.timedelta(seconds=10 + copy))} for i, line in enumerate(lines)],
            day=str(DAY))
    load_and_run(wh, registry, landing)
    web_score = by_scope(compute_trust(wh, registry, DAY))[("platform", "web")]
    assert web_score.components["uniqueness"]["value"] == pytest.approx(400 / 600, abs=0.01)
    assert web_score.components["uniqueness"]["points"] == 5  # the full weight
    assert "arrived two or more times" in web_score.reasons[0]


def test_held_batch_and_waiting_data(wh: Any, registry: Any, landing: Path, pinned: Any) -> None:
    base_day(landing, n=180)
    load_and_run(wh, registry, landing)
    # A second load of iOS events: staged, then held by the gate (as a failing blocking check does).
    write_landing(landing, "ios", "late.jsonl", [ios_line(i, at(i, hour=15), prefix="H") for i in range(20)],
                  day=str(DAY), hour="15")
    load(wh, Landing(str(landing)))
    stage(wh, registry)
    wh.execute("UPDATE batches SET state = 'held', checks = ? WHERE state = 'pending'",
               ['[{"check": "unknown_feature_rate", "outcome": "failed"}, {"check": "volume", "outcome": "warn"}]'])
    scores = by_scope(compute_trust(wh, registry, DAY))
    ios_score = scores[("platform", "ios")]
    assert ios_score.components["incidents"]["held_events"] == 20
    reason = next(r for r in ios_score.reasons if "held back" in r)
    assert "10 % of iOS events today are held back by the quality gate since 15:00" in reason
    assert "unknown_feature_rate failed" in reason
    assert scores[("platform", "web")].components["incidents"]["points"] == 0
    # The Editor area holds the iOS events and half of its volume is iOS: a smaller share is held.
    editor = scores[("area", "editor")].components["incidents"]
    assert 0 < editor["value"] < ios_score.components["incidents"]["value"]


def test_data_waiting_for_the_pipeline_is_stale(wh: Any, registry: Any, landing: Path) -> None:
    base_day(landing)
    with clock.set_now(NOW):
        load_and_run(wh, registry, landing)
    write_landing(landing, "web", "new.jsonl", [web_line(i, at(i, hour=22), prefix="L") for i in range(30)],
                  day=str(DAY), hour="22")
    with clock.set_now(dt.datetime(2026, 11, 25, 23, 59)):
        load(wh, Landing(str(landing)))  # loaded, but `nova run` has not run since
        web_score = by_scope(compute_trust(wh, registry, DAY))[("table", "feature_usage_daily")]
    fresh = web_score.components["freshness"]
    assert fresh["points"] == 15 and fresh["value"] > 60
    assert any("feature_usage_daily are 1 h" in r and "not in them yet" in r for r in web_score.reasons)


def test_open_incident_rolls_up_by_volume_share(wh: Any, registry: Any, landing: Path, pinned: Any) -> None:
    # Web: 150 events on editor.comments.mention, 450 on editor.text.bold: mention is 1/4 of Editor
    # on web, and iOS adds 200 mentions (Editor = 800, Editor > Comments = 350).
    write_landing(landing, "web", "m.jsonl", [web_line(i, at(i), feature="editor.comments.mention", prefix="M")
                                              for i in range(150)], day=str(DAY))
    write_landing(landing, "web", "b.jsonl", [web_line(i, at(i)) for i in range(450)], day=str(DAY))
    write_landing(landing, "ios", "i.jsonl", [ios_line(i, at(i)) for i in range(200)], day=str(DAY))
    load_and_run(wh, registry, landing)
    wh.execute("INSERT INTO incidents (incident_key, kind, scope, platform, area, feature_id, severity, state, title, "
               "opened_at) VALUES ('k1', 'volume_anomaly', 'feature=editor.comments.mention', 'web', 'editor', "
               "'editor.comments.mention', 'critical', 'open', 'Mentions on web dropped to zero', ?)",
               [dt.datetime(2026, 11, 25, 16, 5)])
    scores = by_scope(compute_trust(wh, registry, DAY))
    full = 20.0  # incidents weight x critical (1.0)
    points = {k: scores[k].components["incidents"]["points"] for k in
              [("feature", "editor.comments"), ("area", "editor"), ("platform", "web"), ("platform", "ios")]}
    assert points[("feature", "editor.comments")] == pytest.approx(full * 150 / 350, abs=0.01)
    assert points[("area", "editor")] == pytest.approx(full * 150 / 800, abs=0.01)
    assert points[("platform", "web")] == pytest.approx(full * 150 / 600, abs=0.01)
    assert points[("platform", "ios")] == 0
    reason = scores[("area", "editor")].reasons[0]
    assert "open incident: Mentions on web dropped to zero (since 16:05, severity critical" in reason
    assert "editor.comments.mention is 19 % of Editor events" in reason


def test_late_data_still_to_come(wh: Any, registry: Any, landing: Path) -> None:
    # The day before: a quarter of iOS events arrived the next morning (phones offline).
    before = DAY - dt.timedelta(days=1)
    lines = []
    for i in range(400):
        t = dt.datetime.combine(before, dt.time(9)) + dt.timedelta(minutes=i)
        arrive = t + (dt.timedelta(hours=20) if i % 4 == 0 else dt.timedelta(seconds=2))
        # An offline phone sends its queue when back online: the send time is the flush time.
        lines.append({**ios_line(i, t, prefix="P"), "sent_ts": _ms(arrive) - 1000, "received_at": _iso(arrive)})
    write_landing(landing, "ios", "prev.jsonl", lines, day=str(before))
    base_day(landing)
    with clock.set_now(dt.datetime(2026, 11, 25, 23, 0)):
        load_and_run(wh, registry, landing)
        scores = by_scope(compute_trust(wh, registry, DAY))
    late = scores[("platform", "ios")].components["late"]
    assert late["value"] == pytest.approx(0.25, abs=0.02)
    assert any("about 25 % of iOS events of this day have not arrived yet" in r
               for r in scores[("platform", "ios")].reasons)
    assert scores[("platform", "web")].components["late"]["points"] == 0


def test_the_detectors_band_when_it_stored_one(wh: Any, registry: Any, landing: Path, pinned: Any) -> None:
    base_day(landing)
    load_and_run(wh, registry, landing)
    # The detector expected ~9 web events an hour, but 40 between 10:00 and 14:00.
    start = dt.datetime.combine(DAY, dt.time())
    for h in range(24):
        e = 40.0 if 10 <= h < 14 else 8.7
        for half in (0, 1800):  # half-hour buckets, a judged one and an older forecast of it
            t = start + dt.timedelta(hours=h, seconds=half)
            wh.execute("INSERT INTO volume_expectations (scope, bucket_start, bucket_seconds, expected, lower, upper, "
                       "judged, computed_at) VALUES ('platform=web', ?, 1800, ?, ?, ?, true, ?), "
                       "('platform=web', ?, 1800, 999, 900, 1100, false, ?)",
                       [t, e / 2, e / 2 * 0.6, e / 2 * 1.4, NOW, t, start])
    scores = by_scope(compute_trust(wh, registry, DAY))
    web_score = scores[("platform", "web")]
    volume = web_score.components["volume"]
    assert volume["source"] == "detector's expected band" and volume["expected"][10] == pytest.approx(40)
    assert web_score.reasons and re.match(r"^\u2212\d+: Web sent \d+ % fewer events than expected between 10:00 and "
                                          r"14:00 \(\d+ events missing; volume check against the detector's",
                                          web_score.reasons[0]), web_score.reasons
    assert scores[("platform", "ios")].components["volume"]["source"] == "other platforms' traffic"


def test_a_platform_silent_all_day_is_not_clean(wh: Any, registry: Any, landing: Path, pinned: Any) -> None:
    before = DAY - dt.timedelta(days=1)
    shift = dt.timedelta(days=-1)
    write_landing(landing, "web", "w0.jsonl", [web_line(i, at(i) + shift, prefix="V") for i in range(200)],
                  day=str(before))
    write_landing(landing, "ios", "i0.jsonl", [ios_line(i, at(i) + shift, prefix="J") for i in range(200)],
                  day=str(before))
    write_landing(landing, "android", "a0.jsonl", [android_line(i, at(i) + shift, prefix="B") for i in range(200)],
                  day=str(before))
    write_landing(landing, "web", "w.jsonl", [web_line(i, at(i)) for i in range(200)], day=str(DAY))
    write_landing(landing, "ios", "i.jsonl", [ios_line(i, at(i)) for i in range(200)], day=str(DAY))
    for d, prefix in ((before, "evt_p"), (DAY, "evt_")):  # backend, the fourth platform, both days
        write_landing(landing, "backend", f"b{prefix}.jsonl", [backend_line(i, at(i) + (shift if d == before else
                      dt.timedelta()), prefix=prefix) for i in range(200)], day=str(d))
    load_and_run(wh, registry, landing)
    scores = by_scope(compute_trust(wh, registry, DAY))
    android_score = scores[("platform", "android")]
    assert android_score.score <= 80 and android_score.components["volume"]["points"] == 20
    assert "Android sent 100 % fewer events than expected between 00:00 and 23:00" in android_score.reasons[0]
    assert scores[("area", "chat")].score <= 80  # Chat is Android-only here
    assert scores[("platform", "web")].score >= 95 and scores[("platform", "backend")].score >= 95
