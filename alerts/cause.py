"""The likely cause of an incident: values over-represented among the failing lines compared with
the scope's normal (app version, backend service, landing file, feature id sent), and contract or
catalog changes applied in the window. Nothing is claimed without evidence above the thresholds.

All SQL goes through the warehouse engine (json_text_of_line differs per dialect)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from config.alerts import AlertsConfig
from contracts.registry import Registry
from warehouse.engine import Engine, lit
from warehouse.session import Warehouse

PLATFORM_NAMES = {"web": "web", "ios": "iOS", "android": "Android", "backend": "backend"}
# Reason codes of the pipeline (SEMANTICS); a check naming one of them fails on those lines.
REASONS = ("invalid_json", "missing_event_id", "missing_user_id", "missing_workspace_id", "missing_feature",
           "missing_timestamp", "missing_field", "unknown_feature", "invalid_timestamp", "too_late")


@dataclass(frozen=True)
class Finding:
    """One over-represented value with its numbers."""

    dimension: str  # app_version | service | file | feature_sent
    value: str
    count: int  # failing lines carrying it
    total: int  # failing lines
    normal_count: int
    normal_total: int
    first_seen: dt.datetime | None

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0

    @property
    def normal_share(self) -> float:
        return self.normal_count / self.normal_total if self.normal_total else 0.0

    @property
    def lift(self) -> float:
        # add-one smoothing: a value never seen in the normal has a large but finite lift
        return self.share / ((self.normal_count + 1) / (self.normal_total + 1))

    @property
    def strength(self) -> str:
        if self.share >= 0.9 and self.lift >= 10:
            return "strong"
        if self.share >= 0.7 and self.lift >= 5:
            return "moderate"
        return "weak"


@dataclass
class Cause:
    summary: str  # one sentence for the message
    strength: str  # strong | moderate | weak | change-only
    findings: list[Finding] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # contract / catalog changes in the window
    evidence_sql: str = ""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for f in d["findings"]:
            f["first_seen"] = f["first_seen"].isoformat() if f["first_seen"] else None
        return d


def describe(f: Finding, platform: str | None, what: str, normal_label: str = "the normal") -> str:
    plat = PLATFORM_NAMES.get(platform or "", platform or "")
    value = {"app_version": f"{plat} {f.value}".strip(), "service": f"service {f.value}",
             "file": f"landing file {f.value}", "feature_sent": f"feature id '{f.value}'"}[f.dimension]
    verb = "send" if f.dimension == "feature_sent" else "come from"
    normal = (f"{f.normal_share:.1%} of {normal_label}" if f.normal_count else f"never seen in {normal_label}")
    seen = f", first seen {f.first_seen:%H:%M} UTC" if f.first_seen else ""
    return (f"{f.share:.0%} of the {what} ({f.count:,} of {f.total:,}) {verb} {value}{seen} "
            f"({normal}; ×{f.lift:,.0f} over-represented; {f.strength} evidence)")


def rank(findings: list[Finding], cfg: AlertsConfig) -> list[Finding]:
    kept = [f for f in findings if f.share >= cfg.cause_min_share and f.lift >= cfg.cause_min_lift
            and f.count >= cfg.cause_min_lines]
    return sorted(kept, key=lambda f: (-f.share, -f.lift, f.dimension, f.value))


def batch_cause(wh: Warehouse, reg: Registry, batch_id: str, platform: str | None, check_names: list[str],
                details: list[dict[str, Any]], cfg: AlertsConfig) -> Cause | None:
    """Over-represented values among the batch's failing (quarantined) lines."""
    load_id, _, plat = batch_id.partition("/")
    platform = platform or plat or None
    if not platform or platform not in reg.contracts:
        return None
    e = wh.engine
    reasons = _reasons(check_names, details)
    where = f"q.load_id = {lit(load_id)} AND q.platform = {lit(platform)}"
    if reasons:
        where += " AND q.reason IN " + e.in_list(reasons)
    dims = _dims(e, reg, platform, "q.raw_line")
    if not dims:
        return None
    failing_sql = (f"SELECT {', '.join(f'{expr} AS {name}' for name, expr in dims.items())}, r.received_at "
                   "FROM quarantined_events q LEFT JOIN raw_events r ON r.load_id = q.load_id "
                   f"AND r.file_path = q.file_path AND r.line_number = q.line_number WHERE {where}")
    # One grouped read of the failing lines and one of the batch's lines: every dimension is summed
    # from them here (each raw line is parsed once per read, not once per dimension).
    names = list(dims)
    cols = ", ".join(names)
    fail_groups = wh.query(f"SELECT {cols}, COUNT(*), MIN(received_at) FROM ({failing_sql}) f GROUP BY {cols}")
    total = sum(int(row[-2]) for row in fail_groups)
    if total == 0:
        return _changes_only(wh, platform, load_id, cfg)
    start = wh.scalar("SELECT MIN(received_at) FROM raw_events WHERE load_id = ? AND platform = ?",
                      [load_id, platform])
    # The batch's lines = its failing lines + its valid ones, whose staged rows already hold the
    # parsed app version, feature sent and file (no second JSON parse of the batch).
    staged = {"app_version": "app_version", "feature_sent": "feature_sent", "file": "file_path"}
    sel = ", ".join(f"{staged[n]} AS {n}" if n in staged else f"CAST(NULL AS VARCHAR) AS {n}" for n in names)
    valid = " UNION ALL ".join(f"SELECT {sel}, received_at FROM {t} WHERE load_id = ? AND platform = ?"
                               for t in ("stg_pending", "stg_events", "stg_duplicates"))
    batch_groups = fail_groups + wh.query(f"SELECT {cols}, COUNT(*), MIN(received_at) FROM ({valid}) v "
                                          f"GROUP BY {cols}", [load_id, platform] * 3)
    batch_normal = {n: _sum(batch_groups, i) for i, n in enumerate(names) if n in staged}
    if "service" in names:  # not a staged column: read from the batch's raw lines
        batch_normal["service"] = _sum(wh.query(
            f"SELECT {_dims(e, reg, platform, 'raw_line')['service']} AS s, COUNT(*), MIN(received_at) "
            "FROM raw_events WHERE load_id = ? AND platform = ? GROUP BY 1", [load_id, platform]), 0)
    findings: list[Finding] = []
    for i, name in enumerate(names):
        fail = _sum(fail_groups, i)
        normal: dict[str, tuple[int, dt.datetime | None]] = {}
        if name == "app_version" and start is not None:
            normal = _baseline_versions(wh, platform, start, cfg)
            earlier = _earlier_failing(wh, platform, start, dims[name], cfg)
            fail = {v: (n, min(filter(None, (first, earlier.get(v))))) for v, (n, first) in fail.items()}
        if not normal:  # the batch's own lines are the normal
            normal = batch_normal[name]
        normal_total = sum(n for n, _ in normal.values())
        for value, (n, first) in fail.items():
            nn, nfirst = normal.get(value, (0, None))
            firsts = [t for t in (first, nfirst) if t is not None]
            findings.append(Finding(name, str(value), int(n), int(total), int(nn), int(normal_total),
                                    min(firsts) if firsts else None))
    what = f"{reasons[0]} lines" if len(reasons) == 1 else "failing lines"
    ranked = rank(findings, cfg)
    changes = window_changes(wh, platform, start, cfg)
    evidence = (f"SELECT q.reason, {dims.get('app_version') or dims.get('service')} AS value, COUNT(*) AS lines "
                f"FROM quarantined_events q WHERE {where} GROUP BY 1, 2 ORDER BY 3 DESC")
    if not ranked:
        if not changes:
            return None
        return Cause("; ".join(changes), "change-only", [], changes, evidence)
    summary = describe(ranked[0], platform, what)
    if changes:
        summary += "; in the window: " + "; ".join(changes)
    return Cause(summary, ranked[0].strength, ranked, changes, evidence)


