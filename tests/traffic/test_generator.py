"""`nova generate`: layout, wire formats, quirks, cycles, incidents, determinism, and an answer key
that agrees with an independent reading of SEMANTICS.md (`_reference_states` below)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from contracts.model import Catalog
from contracts.registry import load_registry
from tests.conftest import REPO
from traffic import GenerationSummary, GeneratorConfig, Incident, generate, quirk_rates, writer
from traffic.definition import QUIRK_COUNTS, QuirkRates, day_factor, thanksgiving
from traffic.formats import BAD_TIMES

START = dt.date(2026, 11, 23)  # a Monday
INCIDENTS = ["outage-ios:2026-11-23T10:3", "bad_release-android:2026-11-23T14:3,share=0.6",
             "clock_skew-web:2026-11-24T09:2", "duplicate_storm-backend:2026-11-24T15:2",
             "spike-web:2026-11-23T18:2,factor=2"]
PATH = re.compile(r"platform=(web|ios|android|backend)/dt=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/"
                  r"(events|legacy)-[0-9a-f]{8}-\d{4}(-redelivered)?\.jsonl(\.gz)?$")
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
EPOCH = dt.datetime(1970, 1, 1)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_registry(REPO / "contracts").catalog


def _run(out: Path, catalog: Catalog, **kw: Any) -> GenerationSummary:
    return generate(GeneratorConfig(out=out, start=START, **kw), catalog)


def _lines(path: Path) -> list[bytes]:
    """SEMANTICS 'Lines': split on \\n, a final newline starts no line."""
    data = path.read_bytes()
    data = gzip.decompress(data) if path.suffix == ".gz" else data
    parts = data.split(b"\n")
    return parts[:-1] if parts[-1] == b"" else parts


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _parse(raw: bytes) -> Any:
    """The JSON value of a line, None when it is not UTF-8 JSON (SEMANTICS rule 1)."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


class Rec(NamedTuple):
    path: str
    platform: str
    day: str
    hour: int
    obj: Any  # the parsed line, None when it is not JSON


def _records(root: Path) -> list[Rec]:
    out = []
    for path in _files(root):
        m = PATH.search(path.as_posix())
        assert m is not None, path
        out += [Rec(path.relative_to(root).as_posix(), m[1], m[2], int(m[3]), _parse(raw)) for raw in _lines(path)]
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> tuple[Path, GenerationSummary]:
    """Two days, every quirk three times as often as in real life, one incident of each kind."""
    out = tmp_path_factory.mktemp("landing")
    summary = _run(out, catalog, days=2, events_per_day=6000, seed=7, quirks=quirk_rates("high"),
                   incidents=[Incident.parse(i) for i in INCIDENTS])
    return out, summary


@pytest.fixture(scope="module")
def records(run: tuple[Path, GenerationSummary]) -> list[Rec]:
    return _records(run[0])


def test_same_seed_and_options_give_byte_identical_files(tmp_path: Path, catalog: Catalog,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def snapshot(out: Path, seed: int, workers: int = 1) -> dict[str, tuple[bytes, int]]:
        _run(out, catalog, events_per_day=1500, seed=seed, gzip=True, incidents=[Incident.parse(INCIDENTS[3])],
             workers=workers)
        return {p.relative_to(out).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns) for p in _files(out)}

    first = snapshot(tmp_path / "a", 1)
    monkeypatch.setattr(writer, "PARALLEL_MIN_LINES", 0)  # the same run rendered by two forked processes
    assert snapshot(tmp_path / "b", 1, workers=2) == first
    other = snapshot(tmp_path / "c", 2)
    assert {k: v[0] for k, v in other.items()} != {k: v[0] for k, v in first.items()}


def test_layout_names_received_at_and_modification_times(run: tuple[Path, GenerationSummary]) -> None:
    out, summary = run
    files = _files(out)
    assert len(files) == summary.files and all(PATH.search(p.as_posix()) for p in files)
    for path in files:
        m = PATH.search(path.as_posix())
        assert m is not None
        folder_hour = dt.datetime.strptime(f"{m[2]} {m[3]}", "%Y-%m-%d %H")
        lines, stamps = _lines(path), []
        for raw in lines:
            if m[4] == "legacy":  # the old collector adds nothing
                assert b"received_at" not in raw
                continue
            found = re.search(rb'"received_at":"([^"]+)"}$', raw)  # the collector appends it last
            if found:
                assert ISO_MS_Z.match(found[1].decode())
                stamps.append(dt.datetime.strptime(found[1].decode(), "%Y-%m-%dT%H:%M:%S.%fZ"))
            else:  # only a line broken in transit lacks it
                assert not isinstance(_parse(raw), dict), raw[-80:]
        assert all(folder_hour <= s < folder_hour + dt.timedelta(hours=1) for s in stamps)
        # A collector closes the file seconds after its last line arrived; a re-delivery comes minutes later.
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)
        closed = dt.timedelta(seconds=700 if m[5] else 10)
        last = max(stamps) if len(stamps) == len(lines) else folder_hour + dt.timedelta(hours=1)
        assert folder_hour < mtime <= last + closed and (not stamps or max(stamps) < mtime)
    assert sum(summary.lines_by_platform.values()) == summary.lines


