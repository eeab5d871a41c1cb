"""How an alert leaves: Slack Web API (bot token), an incoming webhook (post only) or the console.

Every transport raises `SendError` (retryable or not, with Slack's Retry-After) and never lets a
secret into an error text: the outbox stores `str(SendError)`, which is scrubbed here."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError

from config import Settings

METADATA_EVENT = "nova_alert"
# ok:false errors worth retrying; any other (channel_not_found, invalid_auth, not_in_channel, ...) needs a person.
RETRYABLE_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout", "team_added_to_org"})


class SendError(Exception):
    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Transport:
    """post → (channel id, ts); update; find a post by the client token (None: absent or unknowable)."""

    name = "base"
    can_lookup = False
    can_update = False

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None, token: str,
             thread_ts: str | None = None) -> tuple[str | None, str | None]:
        raise NotImplementedError

    def update(self, channel_id: str, ts: str, text: str, blocks: list[dict[str, Any]] | None) -> None:
        raise NotImplementedError

    def find(self, channel: str, token: str, oldest: float, thread_ts: str | None = None) -> tuple[str, str] | None:
        return None


class _Scrub:
    def __init__(self, secrets: list[str]):
        self.secrets = [s for s in secrets if s]

    def __call__(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return text[:500]


class WebTransport(Transport):
    """Bot token: chat.postMessage (with message metadata carrying the client token), chat.update,
    thread replies, and conversations.history / conversations.replies to find a post after a restart."""

    name = "slack"
    can_lookup = True
    can_update = True

    def __init__(self, token: str, base_url: str | None, timeout: float):
        # No built-in retry handlers: the outbox retries, with backoff across runs, and records each attempt.
        self.client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL, timeout=int(max(1, timeout)),
                                retry_handlers=[])
        self.scrub = _Scrub([token])
        self._ids: dict[str, str] = {}

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except SlackApiError as exc:
            resp = exc.response
            status = getattr(resp, "status_code", 0) or 0
            error = resp.get("error") if hasattr(resp, "get") else None
            headers = getattr(resp, "headers", {}) or {}
            after = headers.get("Retry-After") or headers.get("retry-after")
            retry_after = float(after[0] if isinstance(after, list) else after) if after else None
            retryable = status == 429 or status >= 500 or (error in RETRYABLE_ERRORS)
            raise SendError(self.scrub(f"Slack {fn.__name__}: HTTP {status} {error or ''}".strip()),
                            retryable=retryable, retry_after=retry_after) from None
        except Exception as exc:  # connection refused, timeout, DNS: Slack unreachable
            raise SendError(self.scrub(f"Slack {fn.__name__}: {type(exc).__name__}: {exc}"), retryable=True) from None

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None, token: str,
             thread_ts: str | None = None) -> tuple[str | None, str | None]:
        resp = self._call(self.client.chat_postMessage, channel=channel, text=text, blocks=blocks,
                          thread_ts=thread_ts, unfurl_links=False,
                          metadata={"event_type": METADATA_EVENT, "event_payload": {"token": token}})
        return resp.get("channel"), resp.get("ts")

    def update(self, channel_id: str, ts: str, text: str, blocks: list[dict[str, Any]] | None) -> None:
        self._call(self.client.chat_update, channel=channel_id, ts=ts, text=text, blocks=blocks)

    def channel_id(self, channel: str) -> str:
        """conversations.history needs an ID: a #name is looked up once with conversations.list."""
        if not channel.startswith("#"):
            return channel
        if channel not in self._ids:
            cursor = None
            while True:
                resp = self._call(self.client.conversations_list, limit=1000, cursor=cursor,
                                  exclude_archived=True, types="public_channel,private_channel")
                for c in resp.get("channels", []):
                    self._ids["#" + c["name"]] = c["id"]
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if channel in self._ids or not cursor:
                    break
        if channel not in self._ids:
            raise SendError(f"Slack channel {channel} not found (or the bot is not in it)", retryable=False)
        return self._ids[channel]

    def find(self, channel: str, token: str, oldest: float, thread_ts: str | None = None) -> tuple[str, str] | None:
        cid = self.channel_id(channel)
        cursor = None
        while True:
            if thread_ts:
                resp = self._call(self.client.conversations_replies, channel=cid, ts=thread_ts, oldest=f"{oldest:.6f}",
                                  include_all_metadata=True, limit=200, cursor=cursor)
            else:
                resp = self._call(self.client.conversations_history, channel=cid, oldest=f"{oldest:.6f}",
                                  include_all_metadata=True, limit=200, cursor=cursor)
            for m in resp.get("messages", []):
                meta = m.get("metadata") or {}
                if meta.get("event_type") == METADATA_EVENT and (meta.get("event_payload") or {}).get("token") == token:
                    return cid, m["ts"]
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None


class WebhookTransport(Transport):
    """Incoming webhook: post only, into the webhook's own channel; no update, no lookup."""

    name = "webhook"

    def __init__(self, url: str, timeout: float):
        self.client = WebhookClient(url, timeout=int(max(1, timeout)), retry_handlers=[])
        self.scrub = _Scrub([url, url.rsplit("/", 3)[-1] if "/" in url else ""])

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None, token: str,
             thread_ts: str | None = None) -> tuple[str | None, str | None]:
        try:
            resp = self.client.send(text=text, blocks=blocks, unfurl_links=False)
        except Exception as exc:
            raise SendError(self.scrub(f"Slack webhook: {type(exc).__name__}: {exc}"), retryable=True) from None
        if resp.status_code != 200:
            after = (resp.headers or {}).get("Retry-After") or (resp.headers or {}).get("retry-after")
            after = after[0] if isinstance(after, list) else after
            retryable = resp.status_code == 429 or resp.status_code >= 500
            raise SendError(self.scrub(f"Slack webhook: HTTP {resp.status_code} {str(resp.body)[:100]}"),
                            retryable=retryable, retry_after=float(after) if after else None)
        return "webhook", None


class ConsoleTransport(Transport):
    """No Slack setting: the plain-text rendering on stderr (beside the command's own output, which
    may be JSON); the outbox keeps the record."""

    name = "console"

    def __init__(self, write: Callable[[str], Any] | None = None):
        self.write = write or (lambda s: print(s, file=sys.stderr, flush=True))

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None, token: str,
             thread_ts: str | None = None) -> tuple[str | None, str | None]:
        self.write(f"--- alert for {channel} ---\n{text}\n")
        return "console", None


def transport_for(settings: Settings) -> Transport:
    timeout = settings.alerts.timeout_seconds
    if settings.slack_token is not None:
        api = settings.slack_api_url
        if api and not api.endswith("/"):
            api += "/"
        return WebTransport(settings.slack_token.get_secret_value(), api, timeout)
    if settings.slack_webhook_url is not None:
        return WebhookTransport(settings.slack_webhook_url.get_secret_value(), timeout)
    return ConsoleTransport()
