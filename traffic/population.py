"""Who sends events and what they use: users, workspaces, app versions and feature popularity.

Everything is a numpy array indexed by user (or feature) so a day of traffic is sampled with a
handful of vectorised draws instead of per-event Python objects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from contracts.model import Catalog
from traffic.definition import BUILTIN_PLATFORMS, GeneratorConfig

WEB, IOS, ANDROID, BACKEND = range(4)

# (version, old-format flags). Shares inside a bucket are fixed; bucket shares are quirk rates.
# web: SDK < 4.0 sends display names + properties.area.
WEB_VERSIONS = (("4.2.0", 0.55), ("4.1.3", 0.30), ("4.0.1", 0.15)), (("3.9.2", 0.6), ("3.4.0", 0.4))
# ios: < 5.0 sends ts in epoch seconds (float), no sent_ts, legacy ids.
IOS_VERSIONS = (("5.1.2", 0.5), ("5.0.4", 0.35), ("5.0.0", 0.15)), (("4.9.1", 0.6), ("4.7.0", 0.4))
# android: 4.3-4.x sends legacy ids; < 4.3 also local time without offset and no sentAt.
ANDROID_VERSIONS = (
    (("5.1.2", 0.5), ("5.0.3", 0.5)),
    (("4.5.0", 0.6), ("4.3.1", 0.4)),
    (("4.2.0", 0.7), ("3.8.4", 0.3)),
)
# The release a bad_release incident ships: no user runs it otherwise, so its lines are the bad
# ones and the alert's likely cause can name it. Last in each tuple: never drawn for a user.
RELEASE_VERSIONS = ("4.3.0", "5.2.0", "5.2.0", "")
VERSION_STRINGS: tuple[tuple[str, ...], ...] = (
    (*(v for bucket in WEB_VERSIONS for v, _ in bucket), RELEASE_VERSIONS[WEB]),
    (*(v for bucket in IOS_VERSIONS for v, _ in bucket), RELEASE_VERSIONS[IOS]),
    (*(v for bucket in ANDROID_VERSIONS for v, _ in bucket), RELEASE_VERSIONS[ANDROID]),
    ("",),
)
RELEASE_INDEX = tuple(len(v) - 1 for v in VERSION_STRINGS)


def _below(version: str, limit: tuple[int, int]) -> bool:
    major, minor = (int(x) for x in version.split(".")[:2])
    return (major, minor) < limit


# Per platform, per version index: which old behaviour applies (indexed like VERSION_STRINGS).
SENDS_NAMES = np.array([_below(v, (4, 0)) for v in VERSION_STRINGS[WEB]])
SENDS_LEGACY = [np.zeros(len(VERSION_STRINGS[WEB]), bool)] + [
    np.array([_below(v, (5, 0)) for v in VERSION_STRINGS[p]]) for p in (IOS, ANDROID)
] + [np.zeros(1, bool)]
NO_SEND_TIME = [
    np.zeros(len(VERSION_STRINGS[WEB]), bool),
    np.array([_below(v, (5, 0)) for v in VERSION_STRINGS[IOS]]),  # also: ts in seconds
    np.array([_below(v, (4, 3)) for v in VERSION_STRINGS[ANDROID]]),  # also: no UTC offset
    np.ones(1, bool),  # server clock, nothing to correct
]

# (IANA name, UTC offset in minutes, share of users): used for android offsets and web context.
TIMEZONES = (
    ("America/New_York", -300, 0.17), ("America/Chicago", -360, 0.06), ("America/Los_Angeles", -480, 0.10),
    ("America/Sao_Paulo", -180, 0.04), ("Europe/London", 0, 0.10), ("Europe/Berlin", 60, 0.16),
    ("Europe/Paris", 60, 0.08), ("Europe/Helsinki", 120, 0.03), ("Asia/Kolkata", 330, 0.08),
    ("Asia/Singapore", 480, 0.06), ("Asia/Tokyo", 540, 0.05), ("Australia/Sydney", 660, 0.04),
    ("UTC", 0, 0.03),
)
TZ_OFFSET_MS = np.array([m * 60_000 for _, m, _ in TIMEZONES], dtype=np.int64)
SECONDARY_WORKSPACE_SHARE = 0.12  # users who also work in 1-3 other workspaces


def _pick(rng: np.random.Generator, n: int, weights: list[float]) -> np.ndarray:
    p = np.asarray(weights, float)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int8)


def _versions(rng: np.random.Generator, n: int, buckets: tuple, shares: list[float]) -> np.ndarray:
    """A version index per user: bucket by quirk share (first bucket takes the rest), then version."""
    rest = max(0.0, 1.0 - sum(shares))
    weights: list[float] = []
    for bucket, share in zip(buckets, [rest, *shares], strict=True):
        weights += [share * w for _, w in bucket]
    if sum(weights) <= 0:  # every old share at 1.0 would leave nothing; keep the newest version
        weights[0] = 1.0
    return _pick(rng, n, weights)


def _ios_share(config: GeneratorConfig) -> float:
    """Each user has one phone: iPhones among phones follow the ios/android platform mix."""
    mix = config.mix()
    mobile = mix[IOS] + mix[ANDROID]
    return mix[IOS] / mobile if mobile > 0 else 0.0


@dataclass(frozen=True)
class Population:
    """Users (one main workspace, some in several), their devices, versions and clocks."""

    n_users: int
    n_workspaces: int
    user_cdf: np.ndarray  # cumulative activity share, for searchsorted sampling
    ws_slots: np.ndarray  # (n_users, 4) workspace ids; slot 0 is the main one
    ws_count: np.ndarray  # how many slots are used
    ws_plan: np.ndarray  # plan index per workspace
    mobile_ios: np.ndarray  # the user's phone is an iPhone (else android)
    version: np.ndarray  # (4, n_users) version index per platform
    tz: np.ndarray  # timezone index
    web_skew_ms: np.ndarray  # browser clock error
    mobile_skew_ms: np.ndarray  # phone clock error
    fav_area: np.ndarray  # area a user leans towards
    profile: np.ndarray  # device/browser profile index (formats.py pools)

    @classmethod
    def build(cls, config: GeneratorConfig, n_areas: int) -> Population:
        rng = np.random.default_rng([config.seed, 1])
        q = config.quirks
        n, n_ws = config.n_users, config.n_workspaces
        # Workspace sizes are Zipf-like: a few very large customers, a long tail of small teams.
        ranks = np.arange(1, n_ws + 1, dtype=float)
        ws_weight = 1.0 / ranks**1.1
        ws_order = rng.permutation(n_ws)  # ids do not reveal size
        main = ws_order[np.searchsorted(np.cumsum(ws_weight) / ws_weight.sum(), rng.random(n))]
        main = np.minimum(main, n_ws - 1)
        slots = np.repeat(main[:, None], 4, axis=1).astype(np.int32)
        count = np.ones(n, np.int8)
        multi = rng.random(n) < SECONDARY_WORKSPACE_SHARE
        extra = rng.integers(1, 4, n)
        for k in (1, 2, 3):
            take = multi & (extra >= k)
            slots[take, k] = rng.integers(0, n_ws, int(take.sum()))
            count[take] += 1
        # Heavy-tailed activity: lognormal per user, times an engagement factor of the workspace.
        engagement = rng.lognormal(0.0, 0.5, n_ws)
        activity = rng.lognormal(0.0, 1.3, n) * engagement[main]
        cdf = np.cumsum(activity)
        version = np.zeros((4, n), np.int8)
        version[WEB] = _versions(rng, n, WEB_VERSIONS, [q.web_sdk_below_4])
        version[IOS] = _versions(rng, n, IOS_VERSIONS, [q.ios_below_5])
        version[ANDROID] = _versions(rng, n, ANDROID_VERSIONS, [q.android_below_5, q.android_below_4_3])
        base_jitter = rng.normal(0, 1500, (2, n))  # every clock is a second or two off
        web_skew = base_jitter[0].copy()
        mobile_skew = base_jitter[1].copy()
        hours_off = rng.random(n) < q.clock_skew
        sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        web_skew[hours_off] += sign[hours_off] * rng.uniform(1, 14, int(hours_off.sum())) * 3_600_000
        mobile_off = rng.random(n) < q.clock_skew / 3
        mobile_skew[mobile_off] += sign[mobile_off] * rng.uniform(1, 10, int(mobile_off.sum())) * 3_600_000
        ahead = rng.random((2, n)) < np.array([[q.clock_ahead / 2], [q.clock_ahead]])
        web_skew[ahead[0]] += rng.uniform(6, 180, int(ahead[0].sum())) * 60_000
        mobile_skew[ahead[1]] += rng.uniform(6, 180, int(ahead[1].sum())) * 60_000
        return cls(
            n_users=n,
            n_workspaces=n_ws,
            user_cdf=cdf / cdf[-1],
            ws_slots=slots,
            ws_count=count,
            ws_plan=_pick(rng, n_ws, [0.35, 0.40, 0.20, 0.05]),
            mobile_ios=rng.random(n) < _ios_share(config),
            version=version,
            tz=_pick(rng, n, [w for _, _, w in TIMEZONES]),
            web_skew_ms=web_skew.astype(np.int64),
            mobile_skew_ms=mobile_skew.astype(np.int64),
            fav_area=rng.integers(0, n_areas, n).astype(np.int8),
            profile=rng.integers(0, 1 << 15, n).astype(np.int16),
        )

    def sample_users(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.user_cdf, rng.random(n)), self.n_users - 1).astype(np.int32)

    def sample_workspaces(self, rng: np.random.Generator, users: np.ndarray) -> np.ndarray:
        """Mostly the main workspace; members of several spread a fifth of their use over the others."""
        count = self.ws_count[users]
        other = rng.random(len(users)) < 0.2
        slot = np.where(other & (count > 1), 1 + (rng.random(len(users)) * (count - 1)).astype(np.int64), 0)
        return self.ws_slots[users, slot]


@dataclass(frozen=True)
class FeatureModel:
    """The catalog as arrays, with a popularity that follows the hierarchy."""

    ids: list[str]
    names: list[str]
    legacy: list[str]  # the legacy id old mobile versions send, else the id
    areas: list[str]
    area_of: np.ndarray
    has_legacy: np.ndarray
    is_leaf: np.ndarray
    on_platform: np.ndarray  # (4, n_features)
    introduced: np.ndarray  # date ordinal
    weight: np.ndarray  # popularity of a feature among leaves / among non-leaves (see table)
    unknown: list[str]  # ids an instrumentation bug could send

    @classmethod
    def build(cls, catalog: Catalog, seed: int) -> FeatureModel:
        rng = np.random.default_rng([seed, 2])
        feats = catalog.features
        ids = [f.id for f in feats]
        index = {fid: i for i, fid in enumerate(ids)}
        parents = {f.parent for f in feats if f.parent}
        areas = [f.id for f in feats if f.parent is None]
        children: dict[str | None, list[int]] = {}
        for i, f in enumerate(feats):
            children.setdefault(f.parent, []).append(i)
        # Zipf at each level: popular areas, popular sub-areas inside them, popular leaves inside those.
        weight = np.zeros(len(feats))

        def spread(node: str | None, mass: float) -> None:
            kids = children.get(node, [])
            if not kids:
                return
            w = 1.0 / np.arange(1, len(kids) + 1) ** 0.9 * rng.lognormal(0, 0.35, len(kids))
            for k, share in zip(kids, w / w.sum(), strict=True):
                weight[k] = mass * share
                spread(ids[k], mass * share)

        spread(None, 1.0)
        status_factor = {"active": 1.0, "beta": 0.5, "deprecated": 0.3}
        weight *= np.array([status_factor[f.status.value] for f in feats])
        known = set(ids) | {lid for f in feats for lid in f.legacy_ids}
        return cls(
            ids=ids,
            names=[f.name for f in feats],
            legacy=[f.legacy_ids[0] if f.legacy_ids else f.id for f in feats],
            areas=areas,
            area_of=np.array([areas.index(f.area) for f in feats], np.int16),
            has_legacy=np.array([bool(f.legacy_ids) for f in feats]),
            is_leaf=np.array([f.id not in parents for f in feats]),
            on_platform=np.array([[p in f.platforms for f in feats] for p in BUILTIN_PLATFORMS]),
            introduced=np.array([f.introduced_on.toordinal() for f in feats]),
            weight=weight,
            unknown=_unknown_ids(ids, known, index, rng),
        )

    def table(self, day: dt.date, non_leaf: float) -> np.ndarray:
        """Cumulative distributions, one row per (platform, area or -1 for all) = 4 * (areas + 1).

        Rows are offset by their row number so a single searchsorted on the flattened table
        samples every event from its own row (value = row + uniform).
        """
        n_areas = len(self.areas)
        age = day.toordinal() - self.introduced
        live = np.where(age < 0, 0.0, np.clip((age + 1) / 30.0, 0.05, 1.0))  # new features ramp up
        base = self.weight * live
        leaf_mass = np.where(self.is_leaf, base, 0.0)
        inner_mass = np.where(self.is_leaf, 0.0, base)
        rows = np.zeros((4, n_areas + 1, len(self.ids)))
        for p in range(4):
            for a in range(-1, n_areas):
                keep = self.on_platform[p] & ((self.area_of == a) if a >= 0 else True)
                leaf = np.where(keep, leaf_mass, 0.0)
                inner = np.where(keep, inner_mass, 0.0)
                if leaf.sum() <= 0 and inner.sum() <= 0:
                    continue
                w = _norm(leaf) * (1.0 - non_leaf) + _norm(inner) * non_leaf
                rows[p, a + 1] = _norm(w if w.sum() > 0 else leaf + inner)
        empty = rows.sum(axis=2) == 0
        rows[empty] = np.broadcast_to(rows[:, :1], rows.shape)[empty]  # area absent: use the platform's mix
        cdf = np.cumsum(rows.reshape(-1, len(self.ids)), axis=1)
        cdf[:, -1] = 1.0
        return (cdf + np.arange(cdf.shape[0])[:, None]).ravel()

    def sample(self, table: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
        n = len(self.ids)
        flat = np.searchsorted(table, row + u, side="right")
        return np.clip(flat - row * n, 0, n - 1).astype(np.int16)


def _norm(w: np.ndarray) -> np.ndarray:
    s = w.sum()
    return w / s if s > 0 else w


def _unknown_ids(ids: list[str], known: set[str], index: dict[str, int], rng: np.random.Generator) -> list[str]:
    """Plausible wrong ids: typos, renamed-without-catalog, invented experiments."""
    out: list[str] = []
    for i in rng.choice(len(ids), size=40, replace=False):
        fid = ids[int(i)]
        head, _, last = fid.rpartition(".")
        variants = [
            f"{fid}_v2",
            f"{head}.{last[:-1]}" if head and len(last) > 3 else f"{fid}s",
            fid.replace("_", ""),
            f"{fid.split('.')[0]}.experimental.{last}",
        ]
        out.append(variants[int(rng.integers(len(variants)))])
    out += ["labs.smart_compose", "editor.ai_assist.autocomplete", "undefined", "Feature Used"]
    return sorted({u for u in out if u not in known and u not in index})
