"""What an alert says, independent of how it is rendered (Slack blocks, plain text) or sent.

`build_body` turns an incident (and its likely cause) into an `AlertBody`; `route` picks the owning
team and its channel from the registry and the `[alerts]` settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from alerts.cause import PLATFORM_NAMES, Cause
from alerts.definition import Action, Kind, Result
from alerts.incidents import Incident
from config import Settings
from contracts.registry import Registry

# Runbook step per kind of check: the first keyword found in the check name wins (data, not code).
RUNBOOK: tuple[tuple[str, str], ...] = (
    ("feature", "Unknown or invalid feature ids: if the ids are real, add them to contracts/catalog/features.yaml "
                "(or as legacy_ids), then `nova quarantine replay unknown_feature` and release the batch; if the "
                "release is broken, tell its owners and drop the batch."),
    ("null", "Missing keys: compare the failing lines with the contract (`nova quarantine show missing_user_id`); "
             "release if the share is tolerable, else drop and ask the client owners for a fix."),
    ("missing", "Missing keys: compare the failing lines with the contract (`nova quarantine show REASON`); "
                "release if the share is tolerable, else drop and ask the client owners for a fix."),
    ("violation", "Contract violations: `nova quarantine list` shows the reasons; fix the contract or the client, "
                  "then replay; release the batch only once the rest of it is trustworthy."),
    ("duplicate", "Duplicate storm: a client or collector is retrying; check the landing files of the batch. "
                  "Duplicates are collapsed, so releasing is safe once the source is understood."),
    ("drift", "Clock drift: devices or a collector have a wrong clock; event times are corrected where a send "
              "time exists. Release unless the drift moves events across days you report on."),
    ("skew", "Clock skew: devices or a collector have a wrong clock; release unless events land on wrong days."),
    ("volume", "Volume off its normal: check the collector and the landing folder for the platform (missing or "
               "late files), recent releases and outages; a real drop in usage needs no action but a note."),
    ("fresh", "Data is late: check that `nova load` and `nova run` ran and that landing files arrive."),
)
RUNBOOK_DEFAULT = "Look at the failing check's evidence, fix the source, then re-run `nova run`."


@dataclass(frozen=True)
class Measure:
    """One failing check: what was measured against what is normal."""

    check: str
    scope: str
    value: float | None
    normal: float | None
    threshold: float | None
    note: str = ""


@dataclass
class AlertBody:
    incident_key: str
    action: str  # open | update | resolve
    revision: int
    severity: str
    state: str  # open | resolved
    title: str
    what: str
    where: dict[str, str]
    measures: list[Measure]
    since: dt.datetime
    last_seen: dt.datetime
    resolved_at: dt.datetime | None
    resolve_reason: str
    likely_cause: str | None
    cause_strength: str | None
    evidence_query: str
    runbook: str
    commands: list[str]
    owner_team: str | None
    channel: str
    mention: str
    snoozed_until: dt.datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("since", "last_seen", "resolved_at", "snoozed_until"):
            d[k] = d[k].isoformat() if d[k] else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AlertBody:
        d = dict(d)
        for k in ("since", "last_seen", "resolved_at", "snoozed_until"):
            d[k] = dt.datetime.fromisoformat(d[k]) if d.get(k) else None
        d["measures"] = [Measure(**m) for m in d["measures"]]
        return cls(**d)


def route(inc: Incident, reg: Registry | None, settings: Settings) -> tuple[str | None, str]:
    """(owning team, channel): the catalog owner of the feature, else the contract owner of the
    platform; the team's channel from [alerts].channels, else slack_default_channel."""
    team = None
    if reg is not None:
        feature = inc.feature_id if inc.kind is not Kind.batch else None
        by_id = reg.catalog.by_id()
        if feature and feature in by_id:
            team = by_id[feature].owner
        elif inc.platform and inc.platform in reg.contracts:
            team = reg.contracts[inc.platform].owner
    channel = settings.alerts.channels.get(team or "", "") or settings.slack_default_channel
    return team, channel


def reroute(body: AlertBody, settings: Settings) -> AlertBody:
    """The body sent to the team's channel and mention as configured now (after a routing fix)."""
    body.channel = settings.alerts.channels.get(body.owner_team or "", "") or settings.slack_default_channel
    body.mention = settings.alerts.mentions.get(body.severity, "")
    return body


