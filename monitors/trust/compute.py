"""The one evaluator: read the facts of a day, score every scope, store the scores with history."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from config import Settings, get_settings
from config.trust import TrustConfig
from contracts.registry import Registry
from monitors.trust.definition import (
    MIN_LINES,
    MIN_PROFILE_EVENTS,
    PLATFORM_LABELS,
    REASON_WORDS,
    Deduction,
    Scope,
    TrustScore,
    band,
    duration,
    pct,
    points,
    roll_up,
    score_scope,
    volume_runs,
)
from monitors.trust.facts import Facts, Key, QuarantineGroup, group_by, read_facts
from pipeline.curate.definition import MODELS
from warehouse import clock
from warehouse.session import Warehouse

# Curated tables a PM reads, and the model whose last run refreshes each.
CURATED_TABLES = {
    "fct_feature_events": "fct_feature_events",
    "feature_usage_daily": "feature_usage_daily",
    "feature_usage_weekly": "feature_usage_weekly",
    "feature_adoption_by_workspace": "int_adoption_feature",
    "user_feature_last_seen": "user_feature_last_seen",
}
assert all(m in {x.name for x in MODELS} for m in CURATED_TABLES.values())
LATEST_VIEW = "trust_scores_latest"


# --- scopes --------------------------------------------------------------------------------------
class Hierarchy:
    def __init__(self, reg: Registry):
        self.reg = reg
        index = reg.catalog.by_id()
        self.name = {f.id: f.name for f in reg.catalog.features}
        self.chain = {fid: reg.catalog.ancestors(fid) for fid in index}
        self.areas = [f.id for f in reg.catalog.features if f.parent is None]

    def covers(self, scope_feature: str | None, feature: str | None) -> bool:
        if scope_feature is None:
            return True
        return feature is not None and scope_feature in self.chain.get(feature, ())

    def label(self, fid: str) -> str:
        return " > ".join(self.name[a] for a in reversed(self.chain[fid]))


def choose_scopes(reg: Registry, h: Hierarchy, cfg: TrustConfig, volumes: dict[str, float]) -> list[Scope]:
    """Tables, platforms, areas, then the followed features and the busiest ones of the day."""
    scopes = [Scope("table", t, t) for t in CURATED_TABLES]
    scopes += [Scope("platform", p, PLATFORM_LABELS.get(p, p), platform=p) for p in reg.contracts]
    scopes += [Scope("area", a, h.name[a], feature=a) for a in h.areas]
    busiest = sorted((f for f in volumes if f in h.chain and len(h.chain[f]) > 1), key=lambda f: (-volumes[f], f))
    features = [f for f in cfg.followed_features if f in h.chain]
    features += [f for f in busiest if f not in features][: cfg.top_features]
    scopes += [Scope("feature", f, h.label(f), feature=f) for f in features]
    return scopes


@dataclass
class Cell:
    """A scope's share of the day's facts, summed over its (platform, feature) keys."""

    per_platform: dict[str, dict[str, np.ndarray]]
    quarantine: list[QuarantineGroup]

    def total(self, measure: str) -> float:
        return float(sum(a[measure].sum() for a in self.per_platform.values()))

    def received(self) -> float:
        return self.total("valid") + self.total("qc") + self.total("qv")

    def platform_received(self, platform: str) -> float:
        a = self.per_platform.get(platform)
        return 0.0 if a is None else float(a["valid"].sum() + a["qc"].sum() + a["qv"].sum())


class Evaluator:
    def __init__(self, wh: Warehouse, reg: Registry, cfg: TrustConfig, settings: Settings):
        self.wh, self.reg, self.cfg, self.settings = wh, reg, cfg, settings
        self.h = Hierarchy(reg)

    def cell(self, facts: Facts, scope: Scope) -> Cell:
        per: dict[str, dict[str, np.ndarray]] = {}
        for (platform, feature), arrays in facts.hourly.items():
            if scope.platform not in (None, platform) or not self.h.covers(scope.feature, feature):
                continue
            acc = per.setdefault(platform, {m: np.zeros(24) for m in arrays})
            for m, arr in arrays.items():
                acc[m] += arr
        quarantine = [q for q in facts.quarantine if scope.platform in (None, q.platform)
                      and self.h.covers(scope.feature, q.feature)]
        return Cell(per, quarantine)

    def expected_volume(self, facts: Facts, scope: Scope, platform: str, observed: np.ndarray,
                        platform_totals: dict[str, np.ndarray]) -> np.ndarray:
        """Events per hour expected from the part of a scope on one platform: each platform's traffic
        of the hour times the part's usual ratio to that platform (over the past days, else this day),
        and the median of these estimates, so that one platform going silent (or bursting) moves
        neither the others' expectations nor its own. A platform is not its own reference."""
        history = sum(facts.prior.values()) >= 24 * 10
        if history:
            part = sum(n for (p, f), n in facts.prior.items() if p == platform and self.h.covers(scope.feature, f))
            base = {q: sum(n for (p, _), n in facts.prior.items() if p == q) for q in platform_totals}
        else:  # too little history: the day's own ratios over its complete hours
            part = float(observed[:facts.hours].sum())
            base = {q: float(t[:facts.hours].sum()) for q, t in platform_totals.items()}
        refs = [q for q, n in base.items() if n > 0 and (q != platform or scope.feature is not None)]
        if not refs or part <= 0:
            return np.zeros(24)
        return np.median(np.stack([platform_totals[q] * (part / base[q]) for q in refs]), axis=0)

    # --- one scope -------------------------------------------------------------------------------
    def score(self, facts: Facts, scope: Scope, everything: Cell) -> TrustScore:
        cell = self.cell(facts, scope)
        received = cell.received()
        who = scope.label if scope.scope_type != "table" else "all"
        deductions: list[Deduction] = []
        measured: dict[str, dict] = {}
        for comp, measure in (("completeness", "qc"), ("validity", "qv"), ("uniqueness", "dup")):
            n = cell.total(measure)
            judged = received >= self.cfg.min_events and n >= MIN_LINES
            rate = n / (received + (n if measure == "dup" else 0)) if received else 0.0
            measured[comp] = {"value": round(rate, 5), "events": int(n), "of": int(received), "judged": judged}
            pts = points(self.cfg, comp, rate) if judged else 0.0
            if pts > 0:
                deductions.append(self._rate_reason(comp, pts, rate, n, cell, scope, who, facts))
        deductions += self._volume(facts, scope, cell, everything, measured)
        deductions += self._held_and_incidents(facts, scope, cell, who, measured)
        deductions += self._late(facts, scope, cell, who, measured)
        deductions += self._freshness(facts, scope, measured)
        score, band, components, reasons = score_scope(self.cfg, deductions, measured)
        on = scope.platform if scope.scope_type in ("area", "feature") else None
        return TrustScore(facts.day, scope.scope_type, scope.scope, scope.label, score, band.grade, components,
                          reasons, on)

    def _rate_reason(self, comp: str, pts: float, rate: float, n: float, cell: Cell, scope: Scope, who: str,
                     facts: Facts) -> Deduction:
        if comp == "uniqueness":
            return Deduction(comp, pts, f"{pct(rate)} of {who} events today arrived two or more times "
                                        f"({int(n)} extra copies from client retries; removed, the counts are not "
                                        "inflated, but a client is misbehaving)", "duplicates")
        codes = [q for q in cell.quarantine if (q.reason in REASON_WORDS)
                 and ((comp == "completeness") == q.reason.startswith("missing_"))]
        by_reason = group_by(codes, "reason")
        reason = max(by_reason, key=by_reason.get) if by_reason else "unknown_feature"
        rows = [q for q in codes if q.reason == reason]
        by_platform = group_by(rows, "platform")
        top_platform = max(by_platform, key=by_platform.get) if by_platform else None
        actor = ""
        if top_platform and by_platform[top_platform] >= 0.8 * sum(by_platform.values()):
            actor = PLATFORM_LABELS.get(top_platform, top_platform)
            versions = group_by([q for q in rows if q.platform == top_platform and q.version], "version")
            if versions:
                v = max(versions, key=versions.get)
                if versions[v] >= 0.6 * by_platform[top_platform]:
                    actor += f" {v}"
        since, first = self._since(rows, facts, cell)
        verb = REASON_WORDS[reason]
        if not actor:  # no single platform: say so, in the plural
            actor = "Several platforms" if verb.startswith("send ") else "Events from several platforms"
        elif verb.startswith("send "):
            verb = "sends " + verb[5:]
        else:
            verb = "sends events that " + verb
        example = ""
        if reason == "unknown_feature":
            sent = group_by([q for q in rows if q.sent], "sent")
            if sent:
                example = f", e.g. {max(sent, key=sent.get)}"
        others = sorted(set(by_reason) - {reason})
        more = f"; also {', '.join(others)}" if others else ""
        return Deduction(comp, pts, f"{actor} {verb}{since} ({pct(rate)} of {who} events today; {int(n)} lines "
                                    f"quarantined as {reason}{example}{more})", "quarantine",
                         {"code": reason, "platform": top_platform,
                          "since": first.isoformat() if first else None})

    def _since(self, rows: list[QuarantineGroup], facts: Facts, cell: Cell) -> tuple[str, dt.datetime | None]:
        """The first hour where the problem stands out from its usual low level."""
        hourly = np.zeros(24)
        for q in rows:
            hourly[q.hour] += q.n
        total = np.zeros(24)
        for a in cell.per_platform.values():
            total += a["valid"] + a["qc"] + a["qv"]
        ok = self.cfg.threshold("validity")[1]
        bad_hours = [h for h in range(24) if hourly[h] >= 3 and total[h] > 0 and hourly[h] / total[h] >= ok]
        if not bad_hours or bad_hours[0] == 0:
            return (" all day" if len(bad_hours) >= 20 else ""), None
        first = min(q.first_at for q in rows if q.hour == bad_hours[0])
        return f" since {first:%H:%M}", first

    def _volume(self, facts: Facts, scope: Scope, cell: Cell, everything: Cell,
                measured: dict[str, dict]) -> list[Deduction]:
        hours = facts.hours
        totals = {p: a["valid"] + a["qc"] + a["qv"] for p, a in everything.per_platform.items()}
        totals.update({p: np.zeros(24) for p in self.reg.contracts if p not in totals})
        series_key = {"platform": f"platform={scope.scope}", "area": f"area={scope.scope}",
                      "feature": f"feature={scope.scope}"}.get(scope.scope_type)
        detector = facts.expectations.get(series_key or "")
        platforms = [scope.platform] if scope.platform else list(self.reg.contracts)
        obs_all, exp_all, low_all, up_all = np.zeros(24), np.zeros(24), np.zeros(24), np.zeros(24)
        runs: list[tuple[str, object]] = []
        # A line with an unknown feature id belongs to no feature's usage: below the platform level the
        # volume counts lines that name a known feature (validity judges the others).
        known_only = scope.feature is not None
        for p in platforms:
            a = cell.per_platform.get(p)
            observed = np.zeros(24) if a is None else (a["valid"] + a["qc"] + (0 if known_only else a["qv"]))
            expected = self.expected_volume(facts, scope, p, observed, totals)
            obs_all += observed
            exp_all += expected
            if detector is None:
                for run in volume_runs(observed[:hours], expected[:hours], self.cfg.volume_sigmas,
                                       self.cfg.volume_min_relative):
                    runs.append((p, run))
        source = "other platforms' traffic"
        if detector is not None:
            source = "detector's expected band"
            exp_all = np.array([detector.get(h, (0, 0, 0))[0] for h in range(24)])
            low_all = np.array([detector.get(h, (0, 0, 0))[1] for h in range(24)])
            up_all = np.array([detector.get(h, (0, 0, 0))[2] for h in range(24)])
            for run in volume_runs(obs_all[:hours], exp_all[:hours], self.cfg.volume_sigmas,
                                   self.cfg.volume_min_relative, low_all[:hours], up_all[:hours]):
                runs.append((scope.platform or "all", run))
        else:
            half = np.array([band(e, self.cfg.volume_sigmas, self.cfg.volume_min_relative) for e in exp_all])
            low_all, up_all = np.maximum(exp_all - half, 0), exp_all + half
        expected_day = float(exp_all[:hours].sum())
        off = sum(abs(r.gap) for _, r in runs)  # type: ignore[attr-defined]
        deviation = off / expected_day if expected_day else 0.0
        measured["volume"] = {
            "value": round(deviation, 4), "source": source, "hours": hours,
            "observed": [int(x) for x in obs_all], "expected": [round(float(x), 1) for x in exp_all],
            "lower": [round(float(x), 1) for x in low_all], "upper": [round(float(x), 1) for x in up_all],
            "windows": [{"platform": p, "start_hour": r.start_hour, "end_hour": r.end_hour,  # type: ignore
                         "observed": round(r.observed), "expected": round(r.expected)} for p, r in runs],
        }
        pts = points(self.cfg, "volume", deviation)
        if pts <= 0 or not runs:
            return []
        p, big = max(runs, key=lambda x: abs(x[1].gap))  # type: ignore[attr-defined]
        gap = big.gap  # type: ignore[attr-defined]
        who = PLATFORM_LABELS.get(p, p) if p != "all" else scope.label
        where = f" for {scope.label}" if scope.scope_type in ("area", "feature") and p != "all" else ""
        direction = "fewer" if gap < 0 else "more"
        rel = abs(gap) / big.expected if big.expected else 1.0  # type: ignore[attr-defined]
        more = f"; and {len(runs) - 1} more unusual period{'s' if len(runs) > 2 else ''}" if len(runs) > 1 else ""
        windows = [{"start_hour": r.start_hour, "end_hour": r.end_hour} for _, r in runs]  # type: ignore
        return [Deduction("volume", pts, f"{who} sent {pct(rel)} {direction} events than expected{where} between "
                                         f"{big.start_hour:02d}:00 and {big.end_hour % 24:02d}:00 "  # type: ignore
                                         f"({abs(round(gap))} events {'missing' if gap < 0 else 'extra'}; "
                                         f"volume check against the {source}{more})", "volume",
                          {"windows": windows})]

    def _held_and_incidents(self, facts: Facts, scope: Scope, cell: Cell, who: str,
                            measured: dict[str, dict]) -> list[Deduction]:
        out: list[Deduction] = []
        received = cell.received()
        held = cell.total("held")
        share = held / received if received else 0.0
        measured["incidents"] = {"value": round(share, 5), "held_events": int(held), "open_incidents": []}
        if held > 0:
            pts = points(self.cfg, "incidents", share)
            platforms = [p for p, a in cell.per_platform.items() if a["held"].sum() > 0]
            since = min(facts.held_since[p] for p in platforms if p in facts.held_since)
            checks = sorted({c for b in facts.held_batches for c in b.get("failed_checks", [])
                             if b.get("platform") in (None, *platforms)})
            why = f", {', '.join(checks[:3])} failed" if checks else ""
            names = ", ".join(PLATFORM_LABELS.get(p, p) for p in platforms)
            out.append(Deduction("incidents", max(pts, 0.5), f"{pct(share)} of {who} events today are held back by "
                                 f"the quality gate since {since:%H:%M} ({names} batch held{why}); they are not in "
                                 "the numbers until on-call releases them", "held batch",
                                 {"since": since.isoformat()}))
        held_batches = {b.get("batch_id") or b["load_id"] for b in facts.held_batches}
        for inc in facts.incidents:
            if inc.get("batch_id") and (inc["batch_id"] in held_batches or
                                        any(inc["batch_id"].startswith(f"{b}/") for b in held_batches)):
                continue  # already counted as held data
            platform = inc.get("platform") or None
            feature = inc.get("feature_id") or inc.get("area") or None
            if scope.platform and platform and platform != scope.platform:
                continue
            if feature and scope.feature and not (self.h.covers(scope.feature, feature)
                                                  or self.h.covers(feature, scope.feature)):
                continue
            # The incident's part of this scope: its (platform, feature) volume against the scope's.
            narrower_feature = feature if feature and self.h.covers(scope.feature, feature) else None
            narrower_platform = platform if platform and not scope.platform else None
            part = received
            if narrower_feature or narrower_platform:
                part = sum(self._key_volume(facts, k) for k in facts.hourly
                           if (narrower_platform in (None, k[0]) and (scope.platform in (None, k[0]))
                               and self.h.covers(narrower_feature or scope.feature, k[1])))
            severity = self.cfg.incident_severity.get(str(inc.get("severity") or "").lower(), 0.5)
            full = self.cfg.weight("incidents") * severity
            pts = roll_up(full, part, received) if received else full
            state = "open incident" if inc.get("state") == "open" else "incident (since resolved)"
            where = ""
            if part < received and received:
                where = f"; {feature or PLATFORM_LABELS.get(platform or '', platform)} is {pct(part / received)} " \
                        f"of {who} events"
            measured["incidents"]["open_incidents"].append(inc["incident_key"])
            opened = inc["opened_at"]
            out.append(Deduction("incidents", pts, f"{state}: {inc.get('title') or inc.get('kind')} (since "
                                 f"{opened:%H:%M}, severity {inc.get('severity') or 'unknown'}{where})", "incident",
                                 {"incident_key": inc["incident_key"], "since": opened.isoformat()}))
        return out

    @staticmethod
    def _key_volume(facts: Facts, key: Key) -> float:
        a = facts.hourly[key]
        return float(a["valid"].sum() + a["qc"].sum() + a["qv"].sum())

    def _late(self, facts: Facts, scope: Scope, cell: Cell, who: str, measured: dict[str, dict]) -> list[Deduction]:
        received = cell.received()
        parts = []
        for p in cell.per_platform:
            late, total = facts.late_profile.get(p, (0.0, 0.0))
            if total >= MIN_PROFILE_EVENTS and received > 0:
                parts.append((p, cell.platform_received(p) / received, late / total))
        rate = sum(w * r for _, w, r in parts)
        measured["late"] = {"value": round(rate, 5), "profile_days": self.cfg.baseline_days,
                            "evaluated": bool(parts)}
        pts = points(self.cfg, "late", rate)
        if pts <= 0:
            return []
        top = max(parts, key=lambda x: x[1] * x[2])[0]
        return [Deduction("late", pts, f"about {pct(rate)} of {who} events of this day have not arrived yet, mostly "
                          f"from {PLATFORM_LABELS.get(top, top)} (devices that were offline send later; "
                          f"measured on the past {self.cfg.baseline_days} days)", "late data profile")]

    def _freshness(self, facts: Facts, scope: Scope, measured: dict[str, dict]) -> list[Deduction]:
        sla = self.cfg.freshness_sla_minutes
        platforms = [scope.platform] if scope.platform else list(facts.oldest_waiting)
        waiting = [facts.oldest_waiting[p] for p in platforms if p in facts.oldest_waiting]
        lag = max(((facts.end - min(waiting)).total_seconds() / 60), 0.0) if waiting else 0.0
        silence = (facts.end - facts.last_arrival).total_seconds() / 60 if facts.last_arrival else None
        measured["freshness"] = {"value": round(lag, 1), "sla_minutes": sla,
                                 "silence_minutes": None if silence is None else round(silence, 1)}
        out = []
        pts = points(self.cfg, "freshness", lag / sla)
        if pts > 0:
            table = scope.scope if scope.scope_type == "table" else "the curated tables"
            model = CURATED_TABLES.get(scope.scope)
            last = facts.model_runs.get(model or "")
            refreshed = f", last refreshed {last:%H:%M}" if last else ""
            out.append(Deduction("freshness", pts, f"{table} are {duration(lag)} behind: events that arrived at "
                                 f"{min(waiting):%H:%M} are not in them yet (service level {sla:g} min{refreshed})",
                                 "pipeline state"))
        if silence is not None and facts.hours > 0:
            pts = points(self.cfg, "freshness", silence / self.cfg.silence_minutes)
            if pts > 0:
                out.append(Deduction("freshness", pts, f"no event has arrived from any platform for "
                                     f"{duration(silence)} (since {facts.last_arrival:%H:%M}); collection or loading "
                                     "may be stuck", "arrivals"))
        latest: dict[str, dict] = {}
        for row in facts.freshness_checks:
            latest[row["check_name"]] = row
        for name, row in latest.items():
            if row["outcome"] not in ("failed", "warn"):
                continue
            share = 1.0 if row["outcome"] == "failed" else 0.5
            detail = f": {row['value']:g} against {row['threshold']:g}" if row.get("value") is not None and \
                row.get("threshold") is not None else ""
            out.append(Deduction("freshness", self.cfg.weight("freshness") * share,
                                 f"check {name} {row['outcome']} at {row['checked_at']:%H:%M}{detail}", "check"))
        return out


