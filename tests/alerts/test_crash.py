"""A kill between the Slack call and the outbox update (NOVA_CRASH_AT, SIGKILL, a real subprocess of
`nova alerts send`): the restart finds the post by its client token and neither loses nor doubles it."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from typing import Any

from alerts.service import process_incidents, send_due
from config.settings import Settings
from contracts.registry import load_registry
from tests.alerts.helpers import batch, result
from tests.alerts.slack_server import TOKEN, running
from tests.conftest import REPO
from warehouse import clock
from warehouse.session import open_warehouse

T0 = dt.datetime(2026, 11, 25, 14, 0)
ROUTES = Settings(alerts={"channels": {"mobile-ios": "#ios-alerts"}})


def send(url: str, at: dt.datetime, crash: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NOVA_SLACK_TOKEN": TOKEN, "NOVA_SLACK_API_URL": url + "api/", "NOVA_NOW": at.isoformat(),
           "COLUMNS": "200"}
    env.pop("NOVA_CRASH_AT", None)
    if crash:
        env["NOVA_CRASH_AT"] = crash
    return subprocess.run([sys.executable, "-m", "nova.cli", "alerts", "send"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def incident(at: dt.datetime, outcome_batch_state: str = "held") -> None:
    with open_warehouse() as wh:
        batch(wh, "L1/ios", outcome_batch_state, T0)
        if outcome_batch_state == "held":
            result(wh, "unknown_feature_share", "failed", at, batch_id="L1/ios", platform="ios", blocking=True)
        with clock.set_now(at):
            process_incidents(wh, load_registry(REPO / "contracts"), ROUTES)


def outbox() -> list[dict[str, Any]]:
    with open_warehouse() as wh:
        return wh.query_dicts("SELECT action, state, attempts, slack_ts, client_token FROM alert_outbox "
                              "ORDER BY created_at, dedup_key")


def test_killed_after_the_post_sends_exactly_once() -> None:
    incident(T0)
    with running() as (fake, url):
        killed = send(url, T0, "alerts.after_post")
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        [row] = outbox()
        assert row["state"] == "sending" and row["client_token"]  # recorded as in flight before the call
        assert len(fake.posts()) == 1  # Slack has it; the outbox does not know
        again = send(url, T0 + dt.timedelta(minutes=5))
        assert again.returncode == 0, again.stderr
        assert "found already in Slack 1" in again.stdout and "conversations.history" in [m for m, _ in fake.calls]
        [post] = fake.posts()
        [row] = outbox()
        assert (row["state"], row["slack_ts"]) == ("sent", post["ts"])


def test_killed_after_a_thread_reply_does_not_reply_twice() -> None:
    incident(T0)
    with running() as (fake, url):
        with open_warehouse() as wh, clock.set_now(T0):
            s = Settings(slack_token=TOKEN, slack_api_url=url + "api/")
            assert send_due(wh, s)["sent"] == 1
        incident(T0 + dt.timedelta(hours=1), "released")  # the batch is released: resolve
        killed = send(url, T0 + dt.timedelta(hours=1), "alerts.after_post")
        assert killed.returncode == -signal.SIGKILL
        again = send(url, T0 + dt.timedelta(hours=2))
        assert again.returncode == 0 and "found already in Slack 1" in again.stdout
        [root] = fake.posts()
        replies = fake.replies("C0IOS", root["ts"])
        assert len(replies) == 1 and "released" in replies[0]["text"], (fake.messages, outbox())
        assert root["text"].startswith("RESOLVED")
        assert [(r["action"], r["state"]) for r in outbox()] == [("open", "sent"), ("resolve", "resolved")]
