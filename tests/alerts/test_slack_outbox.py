"""The outbox and the real slack-sdk clients against a Slack stand-in on 127.0.0.1: threading,
429 with Retry-After, 5xx, timeouts that delivered, ok:false, an outage, the webhook and the console."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from alerts.service import process_incidents, send_due
from alerts.slack import ConsoleTransport, transport_for
from config.settings import Settings
from tests.alerts.helpers import batch, result
from tests.alerts.slack_server import TOKEN, WEBHOOK_PATH, FakeSlack, running
from warehouse import clock

T0 = dt.datetime(2026, 11, 25, 14, 0)
MIN = dt.timedelta(minutes=1)


@pytest.fixture
def slack() -> Iterator[tuple[FakeSlack, str]]:
    with running() as s:
        yield s


def web_settings(url: str, **alerts: Any) -> Settings:
    return Settings(slack_token=TOKEN, slack_api_url=url + "api",
                    alerts={"channels": {"mobile-ios": "#ios-alerts"}, "timeout_seconds": 1} | alerts)


ROUTES = Settings(alerts={"channels": {"mobile-ios": "#ios-alerts"}})


def fail(wh: Any, registry: Any, at: dt.datetime, batch_id: str = "L1/ios", outcome: str = "failed",
         routes: Settings = ROUTES) -> None:
    batch(wh, batch_id, "held", T0)
    result(wh, "unknown_feature_share", outcome, at, batch_id=batch_id, platform=batch_id.split("/")[1],
           blocking=True, value=0.2, threshold=0.05, normal=0.004)
    with clock.set_now(at):
        process_incidents(wh, registry, routes)


def send(wh: Any, settings: Settings, at: dt.datetime) -> dict[str, Any]:
    with clock.set_now(at):
        return send_due(wh, settings, transport_for(settings))


def rows(wh: Any) -> list[dict[str, Any]]:
    return wh.query_dicts("SELECT * FROM alert_outbox ORDER BY created_at, dedup_key")


def test_open_update_resolve_is_one_message_updated_in_place_with_a_thread(wh: Any, registry: Any,
                                                                          slack: tuple[FakeSlack, str]) -> None:
    fake, url = slack
    s = web_settings(url, quiet_minutes=30)
    fail(wh, registry, T0)
    assert send(wh, s, T0)["sent"] == 1
    [root] = fake.posts()
    assert root["ts"] and fake.posts("C0IOS") == [root]  # routed: mobile-ios → #ios-alerts
    assert root["text"] == "[CRITICAL] iOS batch held: 1 check failed"
    blocks = json.dumps(root["blocks"])
    assert "nova batches release L1/ios" in blocks and "<!here>" in blocks
    assert root["metadata"]["event_type"] == "nova_alert"
    fail(wh, registry, T0 + 10 * MIN)  # a repeat: an update, held by the quiet interval
    assert send(wh, s, T0 + 10 * MIN)["waiting"] == 1 and len(fake.messages["C0IOS"]) == 1
    assert send(wh, s, T0 + 31 * MIN)["sent"] == 1
    [reply] = fake.replies("C0IOS", root["ts"])
    assert reply["text"].startswith("Still failing") and root["updates"] == 1
    batch(wh, "L1/ios", "dropped", T0)
    with clock.set_now(T0 + 40 * MIN):
        assert process_incidents(wh, registry, ROUTES)["resolved"] == ["batch:L1/ios"]
    assert send(wh, s, T0 + 40 * MIN)["sent"] == 1  # a resolution is never held by the quiet interval
    assert fake.posts() == [root] and root["text"].startswith("RESOLVED") and root["updates"] == 2
    assert "was dropped" in fake.replies("C0IOS", root["ts"])[-1]["text"]
    assert [(r["action"], r["state"], r["slack_channel_id"]) for r in rows(wh)] == [
        ("open", "sent", "C0IOS"), ("update", "sent", "C0IOS"), ("resolve", "resolved", "C0IOS")]


def test_429_retry_after_is_honoured(wh: Any, registry: Any, slack: tuple[FakeSlack, str]) -> None:
    fake, url = slack
    s = web_settings(url)
    fail(wh, registry, T0)
    fake.fail_next("chat.postMessage", "429", 120)
    res = send(wh, s, T0)
    assert res["retried"] == 1 and "HTTP 429" in res["errors"][0]
    [row] = rows(wh)
    assert row["state"] == "pending" and row["next_attempt_at"] == T0 + dt.timedelta(seconds=120)
    calls = len(fake.calls)
    assert send(wh, s, T0 + MIN)["sent"] == 0 and len(fake.calls) == calls  # not before Retry-After
    assert send(wh, s, T0 + 2 * MIN + dt.timedelta(seconds=1))["sent"] == 1
    assert len(fake.posts()) == 1


def test_an_outage_delays_everything_and_loses_or_doubles_nothing(wh: Any, registry: Any,
                                                                 slack: tuple[FakeSlack, str]) -> None:
    fake, url = slack
    s = web_settings(url, backoff_seconds=30)
    fail(wh, registry, T0, "L1/ios")
    fail(wh, registry, T0, "L1/android")
    fake.down = True
    assert send(wh, s, T0)["retried"] == 1  # the first failure stops the pass: Slack is not hammered
    assert send(wh, s, T0 + MIN)["retried"] == 1
    by_state = {r["incident_key"]: (r["state"], r["attempts"]) for r in rows(wh)}
    assert by_state == {"batch:L1/android": ("pending", 2), "batch:L1/ios": ("pending", 0)}
    assert rows(wh)[0]["next_attempt_at"] == T0 + MIN + dt.timedelta(seconds=60)  # doubled
    assert "HTTP 503" in rows(wh)[0]["last_error"]
    fake.down = False
    fake.fail_next("chat.postMessage", "500")
    assert send(wh, s, T0 + 3 * MIN)["retried"] == 1
    assert send(wh, s, T0 + 10 * MIN)["sent"] == 2
    assert sorted(m["text"] for m in fake.posts()) == ["[CRITICAL] Android batch held: 1 check failed",
                                                       "[CRITICAL] iOS batch held: 1 check failed"]
    assert send(wh, s, T0 + 20 * MIN)["sent"] == 0 and len(fake.posts()) == 2


def test_a_timeout_after_slack_posted_is_found_not_posted_again(wh: Any, registry: Any,
                                                                slack: tuple[FakeSlack, str]) -> None:
    fake, url = slack
    s = web_settings(url)
    fail(wh, registry, T0)
    fake.fail_next("chat.postMessage", "timeout", 2.5)  # Slack posts it, the answer comes too late
    res = send(wh, s, T0)
    assert res["retried"] == 1 and "timed out" in res["errors"][0].lower()
    assert len(fake.posts()) == 1
    res = send(wh, s, T0 + 5 * MIN)
    assert res["recovered"] == 1 and res["sent"] == 0
    assert len(fake.posts()) == 1 and any(m == "conversations.history" for m, _ in fake.calls)
    [row] = rows(wh)
    assert (row["state"], row["slack_ts"]) == ("sent", fake.posts()[0]["ts"])


def test_ok_false_errors(wh: Any, registry: Any, slack: tuple[FakeSlack, str]) -> None:
    fake, url = slack
    fail(wh, registry, T0)
    fake.fail_next("chat.postMessage", "error", "ratelimited")  # ok:false but temporary
    assert send(wh, web_settings(url), T0)["retried"] == 1
    wrong = web_settings(url, channels={"mobile-android": "#no-such-channel"})
    fail(wh, registry, T0, "L2/android", routes=wrong)
    res = send(wh, wrong, T0 + 5 * MIN)
    assert res["failed"] == 1 and res["sent"] == 1 and "channel_not_found" in res["errors"][0]
    states = {r["incident_key"]: r["state"] for r in rows(wh)}
    assert states == {"batch:L1/ios": "sent", "batch:L2/android": "failed"}
    assert send(wh, wrong, T0 + 60 * MIN) == send(wh, wrong, T0 + 61 * MIN)  # failed stays failed until resend


def test_secrets_never_reach_the_outbox_or_errors(wh: Any, registry: Any, slack: tuple[FakeSlack, str]) -> None:
    fake, url = slack
    fail(wh, registry, T0)
    bad = Settings(slack_token="xoxb-wrong-" + TOKEN, slack_api_url=url + "api")
    res = send(wh, bad, T0)
    assert res["failed"] == 1 and "invalid_auth" in res["errors"][0] and fake.auth_failures == 1
    hook = Settings(slack_webhook_url=url + WEBHOOK_PATH.lstrip("/"))
    fail(wh, registry, T0, "L2/android")
    fake.fail_next("webhook", "500")
    res2 = send(wh, hook, T0)
    assert res2["retried"] == 1
    dump = json.dumps(rows(wh), default=str) + json.dumps([res, res2])
    assert TOKEN not in dump and "hooksecret" not in dump
    assert "hooksecret" not in repr(hook) and TOKEN not in repr(bad.public())


def test_webhook_posts_open_update_and_resolve(wh: Any, registry: Any, slack: tuple[FakeSlack, str]) -> None:
    fake, url = slack
    s = Settings(slack_webhook_url=url + WEBHOOK_PATH.lstrip("/"), alerts={"quiet_minutes": 0})
    fail(wh, registry, T0)
    fail(wh, registry, T0 + MIN)
    assert send(wh, s, T0 + MIN)["sent"] == 2
    batch(wh, "L1/ios", "released", T0)
    with clock.set_now(T0 + 2 * MIN):
        process_incidents(wh, registry, ROUTES)
    assert send(wh, s, T0 + 2 * MIN)["sent"] == 1
    assert [m["text"] for m in fake.webhook] == ["[CRITICAL] iOS batch held: 1 check failed"] * 2 + [
        "RESOLVED iOS batch held: 1 check failed"]
    assert all(m["blocks"] for m in fake.webhook)


def test_without_slack_alerts_go_to_the_console_and_the_outbox(wh: Any, registry: Any,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    s = Settings()
    assert isinstance(transport_for(s), ConsoleTransport)
    fail(wh, registry, T0)
    assert send(wh, s, T0)["sent"] == 1
    printed = capsys.readouterr().err
    assert "[CRITICAL] iOS batch held" in printed and "Run: nova batches release L1/ios" in printed
    assert [(r["state"], r["transport"]) for r in rows(wh)] == [("sent", "console")]


def test_updates_within_the_quiet_interval_fold_and_snooze_holds_them(wh: Any, registry: Any,
                                                                      slack: tuple[FakeSlack, str]) -> None:
    fake, url = slack
    s = web_settings(url, quiet_minutes=30)
    fail(wh, registry, T0)
    send(wh, s, T0)
    for m in (5, 10, 15):
        fail(wh, registry, T0 + m * MIN)
        send(wh, s, T0 + m * MIN)
    assert send(wh, s, T0 + 30 * MIN)["sent"] == 1
    assert [r["state"] for r in rows(wh)] == ["sent", "suppressed", "suppressed", "sent"]
    assert len(fake.replies("C0IOS", fake.posts()[0]["ts"])) == 1
    wh.execute("UPDATE incidents SET snoozed_until = ?", [T0 + 3 * 60 * MIN])
    fail(wh, registry, T0 + 70 * MIN)
    assert send(wh, s, T0 + 70 * MIN)["suppressed"] == 1
    batch(wh, "L1/ios", "released", T0)
    with clock.set_now(T0 + 80 * MIN):
        process_incidents(wh, registry, ROUTES)
    assert send(wh, s, T0 + 80 * MIN)["sent"] == 1  # the resolution is posted even when snoozed
    assert len(fake.posts()) == 1


def test_a_message_in_flight_is_left_alone_until_its_lease_ends(wh: Any, registry: Any,
                                                                slack: tuple[FakeSlack, str]) -> None:
    fake, url = slack
    s = web_settings(url)  # timeout 1 s → lease 3 s
    fail(wh, registry, T0)
    wh.execute("UPDATE alert_outbox SET state = 'sending', client_token = 'tok', sending_at = ?", [T0])
    assert send(wh, s, T0 + dt.timedelta(seconds=2))["sent"] == 0
    assert fake.calls == []  # another sender may be mid-call: not touched
    res = send(wh, s, T0 + dt.timedelta(seconds=4))
    assert res["sent"] == 1 and [m for m, _ in fake.calls][:2] == ["conversations.list", "conversations.history"]
    assert fake.posts()[0]["metadata"]["event_payload"]["token"] == "tok"  # the token of the first attempt