def test_expected_states_match_an_independent_reading_of_the_semantics(
        run: tuple[Path, GenerationSummary], catalog: Catalog) -> None:
    out, summary = run
    assert sum(summary.expected.values()) == summary.lines
    reference = _reference_states(out, catalog)
    assert {k: v for k, v in summary.expected.items() if v} == reference


def test_every_quirk_and_incident_is_injected(run: tuple[Path, GenerationSummary],
                                              records: list[Rec]) -> None:
    out, summary = run
    assert set(summary.quirks) == set(QUIRK_COUNTS)
    assert [k for k, v in summary.quirks.items() if v == 0] == []
    assert all(summary.expected[state] > 0 for state in summary.expected)
    raw = [line for path in _files(out) for line in _lines(path)]
    assert b"" in raw  # empty line
    assert any(b"\xff" in line for line in raw)  # invalid UTF-8
    assert any(line.count(b'{"') and b"}{" in line for line in raw)  # two objects on one line
    props = [r.obj.get("properties") or r.obj.get("props") or r.obj.get("attributes") or {}
             for r in records if isinstance(r.obj, dict)]
    assert {"email", "ip", "name", "phone"} <= {k for p in props for k in p}
    copies = [p for p in _files(out) if "-redelivered" in p.name]
    assert copies and all(p.read_bytes() == p.with_name(p.name.replace("-redelivered", "")).read_bytes()
                          for p in copies)
    web_types = Counter(r.obj.get("type") for r in records if r.platform == "web" and isinstance(r.obj, dict))
    assert web_types["page"] and web_types["identify"] and web_types["track"]
    actors = Counter((r.obj.get("actor") or {}).get("type") for r in records
                     if r.platform == "backend" and isinstance(r.obj, dict))
    assert actors["system"] and actors["user"] and actors[None]  # schema 1 has no actor


def test_payloads_follow_the_wire_formats(records: list[Rec], catalog: Catalog) -> None:
    by_id = catalog.by_id()
    legacy_of = {lid: f.id for f in catalog.features for lid in f.legacy_ids}
    names = {(f.area, f.name): f.id for f in catalog.features}
    seen: Counter[str] = Counter()
    for rec in records:
        obj, platform = rec.obj, rec.platform
        if not isinstance(obj, dict) or not _in_scope(platform, obj):
            continue
        values = _values(platform, obj)
        if any(_missing(v) for v in values[:5]) or values[4] in BAD_TIMES:
            continue  # a line broken on purpose: its own test covers it
        version, feature = _version(values[6]), values[3]
        if platform == "web":
            assert uuid.UUID(obj["messageId"]).version == 4 and obj["messageId"] == obj["messageId"].lower()
            assert obj["context"]["library"]["name"] == "nova-web"
            assert ISO_MS_Z.match(obj["originalTimestamp"]) and ISO_MS_Z.match(obj["sentAt"])
            if version < (4, 0):  # the display name, unique within its area
                seen["web display names"] += 1
                feature = names.get((obj["properties"]["area"], feature), feature)
            else:
                assert "area" not in obj["properties"]
        elif platform == "ios":
            assert uuid.UUID(obj["event_id"]).version == 4 and obj["event_id"] == obj["event_id"].upper()
            if version < (5, 0):
                seen["ios epoch seconds"] += 1
                assert isinstance(obj["ts"], float) and "sent_ts" not in obj
            else:
                assert isinstance(obj["ts"], int) and isinstance(obj["sent_ts"], int)
        elif platform == "android":
            if version < (4, 3):
                seen["android local time"] += 1
                assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", obj["timestamp"]) and "sentAt" not in obj
            else:
                assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$", obj["timestamp"])
                assert ISO_MS_Z.match(obj["sentAt"])
        else:
            assert obj["schema_version"] == (2 if "actor" in obj else 1)
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", obj["occurred_at"])
            seen[f"backend schema {obj['schema_version']}"] += 1
        if feature in legacy_of:  # renamed features keep their old id on old mobile apps only
            seen["legacy ids"] += 1
            assert platform in ("ios", "android") and version < (5, 0)
            feature = legacy_of[feature]
        if feature in by_id:
            assert platform in by_id[feature].platforms, (feature, platform)
    assert len(seen) == 6 and min(seen.values()) > 0, seen


