"""How uvicorn serves the app: forwarded headers are believed only from the configured reverse proxies."""
from __future__ import annotations

from typing import Any

import uvicorn

from vigil.config import ServerConfig


def uvicorn_config(app: Any, server: ServerConfig, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's own default believes X-Forwarded-For from 127.0.0.1, which is every caller of a proxy-less
    deployment on loopback: anyone could then pick the address the sign-in limits count. Here only the
    addresses in `server.trusted_proxies` are believed (none by default), and $FORWARDED_ALLOW_IPS is ignored."""
    proxies = list(server.trusted_proxies)
    return uvicorn.Config(app, host=host, port=port, proxy_headers=bool(proxies),
                          forwarded_allow_ips=proxies or [], **options)
