"""Live updates over Server-Sent Events: the event bus, filtered by what the caller's role may see."""
from __future__ import annotations

import asyncio
import json
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from api.auth.deps import Allow
from api.auth.roles import ADMIN, EVERYONE, LEADS, MODELS, WALL
from api.auth.users import Principal
from api.routes.common import runtime_of, services_of
from vigil.redact import redact_text

router = APIRouter(tags=["live"])
SIGNED_IN = Allow(EVERYONE)
KEEPALIVE_S = 15.0
POLL_S = 0.2
KIND_ROLES = {"alert.new": WALL, "alert.updated": WALL, "camera.state": WALL, "lead.updated": LEADS,
              "job.progress": MODELS}


def may_see(role: str, kind: str) -> bool:
    return role == ADMIN or role in KIND_ROLES.get(kind, frozenset())


def _redacted(item: tuple[str, dict], secrets: tuple[str, ...]) -> tuple[str, dict]:
    """Camera states carry the stream's last error: no password may reach a browser."""
    kind, payload = item
    if kind == "camera.state" and payload.get("last_error"):
        payload = {**payload, "last_error": redact_text(str(payload["last_error"]), secrets)}
    return kind, payload


def sse_message(kind: str, payload: dict) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(payload, default=str, ensure_ascii=False)}\n\n".encode()


@router.get("/api/events", response_class=StreamingResponse)
async def events(request: Request, user: Principal = Depends(SIGNED_IN)):
    """text/event-stream of alert.new, alert.updated, camera.state, lead.updated, job.progress."""
    bus = services_of(request).events or getattr(runtime_of(request), "events", None)
    secrets = tuple(services_of(request).loaded.secrets)

    async def stream():
        sub = bus.subscribe() if bus is not None else None  # before "connected": nothing after it is missed
        yield b"retry: 3000\n: connected\n\n"
        last = time.monotonic()
        try:
            while not await request.is_disconnected():
                # poll without blocking: a waiting viewer holds no worker thread (a few viewers would otherwise
                # take every thread asyncio.to_thread has, and live frames would wait behind them)
                item = sub.get(0) if sub else None
                if item is None:
                    if time.monotonic() - last > KEEPALIVE_S:
                        last = time.monotonic()
                        yield b": keepalive\n\n"
                    await asyncio.sleep(POLL_S)
                elif may_see(user.role, item[0]):
                    last = time.monotonic()
                    yield sse_message(*_redacted(item, secrets))
        finally:
            if sub:
                sub.close()

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
