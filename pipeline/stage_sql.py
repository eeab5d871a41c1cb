"""Staging SQL generated from the contracts (SEMANTICS.md steps 1-9), pure: no warehouse.

`classify_sql(contract, ...)` returns one SELECT that gives every input line of a platform its
canonical columns and its outcome: `reason` NULL (valid), `out_of_scope` (ignored) or a
quarantine code. Nothing per platform is hand-written: paths, formats, variants, scope and
feature resolution all come from the contract.
"""

from __future__ import annotations

import re

from contracts.model import REQUIRED_KEYS, PlatformContract, ResolveStep, TimeFormat
from contracts.registry import Rules
from warehouse.engine import MAX_EPOCH_MICROS, Engine

INPUT = "stage_input"
PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LOOKUP = "ref_feature_lookup"


def missing(expr: str) -> str:
    """SEMANTICS: absent, JSON null, or empty after trimming."""
    return f"({expr} IS NULL OR trim({expr}) = '')"


def needed_paths(c: PlatformContract) -> list[str]:
    paths: list[str] = []
    for m in c.mapping.values():
        paths.extend(m.from_)
    paths.extend(cond.path for cond in c.scope)
    paths.extend(c.field_checks())
    if "properties" in c.mapping:
        # Whether a personal-data key is there at all comes from the same single parse.
        props = c.mapping["properties"].from_[0]
        paths.extend(f"{props}.{key}" for key in c.strip_properties if PLAIN_KEY.match(key))
    return list(dict.fromkeys(paths))


class _Fields:
    def __init__(self, c: PlatformContract, e: Engine):
        self.c, self.e, self.paths = c, e, needed_paths(c)

    def at(self, path: str) -> str:
        return self.e.doc_text("doc", self.paths, path)

    def canonical(self, name: str) -> str:
        """First present path of the mapping, transforms applied; NULL when unmapped."""
        m = self.c.mapping.get(name)  # type: ignore[call-overload]
        if m is None:
            return "CAST(NULL AS VARCHAR)"
        vals = [self.at(p) for p in m.from_]
        expr = vals[0] if len(vals) == 1 else (
            "CASE " + " ".join(f"WHEN NOT {missing(v)} THEN {v}" for v in vals) + " END")
        for t in m.transform:
            expr = f"trim({expr})" if t == "trim" else f"lower({expr})"
        return expr

    def scope(self) -> str:
        parts = []
        for cond in self.c.scope:
            v = self.at(cond.path)
            if cond.equals is not None:
                parts.append(f"COALESCE({v} = {self.e.lit(str(cond.equals))}, FALSE)")
            elif cond.in_ is not None:
                parts.append(f"COALESCE({v} IN {self.e.in_list(cond.in_)}, FALSE)")
            else:
                parts.append(f"({v} IS NULL OR {v} NOT IN {self.e.in_list(cond.not_in or [])})")
        return " AND ".join(parts)


def _field_cols(c: PlatformContract) -> list[str]:
    return [f"required_{i}" for i in range(len(c.field_checks()))]


def _parse_time(e: Engine, text: str, fmt: TimeFormat) -> str:
    if fmt is TimeFormat.iso8601:
        return e.try_iso_timestamp(text)
    factor = 1000 if fmt is TimeFormat.epoch_ms else 1_000_000
    micros = f"({e.try_epoch_number(text)} * {factor})"
    return f"CASE WHEN {micros} BETWEEN 0 AND {MAX_EPOCH_MICROS} THEN {e.epoch_micros_to_ts(f'round({micros})')} END"


def time_expr(c: PlatformContract, e: Engine, name: str, text: str, app_version: str) -> str:
    m = c.mapping.get(name)  # type: ignore[call-overload]
    if m is None:
        return "CAST(NULL AS TIMESTAMP)"
    fmt = m.format or TimeFormat.iso8601
    expr = _parse_time(e, text, fmt)
    for variant in reversed(m.variants):
        cond = e.version_below(app_version, variant.when.app_version_below)
        expr = f"CASE WHEN {cond} THEN {_parse_time(e, text, variant.format)} ELSE {expr} END"
    return expr