def test_without_quirks_every_line_is_staged(tmp_path: Path, catalog: Catalog) -> None:
    summary = _run(tmp_path, catalog, events_per_day=2000, quirks=quirk_rates("none"))
    assert summary.expected["staged"] == summary.lines == summary.events
    assert sum(summary.quirks[k] for k in QUIRK_COUNTS if k not in ("skewed_clocks", "clock_ahead_devices",
                                                                     "uppercase_ids", "non_leaf_events")) == 0


def test_daily_and_weekly_cycles_are_visible(tmp_path: Path, catalog: Catalog) -> None:
    _run(tmp_path, catalog, days=7, events_per_day=3000, quirks=quirk_rates("none"))
    per_day: Counter[str] = Counter()
    per_hour: Counter[int] = Counter()
    for path in _files(tmp_path):
        m = PATH.search(path.as_posix())
        assert m is not None
        n = len(_lines(path))
        per_day[m[2]] += n
        per_hour[int(m[3])] += n
    days = [per_day[(START + dt.timedelta(days=i)).isoformat()] for i in range(7)]
    monday_to_wednesday, thanksgiving_day, weekend = days[:3], days[3], days[5:]
    assert max(weekend) < 0.5 * min(monday_to_wednesday)
    assert thanksgiving_day < 0.7 * min(monday_to_wednesday)
    night = sum(per_hour[h] for h in range(1, 5))
    afternoon = sum(per_hour[h] for h in range(13, 17))
    assert afternoon > 4 * night


def test_holidays_are_quiet() -> None:
    assert thanksgiving(2026) == dt.date(2026, 11, 26)
    regular = day_factor(dt.date(2026, 12, 23))  # a Wednesday
    assert day_factor(dt.date(2026, 12, 25)) < 0.2 * regular
    assert day_factor(dt.date(2027, 1, 1)) < 0.2 * regular
    assert day_factor(dt.date(2026, 11, 26)) < 0.6 * regular


def test_incidents_show_in_the_files(run: tuple[Path, GenerationSummary], records: list[Rec],
                                     catalog: Catalog) -> None:
    _, summary = run
    lines = Counter((r.platform, r.day, r.hour) for r in records)
    # iOS outage on the 23rd 10:00-13:00: those hours go quiet, the same hours the next day do not
    outage = sum(lines["ios", "2026-11-23", h] for h in (10, 11, 12))
    assert outage < 0.1 * sum(lines["ios", "2026-11-24", h] for h in (10, 11, 12))
    # bad android release on the 23rd 14:00-17:00 (share 0.6): most of its features are unknown
    known = {f.id for f in catalog.features} | {lid for f in catalog.features for lid in f.legacy_ids}
    window = [r.obj.get("featureId") for r in records if r.platform == "android" and r.day == "2026-11-23"
              and 14 <= r.hour < 17 and isinstance(r.obj, dict) and r.obj.get("eventName") == "feature_used"]
    assert sum(f not in known for f in window) > 0.4 * len(window)
    # backend duplicate storm on the 24th 15:00-17:00: retries pile up in those hours
    storm = Counter(r.obj.get("id") for r in records if r.platform == "backend" and r.day == "2026-11-24"
                    and 15 <= r.hour < 17 and isinstance(r.obj, dict))
    calm = Counter(r.obj.get("id") for r in records if r.platform == "backend" and r.day == "2026-11-23"
                   and 15 <= r.hour < 17 and isinstance(r.obj, dict))
    assert sum(storm.values()) - len(storm) > 5 * max(1, sum(calm.values()) - len(calm))
    # browser clock burst on the 24th 09:00-11:00: originalTimestamp hours away from received_at
    drift = [abs(_iso(r.obj["received_at"]) - _iso(r.obj["originalTimestamp"])) for r in records
             if r.platform == "web" and r.day == "2026-11-24" and r.hour in (9, 10) and isinstance(r.obj, dict)
             and isinstance(r.obj.get("originalTimestamp"), str) and r.obj["originalTimestamp"] not in BAD_TIMES]
    assert sum(d > dt.timedelta(minutes=50) for d in drift) > 0.3 * len(drift)
    assert min(summary.quirks[k] for k in ("outage_dropped", "bad_release_events", "clock_skew_burst",
                                           "storm_retries")) > 0