# --- entry points --------------------------------------------------------------------------------
def default_day(wh: Warehouse) -> dt.date:
    """Today while data arrives today, else the last day anything arrived."""
    now = clock.now()
    last = wh.scalar("SELECT MAX(received_at) FROM raw_events WHERE received_at <= ?", [now])
    return last.date() if last is not None else now.date()


def compute_trust(wh: Warehouse, reg: Registry, day: dt.date | None = None, *,
                  cfg: TrustConfig | None = None) -> list[TrustScore]:
    """Score every scope of `day` (default: the last day with data), store them in trust_scores
    (replacing that day's earlier scores) and return them."""
    day = day or default_day(wh)
    scores = score_day(wh, reg, day, cfg=cfg)
    store(wh, day, scores, clock.now())
    return scores


def score_day(wh: Warehouse, reg: Registry, day: dt.date, *, cfg: TrustConfig | None = None,
              platform: str | None = None, extra_features: Iterable[str] = ()) -> list[TrustScore]:
    """The scores of one day without storing them. With `platform`, the areas and features are
    scored on that platform's events only (what an iOS PM reads), and tables are left out."""
    settings = get_settings()
    cfg = cfg or settings.trust
    facts = read_facts(wh, reg, day, clock.now(), cfg.baseline_days)
    ev = Evaluator(wh, reg, cfg, settings)
    everything = ev.cell(facts, Scope("table", "*", "all"))
    volumes: dict[str, float] = {}
    for (p, feature), a in facts.hourly.items():
        if platform in (None, p):
            for anc in ev.h.chain.get(feature or "", []):
                volumes[anc] = volumes.get(anc, 0.0) + float(a["valid"].sum())
    scopes = choose_scopes(reg, ev.h, cfg, volumes)
    listed = {s.scope for s in scopes if s.scope_type == "feature"}
    scopes += [Scope("feature", f, ev.h.label(f), feature=f) for f in extra_features
               if f in ev.h.chain and f not in listed]
    if platform is not None:
        label = PLATFORM_LABELS.get(platform, platform)
        scopes = [Scope(s.scope_type, s.scope, f"{s.label} on {label}", platform=platform, feature=s.feature)
                  if s.scope_type in ("area", "feature") else s
                  for s in scopes if s.scope_type != "table" and s.platform in (None, platform)]
    return [ev.score(facts, s, everything) for s in scopes]


