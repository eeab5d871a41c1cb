"""One day of traffic as numpy arrays: the client calls (`Rows`) and the lines that carry them (`Lines`).

A row is one payload as a client sent it; a line is one delivery of a row to the collector (a retry
delivers the same row again) or a line that is no payload at all (garbage, empty). Everything is
sampled with vectorised draws from a per-day random stream, so days are independent and the
whole run is reproducible from the seed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, fields

import numpy as np

from traffic.definition import BUILTIN_PLATFORMS, HOURLY, GeneratorConfig, Incident, IncidentKind, day_factor
from traffic.pools import SERVICES
from traffic.population import (
    ANDROID,
    BACKEND,
    IOS,
    NO_SEND_TIME,
    RELEASE_INDEX,
    SENDS_LEGACY,
    SENDS_NAMES,
    TZ_OFFSET_MS,
    WEB,
    FeatureModel,
    Population,
)

HOUR_MS = 3_600_000
# Row kinds: only FEATURE rows are feature usage; the others are out of scope downstream.
FEATURE, PAGE, IDENTIFY, OTHER_EVENT, SYSTEM = range(5)
# Row defects (at most one per row, so each row has one expected fate).
DEFECTS = (
    "none", "missing_event_id", "missing_user_id", "missing_workspace_id", "missing_feature",
    "missing_timestamp", "android_null_workspace", "unknown_feature", "invalid_timestamp",
)
D_NULL_WS, D_UNKNOWN, D_INVALID_TS = 6, 7, 8
# Feature string kinds: offset blocks in FeatureStrings.
F_ID, F_LEGACY, F_NAME, F_UNKNOWN = range(4)
# Line corruptions.
CORRUPTIONS = ("none", "truncated", "two_objects", "invalid_utf8", "garbage", "empty_line")
C_GARBAGE, C_EMPTY = 4, 5
V1_SERVICES = 2  # the first two of pools.SERVICES still send schema_version 1


@dataclass
class Rows:
    eid: np.ndarray  # identity shared by every copy of an event (dedup key)
    plat: np.ndarray
    kind: np.ndarray
    user: np.ndarray
    ws: np.ndarray
    feat: np.ndarray
    fstr: np.ndarray  # index into the feature strings (id, legacy id, name or unknown)
    ver: np.ndarray
    t_ms: np.ndarray  # true time of the event
    ct_us: np.ndarray  # client time as the pipeline reads it (occurred_at for backend)
    st_us: np.ndarray  # client send time as sent, -1 when the payload has none
    recv_ms: np.ndarray  # first arrival at the collector
    tz: np.ndarray
    id_hi: np.ndarray
    id_lo: np.ndarray
    defect: np.ndarray
    pii: np.ndarray
    old_coll: np.ndarray  # backend lines through the old collector (no received_at)
    service: np.ndarray
    misc: np.ndarray  # random bits choosing padding values

    def __len__(self) -> int:
        return len(self.eid)

    def take(self, idx: np.ndarray) -> Rows:
        return Rows(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        return Rows(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Rows)})


@dataclass
class Lines:
    row: np.ndarray  # -1 for lines that carry no payload (garbage, empty)
    recv_ms: np.ndarray
    plat: np.ndarray
    old_coll: np.ndarray
    corrupt: np.ndarray
    aux: np.ndarray  # random bits: truncation point, garbage choice


def _ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


def at_least_one(rng: np.random.Generator, hit: np.ndarray, eligible: np.ndarray, rate: float,
                 min_eligible: int = 500) -> np.ndarray:
    """A quirk with a rate > 0 shows up at least once on any day big enough for it to be expected,
    so a demo shows every quirk; tiny days are left alone rather than made entirely of quirks."""
    if rate > 0 and not hit.any():
        candidates = np.flatnonzero(eligible)
        if len(candidates) >= min_eligible:
            hit[candidates[rng.integers(len(candidates))]] = True
    return hit


def _loguniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


class DayTraffic:
    """Samples the rows and lines of one day; `counts` collects the injected quirks."""

    def __init__(self, config: GeneratorConfig, pop: Population, fm: FeatureModel, counts: Counter[str]):
        self.config, self.pop, self.fm, self.counts = config, pop, fm, counts
        self.q = config.quirks

    def _incident(self, kind: IncidentKind, t_ms: np.ndarray, plat: np.ndarray) -> list[tuple[np.ndarray, float]]:
        out = []
        for inc in self.config.incidents:
            if inc.kind == kind:
                out.extend(self._incident_of(inc, t_ms, plat))
        return out

    @staticmethod
    def _incident_of(inc: Incident, t_ms: np.ndarray, plat: np.ndarray) -> list[tuple[np.ndarray, float]]:
        lo, hi = inc.window_ms()
        mask = (t_ms >= lo) & (t_ms < hi)
        if inc.platform is not None:
            if inc.platform not in BUILTIN_PLATFORMS:
                return []  # a platform of the default profile: see traffic.generic
            mask &= plat == BUILTIN_PLATFORMS.index(inc.platform)
        return [(mask, inc.effective_share)]

    def rows(self, day: dt.date, day_index: int) -> Rows:
        cfg, q, pop, fm, counts = self.config, self.q, self.pop, self.fm, self.counts
        rng = np.random.default_rng([cfg.seed, 3, day.toordinal()])
        # platforms of the default profile (traffic.generic) take their share of the day
        mix, share = cfg.mix(), (cfg.builtin_share if cfg.other_platforms() else 1.0)
        n = round(cfg.daily_events * day_factor(day) * share) if share > 0 else 0
        share = share or 1.0
        hourly = np.asarray(HOURLY) / sum(HOURLY)
        t_ms = _ms(day) + rng.choice(24, n, p=hourly) * HOUR_MS + rng.integers(0, HOUR_MS, n)
        user = pop.sample_users(rng, n)
        groups = [mix[WEB] / share, (mix[IOS] + mix[ANDROID]) / share, mix[BACKEND] / share]
        group = rng.choice(3, n, p=groups if sum(groups) > 0 else [1.0, 0.0, 0.0])
        plat = np.where(group == 0, WEB, np.where(group == 2, BACKEND, np.where(pop.mobile_ios[user], IOS, ANDROID)))
        plat = plat.astype(np.int8)
        keep = np.ones(n, bool)
        for mask, share in self._incident(IncidentKind.outage, t_ms, plat):
            drop = mask & (rng.random(n) < share)
            counts["outage_dropped"] += int((drop & keep).sum())
            keep &= ~drop
        t_ms, user, plat = t_ms[keep], user[keep], plat[keep]
        for inc in self.config.incidents:
            if inc.kind != IncidentKind.spike:
                continue
            hit = self._incident_of(inc, t_ms, plat)
            if not hit:
                continue
            mask = hit[0][0]
            src = np.flatnonzero(mask)
            extra = inc.effective_factor - 1
            reps = np.floor(extra).astype(np.int64) + (rng.random(len(src)) < extra - np.floor(extra))
            src = np.repeat(src, reps)
            lo, hi = inc.window_ms()
            jitter = rng.integers(-HOUR_MS // 2, HOUR_MS // 2, len(src))
            t_ms = np.concatenate([t_ms, np.clip(t_ms[src] + jitter, lo, hi - 1)])
            user = np.concatenate([user, pop.sample_users(rng, len(src))])
            plat = np.concatenate([plat, plat[src]])
            counts["spike_added"] += len(src)
        order = np.argsort(t_ms, kind="stable")  # ids and files follow time, as a collector sees them
        t_ms, user, plat = t_ms[order], user[order], plat[order]
        n = len(t_ms)
        counts["events"] += n

        kind = self._kinds(rng, plat)
        fav = rng.random(n) < 0.3
        table = fm.table(day, q.non_leaf)
        trow = plat.astype(np.int64) * (len(fm.areas) + 1) + np.where(fav, pop.fav_area[user] + 1, 0)
        feat = fm.sample(table, trow, rng.random(n))
        ver = pop.version[np.minimum(plat, 2), user]
        ver = np.where(plat == BACKEND, 0, ver).astype(np.int8)
        is_feature = kind == FEATURE
        fcode = np.full(n, F_ID, np.int8)
        fcode[(plat == WEB) & SENDS_NAMES[np.where(plat == WEB, ver, 0)]] = F_NAME
        for p in (IOS, ANDROID):
            fcode[(plat == p) & SENDS_LEGACY[p][np.where(plat == p, ver, 0)] & fm.has_legacy[feat]] = F_LEGACY
        counts["non_leaf_events"] += int((is_feature & ~fm.is_leaf[feat]).sum())
        counts["legacy_ids"] += int((is_feature & (fcode == F_LEGACY)).sum())
        counts["display_names"] += int((is_feature & (fcode == F_NAME)).sum())

        defect, released = self._defects(rng, plat, is_feature, t_ms)
        # A bad release is one new app version: its lines carry it (backend has no app version).
        ver = np.where(released & (plat != BACKEND), np.asarray(RELEASE_INDEX, np.int8)[plat], ver).astype(np.int8)
        n_feat = len(fm.ids)
        fstr = fcode.astype(np.int32) * n_feat + feat
        unknown = defect == D_UNKNOWN
        fstr[unknown] = F_UNKNOWN * n_feat + rng.integers(0, len(fm.unknown), int(unknown.sum()))
        pii = at_least_one(rng, is_feature & (rng.random(n) < q.pii), is_feature, q.pii)
        counts["pii_properties"] += int(pii.sum())

        backend = plat == BACKEND
        v1 = at_least_one(rng, backend & (kind != SYSTEM) & (rng.random(n) < q.backend_schema_v1),
                           backend & (kind != SYSTEM), q.backend_schema_v1)
        service = np.where(v1, rng.integers(0, V1_SERVICES, n), rng.integers(V1_SERVICES, len(SERVICES), n))
        service = service.astype(np.int8)
        old_coll = at_least_one(rng, backend & (rng.random(n) < q.old_collector), backend, q.old_collector)
        counts["schema_v1"] += int(v1.sum())

        ct_us, st_us, recv_ms, tz = self._times(rng, t_ms, plat, user, ver, is_feature)
        id_hi = rng.integers(0, 2**64, n, dtype=np.uint64)
        id_lo = rng.integers(0, 2**64, n, dtype=np.uint64)
        id_hi = (id_hi & ~np.uint64(0xF000)) | np.uint64(0x4000)  # UUID version 4
        id_lo = (id_lo & np.uint64(0x3FFF_FFFF_FFFF_FFFF)) | np.uint64(0x8000_0000_0000_0000)  # RFC 4122 variant
        rows = Rows(
            eid=(np.int64(day_index) << 32) + np.arange(n, dtype=np.int64),
            plat=plat, kind=kind, user=user, ws=pop.sample_workspaces(rng, user), feat=feat, fstr=fstr,
            ver=ver, t_ms=t_ms, ct_us=ct_us, st_us=st_us, recv_ms=recv_ms, tz=tz, id_hi=id_hi, id_lo=id_lo,
            defect=defect, pii=pii, old_coll=old_coll, service=service,
            misc=rng.integers(0, 2**62, n, dtype=np.int64),
        )
        return self._resends(rng, rows)

    def _kinds(self, rng: np.random.Generator, plat: np.ndarray) -> np.ndarray:
        q, n = self.q, len(plat)
        u = rng.random(n)
        kind = np.full(n, FEATURE, np.int8)
        web, backend = plat == WEB, plat == BACKEND
        kind[web & (u < q.page_view)] = PAGE
        kind[web & (u >= q.page_view) & (u < q.page_view + q.identify)] = IDENTIFY
        web_other = web & (u >= q.page_view + q.identify) & (u < q.page_view + q.identify + q.other_event)
        kind[web_other | (~web & ~backend & (u < q.other_event))] = OTHER_EVENT
        kind[backend & (u < q.system_actor)] = SYSTEM
        kind[backend & (u >= q.system_actor) & (u < q.system_actor + q.other_event)] = OTHER_EVENT
        for k, rate, eligible in (
            (PAGE, q.page_view, web), (IDENTIFY, q.identify, web),
            (SYSTEM, q.system_actor, backend), (OTHER_EVENT, q.other_event, kind == FEATURE),
        ):
            hit = at_least_one(rng, kind == k, eligible & (kind == FEATURE), rate)
            kind[hit] = k
        for k, name in ((PAGE, "page_views"), (IDENTIFY, "identify_calls"), (OTHER_EVENT, "other_events"),
                        (SYSTEM, "system_actors")):
            self.counts[name] += int((kind == k).sum())
        return kind

    def _defects(self, rng: np.random.Generator, plat: np.ndarray, is_feature: np.ndarray,
                 t_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """At most one contract violation per feature row, each at its own rate; also the rows
        sent by a bad release."""
        q, n = self.q, len(plat)
        rates = [q.missing_key / 5] * 5 + [q.android_null_workspace, q.unknown_feature, q.invalid_timestamp]
        u = rng.random(n)
        defect = np.zeros(n, np.int8)
        edges = np.cumsum([0.0, *rates])
        scale = max(1.0, edges[-1] / 0.5)  # keep at least half of the rows clean at any preset
        for d, rate in enumerate(rates, start=1):
            eligible = is_feature & (plat == ANDROID) if d == D_NULL_WS else is_feature
            hit = eligible & (u >= edges[d - 1] / scale) & (u < edges[d] / scale)
            defect[at_least_one(rng, hit, eligible & (defect == 0), rate)] = d
        released = np.zeros(n, bool)
        for mask, share in self._incident(IncidentKind.bad_release, t_ms, plat):
            bad = mask & is_feature & (defect == 0) & (rng.random(n) < share)
            self.counts["bad_release_events"] += int(bad.sum())
            defect[bad] = D_UNKNOWN
            released |= bad
        for d, name in enumerate(DEFECTS[1:], start=1):
            self.counts[name if d != D_UNKNOWN else "unknown_features"] += int((defect == d).sum())
        return defect, released

    def _times(self, rng: np.random.Generator, t_ms: np.ndarray, plat: np.ndarray, user: np.ndarray,
               ver: np.ndarray, is_feature: np.ndarray) -> tuple[np.ndarray, ...]:
        """Client clock, send time and arrival: skew, batching, offline flushes, network latency."""
        q, pop, counts, n = self.q, self.pop, self.counts, len(t_ms)
        client = plat != BACKEND
        skew = np.where(plat == WEB, pop.web_skew_ms[user], pop.mobile_skew_ms[user])
        skew = np.where(client, skew, 0)
        for mask, share in self._incident(IncidentKind.clock_skew, t_ms, plat):
            burst = mask & client & (rng.random(n) < share)
            sign = np.where(rng.random(n) < 0.5, -1, 1)
            skew = skew + np.where(burst, sign * rng.uniform(1, 8, n) * HOUR_MS, 0).astype(np.int64)
            counts["clock_skew_burst"] += int(burst.sum())
        counts["skewed_clocks"] += int((client & (np.abs(skew) > 5 * 60_000)).sum())
        counts["clock_ahead_devices"] += int((client & (skew > 5 * 60_000)).sum())
        delay = np.where(plat == WEB, 200 + rng.exponential(3000, n),
                         np.where(client, 500 + rng.exponential(8000, n), 20 + rng.exponential(300, n)))
        u = rng.random(n)
        late = at_least_one(rng, client & (u < q.late_flush), client, q.late_flush)
        too_late = at_least_one(rng, client & ~late & (u >= q.late_flush) & (u < q.late_flush + q.too_late),
                                 client & ~late & is_feature, q.too_late)
        delay[late] = _loguniform(rng, 1, 60, int(late.sum())) * HOUR_MS
        delay[too_late] = rng.uniform(73, 192, int(too_late.sum())) * HOUR_MS
        counts["late_flushes"] += int(late.sum())
        counts["too_late_flushes"] += int(too_late.sum())
        delay = delay.astype(np.int64)
        recv_ms = t_ms + delay + (30 + rng.exponential(150, n)).astype(np.int64)
        client_ms = t_ms + skew
        sent_ms = client_ms + delay
        tz = pop.tz[user]
        ct_us = client_ms * 1000
        offsetless = (plat == ANDROID) & NO_SEND_TIME[ANDROID][np.where(plat == ANDROID, ver, 0)]
        # Old android writes the local wall clock without offset, to the second; it is read as UTC.
        ct_us[offsetless] = (client_ms[offsetless] + TZ_OFFSET_MS[tz[offsetless]]) // 1000 * 1_000_000
        backend = plat == BACKEND
        ct_us[backend] = t_ms[backend] * 1000 + rng.integers(0, 1000, int(backend.sum()))
        no_sent = np.zeros(n, bool)
        for p in range(4):
            no_sent |= (plat == p) & NO_SEND_TIME[p][np.where(plat == p, ver, 0)]
        st_us = np.where(no_sent, -1, sent_ms * 1000)
        counts["epoch_seconds"] += int(((plat == IOS) & no_sent).sum())
        counts["offsetless_timestamps"] += int(offsetless.sum())
        return ct_us, st_us, recv_ms, tz

    def _resends(self, rng: np.random.Generator, rows: Rows) -> Rows:
        """iOS offline queues deliver an event again, same event_id, hours or days later."""
        q = self.q
        eligible = (rows.plat == IOS) & (rows.kind == FEATURE)
        pick = at_least_one(rng, eligible & (rng.random(len(rows)) < q.offline_resend), eligible, q.offline_resend)
        again = rows.take(np.flatnonzero(pick))
        delay = (_loguniform(rng, 0.5, 96, len(again)) * HOUR_MS).astype(np.int64)
        again.recv_ms = again.recv_ms + delay
        again.st_us = np.where(again.st_us >= 0, again.st_us + delay * 1000, -1)
        self.counts["offline_resends"] += len(again)
        return Rows.concat([rows, again])

    def lines(self, rows: Rows, day: dt.date) -> Lines:
        """Deliveries: each row once, retries and storms again, plus corrupt and empty lines."""
        q, counts = self.q, self.counts
        rng = np.random.default_rng([self.config.seed, 4, day.toordinal()])
        n = len(rows)
        every = np.ones(n, bool)
        copies = at_least_one(rng, rng.random(n) < q.retry, every, q.retry).astype(np.int64)
        counts["retries"] += int(copies.sum())
        for mask, share in self._incident(IncidentKind.duplicate_storm, rows.t_ms, rows.plat):
            storm = mask & (rng.random(n) < share)
            extra = np.where(storm, rng.integers(1, 6, n), 0)
            counts["storm_retries"] += int(extra.sum())
            copies += extra
        row = np.concatenate([np.arange(n), np.repeat(np.arange(n), copies)])
        m = len(row) - n
        # Most retries follow within seconds (same file), some after minutes (another file or hour).
        delay = np.where(rng.random(m) < 0.7, rng.uniform(500, 30_000, m), rng.uniform(60_000, 1_200_000, m))
        recv = np.concatenate([rows.recv_ms, rows.recv_ms[row[n:]] + delay.astype(np.int64)])
        total = len(row)
        u = rng.random(total)
        corrupt = np.zeros(total, np.int8)
        edges = np.cumsum([0.0, q.truncated, q.two_objects, q.invalid_utf8])
        for c in (1, 2, 3):
            rate = edges[c] - edges[c - 1]
            corrupt[at_least_one(rng, (u >= edges[c - 1]) & (u < edges[c]), corrupt == 0, rate)] = c
        extra_kinds = [(C_GARBAGE, q.garbage), (C_EMPTY, q.empty_line)]
        extra = [np.full(max(int(rate > 0 and total >= 500), rng.binomial(total, rate)), c, np.int8)
                 for c, rate in extra_kinds]
        n_extra = sum(len(e) for e in extra)
        near = rng.integers(0, max(total, 1), n_extra)  # an extra line arrives beside a real one
        row = np.concatenate([row, np.full(n_extra, -1)]).astype(np.int32)
        for c, name in enumerate(CORRUPTIONS[1:4], start=1):
            counts[name] += int((corrupt == c).sum())
        counts["garbage"] += len(extra[0])
        counts["empty_line"] += len(extra[1])
        source = np.concatenate([row[:total], row[near]])  # extra lines land in their neighbour's file
        return Lines(
            row=row,
            recv_ms=np.concatenate([recv, recv[near]]),
            plat=rows.plat[source],
            old_coll=rows.old_coll[source],
            corrupt=np.concatenate([corrupt, *extra]),
            aux=rng.integers(0, 2**31, total + n_extra, dtype=np.int64),
        )
