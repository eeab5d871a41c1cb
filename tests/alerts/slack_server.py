"""A Slack stand-in on 127.0.0.1 for the real slack-sdk clients: chat.postMessage, chat.update,
conversations.history / .replies / .list and an incoming webhook, with scripted faults (429 with
Retry-After, 5xx, timeouts that still deliver, ok:false errors, a full outage)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

WEBHOOK_PATH = "/services/T000/B000/hooksecret"
TOKEN = "xoxb-test-secret-token"


class FakeSlack:
    def __init__(self, channels: dict[str, str] | None = None):
        self.channels = channels or {"nova-data-oncall": "C0DEFAULT", "ios-alerts": "C0IOS", "docs-alerts": "C0DOCS"}
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel id → messages, oldest first
        self.webhook: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.faults: list[tuple[str, str, Any]] = []  # (method or *, kind, arg), consumed in order
        self.down = False  # every call answers 503
        self.seq = 0
        self.lock = threading.Lock()
        self.auth_failures = 0

    # --- scripting ------------------------------------------------------------------------------
    def fail_next(self, method: str, kind: str, arg: Any = None) -> None:
        """kind: 429 (arg = Retry-After seconds), 500, 503, timeout (arg = seconds; the call is
        still carried out, like a Slack that answers too late), error (arg = ok:false error code)."""
        self.faults.append((method, kind, arg))

    def posts(self, channel_id: str | None = None, top_level: bool = True) -> list[dict[str, Any]]:
        out = []
        for cid, msgs in self.messages.items():
            if channel_id and cid != channel_id:
                continue
            out += [m for m in msgs if not top_level or not m.get("thread_ts")]
        return out

    def replies(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        return [m for m in self.messages.get(channel_id, []) if m.get("thread_ts") == ts]

    # --- the API ---------------------------------------------------------------------------------
    def handle(self, method: str, args: dict[str, Any], auth: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self.lock:
            self.calls.append((method, args))
            fault = next((f for f in self.faults if f[0] in (method, "*")), None)
            if fault:
                self.faults.remove(fault)
        if self.down:
            return 503, {"ok": False, "error": "service_unavailable"}, {}
        delay = 0.0
        if fault:
            _, kind, arg = fault
            if kind == "429":
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(arg or 1)}
            if kind in ("500", "503"):
                return int(kind), {"ok": False, "error": "internal_error"}, {}
            if kind == "error":
                return 200, {"ok": False, "error": arg}, {}
            if kind == "timeout":
                delay = float(arg or 2.0)
        if method != "webhook" and auth != f"Bearer {TOKEN}":
            self.auth_failures += 1
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        with self.lock:
            result = getattr(self, "_" + method.replace(".", "_"))(args)
        if delay:
            time.sleep(delay)
        return 200, result, {}

    def _cid(self, channel: str) -> str | None:
        if channel.startswith("#"):
            return self.channels.get(channel[1:])
        return channel if channel in self.channels.values() else None

    def _chat_postMessage(self, a: dict[str, Any]) -> dict[str, Any]:
        cid = self._cid(a.get("channel", ""))
        if cid is None:
            return {"ok": False, "error": "channel_not_found"}
        self.seq += 1
        msg = {"ts": f"{int(time.time())}.{self.seq:06d}", "text": a.get("text"), "blocks": a.get("blocks"),
               "thread_ts": a.get("thread_ts"), "metadata": a.get("metadata")}
        self.messages.setdefault(cid, []).append(msg)
        return {"ok": True, "channel": cid, "ts": msg["ts"], "message": msg}

    def _chat_update(self, a: dict[str, Any]) -> dict[str, Any]:
        for m in self.messages.get(a.get("channel", ""), []):
            if m["ts"] == a.get("ts"):
                m.update(text=a.get("text"), blocks=a.get("blocks"), updates=m.get("updates", 0) + 1)
                return {"ok": True, "channel": a["channel"], "ts": m["ts"]}
        return {"ok": False, "error": "message_not_found"}

    def _visible(self, m: dict[str, Any], a: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in m.items() if k != "metadata" or str(a.get("include_all_metadata")).lower()
               in ("true", "1")}
        return out

    def _conversations_history(self, a: dict[str, Any]) -> dict[str, Any]:
        if a.get("channel") not in self.channels.values():
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(a.get("oldest") or 0)
        msgs = [self._visible(m, a) for m in reversed(self.messages.get(a["channel"], []))
                if not m.get("thread_ts") and float(m["ts"]) >= oldest]
        return {"ok": True, "messages": msgs, "has_more": False}

    def _conversations_replies(self, a: dict[str, Any]) -> dict[str, Any]:
        msgs = self.messages.get(a.get("channel", ""), [])
        thread = [m for m in msgs if m["ts"] == a.get("ts") or m.get("thread_ts") == a.get("ts")]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": [self._visible(m, a) for m in thread], "has_more": False}

    def _conversations_list(self, a: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channels": [{"id": i, "name": n} for n, i in self.channels.items()]}

    def _webhook(self, a: dict[str, Any]) -> dict[str, Any]:
        self.webhook.append(a)
        return {"ok": True}


def _handler(slack: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _respond(self, method: str, args: dict[str, Any]) -> None:
            status, body, headers = slack.handle(method, args, self.headers.get("Authorization", ""))
            webhook = method == "webhook"
            data = (b"ok" if webhook and status == 200 else json.dumps(body).encode())
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if webhook else "application/json; charset=utf-8")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            args = {k: v[0] for k, v in parse_qs(url.query).items()}
            self._respond(url.path.rsplit("/", 1)[-1], args)

        def do_POST(self) -> None:
            url = urlparse(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if "json" in (self.headers.get("Content-Type") or ""):
                args = json.loads(raw or "{}")
            else:
                args = {k: v[0] for k, v in parse_qs(raw).items()}
                for k in ("blocks", "metadata"):
                    if isinstance(args.get(k), str):
                        args[k] = json.loads(args[k])
            args |= {k: v[0] for k, v in parse_qs(url.query).items()}
            method = "webhook" if url.path == WEBHOOK_PATH else url.path.rsplit("/", 1)[-1]
            self._respond(method, args)

    return Handler


@contextmanager
def running(slack: FakeSlack | None = None) -> Iterator[tuple[FakeSlack, str]]:
    """(the fake, its base URL http://127.0.0.1:PORT/)."""
    slack = slack or FakeSlack()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(slack))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield slack, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
