"""Live video over a WebSocket: a running camera's own H.264/H.265 packets as fragmented MP4 (remuxed, never
re-encoded) for Media Source Extensions, with the newest analysis pushed alongside for the browser's overlay.

A WebSocket rather than a chunked HTTP response: a browser keeps only six HTTP/1.1 connections per host, so a wall
of 16 streaming responses would starve; WebSockets are not counted against that limit, and the messages keep the
init segment, the fragments and the analysis apart without a framing of our own.

Messages, server to browser: text `{"type": "init", "codec", "mime", "width", "height"}` then the init segment
(binary); binary media fragments (moof + mdat, one per packet, several per message when the viewer lags); text
`{"type": "analysis", ...LiveAnalysis}` whenever a new frame was analysed. A handshake the server refuses is an
HTTP answer with a JSON `detail`: 401 anonymous, 403 role or foreign Origin, 404 unknown camera, 409 not running.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Callable
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from api.auth.deps import Allow, authenticate
from api.auth.roles import WALL
from api.auth.users import Principal
from api.routes.live_analysis import analysis_payload, latest_seq
from streams.live_feed import LiveFeed, ViewerQueue
from vigil.errors import NotFoundError

log = logging.getLogger(__name__)
router = APIRouter(tags=["cameras"])
POLL_S = 0.1  # how often a viewer's sender looks for a new analysis when no video arrives
CHECK_S = 1.0  # how often it checks that the camera's pipeline is still the one it follows


class AllowSocket(Allow):
    """`Allow` for a WebSocket handshake: the caller (session cookie or bearer token, like the HTTP routes), or the
    HTTPException to answer the handshake with. A browser's handshake must come from this site's own pages
    (Origin equals Host): cookies ride along on cross-site WebSocket handshakes, CSRF tokens cannot."""

    def __call__(self, websocket: WebSocket) -> Principal | HTTPException:  # type: ignore[override]
        principal = authenticate(websocket)  # type: ignore[arg-type]  # reads headers, cookies and state only
        if principal is None:
            return HTTPException(401, "sign in first (session cookie or Authorization: Bearer token)")
        if principal.role not in self.roles:
            return HTTPException(403, f"role {principal.role!r} may not do this; needs one of "
                                      f"{', '.join(sorted(self.roles))}")
        origin = websocket.headers.get("origin")
        host = websocket.headers.get("host", "")
        if origin and urlsplit(origin).netloc.lower() != host.lower():
            return HTTPException(403, f"expected a WebSocket from this site's pages (Origin {host}), found Origin "
                                      f"{origin[:100]!r}")
        return principal


WATCH = AllowSocket(WALL)


class LiveFeeds:
    """The app's live feeds, one per camera that someone watches; a feed follows one pipeline (a camera removed
    and added again gets a new one)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._feeds: dict[str, LiveFeed] = {}

    def join(self, runtime, camera_id: str, wake: Callable[[], None]) -> tuple[LiveFeed, ViewerQueue]:
        """NotFoundError when the camera is not running."""
        if runtime is None:
            raise NotFoundError("the camera service is not running")
        pipeline = runtime.supervisor.pipeline(camera_id)
        with self._lock:
            feed = self._feeds.get(camera_id)
            if feed is None or feed.pipeline is not pipeline:
                feed = self._feeds[camera_id] = LiveFeed(pipeline)
            return feed, feed.join(wake)

    def leave(self, camera_id: str, feed: LiveFeed, viewer: ViewerQueue) -> None:
        with self._lock:
            if feed.leave(viewer) and self._feeds.get(camera_id) is feed:
                del self._feeds[camera_id]

    def viewers(self, camera_id: str) -> int:
        with self._lock:
            feed = self._feeds.get(camera_id)
            return feed.viewers if feed is not None else 0


def feeds_of(app) -> LiveFeeds:
    feeds = getattr(app.state, "live_feeds", None)
    if feeds is None:
        feeds = app.state.live_feeds = LiveFeeds()
    return feeds


async def _refuse(websocket: WebSocket, status: int, detail: str) -> None:
    try:
        await websocket.send_denial_response(JSONResponse({"detail": detail}, status))
    except RuntimeError:  # a server without the denial-response extension: a policy close instead
        await websocket.close(1008, detail[:120])


def _current(runtime, camera_id: str, feed: LiveFeed) -> bool:
    try:
        return runtime.supervisor.pipeline(camera_id) is feed.pipeline and not feed.pipeline.finished.is_set()
    except NotFoundError:
        return False


@router.websocket("/api/cameras/{camera_id}/video")
async def live_video(websocket: WebSocket, camera_id: str, user: Principal | HTTPException = Depends(WATCH)):
    """fMP4 live video of a running camera (its own packets, from the newest buffered keyframe on) and its newest
    analysis, for the wall and the camera page."""
    if isinstance(user, HTTPException):
        return await _refuse(websocket, user.status_code, str(user.detail))
    app = websocket.app
    loaded = app.state.services.loaded
    if camera_id not in loaded.config.cameras:
        return await _refuse(websocket, 404, f"camera {camera_id!r} not found")
    runtime = getattr(app.state, "runtime", None)
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()

    def wake() -> None:  # the camera's reader thread
        try:
            loop.call_soon_threadsafe(ready.set)
        except RuntimeError:  # the server's loop is closing
            pass

    feeds = feeds_of(app)
    try:
        feed, viewer = feeds.join(runtime, camera_id, wake)
    except NotFoundError as e:
        return await _refuse(websocket, 409, f"camera {camera_id!r} is not running: {e}")
    tasks: list[asyncio.Task] = []
    try:
        await websocket.accept()
        tasks = [asyncio.create_task(_send(websocket, runtime, loaded, camera_id, feed, viewer, ready)),
                 asyncio.create_task(websocket.receive())]  # a viewer sends nothing: this ends when it leaves
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception) and not isinstance(result, (WebSocketDisconnect, RuntimeError, OSError)):
                log.warning("live video %s: %r", camera_id, result)
        feeds.leave(camera_id, feed, viewer)


async def _send(websocket: WebSocket, runtime, loaded, camera_id: str, feed: LiveFeed, viewer: ViewerQueue,
                ready: asyncio.Event) -> None:
    seq = -2
    checked = asyncio.get_running_loop().time()
    while True:
        try:
            await asyncio.wait_for(ready.wait(), POLL_S)
        except asyncio.TimeoutError:
            pass
        ready.clear()
        media: list[bytes] = []
        for seg in viewer.take():
            if seg.kind == "media":
                media.append(seg.data)
                continue
            if media:
                await websocket.send_bytes(b"".join(media))
                media = []
            await websocket.send_text(json.dumps({"type": "init", "codec": seg.codec, "width": seg.width,
                                                  "height": seg.height, "mime": f'video/mp4; codecs="{seg.codec}"'}))
            await websocket.send_bytes(seg.data)
        if media:
            await websocket.send_bytes(b"".join(media))
        now_seq = latest_seq(runtime, camera_id)
        if now_seq != seq:
            seq = now_seq
            await websocket.send_text(json.dumps({"type": "analysis", **analysis_payload(runtime, loaded, camera_id)}))
        now = asyncio.get_running_loop().time()
        if now - checked >= CHECK_S:
            checked = now
            if not _current(runtime, camera_id, feed):
                await websocket.close(1012, "the camera restarted; connect again")
                return