def store(wh: Warehouse, day: dt.date, scores: Iterable[TrustScore], now: dt.datetime) -> None:
    rows = [(s.day, s.scope_type, s.scope, s.label, s.score, s.grade, json.dumps(s.components),
             json.dumps(s.reasons, ensure_ascii=False), now) for s in scores]
    with wh.transaction():
        wh.execute("DELETE FROM trust_scores WHERE day = ?", [day])
        for row in rows:
            wh.execute("INSERT INTO trust_scores (day, scope_type, scope, label, score, grade, components, reasons, "
                       "computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row))
    ensure_latest_view(wh)


def ensure_latest_view(wh: Warehouse) -> None:
    """Each scope's latest scored day, for dashboards; created once (a view follows the table)."""
    if wh.table_exists(LATEST_VIEW):
        return
    wh.execute(
        f"CREATE VIEW {LATEST_VIEW} AS SELECT t.day, t.scope_type, t.scope, t.label, t.score, t.grade, "
        "t.components, t.reasons, t.computed_at FROM trust_scores t JOIN (SELECT scope_type, scope, MAX(day) AS day "
        "FROM trust_scores GROUP BY scope_type, scope) m "
        "ON t.scope_type = m.scope_type AND t.scope = m.scope AND t.day = m.day")


def scored_days(wh: Warehouse, until: dt.date, days: int) -> set[dt.date]:
    return {r[0] for r in wh.query("SELECT DISTINCT day FROM trust_scores WHERE day > ? AND day <= ?",
                                   [until - dt.timedelta(days=days), until])}


def history(wh: Warehouse, until: dt.date, days: int) -> dict[tuple[str, str], dict[dt.date, float]]:
    out: dict[tuple[str, str], dict[dt.date, float]] = {}
    for day, st, sc, score in wh.query(
            "SELECT day, scope_type, scope, score FROM trust_scores WHERE day > ? AND day <= ? ORDER BY day",
            [until - dt.timedelta(days=days), until]):
        out.setdefault((st, sc), {})[day] = score
    return out
