"""A hostile landing corpus: malformed, mistyped and adversarial lines on every platform.

Deterministic (a seed), small on disk, and built from the wire formats of WIRE_FORMATS.md: each
line is a valid event of its platform put through one mutation (`KINDS`), or left valid. The
suite runs it through `nova load`, `nova run` and curate (tests/e2e/test_hostile_corpus.py): no
command may crash, every line must end in exactly one state with a reason, and every staged row
must be within the time bounds of docs/pipeline.md. `expected_outcome` names, for the mutations
whose fate the semantics fix, the state and reason a line must end in.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLATFORMS = ("web", "ios", "android", "backend")
ARRIVAL = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)  # every file's modification time
RECEIVED = dt.datetime(2026, 11, 25, 17, 30, tzinfo=dt.UTC)
FEATURES = ("editor.comments.mention", "editor", "api.webhooks.create_webhook", "editor.comments")
# Client-time texts no engine may read as a time (on every platform with an ISO client time).
BAD_ISO_TIMES = (
    "infinity", "-infinity", "Infinity", "NaN", "epoch", "now", "today", "allballs", "1 BC",
    "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "0001-01-01 00:00:00 BC", "9999-12-31T23:59:59.999999Z",
    "10000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2026-02-29T10:00:00Z", "2026-02-30T10:00:00Z",
    "2026-13-01T00:00:00Z", "2026-11-31T10:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T17:60:00Z",
    "2026-11-25T17:00:60Z", "2026-11-25T17:00:00+24:00", "2026-11-25T17:00:00 America/New_York",
    "2026-11-25", "25/11/2026 17:00", "Wed, 25 Nov 2026 17:00:00 GMT", "2026-11-25T17:00:00ZZ",
    " 2026-11-25T17:00:00Z", "2026-11-25T17:00:00Z\u0000", "1764090000", "", " ",
    "2027-12-25T17:00:00Z", "2025-11-20T17:00:00Z",  # more than a year from the line's received_at
)
BAD_EPOCHS = ("NaN", "Infinity", "-Infinity", "1e400", "-1", "-1764090000123", "1e20", "0x1F", "1_764_090_000_123",
              "9223372036854775807", "18446744073709551616", "-9223372036854775808", "1.7e308", "1764090000123e3")
# The collector's received_at that cannot be the collector's: the line falls back to the file's arrival.
BAD_RECEIVED = ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "infinity", "-infinity", "1970-01-01T00:00:00Z",
                "2099-01-01T00:00:00Z", "2026-11-26T18:00:00Z", "garbage", "2026-02-30T00:00:00Z")
HOSTILE_STRINGS = (
    "'; DROP TABLE stg_events; --", "\" OR 1=1 --", "Robert'); DELETE FROM raw_events;--", "${jndi:ldap://x/a}",
    "<script>alert(1)</script>", "../../etc/passwd", "\u202eevil\u202c", "\u0000", "\u0000nul\u0000", "\ufeffbom",
    "\\", "\\\\\\", "}{", "\"", "%s%n%x", "😀" * 50, "\ud7ff\ue000", "NULL", "null", "undefined", "NaN",
    "ZWSP\u200b", "a\u0085b\u2028c\u2029d", "\t\n\r", "x" * 5000, "ǅ̸̡̢̧̨̛̖̗̘̙̜̝̞̟̠̣̤", "1e400", "-0",
)
HOSTILE_KEYS = ("", " ", "$", "a.b", "a\"b", "__proto__", "constructor", "\u0000", "email", "EMAIL", "ip ",
                "received_at", "😀", "k" * 1000)


@dataclass
class Line:
    platform: str
    kind: str
    data: bytes  # the line's bytes, without its newline


@dataclass
class Corpus:
    files: dict[str, list[Line]] = field(default_factory=dict)  # relative path → lines

    def lines(self) -> list[tuple[str, int, Line]]:
        return [(path, i + 1, ln) for path, lines in self.files.items() for i, ln in enumerate(lines)]

    def kinds(self) -> set[str]:
        return {ln.kind for _, _, ln in self.lines()}


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def valid_event(platform: str, r: random.Random, n: int) -> dict[str, Any]:
    """A valid feature-usage event of the platform, received shortly before the file arrived."""
    recv = RECEIVED + dt.timedelta(seconds=r.randrange(0, 1500))
    client = recv - dt.timedelta(seconds=r.randrange(1, 7200))
    sent = client + dt.timedelta(seconds=r.randrange(0, 5))
    feature = r.choice(FEATURES)
    user, ws = f"u_{r.randrange(1000):04d}", f"ws_{r.randrange(50):03d}"
    if platform == "web":
        return {"messageId": f"hw-{n}", "type": "track", "event": "Feature Used", "userId": user,
                "anonymousId": f"a_{n}", "properties": {"feature": feature, "action": "used", "workspaceId": ws},
                "context": {"library": {"name": "nova-web", "version": "4.2.0"}},
                "originalTimestamp": _iso(client), "sentAt": _iso(sent), "received_at": _iso(recv)}
    if platform == "ios":
        ms = int(client.timestamp() * 1000)
        return {"event_id": f"HI-{n}", "name": "feature_used", "feature_key": feature, "action": "used",
                "user": {"id": user, "workspace_id": ws}, "ts": ms, "sent_ts": int(sent.timestamp() * 1000),
                "app": {"version": "5.1.2", "build": "5120"}, "props": {"source": "toolbar"},
                "received_at": _iso(recv)}
    if platform == "android":
        return {"eventId": f"ha-{n}", "eventName": "feature_used", "featureId": feature, "action": "used",
                "userId": user, "workspaceId": ws, "timestamp": client.strftime("%Y-%m-%dT%H:%M:%S.000+00:00"),
                "sentAt": _iso(sent), "appVersion": "5.1.2", "properties": {"source": "fab"},
                "received_at": _iso(recv)}
    return {"id": f"hb-{n}", "type": "feature.used", "feature_id": feature, "action": "used",
            "actor": {"type": "user", "user_id": user, "workspace_id": ws}, "occurred_at": _iso(client),
            "service": "docs-api", "schema_version": 2, "attributes": {"retries": 0}, "received_at": _iso(recv)}


# Where each platform keeps each canonical field (the top-level key, or a nested path).
CLIENT_TIME = {"web": ("originalTimestamp",), "ios": ("ts",), "android": ("timestamp",), "backend": ("occurred_at",)}
SENT_TIME = {"web": ("sentAt",), "ios": ("sent_ts",), "android": ("sentAt",)}
ID_FIELDS = {"web": (("messageId",), ("userId",), ("properties", "workspaceId")),
             "ios": (("event_id",), ("user", "id"), ("user", "workspace_id")),
             "android": (("eventId",), ("userId",), ("workspaceId",)),
             "backend": (("id",), ("actor", "user_id"), ("actor", "workspace_id"))}
PROPS = {"web": "properties", "ios": "props", "android": "properties", "backend": "attributes"}


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _replace_raw(doc: dict[str, Any], path: tuple[str, ...], raw: str) -> bytes:
    """The document with one value written as raw text (NaN, 1e400: what json.dumps will not write)."""
    marker = "\u0001RAW\u0001"
    _set(doc, path, marker)
    return _dump(doc).replace(json.dumps(marker, ensure_ascii=False).encode(), raw.encode())


Mutation = Callable[[dict[str, Any], str, random.Random], bytes]


def _valid(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    return _dump(doc)


def _truncated(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    b = _dump(doc)
    return b[: r.randrange(1, len(b) - 1)]


def _wrong_type(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    path = r.choice([*ID_FIELDS[p], CLIENT_TIME[p], (PROPS[p],)])
    _set(doc, path, r.choice([123, -1.5, True, False, [], [1, "a"], {}, {"x": {"y": None}}, 0, 1e300]))
    return _dump(doc)


def _nan_inf(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    path = r.choice([CLIENT_TIME[p], (PROPS[p], "n"), *([SENT_TIME[p]] if p in SENT_TIME else [])])
    return _replace_raw(doc, path, r.choice(["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]))


def _client_time_bad(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    if p == "ios":
        return _replace_raw(doc, ("ts",), r.choice(BAD_EPOCHS))
    _set(doc, CLIENT_TIME[p], r.choice(BAD_ISO_TIMES))
    return _dump(doc)


def _client_time_string_infinity(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    _set(doc, CLIENT_TIME[p], r.choice(["infinity", "-infinity", "Infinity", "NaN"]))
    return _dump(doc)


def _sent_time_bad(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    if p not in SENT_TIME:
        return _client_time_bad(doc, p, r)
    if p == "ios":
        return _replace_raw(doc, ("sent_ts",), r.choice(BAD_EPOCHS))
    _set(doc, SENT_TIME[p], r.choice(BAD_ISO_TIMES))
    return _dump(doc)


def _received_bad(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    doc["received_at"] = r.choice(BAD_RECEIVED)
    return _dump(doc)


def _offset_forms(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    """Valid times in every offset form the rules accept (issue 17 point 8 included)."""
    t = dt.datetime.fromisoformat(doc["received_at"].replace("Z", "+00:00")) - dt.timedelta(minutes=30)
    local = (t + dt.timedelta(hours=5, minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
    form = r.choice([f"{local} +0530", f"{local}+05:30", f"{local}+0530", local.replace(" ", "T") + "+05:30"])
    if p == "ios":
        doc["ts"] = int(t.timestamp() * 1000)
        return _dump(doc)
    _set(doc, CLIENT_TIME[p], form)
    if p in SENT_TIME:
        doc.pop(SENT_TIME[p][0])
    return _dump(doc)


def _huge_string(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    path = r.choice([(PROPS[p], "blob"), *ID_FIELDS[p]])
    _set(doc, path, r.choice(["x", "é", "😀", "\\"]) * r.choice([70_000, 200_000]))
    return _dump(doc)


def _huge_array(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    _set(doc, (PROPS[p], "list"), list(range(r.choice([10_000, 50_000]))))
    return _dump(doc)


def _deep_nesting(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    depth = r.choice([100, 1_000, 10_000, 100_000])
    opener, closer = r.choice([("[", "]"), ('{"a":', "}")])
    return _replace_raw(doc, (PROPS[p], "deep"), opener * depth + "1" + closer * depth)


def _invalid_utf8(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    b = _dump(doc)
    bad = r.choice([b"\xff", b"\xfe\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
    at = r.randrange(1, len(b) - 1)
    return b[:at] + bad + b[at:]


def _utf16(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    text = json.dumps(doc)
    return r.choice([b"\xff\xfe" + text.encode("utf-16-le"), text.encode("utf-16-be"), text.encode("utf-16")])


def _bom(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    return r.choice([b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xfe\xff"]) + _dump(doc)


def _control_chars(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    path = r.choice(ID_FIELDS[p])
    if r.random() < 0.5:  # escaped: valid JSON holding control characters
        _set(doc, path, r.choice(["u\u0000x", "\u0001\u0002", "a\u001fb", "\u007f", "id\u0008"]))
        return _dump(doc)
    raw = r.choice(["a\x00b", "\x01\x02", "a\x1fb", "\x0b", "tab\there", "cr\rmid"])  # unescaped: not JSON
    return _replace_raw(doc, path, '"' + raw + '"')


def _hostile_values(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    for path in r.sample(ID_FIELDS[p], r.randrange(1, len(ID_FIELDS[p]) + 1)):
        _set(doc, path, r.choice(HOSTILE_STRINGS))
    return _dump(doc)


def _hostile_keys(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    props = doc[PROPS[p]]
    for key in r.sample(HOSTILE_KEYS, 4):
        props[key] = r.choice(HOSTILE_STRINGS)
    doc[r.choice(HOSTILE_KEYS)] = r.choice(HOSTILE_STRINGS)
    return _dump(doc)


def _hostile_feature(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    path = {"web": ("properties", "feature"), "ios": ("feature_key",), "android": ("featureId",),
            "backend": ("feature_id",)}[p]
    _set(doc, path, r.choice([*HOSTILE_STRINGS, "editor.comments.mention ", "EDITOR", "editor%"]))
    return _dump(doc)


def _duplicate_keys(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    b = _dump(doc)
    key = ID_FIELDS[p][0][0]
    return b[:-1] + f', "{key}": "dup-{r.randrange(10**6)}"'.encode() + b"}"


def _not_an_object(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    return r.choice([b"null", b"[]", b"[{}]", b"42", b'"text"', b"true", b"{} {}", _dump(doc) + _dump(doc),
                     b"   ", b"\x00", b"{", b"}", b'{"a":}', _dump(doc) + b",", b"\x1a"])


def _missing_keys(doc: dict[str, Any], p: str, r: random.Random) -> bytes:
    path = r.choice([*ID_FIELDS[p], CLIENT_TIME[p]])
    if r.random() < 0.5:
        _set(doc, path, r.choice([None, "", "   "]))
    else:
        parent: Any = doc
        for key in path[:-1]:
            parent = parent[key]
        parent.pop(path[-1], None)
    return _dump(doc)


KINDS: dict[str, tuple[Mutation, int]] = {  # kind → (mutation, weight)
    "valid": (_valid, 14),
    "truncated_json": (_truncated, 6),
    "wrong_types": (_wrong_type, 6),
    "nan_infinity": (_nan_inf, 5),
    "client_time_bad": (_client_time_bad, 10),
    "client_time_infinity_text": (_client_time_string_infinity, 3),
    "sent_time_bad": (_sent_time_bad, 5),
    "received_at_bad": (_received_bad, 5),
    "offset_forms": (_offset_forms, 4),
    "huge_string": (_huge_string, 1),
    "huge_array": (_huge_array, 1),
    "deep_nesting": (_deep_nesting, 1),
    "invalid_utf8": (_invalid_utf8, 4),
    "utf16": (_utf16, 3),
    "byte_order_mark": (_bom, 3),
    "control_chars": (_control_chars, 4),
    "hostile_values": (_hostile_values, 6),
    "hostile_keys": (_hostile_keys, 4),
    "hostile_feature": (_hostile_feature, 3),
    "duplicate_keys": (_duplicate_keys, 3),
    "not_an_object": (_not_an_object, 4),
    "missing_keys": (_missing_keys, 4),
}
# Mutations rarer than their weight says (each is a large line): at most this many per platform.
CAPPED = {"huge_string": 6, "huge_array": 4, "deep_nesting": 6}


def expected_outcome(kind: str) -> set[tuple[str, str | None]] | None:
    """The (state, reason) a line of this kind may end in, where the semantics fix it."""
    return {
        "valid": {("staged", None)},
        "truncated_json": {("quarantined", "invalid_json")},
        "client_time_infinity_text": {("quarantined", "invalid_timestamp")},
        # (iOS epochs such as 0x1F are not JSON at all; NaN is JSON to DuckDB, not to RFC 8259.)
        "client_time_bad": {("quarantined", "invalid_timestamp"), ("quarantined", "missing_timestamp"),
                            ("quarantined", "invalid_json")},
        "offset_forms": {("staged", None)},
        "invalid_utf8": {("quarantined", "invalid_json")},
        "utf16": {("quarantined", "invalid_json")},
        "byte_order_mark": {("quarantined", "invalid_json")},
        "not_an_object": {("quarantined", "invalid_json")},
        # A send time that is not a time is ignored, a received_at that is not the collector's
        # gives way to the file's arrival: the event itself is still good.
        "sent_time_bad": {("staged", None), ("quarantined", "invalid_timestamp"),
                          ("quarantined", "missing_timestamp"), ("quarantined", "invalid_json")},
        "missing_keys": {("quarantined", f"missing_{k}") for k in
                         ("event_id", "user_id", "workspace_id", "feature", "timestamp")},
        "received_at_bad": {("staged", None)},
    }.get(kind)


def build(lines_per_platform: int = 3000, seed: int = 18) -> Corpus:
    """The corpus: per platform, files of ~500 lines (one gzipped, one starting with a BOM)."""
    r = random.Random(seed)
    names, weights = list(KINDS), [w for _, w in KINDS.values()]
    corpus = Corpus()
    n = 0
    for p in PLATFORMS:
        capped = dict.fromkeys(CAPPED, 0)
        lines: list[Line] = []
        while len(lines) < lines_per_platform:
            kind = r.choices(names, weights)[0] if len(lines) >= len(names) else names[len(lines)]
            if kind in CAPPED:
                if capped[kind] >= CAPPED[kind]:
                    continue
                capped[kind] += 1
            n += 1
            data = KINDS[kind][0](valid_event(p, r, n), p, r)
            lines.append(Line(p, kind, data.replace(b"\n", b"\\n").replace(b"\r", b"\\r")))
        for i in range(0, len(lines), 500):
            suffix = ".jsonl.gz" if i == 500 else ".jsonl"
            corpus.files[f"platform={p}/dt=2026-11-25/hour=17/hostile-{i // 500:02d}{suffix}"] = lines[i:i + 500]
    return corpus


def write(corpus: Corpus, root: Path, mtime: dt.datetime = ARRIVAL) -> None:
    """Write the files under a landing root, each with the corpus' arrival as modification time.
    The first file of each platform starts with a byte-order mark (stripped by the load)."""
    for rel, lines in corpus.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        body = b"".join(ln.data + b"\n" for ln in lines)
        if rel.endswith("hostile-00.jsonl"):
            body = b"\xef\xbb\xbf" + body
        path.write_bytes(gzip.compress(body, mtime=0) if rel.endswith(".gz") else body)
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