def test_incident_syntax() -> None:
    inc = Incident.parse("outage-ios:2026-11-24T10:4")
    assert (inc.kind, inc.platform, inc.start, inc.hours) == ("outage", "ios", dt.datetime(2026, 11, 24, 10), 4)
    inc = Incident.parse("bad_release:2026-11-25T08,platform=android,share=0.4")
    assert (inc.platform, inc.hours, inc.effective_share) == ("android", 4.0, 0.4)
    assert Incident.parse("duplicate_storm:2026-11-25").platform is None
    for bad in ("outage", "flood:2026-11-24", "outage-TV:2026-11-24", "outage:2026-11-24T10:4,colour=red",
                "clock_skew:2026-11-24,share=2"):
        with pytest.raises(ValueError):
            Incident.parse(bad)
    # a platform is any name; `generate` checks it against the registry's platforms
    tv = Incident.parse("outage-tv:2026-11-24")
    with pytest.raises(ValueError, match="incident platform tv: not a platform of the registry"):
        generate(GeneratorConfig(out=Path("/nonexistent"), incidents=[tv]))


def test_quirk_presets_and_overrides() -> None:
    assert set(quirk_rates("none").model_dump().values()) == {0.0}
    assert quirk_rates("2").retry == pytest.approx(2 * QuirkRates().retry)
    assert quirk_rates("realistic", {"retry": 0.5}).retry == 0.5
    for preset, overrides in (("loud", None), ("-1", None), ("low", {"nope": 0.1}), ("low", {"retry": 3.0})):
        with pytest.raises(ValueError):
            quirk_rates(preset, overrides)


def test_gzip_files_read_back_and_manifest_holds_the_truth(tmp_path: Path, catalog: Catalog) -> None:
    manifest = tmp_path / "truth.json"
    summary = _run(tmp_path / "landing", catalog, events_per_day=1500, gzip=True, manifest=manifest)
    files = _files(tmp_path / "landing")
    assert files and all(p.name.endswith(".jsonl.gz") for p in files)
    with gzip.open(files[0], "rb") as fh:  # any gzip reader will do
        assert fh.read().count(b"\n") == len(_lines(files[0]))
    assert sum(len(_lines(p)) for p in files) == summary.lines
    assert json.loads(manifest.read_text()) == summary.truth()


