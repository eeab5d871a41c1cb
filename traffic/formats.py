"""Rows rendered as the payloads of WIRE_FORMATS.md, from the templates in `templates.py`.

Templates are filled from whole columns at once (numpy gathers, then `tmpl % tuple` in a list
comprehension): far cheaper than building dicts and json.dumps per event. Every fragment is ASCII
(non-ASCII is \\u-escaped as JSON allows) because encoding a pure-ASCII str is a memcpy. The rare
rows that break the contract are patched afterwards through json (`mutate`).
"""

from __future__ import annotations

import json

import numpy as np

from traffic import pools
from traffic import templates as t
from traffic.population import (
    ANDROID,
    BACKEND,
    IOS,
    NO_SEND_TIME,
    SENDS_NAMES,
    TIMEZONES,
    TZ_OFFSET_MS,
    VERSION_STRINGS,
    WEB,
    FeatureModel,
    Population,
)
from traffic.templates import (
    ANDROID_EVENT,
    BACKEND_EVENT,
    IOS_EVENT,
    SYSTEM_ACTOR,
    V1_ACTOR,
    V2_ACTOR,
    WEB_IDENTIFY,
    WEB_PAGE,
    WEB_TRACK,
)
from traffic.traffic import (
    D_INVALID_TS,
    D_NULL_WS,
    D_UNKNOWN,
    IDENTIFY,
    OTHER_EVENT,
    PAGE,
    SYSTEM,
    V1_SERVICES,
    Rows,
)

