"""The alert outbox: a message is written here before anything is sent, and sending reads it.

States: pending → sending → sent (open, update) / resolved (resolve); suppressed (snoozed, or
folded into a later update); failed (Slack refused it for good: `nova alerts resend KEY`).

Never twice: before a post the row is committed as `sending` with a client token that travels in
the Slack message metadata. A row found `sending` (killed mid-call) or retried after a timeout is
first looked up (conversations.history / .replies) by that token; only when Slack has no such
message is it posted again. Never lost: retryable failures (5xx, timeout, 429 with Retry-After,
ok:false ratelimited) keep the row pending with exponential backoff."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from alerts.body import AlertBody
from alerts.render import headline, render_blocks, render_text, render_update_text
from alerts.slack import SendError, Transport
from config import Settings
from warehouse import clock
from warehouse.crashpoint import crash_point
from warehouse.session import Warehouse

OUTBOX_COLUMNS = ("dedup_key", "incident_key", "action", "state", "attempts", "next_attempt_at", "last_error",
                  "channel", "transport", "slack_channel_id", "slack_ts", "thread_ts", "client_token", "body",
                  "created_at", "sending_at", "sent_at", "updated_at")
DONE = ("sent", "resolved")


def enqueue(wh: Warehouse, *, dedup_key: str, incident_key: str, action: str, body: AlertBody,
            state: str = "pending", note: str | None = None) -> bool:
    """Add a message once per dedup key (inside the caller's transaction); False if already there."""
    now = clock.now()
    if wh.scalar("SELECT COUNT(*) FROM alert_outbox WHERE dedup_key = ?", [dedup_key]):
        return False
    wh.execute(
        "INSERT INTO alert_outbox (dedup_key, incident_key, action, state, attempts, next_attempt_at, last_error, "
        "channel, body, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
        [dedup_key, incident_key, action, state, now, note, body.channel, json.dumps(body.to_json()), now, now])
    return True


@dataclass
class SendSummary:
    sent: int = 0
    recovered: int = 0  # found already in Slack after a restart or a timeout: not posted again
    retried: int = 0
    failed: int = 0
    suppressed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def _rows(wh: Warehouse, where: str, params: list[Any]) -> list[dict[str, Any]]:
    return wh.query_dicts(f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM alert_outbox WHERE {where} "
                          "ORDER BY created_at, dedup_key", params)


def _set(wh: Warehouse, dedup_key: str, **values: Any) -> None:
    values["updated_at"] = clock.now()
    cols = ", ".join(f"{k} = ?" for k in values)
    with wh.transaction():
        wh.execute(f"UPDATE alert_outbox SET {cols} WHERE dedup_key = ?", [*values.values(), dedup_key])


def backoff(settings: Settings, attempts: int, retry_after: float | None) -> dt.timedelta:
    cfg = settings.alerts
    delay = min(cfg.backoff_max_seconds, cfg.backoff_seconds * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=max(delay, retry_after or 0.0))


def send_due(wh: Warehouse, settings: Settings, transport: Transport) -> SendSummary:
    """Send every due row, oldest first. A retryable failure stops the pass (Slack is down or
    rate-limiting: the rest waits for the next pass, nothing is hammered)."""
    now = clock.now()
    summary = SendSummary()
    lease = dt.timedelta(seconds=3 * settings.alerts.timeout_seconds)
    due = _rows(wh, "(state = 'pending' AND next_attempt_at <= ?) OR (state = 'sending' AND sending_at <= ?)",
                [now, now - lease])
    for row in due:
        try:
            outcome = _send_one(wh, settings, transport, row, now)
        except SendError as exc:
            attempts = (row["attempts"] or 0) + 1
            if exc.retryable:
                _set(wh, row["dedup_key"], state="pending", attempts=attempts, last_error=str(exc),
                     next_attempt_at=now + backoff(settings, attempts, exc.retry_after))
                summary.retried += 1
                summary.errors.append(f"{row['incident_key']}: {exc} (retry later)")
                break
            _set(wh, row["dedup_key"], state="failed", attempts=attempts, last_error=str(exc))
            summary.failed += 1
            summary.errors.append(f"{row['incident_key']}: {exc}")
            continue
        if outcome:
            setattr(summary, outcome, getattr(summary, outcome) + 1)
    return summary


def _root(wh: Warehouse, incident_key: str) -> dict[str, Any] | None:
    """The message updates go to: the latest sent opening (or re-sent opening) of the incident."""
    rows = wh.query_dicts("SELECT slack_channel_id, slack_ts, state, transport FROM alert_outbox "
                          "WHERE incident_key = ? AND action = 'open' ORDER BY created_at DESC", [incident_key])
    for r in rows:
        if r["state"] in DONE:
            return r
    return {"state": rows[0]["state"]} if rows else None


def _send_one(wh: Warehouse, settings: Settings, transport: Transport, row: dict[str, Any],
              now: dt.datetime) -> str:
    key, action = row["dedup_key"], row["action"]
    body = AlertBody.from_json(json.loads(row["body"]))
    root = None
    if action in ("update", "resolve"):
        root = _root(wh, row["incident_key"])
        if root is not None and root["state"] not in DONE:
            return "waiting"  # the opening is not out yet: it goes first
        later = wh.scalar("SELECT COUNT(*) FROM alert_outbox WHERE incident_key = ? AND created_at >= ? "
                          "AND dedup_key <> ? AND action IN ('update', 'resolve') AND state IN ('pending', 'sending')",
                          [row["incident_key"], row["created_at"], key])
        if action == "update" and later:
            _set(wh, key, state="suppressed", last_error="folded into a later message")
            return "suppressed"
        if action == "update":
            snoozed = wh.scalar("SELECT snoozed_until FROM incidents WHERE incident_key = ?", [row["incident_key"]])
            if snoozed is not None and snoozed > now:
                _set(wh, key, state="suppressed", last_error=f"snoozed until {snoozed:%Y-%m-%d %H:%M} UTC")
                return "suppressed"
            last = wh.scalar("SELECT MAX(sent_at) FROM alert_outbox WHERE incident_key = ? AND state IN "
                             "('sent', 'resolved')", [row["incident_key"]])
            quiet = dt.timedelta(minutes=settings.alerts.quiet_minutes)
            if last is not None and now < last + quiet:
                _set(wh, key, next_attempt_at=last + quiet)
                return "waiting"
    token = row["client_token"] or uuid.uuid4().hex
    uncertain = row["state"] == "sending" or (row["attempts"] or 0) > 0  # a post may have gone through
    first_try = row["sending_at"] or now
    _set(wh, key, state="sending", client_token=token, sending_at=first_try, transport=transport.name)
    crash_point("alerts.before_post")
    done_state = "resolved" if action == "resolve" else "sent"
    text = headline(body)
    channel = body.channel
    root_ts = root.get("slack_ts") if root else None
    root_channel = root.get("slack_channel_id") if root else None
    threaded = bool(root_ts and root_channel and transport.can_update and root.get("transport") == transport.name)
    if threaded:
        # The root message always shows the current state (chat.update is idempotent), the thread says what changed.
        transport.update(root_channel, root_ts, text, render_blocks(body))
        channel = root_channel
    found = None
    if uncertain and transport.can_lookup:
        # an hour of margin: our clock and Slack's need not agree to the second
        oldest = (first_try - dt.timedelta(hours=1)).replace(tzinfo=dt.UTC).timestamp()
        found = transport.find(channel, token, oldest, thread_ts=root_ts if threaded else None)
    if found:
        channel_id, ts = found
        recovered = True
    else:
        message, blocks = _message(transport, body, action, threaded)
        channel_id, ts = transport.post(channel, message, blocks, token, thread_ts=root_ts if threaded else None)
        recovered = False
    crash_point("alerts.after_post")
    _set(wh, key, state=done_state, attempts=(row["attempts"] or 0) + (0 if recovered else 1),
         slack_channel_id=channel_id, slack_ts=ts, thread_ts=root_ts if threaded else None, sent_at=clock.now(),
         last_error=None)
    return "recovered" if recovered else "sent"


def _message(transport: Transport, body: AlertBody, action: str,
             threaded: bool) -> tuple[str, list[dict[str, Any]] | None]:
    """(text, blocks): a thread reply says what changed; a top-level post carries the whole body
    (the text is then the notification line); the console prints plain text."""
    if transport.name == "console":
        return (render_text(body) if action == "open" else f"{headline(body)}\n{render_update_text(body)}"), None
    if threaded:
        return render_update_text(body), None
    return headline(body), render_blocks(body)
