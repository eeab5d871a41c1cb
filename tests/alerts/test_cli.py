"""`nova alerts ...` and the end of `nova run`, as the on-call types them (subprocess of the CLI)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.alerts.helpers import batch, result
from tests.alerts.slack_server import TOKEN, running
from tests.conftest import REPO, write_landing
from tests.pipeline.helpers import ios
from warehouse.session import open_warehouse

T0 = dt.datetime(2026, 11, 25, 18, 0)


def nova(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The installed CLI in a subprocess (what the on-call runs)."""
    return subprocess.run([sys.executable, "-m", "nova.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "250", "NOVA_NOW": T0.isoformat(), **(env or {})},
                          timeout=300)


def nova_here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The same entry point (`nova.cli.main`: friendly errors, exit codes) in this process: a
    subprocess costs ~3 s of imports, too much for every command of the tests."""
    from config.settings import get_settings
    from nova.cli import main

    for k, v in {"COLUMNS": "250", "NOVA_NOW": T0.isoformat(), **(env or {})}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(sys, "argv", ["nova", *args])
    get_settings.cache_clear()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main()
    got = capsys.readouterr()
    return subprocess.CompletedProcess(args, int(exit_.value.code or 0), got.out, got.err)


def test_nova_run_opens_the_incident_and_posts_it(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Check results written by the gate of this run (stood in by a result row of the batch) → one
    Slack message from `nova run`; list, show, snooze, resend as the on-call uses them."""
    landing = Path(os.environ["NOVA_LANDING_PATH"])
    write_landing(landing, "ios", "a.jsonl", [ios("A1"), ios("A2", feature_key="editor.nope")])
    with open_warehouse() as wh:
        batch(wh, "Lprev/ios", "held", T0)
        result(wh, "unknown_feature_share", "failed", T0, batch_id="Lprev/ios", platform="ios", blocking=True,
               value=0.5, threshold=0.05, normal=0.004)
    with running() as (fake, url):
        env = {"NOVA_SLACK_TOKEN": TOKEN, "NOVA_SLACK_API_URL": url + "api/",
               "NOVA_ALERTS": json.dumps({"channels": {"mobile-ios": "#ios-alerts"}})}
        assert nova("load", env=env).returncode == 0
        run = nova("run", env=env)
        assert run.returncode == 0, run.stderr
        assert "alerts: 1 opened, 0 updated, 0 resolved; sent 1" in run.stdout
        [post] = fake.posts("C0IOS")
        assert post["text"] == "[CRITICAL] iOS batch held: 1 check failed"
        assert TOKEN not in run.stdout + run.stderr

        listed = nova_here(monkeypatch, capsys, "alerts", "list", "--json", env=env)
        [row] = json.loads(listed.stdout)
        assert (row["incident_key"], row["severity"], row["message_state"], row["channel"]) == (
            "batch:Lprev/ios", "critical", "sent", "#ios-alerts")
        shown = nova_here(monkeypatch, capsys, "alerts", "show", "batch:Lprev/ios", env=env)
        assert "Run: nova batches release Lprev/ios" in shown.stdout and "batch:Lprev/ios#open#0" in shown.stdout

        snoozed = nova_here(monkeypatch, capsys, "alerts", "snooze", "batch:Lprev/ios", "--for", "90m", env=env)
        assert snoozed.returncode == 0 and "snoozed until 2026-11-25 19:30 UTC" in snoozed.stdout
        assert "(snoozed)" in nova_here(monkeypatch, capsys, "alerts", "list", env=env).stdout

        again = nova_here(monkeypatch, capsys, "alerts", "resend", "batch:Lprev/ios", env=env)
        assert again.returncode == 0 and "posted" not in again.stderr
        assert len(fake.posts("C0IOS")) == 2  # asked for: its current message as a new post


def test_a_refused_message_fails_the_send_and_resend_routes_it_again(monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with open_warehouse() as wh:
        batch(wh, "L1/ios", "held", T0)
        result(wh, "unknown_feature_share", "failed", T0, batch_id="L1/ios", platform="ios", blocking=True)
        from alerts.service import process_incidents
        from config.settings import Settings
        from warehouse import clock
        with clock.set_now(T0):
            process_incidents(wh, None, Settings(slack_default_channel="#gone"))
    with running() as (fake, url):
        env = {"NOVA_SLACK_TOKEN": TOKEN, "NOVA_SLACK_API_URL": url + "api/"}
        sent = nova("alerts", "send", env=env)
        assert sent.returncode == 1 and "channel_not_found" in sent.stdout
        assert fake.posts() == []
        # the default channel is right in the settings again: resend routes the failed message anew
        fixed = nova_here(monkeypatch, capsys, "alerts", "resend", "batch:L1/ios", env=env)
        assert fixed.returncode == 0 and "1 failed message(s) queued again; sent 1" in fixed.stdout
        assert len(fake.posts("C0DEFAULT")) == 1


def test_usage_errors_are_friendly(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    missing = nova_here(monkeypatch, capsys, "alerts", "show", "nope")
    assert missing.returncode == 2 and "no incident 'nope'" in missing.stderr and "Traceback" not in missing.stderr
    bad = nova_here(monkeypatch, capsys, "alerts", "snooze", "nope", "--for", "soon")
    assert bad.returncode == 2 and "expected a duration" in bad.stderr