def _sum(groups: list[tuple[Any, ...]], i: int) -> dict[str, tuple[int, dt.datetime | None]]:
    """Counts and first time per value of column i, from rows (dims..., count, first)."""
    out: dict[str, tuple[int, dt.datetime | None]] = {}
    for row in groups:
        value = row[i]
        if value is None:
            continue
        n, first = out.get(value, (0, None))
        firsts = [t for t in (first, row[-1]) if t is not None]
        out[value] = (n + int(row[-2]), min(firsts) if firsts else None)
    return out


def anomaly_cause(wh: Warehouse, platform: str | None, feature_id: str | None, direction: str,
                  window: tuple[dt.datetime, dt.datetime], cfg: AlertsConfig) -> Cause | None:
    """A volume anomaly of a series: the app versions of its events in the window against the
    series' normal (the `baseline_days` before). A spike: the values over-represented among the
    window's events; a drop: among the missing events (normal share × normal volume − what came)."""
    start, end = window
    since = start - dt.timedelta(days=cfg.baseline_days)
    e = wh.engine
    cond = ["app_version IS NOT NULL"]
    if platform:
        cond.append(f"platform = {e.lit(platform)}")
    if feature_id:  # the series counts its feature and every descendant
        cond.append(f"(feature_id = {e.lit(feature_id)} OR feature_id LIKE {e.lit(feature_id + '.%')})")
    where = " AND ".join(cond)
    events = " UNION ALL ".join(f"SELECT app_version, received_at FROM {t} WHERE {where} AND received_at >= ? "
                                "AND received_at < ?" for t in ("stg_events", "stg_pending"))
    rows = wh.query(f"SELECT app_version, SUM(CASE WHEN received_at >= ? THEN 1 ELSE 0 END), "
                    f"SUM(CASE WHEN received_at < ? THEN 1 ELSE 0 END), MIN(received_at) FROM ({events}) x "
                    "GROUP BY 1", [start, start, since, end, since, end])
    now = {v: int(n) for v, n, _, _ in rows}
    normal = {v: int(b) for v, _, b, _ in rows}
    first = {v: f for v, _, _, f in rows}
    normal_total, now_total = sum(normal.values()), sum(now.values())
    findings: list[Finding] = []
    what, label = "", "the normal"
    # the normal rate over the window: a spike's extra events and a drop's missing ones per value
    spans = max((start - since).total_seconds(), 1) / max((end - start).total_seconds(), 1)
    if direction in ("up", "spike") and now_total:
        extra = {v: n - normal.get(v, 0) / spans for v, n in now.items()}
        total = round(sum(x for x in extra.values() if x > 0))
        what = "extra events"
        findings = [Finding("app_version", v, round(x), total, normal.get(v, 0), normal_total, first[v])
                    for v, x in extra.items() if round(x) > 0]
    elif normal_total:
        # a value missing far more than the others stands out against the events that did come
        # (a uniform outage has every lift near 1)
        missing = {v: max(0.0, b / spans - now.get(v, 0)) for v, b in normal.items()}
        total = round(sum(missing.values()))
        what, label = "missing events", "the events that came"
        findings = [Finding("app_version", v, round(m), total, now.get(v, 0), now_total, first[v])
                    for v, m in missing.items() if round(m) > 0]
    ranked = rank(findings, cfg)
    changes = window_changes(wh, platform, start, cfg)
    evidence = (f"SELECT app_version, COUNT(*) FROM stg_events WHERE {where} AND received_at >= "
                f"{e.lit(f'{start:%Y-%m-%d %H:%M:%S}')} GROUP BY 1 ORDER BY 2 DESC")
    if not ranked:
        return Cause("; ".join(changes), "change-only", [], changes, evidence) if changes else None
    summary = describe(ranked[0], platform, what, label)
    if changes:
        summary += "; in the window: " + "; ".join(changes)
    return Cause(summary, ranked[0].strength, ranked, changes, evidence)