def classify_sql(c: PlatformContract, rules: Rules, e: Engine) -> str:
    f = _Fields(c, e)
    paths = f.paths
    steps = c.feature_resolution.steps
    us = e.ts_to_epoch_micros
    # Layer 1: one parse per line.
    # The file's arrival anchors every time of its lines; a modification time no clock can have
    # written (before 1970, after 2200) gives way to the load's own time.
    arrival = f"CASE WHEN {e.ts_representable('file_mtime')} THEN file_mtime ELSE COALESCE(loaded_at, file_mtime) END"
    l1 = (f"SELECT load_id, file_path, line_number, platform, raw_line, "
          f"{e.trusted_received_at('received_at', arrival)} AS received_at, "
          f"{e.doc_of_line('raw_line', 'decode_error', paths)} AS doc "
          f"FROM {INPUT} WHERE platform = {e.lit(c.platform)}")
    # Layer 2: canonical text fields.
    props = ("CAST(NULL AS VARCHAR)" if "properties" not in c.mapping else
             e.doc_object_without("doc", paths, c.mapping["properties"].from_[0], c.strip_properties))
    event_name_path = next((cond.path for cond in c.scope if cond.equals is not None or cond.in_), None)
    l2_cols = {
        "in_scope": f"({f.scope()})",
        "event_id": f.canonical("event_id"),
        "event_name": f.at(event_name_path) if event_name_path else "CAST(NULL AS VARCHAR)",
        "user_id": f.canonical("user_id"),
        "anonymous_id": f.canonical("anonymous_id"),
        "workspace_id": f.canonical("workspace_id"),
        "feature_sent": f.canonical("feature"),
        "feature_area": f.canonical("feature_area"),
        "action": f.canonical("action"),
        "app_version": f.canonical("app_version"),
        "client_text": f.canonical("client_ts"),
        "sent_text": f.canonical("sent_at"),
        "properties": props,
    }
    l2_cols |= {col: f.at(path) for col, path in zip(_field_cols(c), c.field_checks(), strict=True)}
    l2 = "SELECT l1.*, " + ", ".join(f"{v} AS {k}" for k, v in l2_cols.items()) + f" FROM ({l1}) l1"
    # Layer 3: times and feature resolution.
    joins, candidates = [], []
    if ResolveStep.id in steps:
        joins.append(f"LEFT JOIN {LOOKUP} f_id ON f_id.kind = 'id' AND f_id.lookup_key = l2.feature_sent")
        candidates.append("f_id.feature_id")
    if ResolveStep.legacy_id in steps:
        joins.append(f"LEFT JOIN {LOOKUP} f_leg ON f_leg.kind = 'legacy' AND f_leg.lookup_key = l2.feature_sent")
        candidates.append("f_leg.feature_id")
    if ResolveStep.name_in_area in steps:
        joins.append(f"LEFT JOIN {LOOKUP} f_nm ON f_nm.kind = 'name' AND f_nm.lookup_key = l2.feature_sent "
                     f"AND f_nm.area = l2.feature_area")
        gate = c.feature_resolution.name_in_area_when
        cond = e.version_below("l2.app_version", gate.app_version_below) if gate else "TRUE"
        candidates.append(f"CASE WHEN {cond} THEN f_nm.feature_id END")
    feature_id = f"COALESCE({', '.join(candidates)})" if len(candidates) > 1 else candidates[0]
    client_ts = time_expr(c, e, "client_ts", "l2.client_text", "l2.app_version")
    sent_at = time_expr(c, e, "sent_at", "l2.sent_text", "l2.app_version")
    l3p = (f"SELECT l2.*, {feature_id} AS feature_id, {client_ts} AS client_parsed, {sent_at} AS sent_parsed "
           f"FROM ({l2}) l2 {' '.join(joins)}")
    # Plausible: within a year of when the collector received the line. An implausible client
    # time is invalid_timestamp; an implausible send time is treated as absent (SEMANTICS).
    window = rules.plausible_time_days * 86_400_000_000
    l3 = (f"SELECT l3p.*, "
          f"CASE WHEN {e.ts_within('l3p.client_parsed', 'l3p.received_at', window, window)} "
          f"THEN l3p.client_parsed END AS client_ts, "
          f"CASE WHEN {e.ts_within('l3p.sent_parsed', 'l3p.received_at', window, window)} "
          f"THEN l3p.sent_parsed END AS sent_at FROM ({l3p}) l3p")
    # Layer 4: skew correction (received − (sent − client)), unless the clock is trusted.
    if c.trusted_clock or "sent_at" not in c.mapping:
        corrected = "l3.client_ts"
    else:
        skew = f"({us('l3.client_ts')} - {us('l3.sent_at')})"
        corrected = f"CASE WHEN l3.sent_at IS NULL THEN l3.client_ts ELSE {e.add_micros('l3.received_at', skew)} END"
    tolerance = rules.clock_ahead_tolerance_minutes * 60 * 1_000_000
    l4 = (f"SELECT l3.*, {corrected} AS corrected_ts FROM ({l3}) l3")
    ahead = f"({us('l4.corrected_ts')} - {us('l4.received_at')} > {tolerance})"
    l5 = (f"SELECT l4.*, COALESCE({ahead}, FALSE) AS clock_ahead, "
          f"CASE WHEN {ahead} THEN l4.received_at ELSE l4.corrected_ts END AS event_ts FROM ({l4}) l4")
    late = rules.max_lateness_hours * 3600 * 1_000_000
    reasons = ["WHEN l5.doc IS NULL THEN 'invalid_json'", "WHEN NOT l5.in_scope THEN 'out_of_scope'"]
    canonical_col = {"event_id": "event_id", "user_id": "user_id", "workspace_id": "workspace_id",
                     "feature": "feature_sent", "client_ts": "client_text"}
    reasons += [f"WHEN {missing('l5.' + canonical_col[key])} THEN '{code}'" for key, code in REQUIRED_KEYS]
    # other fields the contract requires: the first missing one quarantines the line
    reasons += [f"WHEN {missing(f'l5.{col}')} THEN 'missing_field'" for col in _field_cols(c)]
    reasons += [
        "WHEN l5.feature_id IS NULL THEN 'unknown_feature'",
        "WHEN l5.client_ts IS NULL THEN 'invalid_timestamp'",
        f"WHEN {us('l5.received_at')} - {us('l5.event_ts')} > {late} THEN 'too_late'",
    ]
    l6 = (
        "SELECT l5.*, "
        f"{e.lit(c.version)} AS contract_version, {e.to_date('l5.event_ts')} AS event_date, "
        f"{e.seconds_between('l5.client_ts', 'l5.received_at')} AS drift_seconds, "
        f"({e.to_date('l5.event_ts')} < {e.to_date('l5.received_at')}) AS is_late, "
        f"CASE {' '.join(reasons)} END AS reason "
        f"FROM ({l5}) l5"
    )
    # The raw line is carried only where it is needed: quarantined lines keep it.
    return (
        "SELECT load_id, file_path, line_number, platform, "
        "CASE WHEN reason IS NOT NULL AND reason <> 'out_of_scope' THEN raw_line END AS raw_line, "
        "event_id, event_name, feature_id, feature_sent, action, user_id, anonymous_id, workspace_id, app_version, "
        "contract_version, client_ts, sent_at, received_at, event_ts, event_date, drift_seconds, is_late, "
        f"clock_ahead, properties, reason FROM ({l6}) l6"
    )


def unknown_platform_sql(platforms: list[str], e: Engine) -> str:
    """Lines of files outside `platform=<known>/`: no contract applies."""
    return (f"SELECT load_id, file_path, line_number, platform, raw_line, 'unknown_platform' AS reason "
            f"FROM {INPUT} WHERE platform IS NULL OR platform NOT IN {e.in_list(platforms)}")
