"""Webhook channel: a JSON POST per alert, signed `X-Vigil-Signature: sha256=<HMAC-SHA256 hex of the body>`."""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Mapping

import httpx

from api.notify.channels import Selection
from vigil.config import WebhookConfig
from vigil.errors import VigilError
from vigil.redact import redact_url

SIGNATURE_HEADER = "X-Vigil-Signature"


class DeliveryError(VigilError):
    """One delivery attempt failed (the dispatcher retries it)."""


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent and signed: sorted keys, compact, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_body(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_body(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute the HMAC and compare in constant time."""
    return hmac.compare_digest(sign_body(secret, body), header or "")


class WebhookChannel:
    def __init__(self, name: str, cfg: WebhookConfig, env: Mapping[str, str]):
        self.name = f"webhook:{name}"
        self.cfg = cfg
        self.max_attempts = cfg.max_attempts
        self.selection = Selection.of(cfg.rules, cfg.sites)
        self._secret = env.get(cfg.secret_env) if cfg.secret_env else None
        self._client = httpx.Client(timeout=cfg.timeout_s, follow_redirects=False)

    def wants(self, payload: dict) -> bool:
        return self.selection.matches(payload)

    def send(self, payload: dict, delivery_id: int) -> None:
        if self.cfg.secret_env and not self._secret:
            raise DeliveryError(f"{self.name}: expected the HMAC secret in environment variable "
                                f"{self.cfg.secret_env}, found it unset; refusing to send unsigned")
        body = body_bytes(payload)
        headers = {"Content-Type": "application/json", "User-Agent": "vigil-webhook",
                   "X-Vigil-Event": str(payload.get("event", "")), "X-Vigil-Delivery": str(delivery_id)}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign_body(self._secret, body)
        try:
            r = self._client.post(self.cfg.url, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise DeliveryError(f"{self.name}: POST {redact_url(self.cfg.url)} failed: "
                                f"{type(e).__name__}: {e}") from None
        if not 200 <= r.status_code < 300:
            raise DeliveryError(f"{self.name}: expected a 2xx answer from {redact_url(self.cfg.url)}, "
                                f"found HTTP {r.status_code}")

    def close(self) -> None:
        self._client.close()