def build_body(inc: Incident, cause: Cause | None, reg: Registry | None, settings: Settings,
               action: Action) -> AlertBody:
    team, channel = route(inc, reg, settings)
    failing = inc.failing or list(inc.members.values())
    plat = PLATFORM_NAMES.get(inc.platform or "", inc.platform or "all platforms")
    where = {"platform": inc.platform or "all"}
    area = (inc.feature_id or "").split(".")[0]
    if area:
        where["area"] = area
    if inc.feature_id and inc.feature_id != area:
        where["feature"] = inc.feature_id
    batches = inc.batch_ids
    if batches:
        where["batch"] = ", ".join(batches[:3]) + (f" and {len(batches) - 3} more" if len(batches) > 3 else "")
    commands: list[str] = []
    if inc.kind is Kind.batch:
        held = [b for b in batches if any(r.blocking and r.batch_id == b for r in failing)]
        names = sorted({r.check_name for r in failing})
        n = len(names)
        checks = f"{n} check{'s' * (n != 1)} failed"
        if len(batches) > 1:
            title = f"{plat}: {len(batches)} batches{' held' if held else ''}, {checks}"
            what = f"{len(batches)} consecutive {plat} batches failed {', '.join(names)}"
        else:
            title = f"{plat} batch {'held' if held else 'passed with failures'}: {checks}"
            what = f"The {plat} part of load {batches[0].split('/')[0] if batches else '?'} failed {', '.join(names)}"
        if not held:
            what += ". Promoted anyway: no blocking check failed."
        elif len(batches) == 1:
            what += ". It is held: its events are not in the curated tables until it is released or dropped."
        else:
            what += (f". {len(held)} held: their events are not in the curated tables until each is released "
                     "or dropped.")
        for b in held:
            commands += [f"nova batches release {b}", f'nova batches drop {b} --reason "..."']
    elif inc.kind is Kind.anomaly:
        root = inc.root
        direction = str(root.detail.get("direction") or ("drop" if _below(root) else "spike"))
        word = {"down": "drop", "up": "spike"}.get(direction, direction)
        title = f"Volume {word} on {_series(root)}"
        others = [r for r in failing if r.member != root.member]
        what = (f"Event volume of {_series(root)} is off its expected range"
                + (f", and {len(others)} related series with it ({', '.join(_series(r) for r in others[:4])}"
                   f"{', ...' if len(others) > 4 else ''})" if others else "") + ".")
    else:
        r0 = failing[0]
        title = f"Check {r0.check_name} failed on {r0.scope or 'its table'}"
        what = f"{r0.source or 'a'} check {r0.check_name} failed on {r0.scope or 'its table'}."
    commands.append(f"nova alerts snooze {inc.key} --for 2h")
    names = " ".join(r.check_name for r in failing)
    runbook = next((step for word, step in RUNBOOK if word in names), RUNBOOK_DEFAULT)
    ids = ", ".join(f"'{rid}'" for rid in inc.result_ids[-20:])
    evidence = (cause.evidence_sql if cause and cause.evidence_sql else
                f"SELECT check_name, scope, value, normal, threshold, outcome, detail FROM check_results "
                f"WHERE result_id IN ({ids})")
    return AlertBody(
        incident_key=inc.key, action=action.value, revision=inc.revision, severity=inc.severity.value,
        state=inc.state, title=title, what=what, where=where, measures=[_measure(r) for r in failing],
        since=inc.opened_at or inc.last_seen_at or dt.datetime.min, last_seen=inc.last_seen_at or dt.datetime.min,
        resolved_at=inc.resolved_at, resolve_reason=inc.resolve_reason,
        likely_cause=cause.summary if cause else None, cause_strength=cause.strength if cause else None,
        evidence_query=evidence, runbook=runbook, commands=commands, owner_team=team, channel=channel,
        mention=settings.alerts.mentions.get(inc.severity.value, ""), snoozed_until=inc.snoozed_until)


def _below(r: Result) -> bool:
    return r.value is not None and r.normal is not None and r.value < r.normal


def _series(r: Result) -> str:
    plat = PLATFORM_NAMES.get(r.platform or "", "")
    if r.feature_id:
        return f"{r.feature_id} ({plat})" if plat else r.feature_id
    return plat or r.scope


def _measure(r: Result) -> Measure:
    note = ""
    d = r.detail
    if "lower" in d and "upper" in d:
        note = f"expected {_num(d.get('expected'))}, range {_num(d['lower'])}–{_num(d['upper'])}"
        if d.get("score") is not None:
            note += f", score {_num(d['score'])}"
    elif d.get("lines") is not None:
        note = f"{_num(d['lines'])} lines"
    return Measure(r.check_name, r.scope, r.value, r.normal, r.threshold, note)


def _num(v: Any) -> str:
    if v is None:
        return "?"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if f.is_integer() and abs(f) < 1e15:
        return f"{int(f):,}"
    return f"{f:,.3g}" if abs(f) < 1000 else f"{f:,.0f}"
