"""`nova alerts`: the on-call's view of incidents and the outbox."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Table

from alerts.body import AlertBody, reroute
from alerts.outbox import enqueue
from alerts.render import render_text
from alerts.service import send_due
from nova.errors import Exit, NovaError
from warehouse import clock
from warehouse.session import Warehouse, open_warehouse

out = Console()
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d)\s*$")


def parse_duration(text: str) -> dt.timedelta:
    """`30m`, `2h`, `1d` → timedelta."""
    m = _DURATION.match(text)
    if not m:
        raise NovaError(f"--for {text!r}: expected a duration like 30m, 2h or 1d", code=Exit.USAGE)
    n, unit = float(m[1]), m[2]
    return dt.timedelta(minutes=n) if unit in ("m", "min") else dt.timedelta(hours=n) if unit == "h" \
        else dt.timedelta(days=n)


def _incident(wh: Warehouse, key: str) -> dict[str, Any]:
    rows = wh.query_dicts("SELECT * FROM incidents WHERE incident_key = ?", [key])
    if not rows:
        raise NovaError(f"no incident {key!r}", hint="`nova alerts list --all` shows the keys", code=Exit.USAGE)
    return rows[0]


def _outbox(wh: Warehouse, key: str) -> list[dict[str, Any]]:
    return wh.query_dicts("SELECT dedup_key, action, state, attempts, next_attempt_at, last_error, channel, transport, "
                          "slack_channel_id, slack_ts, created_at, sent_at FROM alert_outbox WHERE incident_key = ? "
                          "ORDER BY created_at, dedup_key", [key])


def _print_whole(table: Table) -> None:
    """A table as wide as the terminal, or wider when a narrow terminal would cut a key or a word the
    on-call copies (`nova alerts resend <key>`): wrapping columns wrap, nothing is cut with an ellipsis."""
    out.print(table, width=max(out.width, Measurement.get(out, out.options.update_width(10_000), table).minimum))


def register(app: typer.Typer) -> None:
    alerts = typer.Typer(help="Incidents and their Slack alerts: list, show, send what is due, resend, snooze. "
                              "See docs/alerts.md (the on-call runbook).", no_args_is_help=True)
    app.add_typer(alerts, name="alerts")

    @alerts.command("list")
    def list_cmd(
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
        show_all: Annotated[bool, typer.Option("--all", help="Resolved incidents too (last 14 days).")] = False,
    ) -> None:
        """Open incidents (newest first) with severity, since when, likely cause and message state."""
        since = clock.now() - dt.timedelta(days=14)
        with open_warehouse() as wh:
            # the latest outbox row per incident, by a window (Snowflake refuses a correlated LIMIT)
            rows = wh.query_dicts(
                "SELECT i.incident_key, i.kind, i.severity, i.state, i.title, i.platform, i.batch_id, i.owner_team, "
                "i.opened_at, i.last_seen_at, i.resolved_at, i.snoozed_until, i.likely_cause, "
                "o.state AS message_state, o.channel FROM incidents i LEFT JOIN ("
                " SELECT incident_key, state, channel, ROW_NUMBER() OVER (PARTITION BY incident_key "
                " ORDER BY created_at DESC, dedup_key DESC) AS rn FROM alert_outbox) o "
                "ON o.incident_key = i.incident_key AND o.rn = 1 "
                "WHERE i.state = 'open' OR (? AND i.last_seen_at >= ?) "
                "ORDER BY i.opened_at DESC, i.incident_key", [show_all, since])
        if as_json:
            print(json.dumps(rows, default=str, indent=2))
            return
        if not rows:
            out.print("no open incident" + ("" if show_all else " (--all shows resolved ones)"))
            return
        t = Table(Column("key", no_wrap=True), "severity", Column("state", no_wrap=True), "title", "since",
                  "last seen", "message", "channel", "likely cause")
        for r in rows:
            state = r["state"] + (" (snoozed)" if r["snoozed_until"] and r["snoozed_until"] > clock.now() else "")
            t.add_row(r["incident_key"], r["severity"], state, r["title"], str(r["opened_at"])[:16],
                      str(r["last_seen_at"])[:16], r["message_state"] or "-", r["channel"] or "-",
                      (r["likely_cause"] or "-")[:80])
        _print_whole(t)

    @alerts.command("show")
    def show_cmd(key: Annotated[str, typer.Argument(help="Incident key, from `nova alerts list`.")]) -> None:
        """One incident: its message as the on-call reads it, and every outbox row with its attempts."""
        with open_warehouse() as wh:
            inc = _incident(wh, key)
            rows = _outbox(wh, key)
        if inc.get("body"):
            out.print(render_text(AlertBody.from_json(json.loads(inc["body"]))), markup=False, highlight=False)
        if inc["snoozed_until"]:
            out.print(f"snoozed until {inc['snoozed_until']:%Y-%m-%d %H:%M} UTC")
        # the message key is what `nova alerts resend` and the Slack search take: never cut, whatever the width
        t = Table(Column("message", no_wrap=True), "action", "state", "attempts", "next attempt", "sent", "slack",
                  "last error", title="outbox")
        for r in rows:
            t.add_row(r["dedup_key"], r["action"], r["state"], str(r["attempts"]), str(r["next_attempt_at"])[:19],
                      str(r["sent_at"] or "")[:19], f"{r['slack_channel_id'] or ''} {r['slack_ts'] or ''}".strip(),
                      r["last_error"] or "")
        _print_whole(t)

    @alerts.command("send")
    def send_cmd() -> None:
        """Send what is due from the outbox (the daemon runs this every minute).

        Slack with NOVA_SLACK_TOKEN (or NOVA_SLACK_WEBHOOK_URL); without either, alerts are printed
        here and recorded in the outbox. Exit 1 if Slack refused a message for good (see `show`)."""
        with open_warehouse() as wh:
            res = send_due(wh)
        out.print(f"sent {res['sent']}, found already in Slack {res['recovered']}, retry later {res['retried']}, "
                  f"failed {res['failed']}, suppressed {res['suppressed']}, waiting {res['waiting']}")
        for e in res["errors"]:
            out.print(f"[yellow]{e}[/]", highlight=False)
        if res["failed"]:
            raise typer.Exit(int(Exit.FINDINGS))

    @alerts.command("resend")
    def resend_cmd(key: Annotated[str, typer.Argument(help="Incident key.")]) -> None:
        """Send an incident's message again: failed messages are retried; otherwise its current state
        is posted as a new message (e.g. after the first one was deleted or went to a wrong channel)."""
        now = clock.now()
        with open_warehouse() as wh:
            inc = _incident(wh, key)
            with wh.transaction():
                failed = wh.scalar("SELECT COUNT(*) FROM alert_outbox WHERE incident_key = ? AND state = 'failed'",
                                   [key])
                if failed:
                    # routed again: a failure is often a wrong channel, fixed in [alerts].channels since
                    for dedup_key, body_json in wh.query("SELECT dedup_key, body FROM alert_outbox "
                                                         "WHERE incident_key = ? AND state = 'failed'", [key]):
                        body = reroute(AlertBody.from_json(json.loads(body_json)), wh.settings)
                        wh.execute("UPDATE alert_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, "
                                   "client_token = NULL, sending_at = NULL, updated_at = ?, channel = ?, body = ? "
                                   "WHERE dedup_key = ?", [now, now, body.channel, json.dumps(body.to_json()),
                                                          dedup_key])
                    what = f"{failed} failed message(s) queued again"
                else:
                    body = reroute(AlertBody.from_json(json.loads(inc["body"])), wh.settings)
                    n = wh.scalar("SELECT COUNT(*) FROM alert_outbox WHERE incident_key = ?", [key])
                    enqueue(wh, dedup_key=f"{key}#open#resend{n}", incident_key=key, action="open", body=body)
                    what = "its current message queued as a new post"
            res = send_due(wh)
        out.print(f"{key}: {what}; sent {res['sent']}, retry later {res['retried']}, failed {res['failed']}")
        if res["failed"]:
            raise typer.Exit(int(Exit.FINDINGS))

    @alerts.command("snooze")
    def snooze_cmd(
        key: Annotated[str, typer.Argument(help="Incident key.")],
        duration: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, 1d.")] = "2h",
    ) -> None:
        """Hold an incident's update messages for a while (its resolution is still posted)."""
        until = clock.now() + parse_duration(duration)
        with open_warehouse() as wh:
            _incident(wh, key)
            wh.execute("UPDATE incidents SET snoozed_until = ? WHERE incident_key = ?", [until, key])
        out.print(f"{key} snoozed until {until:%Y-%m-%d %H:%M} UTC")
