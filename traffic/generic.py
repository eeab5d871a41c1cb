"""The default traffic profile: clean events for a platform the generator has no SDK profile for.

A platform is a contract file, so a new one (a desktop app, a partner API) has no quirks the
generator knows. Its events are built from the contract itself: every canonical key written at the
first path of its mapping in the mapping's time format, the scope conditions met, the other
required payload fields filled by type. Users, workspaces, features and the daily and hourly
cycles come from the same population as the built-in platforms. Every line is expected to stage.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from contracts.model import FieldType, PlatformContract, TimeFormat
from traffic.definition import HOURLY, GeneratorConfig, day_factor
from traffic.population import FeatureModel, Population

HOUR_MS = 3_600_000
APP_VERSION = "1.0.0"


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    doc.setdefault(leaf, value)


def _time(ms: int, fmt: TimeFormat | None) -> Any:
    if fmt is TimeFormat.epoch_ms:
        return ms
    if fmt is TimeFormat.epoch_s:
        return round(ms / 1000, 3)
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _filler(types: tuple[FieldType, ...], enum: list[str] | None) -> Any:
    if enum:
        return enum[0]
    first = types[0]
    return {FieldType.string: "x", FieldType.integer: 0, FieldType.number: 0, FieldType.boolean: False,
            FieldType.object: {}, FieldType.array: []}[first]


def render_event(c: PlatformContract, event_id: str, user: str, workspace: str, feature: str,
                 client_ms: int, sent_ms: int) -> dict[str, Any]:
    """One feature-usage payload of contract `c` (no received_at: the collector adds it)."""
    doc: dict[str, Any] = {}
    for cond in c.scope:
        if cond.equals is not None:
            _put(doc, cond.path, cond.equals)
        elif cond.in_:
            _put(doc, cond.path, cond.in_[0])
    values = {"event_id": event_id, "user_id": user, "workspace_id": workspace, "feature": feature,
              "action": "used", "app_version": APP_VERSION, "properties": {}}
    times = {"client_ts": client_ms, "sent_at": sent_ms}
    for name, m in c.mapping.items():
        path = m.from_[0]
        if name in values:
            _put(doc, path, values[name])
        elif name in times and not (name == "sent_at" and c.trusted_clock):
            _put(doc, path, _time(times[name], m.format))
    for path, f in c.payload.items():
        if f.required:
            _put(doc, path, _filler(f.types, f.enum))
    return doc


class GenericPlatform:
    """Rows of one day for a platform of the default profile, as landing files."""

    def __init__(self, contract: PlatformContract, share: float, config: GeneratorConfig, pop: Population,
                 fm: FeatureModel, listed: np.ndarray):
        self.c, self.share, self.config, self.pop, self.fm = contract, share, config, pop, fm
        # features the catalog lists for the platform, else every feature (a platform new to the catalog)
        self.features = np.flatnonzero(listed) if listed.any() else np.arange(len(fm.ids))

    def day(self, day: dt.date) -> list[tuple[int, str]]:
        """(received ms, line) pairs of one day, in arrival order."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, 11, day.toordinal(), *self.c.platform.encode()])
        n = round(cfg.daily_events * day_factor(day) * self.share)
        start = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
        hourly = np.asarray(HOURLY) / sum(HOURLY)
        t_ms = np.sort(start + rng.choice(24, n, p=hourly) * HOUR_MS + rng.integers(0, HOUR_MS, n))
        users = self.pop.sample_users(rng, n)
        workspaces = self.pop.sample_workspaces(rng, users)
        weights = self.fm.weight[self.features]
        feats = self.features[rng.choice(len(self.features), n, p=weights / weights.sum())]
        delay = (200 + rng.exponential(2000, n)).astype(np.int64)
        ids = rng.integers(0, 2**63, (n, 2), dtype=np.int64)
        out = []
        for i in range(n):
            eid = f"{self.c.platform}-{day:%Y%m%d}-{ids[i, 0]:016x}{ids[i, 1]:016x}"
            doc = render_event(self.c, eid, f"u_{int(users[i]):07d}", f"ws_{int(workspaces[i]):06d}",
                               self.fm.ids[int(feats[i])], int(t_ms[i]), int(t_ms[i] + delay[i]))
            recv = int(t_ms[i] + delay[i] + 50)
            doc["received_at"] = _time(recv, TimeFormat.iso8601)
            out.append((recv, json.dumps(doc, separators=(",", ":"))))
        return out

    def files(self, day: dt.date, tag: str, suffix: str) -> list[tuple[Path, bytes, int, int, list[int]]]:
        """(path, bytes, lines, mtime seconds, [first, last received ms]) of one day: one file per hour
        of arrival."""
        by_hour: dict[int, list[tuple[int, str]]] = {}
        for recv, line in self.day(day):
            by_hour.setdefault(recv // HOUR_MS, []).append((recv, line))
        out = []
        for hour, arrivals in sorted(by_hour.items()):
            items = sorted(arrivals)  # in order of arrival, as a collector writes them
            when = dt.datetime.fromtimestamp(hour * 3600, dt.UTC)
            folder = Path(self.config.out) / f"platform={self.c.platform}" / f"dt={when:%Y-%m-%d}" / f"hour={when:%H}"
            step = self.config.max_lines_per_file
            for seq, i in enumerate(range(0, len(items), step)):
                chunk = items[i:i + step]
                data = ("\n".join(line for _, line in chunk) + "\n").encode()
                mtime = (max(r for r, _ in chunk) + 999) // 1000 + 2
                out.append((folder / f"events-{tag}-{seq:04d}{suffix}", data, len(chunk), mtime,
                            [chunk[0][0], chunk[-1][0]]))
        return out
