"""Failing check results → incidents: open, update on a repeat, resolve when the checks pass again
or the batch is released or dropped. `plan_incidents` is pure; `load_*` read, `alerts.service`
writes the plan together with its outbox rows."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from alerts.definition import Kind, Result, Severity, new_key, related, severity_of
from warehouse.session import Warehouse

RESULT_COLUMNS = ("result_id", "check_name", "source", "scope_type", "scope", "batch_id", "platform", "feature_id",
                  "value", "threshold", "normal", "outcome", "blocking", "detail", "checked_at")
LOOKBACK = dt.timedelta(days=14)  # results older than this neither open nor resolve anything
PASSING = ("passed", "warn")
CLOSED_BATCH = ("released", "dropped")


def load_results(wh: Warehouse, since: dt.datetime, open_: list[Incident]) -> list[Result]:
    """The results that can open or close something, oldest first (a member's later result
    supersedes its earlier): every failure since `since`, and the passes of what the open
    incidents are about (the detector's passes of the thousands of healthy series are not read)."""
    e = wh.engine
    about = ["outcome = 'failed'"]
    by_check: dict[str, set[str]] = {}
    for inc in open_:
        for m in inc.members.values():
            by_check.setdefault(m.check_name, set()).add(m.scope)
            if m.batch_id and m.platform:  # a later batch of the platform passing the same check
                about.append(f"(batch_id IS NOT NULL AND platform = {e.lit(m.platform)} "
                             f"AND check_name = {e.lit(m.check_name)})")
    about += [f"(check_name = {e.lit(c)} AND scope IN {e.in_list(sorted(scopes))})" for c, scopes in by_check.items()]
    # and a pass after a failure of the same check and scope (it failed, then recovered before this pass)
    about.append("EXISTS (SELECT 1 FROM check_results f WHERE f.outcome = 'failed' AND f.checked_at >= ? "
                 "AND f.check_name = c.check_name AND f.scope = c.scope AND f.checked_at <= c.checked_at)")
    rows = wh.query_dicts(f"SELECT {', '.join(RESULT_COLUMNS)} FROM check_results c WHERE checked_at >= ? "
                          f"AND outcome IN ('failed', 'passed', 'warn') AND ({' OR '.join(sorted(set(about)))}) "
                          "ORDER BY checked_at, result_id", [since, since])
    return [Result.from_row(r) for r in rows]


def load_batch_states(wh: Warehouse) -> dict[str, str]:
    """batch_id → state. A load row without batch_id (before the per-platform gate) stands for
    every `<load_id>/<platform>` of it."""
    out: dict[str, str] = {}
    for load_id, batch_id, state in wh.query("SELECT load_id, batch_id, state FROM batches"):
        out[batch_id or load_id] = state
    return out


def batch_state(states: dict[str, str], batch_id: str | None) -> str | None:
    if not batch_id:
        return None
    return states.get(batch_id) or states.get(batch_id.split("/")[0])


def result_to_json(r: Result) -> dict[str, Any]:
    return {c: getattr(r, c) for c in RESULT_COLUMNS if c not in ("checked_at", "detail")} | {
        "detail": json.dumps(r.detail), "checked_at": r.checked_at.isoformat()}


def result_from_json(d: dict[str, Any]) -> Result:
    return Result.from_row(d | {"checked_at": dt.datetime.fromisoformat(d["checked_at"])})


class Incident:
    """An incident as stored plus what this pass changed (new / changed / resolved)."""

    def __init__(self, key: str, kind: Kind, **stored: Any):
        self.key, self.kind = key, kind
        self.state: str = stored.get("state", "open")
        self.opened_at: dt.datetime | None = stored.get("opened_at")
        self.last_seen_at: dt.datetime | None = stored.get("last_seen_at")
        self.resolved_at: dt.datetime | None = stored.get("resolved_at")
        self.snoozed_until: dt.datetime | None = stored.get("snoozed_until")
        self.revision: int = stored.get("revision") or 0
        self.batch_id: str | None = stored.get("batch_id")
        self.result_ids: list[str] = list(stored.get("result_ids") or [])
        self.members: dict[str, Result] = dict(stored.get("members") or {})
        self.cause: dict[str, Any] | None = stored.get("cause")
        self.new = False
        self.changed = False
        self.resolve_reason = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Incident:
        members = [result_from_json(m) for m in json.loads(row.get("members") or "[]")]
        return cls(row["incident_key"], Kind(row["kind"]), state=row["state"], opened_at=row["opened_at"],
                   last_seen_at=row["last_seen_at"], resolved_at=row["resolved_at"],
                   snoozed_until=row["snoozed_until"], revision=row["revision"], batch_id=row["batch_id"],
                   result_ids=json.loads(row.get("result_ids") or "[]"), members={m.member: m for m in members},
                   cause=json.loads(row["cause"]) if row.get("cause") else None)

    # --- what the incident is about -------------------------------------------------------
    @property
    def root(self) -> Result:
        """The member highest in the series tree (then the earliest): it names the incident."""
        order = {"platform": 0, "area": 1, "feature": 2}
        return min(self.members.values(), key=lambda r: (order[r.level], r.checked_at, r.member))

    @property
    def failing(self) -> list[Result]:
        order = {"platform": 0, "area": 1, "feature": 2}
        return sorted((r for r in self.members.values() if r.failing), key=lambda r: (order[r.level], r.member))

    @property
    def severity(self) -> Severity:
        pool = self.failing or list(self.members.values())
        return max((severity_of(r).severity for r in pool), key=lambda s: s.rank)

    @property
    def platform(self) -> str | None:
        plats = {r.platform for r in self.members.values()}
        return plats.pop() if len(plats) == 1 else None

    @property
    def feature_id(self) -> str | None:
        return self.root.feature_id

    @property
    def batch_ids(self) -> list[str]:
        """The batches of a batch incident, in the order they failed."""
        seen: dict[str, dt.datetime] = {}
        for r in self.members.values():
            if r.batch_id and (r.batch_id not in seen or r.checked_at < seen[r.batch_id]):
                seen[r.batch_id] = r.checked_at
        return sorted(seen, key=lambda b: (seen[b], b))

    @property
    def latest_batch(self) -> str | None:
        failing = [r for r in self.failing if r.batch_id] or [r for r in self.members.values() if r.batch_id]
        return max(failing, key=lambda r: (r.checked_at, r.batch_id or "")).batch_id if failing else None

    def add(self, result: Result) -> None:
        if result.result_id in self.result_ids:
            return
        self.result_ids.append(result.result_id)
        self.members[result.member] = result
        self.last_seen_at = max(filter(None, (self.last_seen_at, result.checked_at)))
        self.opened_at = self.opened_at or result.checked_at
        self.batch_id = self.batch_id or result.batch_id
        self.changed = True

    def resolve(self, at: dt.datetime, reason: str) -> None:
        self.state, self.resolved_at, self.resolve_reason, self.changed = "resolved", at, reason, True


def plan_incidents(results: Iterable[Result], incidents: list[Incident], batch_states: dict[str, str],
                   now: dt.datetime, window: dt.timedelta) -> list[Incident]:
    """Group failing results into incidents and decide resolutions. Returns the incidents that
    changed (new ones flagged `new`). `incidents`: the open ones and those seen within the lookback
    (their result ids are never grouped again)."""
    results = list(results)
    latest: dict[str, Result] = {}
    for r in results:
        latest[r.member] = r
    known = {rid for inc in incidents for rid in inc.result_ids}
    taken_keys = {inc.key for inc in incidents}
    open_ = [inc for inc in incidents if inc.state == "open"]
    order = {"platform": 0, "area": 1, "feature": 2}
    for r in sorted((r for r in results if r.failing and r.result_id not in known),
                    key=lambda r: (r.checked_at, order[r.level], r.member)):
        if latest[r.member].result_id != r.result_id and latest[r.member].checked_at > r.checked_at \
                and not latest[r.member].failing:
            continue  # already passed again since: nothing to tell
        if r.kind is Kind.batch and batch_state(batch_states, r.batch_id) in CLOSED_BATCH:
            continue  # released or dropped before anyone was told: the on-call already acted
        home = _find_home(r, open_, window)
        if home is None:
            key = new_key(r)
            n = 2
            while key in taken_keys:  # a resolved incident of the same batch / check came back
                key = f"{new_key(r)}#{n}"
                n += 1
            taken_keys.add(key)
            home = Incident(key, r.kind)
            home.new = True
            open_.append(home)
        home.add(r)
    for inc in open_:
        reason = _resolution(inc, latest, results, batch_states)
        if reason:
            inc.resolve(now, reason)
    return [inc for inc in open_ if inc.changed]


def _find_home(r: Result, open_: list[Incident], window: dt.timedelta) -> Incident | None:
    for inc in open_:
        if inc.state != "open" or inc.kind is not r.kind:
            continue
        if r.kind is Kind.batch and (r.batch_id in inc.batch_ids or (
                r.platform == inc.platform and r.check_name in {m.check_name for m in inc.failing}
                and inc.last_seen_at is not None and r.checked_at - inc.last_seen_at <= window)):
            return inc  # the same failure on the platform's next batch is a repeat, not a new incident
        if r.kind is Kind.check and r.member in inc.members:
            return inc
        if r.kind is Kind.anomaly and inc.last_seen_at is not None \
                and r.checked_at - inc.last_seen_at <= window \
                and any(related(r, m) for m in inc.members.values()):
            return inc
    return None


def _resolution(inc: Incident, latest: dict[str, Result], results: list[Result],
                batch_states: dict[str, str]) -> str:
    verdicts = [latest.get(m) for m in inc.members]
    if verdicts and all(v is not None and v.outcome in PASSING for v in verdicts):
        return "its checks pass again"
    if inc.kind is not Kind.batch:
        return ""
    states = {b: batch_state(batch_states, b) for b in inc.batch_ids}
    closed = {b: s for b, s in states.items() if s in CLOSED_BATCH}
    if states and len(closed) == len(states):
        return "; ".join(f"batch {b} was {s}" for b, s in closed.items())
    if any(s == "held" for s in states.values()):
        return ""  # a held batch waits for a person: `nova batches release` or `drop`
    # Batches that went on (non-blocking failures) are never re-checked: the same checks passing
    # on a later batch of the platform end it.
    names = {m.check_name for m in inc.failing}
    newest: dict[str, Result] = {}
    for r in results:  # oldest first: the last one per check wins
        if r.kind is Kind.batch and r.platform == inc.platform and r.batch_id not in states \
                and inc.last_seen_at is not None and r.checked_at > inc.last_seen_at:
            newest[r.check_name] = r
    if names and all(n in newest and newest[n].outcome in PASSING for n in names):
        return "the same checks pass on a later batch of the platform"
    return ""


def load_incidents(wh: Warehouse, since: dt.datetime) -> list[Incident]:
    rows = wh.query_dicts("SELECT * FROM incidents WHERE state = 'open' OR last_seen_at >= ? "
                          "OR resolved_at >= ?", [since, since])
    return [Incident.from_row(r) for r in rows]