def _changes_only(wh: Warehouse, platform: str, load_id: str, cfg: AlertsConfig) -> Cause | None:
    start = wh.scalar("SELECT MIN(received_at) FROM raw_events WHERE load_id = ?", [load_id])
    changes = window_changes(wh, platform, start, cfg)
    return Cause("; ".join(changes), "change-only", [], changes, "") if changes else None


def _reasons(check_names: list[str], details: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for d in details:
        for key in ("reason", "reasons"):
            v = d.get(key)
            for r in ([v] if isinstance(v, str) else v if isinstance(v, list) else []):
                if r in REASONS and r not in found:
                    found.append(r)
    for name in check_names:
        for r in REASONS:
            if r in name and r not in found:
                found.append(r)
        if "feature" in name and ("unknown" in name or "invalid" in name) and "unknown_feature" not in found:
            found.append("unknown_feature")
    return found


def _dims(eng: Engine, reg: Registry, platform: str, raw: str) -> dict[str, str]:
    """SQL expressions of the dimensions, read from a raw line with the contract's paths."""
    c = reg.contracts[platform]
    dims: dict[str, str] = {}
    if "app_version" in c.mapping:
        dims["app_version"] = _first_of(eng, raw, c.mapping["app_version"].from_)
    if platform == "backend" and "service" in c.payload:
        dims["service"] = eng.json_text_of_line(raw, "service")
    if "feature" in c.mapping:
        dims["feature_sent"] = _first_of(eng, raw, c.mapping["feature"].from_)
    dims["file"] = "file_path" if raw == "raw_line" else raw.split(".")[0] + ".file_path"
    return dims


def _first_of(eng: Engine, raw: str, paths: list[str]) -> str:
    exprs = [eng.json_text_of_line(raw, p) for p in paths]
    return exprs[0] if len(exprs) == 1 else f"COALESCE({', '.join(exprs)})"


def _baseline_versions(wh: Warehouse, platform: str, start: dt.datetime,
                       cfg: AlertsConfig) -> dict[str, tuple[int, dt.datetime | None]]:
    since = start - dt.timedelta(days=cfg.baseline_days)
    rows = wh.query("SELECT app_version, COUNT(*), MIN(received_at) FROM stg_events WHERE platform = ? "
                    "AND received_at >= ? AND received_at < ? AND app_version IS NOT NULL GROUP BY 1",
                    [platform, since, start])
    return {v: (int(n), first) for v, n, first in rows}


def _earlier_failing(wh: Warehouse, platform: str, start: dt.datetime, expr: str,
                     cfg: AlertsConfig) -> dict[str, dt.datetime]:
    """When each value was first seen among the platform's quarantined lines before this batch
    (a bad release's first lines may be in the previous batch)."""
    since = start - dt.timedelta(days=cfg.baseline_days)
    rows = wh.query(f"SELECT {expr} AS v, MIN(r.received_at) FROM quarantined_events q JOIN raw_events r "
                    "ON r.load_id = q.load_id AND r.file_path = q.file_path AND r.line_number = q.line_number "
                    "WHERE q.platform = ? AND r.received_at >= ? AND r.received_at < ? GROUP BY 1",
                    [platform, since, start])
    return {v: first for v, first in rows if v is not None}


def window_changes(wh: Warehouse, platform: str | None, start: dt.datetime | None, cfg: AlertsConfig) -> list[str]:
    """Contract versions first applied, and catalog rows changed, within the grouping window
    before `start` (and after it)."""
    if start is None:
        return []
    since = start - dt.timedelta(minutes=cfg.grouping_window_minutes)
    out: list[str] = []
    plat = "platform = ?" if platform else "TRUE"
    params = [platform] if platform else []
    rows = wh.query(
        f"SELECT platform, contract_version, MIN(received_at) AS first_at FROM ("
        f"SELECT platform, contract_version, received_at FROM stg_events WHERE {plat} UNION ALL "
        f"SELECT platform, contract_version, received_at FROM stg_pending WHERE {plat}) s "
        "GROUP BY 1, 2 ORDER BY 3", params * 2)
    seen: dict[str, list[str]] = {}
    for p, version, first_at in rows:
        earlier = seen.setdefault(p, [])
        if earlier and first_at is not None and first_at >= since:
            out.append(f"contract {p} {version} first applied {first_at:%Y-%m-%d %H:%M} UTC "
                       f"(before: {earlier[-1]})")
        earlier.append(version)
    if wh.table_exists("dim_feature"):
        first_load = wh.scalar("SELECT MIN(valid_from) FROM dim_feature")
        changed = wh.query("SELECT feature_id, valid_from FROM dim_feature WHERE valid_from >= ? AND valid_from > ? "
                           "ORDER BY valid_from, feature_id", [since, first_load])
        if changed:
            ids = sorted({f for f, _ in changed})
            out.append(f"catalog changed {changed[0][1]:%Y-%m-%d %H:%M} UTC: {len(ids)} feature(s) "
                       f"({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})")
    return out