_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
_HEX_UP = np.frombuffer(b"0123456789ABCDEF", np.uint8)
_B32 = np.frombuffer(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", np.uint8)  # Crockford, as in ULIDs
_NIBBLES = np.arange(60, -4, -4, dtype=np.uint64)
_UUID_GROUPS = ((0, 0, 8), (9, 8, 4), (14, 12, 4), (19, 16, 4), (24, 20, 12))  # (dst, src, width)


def uuids(hi: np.ndarray, lo: np.ndarray, upper: bool = False) -> list[str]:
    """128-bit ids as 8-4-4-4-12 strings, built as one ASCII matrix."""
    table = _HEX_UP if upper else _HEX
    chars = table[np.concatenate([(hi[:, None] >> _NIBBLES) & 15, (lo[:, None] >> _NIBBLES) & 15], axis=1)]
    out = np.full((len(hi), 36), ord("-"), np.uint8)
    for dst, src, width in _UUID_GROUPS:
        out[:, dst:dst + width] = chars[:, src:src + width]
    return out.view("S36").ravel().astype("U36").tolist()


def ulids(t_ms: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> list[str]:
    """ULID-style ids: 48-bit time then 80 random bits in Crockford base32 (backend `evt_...`)."""
    a = hi >> np.uint64(24)
    b = ((hi & np.uint64(0xFFFFFF)) << np.uint64(16)) | (lo >> np.uint64(48))
    s50 = np.arange(45, -5, -5, dtype=np.uint64)
    s40 = np.arange(35, -5, -5, dtype=np.uint64)
    t = t_ms.astype(np.uint64)
    idx = np.concatenate([(t[:, None] >> s50) & 31, (a[:, None] >> s40) & 31, (b[:, None] >> s40) & 31], axis=1)
    return _B32[idx].view("S26").ravel().astype("U26").tolist()


def _pick(pool: np.ndarray, bits: np.ndarray, shift: int) -> list[str]:
    return pool[(bits >> shift) % len(pool)].tolist()


def iso(values: np.ndarray, unit: str) -> list[str]:
    """UTC timestamps without zone suffix, e.g. 2026-11-25T17:00:00.123."""
    return np.datetime_as_string(values.astype(f"datetime64[{unit}]")).tolist()


def _obj(items: list[str] | tuple[str, ...]) -> np.ndarray:
    arr = np.empty(len(items), dtype=object)
    arr[:] = list(items)
    return arr


_T = {name: _obj(getattr(t, name)) for name in (
    "WEB_PROPS", "PAGE_META", "BACKEND_ATTRS", "IOS_APP", "WEB_CONTEXT", "IOS_CONTEXT", "ANDROID_TAIL")}
_MOBILE_PROPS = [_obj(pool) for pool in t.MOBILE_PROPS]
_OTHER = [_obj(names) for names in pools.OTHER_EVENTS]
_VERSIONS = [_obj(v) for v in VERSION_STRINGS]
_PLANS = _obj(pools.PLANS)
_ACTIONS = _obj(pools.ACTIONS)
_JOBS = _obj(pools.JOBS)
_SERVICES = _obj(pools.SERVICES)
_IOS_DEVICES = _obj(pools.IOS_DEVICES)
_N_ZONES = len(TIMEZONES)


class Renderer:
    """Turns row indices into payload bodies (no received_at, no closing brace) for one platform."""

    def __init__(self, fm: FeatureModel, pop: Population):
        self.fstr = _obj(fm.ids + fm.legacy + fm.names + fm.unknown)
        self.area_frag = _obj([f'"area":"{a}",' for a in fm.areas])
        self.area_of = fm.area_of
        self.pop = pop
        self._main = {WEB: self._web, IOS: self._ios, ANDROID: self._android, BACKEND: self._backend}

    def bodies(self, rows: Rows, idx: np.ndarray, platform: int) -> list[str]:
        kinds = rows.kind[idx]
        special = (kinds == PAGE) | (kinds == IDENTIFY)
        if not special.any():  # the common case: one template for the whole file
            out = self._main[platform](rows, idx)
        else:
            arr = np.empty(len(idx), dtype=object)
            for pos, render in ((np.flatnonzero(kinds == PAGE), self._page),
                                (np.flatnonzero(kinds == IDENTIFY), self._identify),
                                (np.flatnonzero(~special), self._main[platform])):
                if len(pos):
                    arr[pos] = render(rows, idx[pos])
            out = arr.tolist()
        defect = rows.defect[idx]
        patch = ((defect > 0) & (defect != D_UNKNOWN)) | rows.pii[idx]  # an unknown id needs no patch
        for p in np.flatnonzero(patch).tolist():
            r = idx[p]
            out[p] = mutate(out[p], platform, int(rows.defect[r]), bool(rows.pii[r]), int(rows.misc[r]))
        return out

    def _common(self, rows: Rows, sub: np.ndarray) -> dict[str, list]:
        """Columns several templates share, derived from the row's ids and its random bits."""
        misc, user, ws = rows.misc[sub], rows.user[sub], rows.ws[sub]
        session = (user.astype(np.int64) * 1_000_003 + rows.t_ms[sub] // 14_400_000) * 2_654_435_761 % (1 << 40)
        return {
            "user": user.tolist(), "ws": ws.tolist(), "doc": ((ws.astype(np.int64) << 12) + (misc & 4095)).tolist(),
            "session": session.tolist(), "duration": (misc % 45_000 + 40).tolist(),
            "feature": self.fstr[rows.fstr[sub]].tolist(), "action": _pick(_ACTIONS, misc, 12),
            "pool": (misc >> 20) % t.POOL,
            "zone_pool": rows.tz[sub].astype(np.int64) * t.TZ_POOL + (misc >> 34) % t.TZ_POOL,
        }

    def _web_parts(self, rows: Rows, sub: np.ndarray) -> tuple[list, ...]:
        c = self._common(rows, sub)
        anon = (rows.user[sub].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(16)
        return (c, uuids(rows.id_hi[sub], rows.id_lo[sub]), (anon & np.uint64(2**48 - 1)).tolist(),
                _VERSIONS[WEB][rows.ver[sub]].tolist(), _T["WEB_CONTEXT"][c["zone_pool"]].tolist(),
                iso(rows.ct_us[sub] // 1000, "ms"), iso(rows.st_us[sub] // 1000, "ms"))

    def _web(self, rows: Rows, sub: np.ndarray) -> list[str]:
        misc = rows.misc[sub]
        c, ids, anon, version, context, ts, sent = self._web_parts(rows, sub)
        event = np.where(rows.kind[sub] == OTHER_EVENT, _OTHER[WEB][misc % len(_OTHER[WEB])],
                         np.where(misc % 10 == 0, "feature_used", "Feature Used")).tolist()
        # SDK < 4.0 sends the display name, with the top-level area it is unique in.
        area = np.where(SENDS_NAMES[rows.ver[sub]], self.area_frag[self.area_of[rows.feat[sub]]], "").tolist()
        plan = _PLANS[self.pop.ws_plan[rows.ws[sub]]].tolist()
        return [WEB_TRACK % a for a in zip(
            ids, event, c["user"], anon, c["feature"], area, c["action"], c["ws"], c["doc"], c["session"],
            c["duration"], plan, _T["WEB_PROPS"][c["pool"]].tolist(), version, c["doc"], c["ws"], c["doc"],
            _pick(_T["PAGE_META"], misc, 44), context, ts, sent, strict=True)]

    def _page(self, rows: Rows, sub: np.ndarray) -> list[str]:
        c, ids, anon, version, context, ts, sent = self._web_parts(rows, sub)
        return [WEB_PAGE % a for a in zip(
            ids, c["user"], anon, c["doc"], c["ws"], c["doc"], _pick(_T["PAGE_META"], rows.misc[sub], 44), c["ws"],
            version, context, ts, sent, strict=True)]

    def _identify(self, rows: Rows, sub: np.ndarray) -> list[str]:
        c, ids, anon, version, context, ts, sent = self._web_parts(rows, sub)
        plan = _PLANS[self.pop.ws_plan[rows.ws[sub]]].tolist()
        return [WEB_IDENTIFY % a for a in zip(
            ids, c["user"], anon, c["user"], plan, c["ws"], version, context, ts, sent, strict=True)]

    def _ios(self, rows: Rows, sub: np.ndarray) -> list[str]:
        c, misc, ver = self._common(rows, sub), rows.misc[sub], rows.ver[sub]
        ms = rows.ct_us[sub] // 1000
        # Below 5.0 `ts` is epoch seconds as a float (ms decimals) and there is no sent_ts.
        ts = [f"{v // 1000}.{v % 1000:03d}" if old else str(v)
              for v, old in zip(ms.tolist(), NO_SEND_TIME[IOS][ver].tolist(), strict=True)]
        sent = ["" if v < 0 else f'"sent_ts":{v // 1000},' for v in rows.st_us[sub].tolist()]
        name = np.where(rows.kind[sub] == OTHER_EVENT, _OTHER[IOS][misc % len(_OTHER[IOS])], "feature_used")
        device = _IOS_DEVICES[self.pop.profile[rows.user[sub]] % len(_IOS_DEVICES)].tolist()
        context = _T["IOS_CONTEXT"][ver.astype(np.int64) * _N_ZONES * t.TZ_POOL + c["zone_pool"]].tolist()
        return [IOS_EVENT % a for a in zip(
            uuids(rows.id_hi[sub], rows.id_lo[sub], upper=True), name.tolist(), c["feature"], c["action"], c["user"],
            c["ws"], ts, sent, _T["IOS_APP"][ver].tolist(), device, c["doc"], c["session"], c["duration"],
            _MOBILE_PROPS[0][c["pool"]].tolist(), context, strict=True)]

    def _android(self, rows: Rows, sub: np.ndarray) -> list[str]:
        c, misc, ver = self._common(rows, sub), rows.misc[sub], rows.ver[sub]
        offset = TZ_OFFSET_MS[rows.tz[sub]]
        local = iso(rows.ct_us[sub] // 1000 + offset, "ms")
        wall = iso(rows.ct_us[sub] // 1_000_000, "s")  # below 4.3 ct already is the local wall clock
        stamp = [w.replace("T", " ") if old else loc + _OFFSETS[off]
                 for w, loc, off, old in zip(wall, local, rows.tz[sub].tolist(),
                                             NO_SEND_TIME[ANDROID][ver].tolist(), strict=True)]
        sent = ["" if v < 0 else f'"sentAt":"{s}Z",' for v, s in
                zip(rows.st_us[sub].tolist(), iso(rows.st_us[sub] // 1000, "ms"), strict=True)]
        name = np.where(rows.kind[sub] == OTHER_EVENT, _OTHER[ANDROID][misc % len(_OTHER[ANDROID])], "feature_used")
        tail = _T["ANDROID_TAIL"][ver.astype(np.int64) * _N_ZONES * t.TZ_POOL + c["zone_pool"]].tolist()
        return [ANDROID_EVENT % a for a in zip(
            uuids(rows.id_hi[sub], rows.id_lo[sub]), name.tolist(), c["feature"], c["action"], c["user"], c["ws"],
            stamp, sent, _VERSIONS[ANDROID][ver].tolist(), c["doc"], c["session"], c["duration"],
            _MOBILE_PROPS[1][c["pool"]].tolist(), tail, strict=True)]

    def _backend(self, rows: Rows, sub: np.ndarray) -> list[str]:
        c, misc, kind = self._common(rows, sub), rows.misc[sub], rows.kind[sub]
        service = rows.service[sub]
        v1 = service < V1_SERVICES
        actor = [SYSTEM_ACTOR % (_JOBS[m % len(_JOBS)], w) if k == SYSTEM else (V1_ACTOR if one else V2_ACTOR) % (u, w)
                 for k, one, u, w, m in zip(kind.tolist(), v1.tolist(), c["user"], c["ws"], misc.tolist(), strict=True)]
        etype = np.where(kind == OTHER_EVENT, _OTHER[BACKEND][misc % len(_OTHER[BACKEND])], "feature.used")
        hi, lo = rows.id_hi[sub], rows.id_lo[sub]
        svc = _SERVICES[service].tolist()
        return [BACKEND_EVENT % a for a in zip(
            ulids(rows.t_ms[sub], hi, lo), etype.tolist(), c["feature"], c["action"], actor,
            iso(rows.ct_us[sub], "us"), svc, np.where(v1, 1, 2).tolist(), ((misc >> 3) % 7 == 0).astype(int).tolist(),
            (hi >> np.uint64(1)).tolist(), lo.tolist(), (hi ^ lo).tolist(), (misc % 900 + 5).tolist(), svc,
            ((misc >> 40) % (1 << 20)).tolist(), _T["BACKEND_ATTRS"][c["pool"]].tolist(), strict=True)]


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_OFFSETS = [_offset_text(minutes) for _, minutes, _ in TIMEZONES]


# Where each required key lives, per platform (backend schema 1 keeps user/workspace at the top).
KEY_PATHS: dict[int, tuple[tuple[str, ...], ...]] = {
    WEB: (("messageId",), ("userId",), ("properties", "workspaceId"), ("properties", "feature"),
          ("originalTimestamp",)),
    IOS: (("event_id",), ("user", "id"), ("user", "workspace_id"), ("feature_key",), ("ts",)),
    ANDROID: (("eventId",), ("userId",), ("workspaceId",), ("featureId",), ("timestamp",)),
    BACKEND: (("id",), ("actor", "user_id"), ("actor", "workspace_id"), ("feature_id",), ("occurred_at",)),
}
PROPS = {WEB: "properties", IOS: "props", ANDROID: "properties", BACKEND: "attributes"}
BAD_TIMES = ("2026-13-45T25:61:00Z", "yesterday", "not-a-timestamp", "31/11/2026 25:00")
PERSONAL = (("email", "jane.doe{n}@example.com"), ("ip", "203.0.113.{n}"), ("name", "Jane Doe {n}"),
            ("phone", "+1-202-555-{n:04d}"), ("ip_address", "198.51.100.{n}"))


def mutate(body: str, platform: int, defect: int, pii: bool, bits: int) -> str:
    """Break one rule of the contract (a defect code of traffic.DEFECTS) and/or add personal data."""
    obj = json.loads(body + "}")
    if 1 <= defect <= D_NULL_WS or defect == D_INVALID_TS:
        key = {D_NULL_WS: 2, D_INVALID_TS: 4}.get(defect, defect - 1)
        path = KEY_PATHS[platform][key]
        if platform == BACKEND and path[0] == "actor" and "actor" not in obj:
            path = path[1:]  # schema_version 1
        parent = obj
        for part in path[:-1]:
            parent = parent[part]
        style = bits % 3  # absent, null or blank: all three mean missing
        if defect == D_INVALID_TS:
            parent[path[-1]] = BAD_TIMES[bits % len(BAD_TIMES)]
        elif defect == D_NULL_WS:
            parent[path[-1]] = None if style == 0 else ""
        elif style == 0:
            del parent[path[-1]]
        else:
            parent[path[-1]] = None if style == 1 else "  "[: bits % 2 * 2]
    if pii:
        props = obj[PROPS[platform]]
        for k, (key, value) in enumerate(PERSONAL):
            if k == 0 or (bits >> (k + 8)) & 1:
                props[key] = value.format(n=bits % 250)
    return json.dumps(obj, separators=(",", ":"))[:-1]