def test_activity_is_skewed_and_follows_the_platform_mix(run: tuple[Path, GenerationSummary],
                                                         records: list[Rec], catalog: Catalog) -> None:
    _, summary = run
    share = {p: n / summary.lines for p, n in summary.lines_by_platform.items()}
    assert share["web"] > 0.45 and min(share["ios"], share["android"], share["backend"]) > 0.07
    per_ws: Counter[Any] = Counter()
    per_feature: Counter[Any] = Counter()
    for r in records:
        if isinstance(r.obj, dict) and _in_scope(r.platform, r.obj):
            values = _values(r.platform, r.obj)
            per_ws[values[2]] += 1
            per_feature[values[3]] += 1
    top_ws = sum(n for _, n in per_ws.most_common(len(per_ws) // 10))
    assert top_ws > 0.3 * sum(per_ws.values())  # a tenth of the workspaces send a third of the events
    parents = {f.parent for f in catalog.features}
    inner = sum(n for f, n in per_feature.items() if f in parents)
    assert 0 < inner < 0.15 * sum(per_feature.values())  # mostly leaves, some events on parent ids


def _in_scope(platform: str, obj: dict[str, Any]) -> bool:
    return {"web": obj.get("type") == "track" and obj.get("event") in ("Feature Used", "feature_used"),
            "ios": obj.get("name") == "feature_used", "android": obj.get("eventName") == "feature_used",
            "backend": obj.get("type") == "feature.used" and _get(obj, "actor.type") != "system"}[platform]


def _values(platform: str, obj: dict[str, Any]) -> list[Any]:
    """The payload's event id, user, workspace, feature, client time, send time and app version."""
    return [next((v for p in key.split("|") if (v := _get(obj, p)) is not None), None) for key in KEYS[platform]]


def _version(value: Any) -> tuple[int, ...]:
    return tuple(int(x) for x in str(value or "0.0").split(".")[:2])


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _iso(value: Any) -> dt.datetime:
    t = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    if t is None:
        raise ValueError(value)
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


KEYS = {  # event id, user, workspace, feature, client time, send time, version (SEMANTICS step 3)
    "web": ("messageId", "userId", "properties.workspaceId", "properties.feature", "originalTimestamp", "sentAt",
            "context.library.version"),
    "ios": ("event_id", "user.id", "user.workspace_id", "feature_key", "ts", "sent_ts", "app.version"),
    "android": ("eventId", "userId", "workspaceId", "featureId", "timestamp", "sentAt", "appVersion"),
    "backend": ("id", "actor.user_id|user_id", "actor.workspace_id|workspace_id", "feature_id", "occurred_at",
                "-", "-"),
}
REASONS = ("missing_event_id", "missing_user_id", "missing_workspace_id", "missing_feature", "missing_timestamp")


def _reference_states(root: Path, catalog: Catalog) -> dict[str, int]:
    """SEMANTICS.md applied line by line with plain json and datetime: slow, simple, independent."""
    known = {f.id for f in catalog.features} | {lid for f in catalog.features for lid in f.legacy_ids}
    names = {(f.area, f.name) for f in catalog.features}
    out: Counter[str] = Counter()
    kept: list[str] = []
    for path in _files(root):
        platform = path.relative_to(root).parts[0].split("=")[1]
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)
        for raw in _lines(path):
            obj = _parse(raw)
            if not isinstance(obj, dict):  # rule 1: a JSON object or nothing
                out["invalid_json"] += 1
                continue
            if not _in_scope(platform, obj):
                out["ignored"] += 1
                continue
            values = _values(platform, obj)
            reason = next((r for v, r in zip(values, REASONS, strict=False) if _missing(v)), None)
            if reason:
                out[reason] += 1
                continue
            below = _version(values[6])
            if not (values[3] in known or (platform == "web" and below < (4, 0)
                                           and (_get(obj, "properties.area"), values[3]) in names)):
                out["unknown_feature"] += 1
                continue
            try:
                received = _iso(obj["received_at"]) if "received_at" in obj else mtime
                ts = values[4]
                if platform == "ios":
                    if isinstance(ts, bool) or not isinstance(ts, int | float):
                        raise ValueError(ts)
                    client = EPOCH + dt.timedelta(seconds=ts if below < (5, 0) else ts / 1000)
                else:
                    client = _iso(ts)
            except ValueError:
                out["invalid_timestamp"] += 1
                continue
            sent = values[5] if platform != "backend" else None
            if sent is not None:
                sent = EPOCH + dt.timedelta(milliseconds=sent) if platform == "ios" else _iso(sent)
            event_ts = received - (sent - client) if sent is not None else client
            event_ts = min(event_ts, received) if event_ts > received + dt.timedelta(minutes=5) else event_ts
            if received - event_ts > dt.timedelta(hours=72):
                out["too_late"] += 1
                continue
            kept.append(str(values[0]).strip().lower())
    out["staged"] = len(set(kept))
    out["duplicate"] = len(kept) - len(set(kept))
    return {k: v for k, v in out.items() if v}


def test_spike_multiplies_the_volume_of_its_platform_and_window(tmp_path: Path, catalog: Catalog) -> None:
    def web_hours(out: Path, incidents: list[Incident]) -> Counter[int]:
        _run(out, catalog, events_per_day=4000, quirks=quirk_rates("none"), incidents=incidents)
        per_hour: Counter[int] = Counter()
        for path in _files(out):
            m = PATH.search(path.as_posix())
            if m and m[1] == "web":
                per_hour[int(m[3])] += len(_lines(path))
        return per_hour

    calm = web_hours(tmp_path / "calm", [])
    spike = Incident.parse("spike-web:2026-11-23T10:3,factor=4")
    summary_hours = web_hours(tmp_path / "spike", [spike])
    inside = sum(summary_hours[h] for h in (10, 11, 12)) / sum(calm[h] for h in (10, 11, 12))
    outside = sum(summary_hours[h] for h in range(24) if h not in (10, 11, 12, 13)) / \
        sum(calm[h] for h in range(24) if h not in (10, 11, 12, 13))
    assert 3.4 < inside < 4.6
    assert 0.9 < outside < 1.1
    assert Incident.parse("spike:2026-11-23T10").effective_factor == 3.0
    with pytest.raises(ValueError):
        Incident.parse("spike:2026-11-23T10,factor=0.5")
