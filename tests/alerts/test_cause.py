"""The likely cause: named with its numbers when one value stands out, nothing when none does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from alerts.cause import anomaly_cause, batch_cause
from config.alerts import AlertsConfig
from tests.conftest import write_landing
from tests.pipeline.helpers import ios, load_and_run

CFG = AlertsConfig(cause_min_lines=5)
T0 = dt.datetime(2026, 11, 25, 14, 0)


def _ms(t: dt.datetime) -> int:
    return int(t.replace(tzinfo=dt.UTC).timestamp() * 1000)


def _line(i: int, version: str, at: dt.datetime, feature: str = "editor.comments.mention") -> dict[str, Any]:
    return ios(f"E{version}-{i}-{at:%d%H}", feature_key=feature, ts=_ms(at), sent_ts=_ms(at) + 100,
               app={"version": version, "build": "1"}, received_at=f"{at:%Y-%m-%dT%H:%M:%S}.500Z")


def _batch(wh: Any, registry: Any, landing: Path, name: str, lines: list[dict[str, Any]], hour: str) -> str:
    write_landing(landing, "ios", name, lines, hour=hour)
    load_and_run(wh, registry, landing)
    return wh.scalar("SELECT MAX(load_id) FROM batches")


def test_a_new_release_behind_the_unknown_features_is_named(wh: Any, registry: Any, landing: Path) -> None:
    base = T0 - dt.timedelta(hours=3)
    _batch(wh, registry, landing, "a.jsonl", [_line(i, v, base) for i in range(30) for v in ("5.1.2", "5.0.4")],
           "11")
    bad = [_line(i, "5.2.0", T0 + dt.timedelta(minutes=i), "editor.ghost") for i in range(12)]
    bad += [_line(i, "5.1.2", T0, "editor.typo") for i in range(1)]
    good = [_line(100 + i, "5.1.2", T0) for i in range(20)]
    load_id = _batch(wh, registry, landing, "b.jsonl", bad + good, "14")
    cause = batch_cause(wh, registry, f"{load_id}/ios", "ios", ["unknown_feature_share"], [], CFG)
    assert cause is not None
    assert cause.summary.startswith("92% of the unknown_feature lines (12 of 13) come from iOS 5.2.0, "
                                    "first seen 14:00 UTC (never seen in the normal;")
    top = cause.findings[0]
    assert (top.dimension, top.value, top.count, top.total, top.normal_count) == ("app_version", "5.2.0", 12, 13, 0)
    assert top.strength == "strong"
    assert "quarantined_events" in cause.evidence_sql


def test_failures_spread_like_the_normal_name_nothing(wh: Any, registry: Any, landing: Path) -> None:
    base = T0 - dt.timedelta(hours=3)
    _batch(wh, registry, landing, "a.jsonl", [_line(i, v, base) for i in range(30) for v in ("5.1.2", "5.0.4")],
           "11")
    spread = [_line(i, v, T0, f"editor.ghost{i}") for i in range(8) for v in ("5.1.2", "5.0.4")]
    load_id = _batch(wh, registry, landing, "b.jsonl", spread + [_line(50 + i, "5.1.2", T0) for i in range(10)],
                     "14")
    assert batch_cause(wh, registry, f"{load_id}/ios", "ios", ["unknown_feature_share"], [], CFG) is None


def test_anomalies_spike_and_drop_by_app_version(wh: Any, registry: Any, landing: Path) -> None:
    cfg = AlertsConfig(cause_min_lines=5, baseline_days=1)
    day = [_line(i, v, T0 - dt.timedelta(hours=1 + i % 24)) for i in range(240) for v in ("5.1.2", "5.0.4")]
    _batch(wh, registry, landing, "a.jsonl", day, "12")
    # in the window: 5.0.4 comes as usual (10 an hour), 5.1.2 is silent, a new 5.2.0 floods
    window = [_line(500 + i, "5.0.4", T0 + dt.timedelta(minutes=5 * i)) for i in range(10)]
    window += [_line(300 + i, "5.2.0", T0 + dt.timedelta(minutes=i)) for i in range(40)]
    _batch(wh, registry, landing, "b.jsonl", window, "14")
    span = (T0, T0 + dt.timedelta(hours=1))
    spike = anomaly_cause(wh, "ios", None, "up", span, cfg)
    assert spike is not None and "come from iOS 5.2.0" in spike.summary and spike.strength == "strong"
    drop = anomaly_cause(wh, "ios", "editor", "down", span, cfg)  # the feature roll-up is the series
    assert drop is not None
    assert drop.findings[0].value == "5.1.2" and "of the missing events" in drop.summary
    assert "of the events that came" in drop.summary or "never seen in the events that came" in drop.summary
    # a series nobody used in the normal: nothing to say
    assert anomaly_cause(wh, "ios", "calendar", "down", span, cfg) is None
