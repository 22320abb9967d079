"""Request body size limit: a 413 JSON answer before a huge body is held in memory."""
from __future__ import annotations

import re

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1 << 20  # the largest request (a review's boxes, a build request) is a few KiB
# photo and video uploads: an officer's on-site attachments, a firm's rectification reply
UPLOAD_PATHS: tuple[tuple[re.Pattern, int], ...] = ((re.compile(r"^/api/leads/\d+/attachments$"), 64 << 20),
                                                    (re.compile(r"^/rectify/[A-Za-z0-9_-]+$"), 64 << 20))


def _too_large(limit: int, found: str) -> str:
    return f"request body: expected at most {limit} bytes, found {found}"


class BodyLimit:
    """Refuses a declared Content-Length over the limit at once; counts a chunked body as it arrives."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES,
                 uploads: tuple[tuple[re.Pattern, int], ...] = UPLOAD_PATHS):
        self.app, self.max_bytes, self.uploads = app, max_bytes, uploads

    def limit_for(self, path: str) -> int:
        return next((limit for pattern, limit in self.uploads if pattern.match(path)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope.get("path", ""))
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            answer = JSONResponse({"detail": _too_large(limit, f"Content-Length {declared[:40]}")}, 413)
            return await answer(scope, receive, send)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # FastAPI answers an HTTPException raised while reading the body
                    raise HTTPException(413, _too_large(limit, f"more than {limit} bytes"))
            return message

        await self.app(scope, limited, send)
