"""405 answers name every method the path has: Starlette's Allow lists only the first route that matched the path,
so `POST /api/auth/me` said `Allow: GET` although PATCH is there too."""
from __future__ import annotations

import re
from typing import Any, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _methods_by_path(spec: dict[str, Any]) -> list[tuple[re.Pattern[str], set[str]]]:
    out = []
    for path, operations in spec.get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path))
        out.append((re.compile(pattern + "$"), {m.upper() for m in operations}))
    return out


class AllowEveryMethod:
    """Rewrites the Allow header of a 405 to the union of the methods the OpenAPI spec lists for the path."""

    def __init__(self, app: ASGIApp, spec: Callable[[], dict[str, Any]]):
        self.app, self.spec = app, spec
        self._table: list[tuple[re.Pattern[str], set[str]]] | None = None

    def _methods(self, path: str) -> set[str]:
        if self._table is None:
            self._table = _methods_by_path(self.spec())
        return {m for pattern, methods in self._table if pattern.match(path) for m in methods}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = self._methods(scope["path"])
                if methods:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                    message = {**message, "headers": [*headers, (b"allow", ", ".join(sorted(methods)).encode())]}
            await send(message)

        await self.app(scope, receive, send_with_allow)
