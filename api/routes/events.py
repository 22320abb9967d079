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

router = APIRouter(tags=["live"])
SIGNED_IN = Allow(EVERYONE)
KEEPALIVE_S = 15.0
KIND_ROLES = {"alert.new": WALL, "alert.updated": WALL, "camera.state": WALL, "lead.updated": LEADS,
              "job.progress": MODELS}


def may_see(role: str, kind: str) -> bool:
    return role == ADMIN or role in KIND_ROLES.get(kind, frozenset())


def sse_message(kind: str, payload: dict) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(payload, default=str, ensure_ascii=False)}\n\n".encode()


@router.get("/api/events", response_class=StreamingResponse)
async def events(request: Request, user: Principal = Depends(SIGNED_IN)):
    """text/event-stream of alert.new, alert.updated, camera.state, lead.updated, job.progress."""
    bus = services_of(request).events or getattr(runtime_of(request), "events", None)

    async def stream():
        yield b"retry: 3000\n: connected\n\n"
        sub = bus.subscribe() if bus is not None else None
        last = time.monotonic()
        try:
            while not await request.is_disconnected():
                item = await asyncio.to_thread(sub.get, 1.0) if sub else await asyncio.sleep(1.0)
                if item and may_see(user.role, item[0]):
                    last = time.monotonic()
                    yield sse_message(*item)
                elif time.monotonic() - last > KEEPALIVE_S:
                    last = time.monotonic()
                    yield b": keepalive\n\n"
        finally:
            if sub:
                sub.close()

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
