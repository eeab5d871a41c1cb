"""The payload of each platform as a %-template, exactly as WIRE_FORMATS.md describes it.

A body ends before the closing brace: the writer appends `,"received_at":"...Z"}` (or only `}` for
the old backend collector). Values that only pad a payload (client context, UI state, flags...)
come as ready-made fragments from pools built once at import: each `%` placeholder costs per
line, a pool lookup costs nothing.
"""

from __future__ import annotations

import random

from traffic import pools as p
from traffic.population import TIMEZONES, VERSION_STRINGS

WEB_TRACK = (
    '{"messageId":"%s","type":"track","event":"%s","userId":"u_%07d","anonymousId":"a_%012x",'
    '"properties":{"feature":"%s",%s"action":"%s","workspaceId":"ws_%06d","docId":"d_%08x",'
    '"sessionId":"s_%010x","durationMs":%d,"plan":"%s",%s},'
    '"context":{"library":{"name":"nova-web","version":"%s"},"page":{"path":"/d/%08x",'
    '"url":"https://app.novasuite.com/w/ws_%06d/d/%08x",%s},%s},'
    '"originalTimestamp":"%sZ","sentAt":"%sZ",' + p.WEB_TAIL
)
WEB_PAGE = (
    '{"messageId":"%s","type":"page","name":"Document","userId":"u_%07d","anonymousId":"a_%012x",'
    '"properties":{"path":"/d/%08x","url":"https://app.novasuite.com/w/ws_%06d/d/%08x",%s,"workspaceId":"ws_%06d"},'
    '"context":{"library":{"name":"nova-web","version":"%s"},%s},"originalTimestamp":"%sZ","sentAt":"%sZ",'
    + p.WEB_TAIL
)
WEB_IDENTIFY = (
    '{"messageId":"%s","type":"identify","userId":"u_%07d","anonymousId":"a_%012x",'
    '"traits":{"email":"user%07d@example.com","plan":"%s","workspaceId":"ws_%06d"},'
    '"context":{"library":{"name":"nova-web","version":"%s"},%s},"originalTimestamp":"%sZ","sentAt":"%sZ",'
    + p.WEB_TAIL
)
IOS_EVENT = (
    '{"event_id":"%s","name":"%s","feature_key":"%s","action":"%s","user":{"id":"u_%07d","workspace_id":"ws_%06d"},'
    '"ts":%s,%s%s,%s,"props":{"docId":"d_%08x","sessionId":"s_%010x","durationMs":%d,%s},%s'
)
ANDROID_EVENT = (
    '{"eventId":"%s","eventName":"%s","featureId":"%s","action":"%s","userId":"u_%07d","workspaceId":"ws_%06d",'
    '"timestamp":"%s",%s"appVersion":"%s","properties":{"docId":"d_%08x","sessionId":"s_%010x","durationMs":%d,'
    '%s},%s'
)
BACKEND_EVENT = (
    '{"id":"evt_%s","type":"%s","feature_id":"%s","action":"%s",%s,"occurred_at":"%sZ","service":"%s",'
    '"schema_version":%d,"attributes":{"retries":%d,"requestId":"req_%016x","traceId":"%016x%016x",'
    '"latencyMs":%d,"host":"%s-%05x",%s}'
)
V2_ACTOR = '"actor":{"type":"user","user_id":"u_%07d","workspace_id":"ws_%06d"}'
V1_ACTOR = '"user_id":"u_%07d","workspace_id":"ws_%06d"'  # schema_version 1: no actor object
SYSTEM_ACTOR = '"actor":{"type":"system","job":"%s","workspace_id":"ws_%06d"}'

POOL = 4096  # fragments per pool; a row picks one with its random bits
TZ_POOL = 64  # fragments per (version, timezone) for the pools that carry the device's zone
_rnd = random.Random(20261125)  # fixed: pools are part of the byte-exact output


def _pick(options: tuple[str, ...]) -> str:
    return _rnd.choice(options)


def _num(lo: int, hi: int) -> int:
    return _rnd.randrange(lo, hi)


def _doc() -> str:
    return (f'"flags":{_pick(p.FLAGS)},"doc":{{"wordCount":{_num(50, 20_000)},"collaborators":{_num(1, 13)},'
            f'"shared":{_pick(("false", "true"))},"folderId":"f_{_num(0, 1 << 24):06x}"}}')


def _install() -> str:
    return (f'"install":{{"source":"{_pick(p.INSTALL_SOURCES)}","pushEnabled":{_pick(("false", "true"))},'
            f'"firstOpenedAt":"2025-{_num(1, 13):02d}-{_num(1, 29):02d}T08:00:00Z"}}')


