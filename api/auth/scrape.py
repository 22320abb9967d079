"""Who may scrape /metrics: a scraper with the configured bearer token, or anyone when the config opens it."""
from __future__ import annotations

import hmac
import ipaddress
import logging
from dataclasses import dataclass
from typing import Literal, Mapping

from fastapi import HTTPException, Request

from vigil.config import MetricsConfig
from vigil.errors import ConfigError

log = logging.getLogger(__name__)
MIN_TOKEN_CHARS = 16


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass(frozen=True, repr=False)  # repr=False: the token never reaches a log line through a repr
class ScrapeGuard:
    """Built once per app from `server.metrics` and the environment; `check(request)` lets a scrape in or raises."""

    mode: Literal["off", "token", "open"]
    token: bytes = b""

    @classmethod
    def from_config(cls, cfg: MetricsConfig, env: Mapping[str, str], host: str = "127.0.0.1") -> "ScrapeGuard":
        if cfg.open:
            if not _loopback(host):
                log.warning("server.metrics.open: /metrics is served without a token to anyone who reaches %s; "
                            "set server.metrics.token_env unless only the scraper can", host)
            return cls("open")
        if cfg.token_env is None:
            return cls("off")
        token = env.get(cfg.token_env, "")
        if len(token) < MIN_TOKEN_CHARS:  # the value is never echoed, only what was expected
            found = "it unset" if not token else "a shorter value"
            raise ConfigError(f"server.metrics.token_env: expected environment variable {cfg.token_env} to hold "
                              f"the metrics bearer token (at least {MIN_TOKEN_CHARS} characters), found {found}")
        return cls("token", token.encode())

    @property
    def secrets(self) -> tuple[str, ...]:
        """What log redaction must hide (the token, when there is one)."""
        return (self.token.decode(),) if self.token else ()

    def __repr__(self) -> str:
        return f"ScrapeGuard(mode={self.mode!r})"

    def check(self, request: Request) -> None:
        if self.mode == "open":
            return
        if self.mode == "off":
            raise HTTPException(404, "metrics are not enabled: set server.metrics.token_env (or server.metrics.open)")
        header = request.headers.get("authorization", "")
        sent = header[7:].strip().encode() if header[:7].lower() == "bearer " else b""
        if not sent or not hmac.compare_digest(sent, self.token):
            raise HTTPException(401, "expected the metrics bearer token (Authorization: Bearer ...), found "
                                     + ("a different one" if sent else "none"),
                                headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
