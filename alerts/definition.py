"""What an incident is, as data: result rows, members, severity rules and how results are keyed.

Pure: nothing here touches the warehouse. `alerts.incidents` reads results and applies the plan.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    batch = "batch"  # the checks of one platform's part of one load
    anomaly = "anomaly"  # the detector's anomalies of one series and its parents/children
    check = "check"  # any other failing check (a table check, Soda, pandera) of one scope


class Severity(StrEnum):
    critical = "critical"
    high = "high"
    warning = "warning"

    @property
    def rank(self) -> int:
        return {"critical": 3, "high": 2, "warning": 1}[self.value]


class Action(StrEnum):
    open = "open"
    update = "update"
    resolve = "resolve"


ANOMALY_CHECKS = frozenset({"volume_anomaly"})


@dataclass(frozen=True)
class Result:
    """One row of check_results."""

    result_id: str
    check_name: str
    source: str
    scope_type: str
    scope: str
    batch_id: str | None
    platform: str | None
    feature_id: str | None
    value: float | None
    threshold: float | None
    normal: float | None
    outcome: str
    blocking: bool
    detail: dict[str, Any]
    checked_at: dt.datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Result:
        try:
            detail = json.loads(row.get("detail") or "{}")
        except ValueError:
            detail = {"text": row.get("detail")}
        parsed = parse_scope(row.get("scope") or "")
        return cls(
            result_id=row["result_id"], check_name=row["check_name"], source=row.get("source") or "",
            scope_type=row.get("scope_type") or "", scope=row.get("scope") or "", batch_id=row.get("batch_id"),
            platform=row.get("platform") or parsed.get("platform"),
            feature_id=row.get("feature_id") or parsed.get("feature") or parsed.get("area"),
            value=row.get("value"), threshold=row.get("threshold"), normal=row.get("normal"),
            outcome=row["outcome"], blocking=bool(row.get("blocking")),
            detail=detail if isinstance(detail, dict) else {"value": detail}, checked_at=row["checked_at"])

    @property
    def member(self) -> str:
        """What is checked, whatever the run: the same member in two runs is a repeat."""
        return "|".join((self.check_name, self.scope_type, self.scope, self.batch_id or ""))

    @property
    def kind(self) -> Kind:
        if self.batch_id:
            return Kind.batch
        if self.check_name in ANOMALY_CHECKS or self.scope_type == "series":
            return Kind.anomaly
        return Kind.check

    @property
    def level(self) -> str:
        """platform, area or feature: how high in the series tree (area = a top-level feature)."""
        if not self.feature_id:
            return "platform"
        return "area" if "." not in self.feature_id else "feature"

    @property
    def failing(self) -> bool:
        return self.outcome == "failed"


def parse_scope(scope: str) -> dict[str, str]:
    """`platform=ios/feature=editor.comments` (or `,` between parts) → {platform: ios, feature: ...}."""
    out: dict[str, str] = {}
    for part in scope.replace(",", "/").split("/"):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class SeverityRule:
    """First matching rule wins; None matches anything."""

    severity: Severity
    why: str
    kind: Kind | None = None
    blocking: bool | None = None
    level: str | None = None


# Severity as data (docs/alerts.md lists them; a test checks it does).
SEVERITY_RULES: tuple[SeverityRule, ...] = (
    SeverityRule(Severity.critical, "a blocking check failed: the batch is held, its events are not curated",
                 kind=Kind.batch, blocking=True),
    SeverityRule(Severity.warning, "a non-blocking check of the batch failed: the batch went on",
                 kind=Kind.batch, blocking=False),
    SeverityRule(Severity.high, "a whole platform's volume is off its normal", kind=Kind.anomaly, level="platform"),
    SeverityRule(Severity.warning, "an area's or a feature's volume is off its normal", kind=Kind.anomaly),
    SeverityRule(Severity.high, "a blocking table check failed", kind=Kind.check, blocking=True),
    SeverityRule(Severity.warning, "a check failed", kind=None),
)


def severity_of(result: Result) -> SeverityRule:
    """The first matching rule; the detector's own severity of an anomaly (detail.severity, e.g.
    critical for a platform near zero) wins over the rule."""
    said = result.detail.get("severity")
    if result.kind is Kind.anomaly and said in Severity.__members__:
        return SeverityRule(Severity(said), f"the detector rated it {said}", kind=Kind.anomaly)
    for rule in SEVERITY_RULES:
        if rule.kind is not None and rule.kind != result.kind:
            continue
        if rule.blocking is not None and rule.blocking != result.blocking:
            continue
        if rule.level is not None and rule.level != result.level:
            continue
        return rule
    raise AssertionError("the last rule matches everything")


def related(a: Result, b: Result) -> bool:
    """Two series are one family when one contains the other: same platform (or one is all
    platforms) and one feature is the other or its ancestor (no feature = the whole platform)."""
    if a.platform and b.platform and a.platform != b.platform:
        return False
    fa, fb = a.feature_id or "", b.feature_id or ""
    return not fa or not fb or fa == fb or fb.startswith(fa + ".") or fa.startswith(fb + ".")


def new_key(result: Result) -> str:
    if result.kind is Kind.batch:
        return f"batch:{result.batch_id}"
    if result.kind is Kind.anomaly:
        return f"anomaly:{result.scope}:{result.checked_at:%Y%m%dT%H%M}"
    return f"check:{result.check_name}:{result.scope}"