def _web_props() -> str:
    return (f'"source":"{_pick(p.SOURCES)}","surface":"{_pick(p.SURFACES)}","seat":"{_pick(p.SEATS)}",'
            f'"experiments":{_pick(p.EXPERIMENTS)},"ui":{_pick(p.UI_PREFS)},{_doc()}')


def _mobile_props(perf: tuple[str, str, str, str]) -> str:
    return (f'"source":"{_pick(p.SOURCES)}","screen":"{_pick(p.SURFACES)}","experiments":{_pick(p.EXPERIMENTS)},'
            f'"network":{_pick(p.NETWORKS)},"ui":{_pick(p.UI_PREFS)},{_doc()},"perf":{{"{perf[0]}":{_num(300, 2700)},'
            f'"{perf[1]}":{_num(8, 190)},"{perf[2]}":{_num(120, 1020)},"{perf[3]}":{_num(0, 60)}}}')


def _web_context(tz: str) -> str:
    return (f'{_pick(p.BROWSERS)},"locale":"{_pick(p.LOCALES)}","timezone":"{tz}","instance":{{"region":'
            f'"{_pick(p.REGIONS)}","release":"2026.11.{_num(1, 29):02d}-{_num(0, 1 << 28):07x}"}}')


def _ios_context(version: str, tz: str) -> str:
    return (f'"context":{{"locale":"{_pick(p.LOCALES)}","timezone":"{tz}","sdk":{{"name":"nova-swift",'
            f'"version":"{version}"}},"queue":{{"size":{_num(0, 40)},"attempt":{_num(1, 4)}}},{_install()}}}')


def _android_tail(version: str, tz: str) -> str:
    return (f'{_pick(p.ANDROID_DEVICES)},"sdk":{{"name":"nova-android","version":"{version}","flushReason":'
            f'"{_pick(("batch_full",) * 4 + ("background",))}","queueSize":{_num(0, 40)}}},'
            f'"locale":"{_pick(p.LOCALES)}","timezone":"{tz}",{_install()}')


def _backend_attrs() -> str:
    route = _num(0, len(p.ROUTES))
    return (f'"route":"{p.ROUTES[route]}","method":"{("POST", "GET")[route % 3 == 0]}",'
            f'"status":{_pick(("200",) * 49 + ("202",))},"client":{_pick(p.API_CLIENTS)},'
            f'"experiments":{_pick(p.EXPERIMENTS)},"region":"{_pick(p.REGIONS)}","flags":{_pick(p.FLAGS)},'
            f'"auth":{{"method":"oauth2","clientId":"cli_{_num(0, 1 << 32):08x}","scopes":{_pick(p.SCOPES)}}},'
            f'"rateLimit":{{"limit":1000,"remaining":{_num(0, 1000)},"resetSec":{_num(0, 60)}}},'
            f'"db":{{"queries":{_num(1, 31)},"timeMs":{_num(0, 400)},"cacheHit":{_pick(("false", "true"))}}},'
            f'"request":{{"contentLength":{_num(0, 20_000)},"accept":"application/json",'
            f'"idempotencyKey":"idem_{_num(0, 1 << 48):012x}"}},"deployment":{{"release":'
            f'"2026.11.{_num(1, 29):02d}-{_num(0, 1 << 28):07x}","zone":"{_pick(p.REGIONS)}{_pick(("a", "b", "c"))}"}}')


_ZONES = [name for name, _, _ in TIMEZONES]
WEB_PROPS = [_web_props() for _ in range(POOL)]
PAGE_META = [f'"referrer":"{r}","title":"{t}"' for r in p.REFERRERS for t in p.TITLES]
MOBILE_PROPS = [[_mobile_props(perf) for _ in range(POOL)] for perf in (
    ("launchMs", "renderMs", "memoryMb", "fps"), ("coldStartMs", "renderMs", "memoryMb", "jankFrames"))]
BACKEND_ATTRS = [_backend_attrs() for _ in range(POOL)]
IOS_APP = [f'"app":{{"version":"{v}","build":"{v.replace(".", "")}0"}}' for v in VERSION_STRINGS[1]]
# Indexed [(version * zones + zone) * TZ_POOL + k]: the context names the zone the device's clock is in.
WEB_CONTEXT = [_web_context(z) for z in _ZONES for _ in range(TZ_POOL)]
IOS_CONTEXT = [_ios_context(v, z) for v in VERSION_STRINGS[1] for z in _ZONES for _ in range(TZ_POOL)]
ANDROID_TAIL = [_android_tail(v, z) for v in VERSION_STRINGS[2] for z in _ZONES for _ in range(TZ_POOL)]
