"""Entry points: `process_incidents` (check results → incidents → outbox rows), `send_due`
(outbox → Slack), and `notify` = both, what `nova run`, `nova monitor` and the daemon call."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from alerts.body import build_body
from alerts.cause import Cause, anomaly_cause, batch_cause
from alerts.definition import Action, Kind, Result
from alerts.incidents import (
    LOOKBACK,
    Incident,
    load_batch_states,
    load_incidents,
    load_results,
    plan_incidents,
    result_to_json,
)
from alerts.outbox import SendSummary, enqueue
from alerts.outbox import send_due as _send_due
from alerts.slack import Transport, transport_for
from config import Settings
from contracts.registry import Registry
from warehouse import clock
from warehouse.session import Warehouse

INCIDENT_COLUMNS = ("incident_key", "kind", "scope", "platform", "area", "feature_id", "batch_id", "severity",
                    "state", "title", "summary", "likely_cause", "owner_team", "opened_at", "last_seen_at",
                    "resolved_at", "result_ids", "snoozed_until", "revision", "body", "cause", "members",
                    "updated_at")


def anomaly_window(r: Result) -> tuple[dt.datetime, dt.datetime]:
    """The buckets the detector found anomalous (detail first_anomalous_bucket .. last_anomalous_bucket,
    hourly buckets), else the hour before the check."""
    first, last = r.detail.get("first_anomalous_bucket"), r.detail.get("last_anomalous_bucket")
    seconds = float(r.detail.get("bucket_seconds") or 3600)
    if first:
        try:
            begin = clock.parse_instant(str(first))
            end = clock.parse_instant(str(last)) if last else begin
            return begin, end + dt.timedelta(seconds=seconds)
        except ValueError:
            pass
    return r.checked_at - dt.timedelta(hours=1), r.checked_at


def likely_cause(wh: Warehouse, reg: Registry | None, inc: Incident, settings: Settings) -> Cause | None:
    if reg is None:
        return None
    cfg = settings.alerts
    if inc.kind is Kind.batch and inc.latest_batch:
        failing = inc.failing or list(inc.members.values())
        return batch_cause(wh, reg, inc.latest_batch, inc.platform, [r.check_name for r in failing],
                           [r.detail for r in failing], cfg)
    if inc.kind is Kind.anomaly and inc.opened_at:
        root = inc.root
        return anomaly_cause(wh, root.platform, root.feature_id, str(root.detail.get("direction") or ""),
                             anomaly_window(root), cfg)
    return None


def process_incidents(wh: Warehouse, reg: Registry | None, settings: Settings | None = None) -> dict[str, Any]:
    """Open, update and resolve incidents from the latest check results, and enqueue one outbox
    row per change (each incident and its message in one transaction)."""
    settings = settings or wh.settings
    now = clock.now()
    since = now - LOOKBACK
    window = dt.timedelta(minutes=settings.alerts.grouping_window_minutes)
    known = load_incidents(wh, since)
    results = load_results(wh, since, [i for i in known if i.state == "open"])
    changed = plan_incidents(results, known, load_batch_states(wh), now, window)
    summary: dict[str, Any] = {"opened": [], "updated": [], "resolved": [], "enqueued": 0}
    for inc in changed:
        if inc.new and inc.state == "resolved":
            action = None  # came and went within one pass: recorded, nobody paged
        elif inc.new:
            action = Action.open
        elif inc.state == "resolved":
            action = Action.resolve
        else:
            action = Action.update
        if not inc.new:
            inc.revision += 1
        if action is Action.resolve and inc.cause is not None:
            cause: Cause | None = Cause(inc.cause["summary"], inc.cause["strength"], [], inc.cause.get("changes", []),
                                        inc.cause.get("evidence_sql", ""))
        else:
            cause = likely_cause(wh, reg, inc, settings)
            inc.cause = cause.to_json() if cause else None
        body = build_body(inc, cause, reg, settings, action or Action.open)
        with wh.transaction():
            _save(wh, inc, body.title, body.what, body.owner_team, json.dumps(body.to_json()), now)
            if action is not None and enqueue(wh, dedup_key=f"{inc.key}#{action.value}#{inc.revision}",
                                              incident_key=inc.key, action=action.value, body=body):
                summary["enqueued"] += 1
        bucket = {Action.open: "opened", Action.update: "updated", Action.resolve: "resolved", None: "resolved"}
        summary[bucket[action]].append(inc.key)
    return summary


def _save(wh: Warehouse, inc: Incident, title: str, what: str, team: str | None, body: str, now: dt.datetime) -> None:
    root = inc.root
    values = {
        "incident_key": inc.key, "kind": inc.kind.value, "scope": root.scope, "platform": inc.platform,
        "area": (inc.feature_id or "").split(".")[0] or None, "feature_id": inc.feature_id,
        "batch_id": inc.batch_id, "severity": inc.severity.value, "state": inc.state, "title": title,
        "summary": what, "likely_cause": (inc.cause or {}).get("summary"), "owner_team": team,
        "opened_at": inc.opened_at, "last_seen_at": inc.last_seen_at, "resolved_at": inc.resolved_at,
        "result_ids": json.dumps(inc.result_ids), "snoozed_until": inc.snoozed_until, "revision": inc.revision,
        "body": body, "cause": json.dumps(inc.cause) if inc.cause else None,
        "members": json.dumps([result_to_json(r) for r in inc.members.values()]), "updated_at": now,
    }
    # kept across rewrites: set by a person (the detector learns days acknowledged as expected)
    values["acknowledged_as"] = wh.scalar("SELECT acknowledged_as FROM incidents WHERE incident_key = ?", [inc.key])
    wh.execute("DELETE FROM incidents WHERE incident_key = ?", [inc.key])
    wh.execute(f"INSERT INTO incidents ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
               list(values.values()))


def send_due(wh: Warehouse, settings: Settings | None = None, transport: Transport | None = None) -> dict[str, Any]:
    """Send what is due from the outbox (Slack with a token or webhook, else the console)."""
    settings = settings or wh.settings
    res: SendSummary = _send_due(wh, settings, transport or transport_for(settings))
    return res.as_dict()


def notify_after_checks(wh: Warehouse, reg: Registry | None, say: Callable[[str], Any]) -> None:
    """What a command calls after writing check results (`nova run`, `nova monitor`): the data work
    is committed by then, so an alerting problem is reported and never undoes it."""
    try:
        notify(wh, reg, say=say)
    except Exception as exc:  # the outbox keeps what was not sent
        say(f"alerts: {type(exc).__name__}: {exc} (run `nova alerts send` again)")


def notify(wh: Warehouse, reg: Registry | None, settings: Settings | None = None,
           say: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """After checks ran (`nova run`, `nova monitor`, the daemon): incidents, then send what is due.
    Never fails the caller's run: an alerting problem is reported, the data work stands."""
    settings = settings or wh.settings
    inc = process_incidents(wh, reg, settings)
    sent = send_due(wh, settings)
    if say is not None:
        say(f"alerts: {len(inc['opened'])} opened, {len(inc['updated'])} updated, {len(inc['resolved'])} resolved; "
            f"sent {sent['sent']}, recovered {sent['recovered']}, retry later {sent['retried']}, "
            f"failed {sent['failed']}, suppressed {sent['suppressed']}")
        for e in sent["errors"]:
            say(f"alerts: {e}")
    return {"incidents": inc, "sent": sent}
