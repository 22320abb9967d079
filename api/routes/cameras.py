"""The camera wall's data: cameras with live state, recent alerts per camera, and the MJPEG live view."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import cv2
import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from api.auth.deps import Allow
from api.auth.roles import WALL
from api.auth.users import Principal
from api.routes.alerts import alert_dict
from api.routes.common import iso, not_found, runtime_of, services_of
from vigil.db.models import Alert, Camera, Site
from vigil.types import utcnow

log = logging.getLogger(__name__)
router = APIRouter(tags=["cameras"])
VIEW = Allow(WALL)
BOUNDARY = "vigilframe"
ACTIVE_WINDOW = timedelta(seconds=30)  # an alert still extended this recently counts as active


def _state(runtime, camera_id: str, enabled: bool) -> dict:
    if not enabled:
        return {"state": "disabled", "last_error": "", "fps": 0.0, "since": None}
    status = runtime.camera_states().get(camera_id) if runtime else None
    if status is None:
        return {"state": "offline", "last_error": "camera service not running" if runtime is None else "",
                "fps": 0.0, "since": None}
    return {"state": status.state, "last_error": status.last_error, "fps": round(status.fps, 1),
            "since": iso(status.since)}


def _active_cameras(session) -> set[str]:
    recent = utcnow() - ACTIVE_WINDOW
    q = select(Alert.camera_id).where(Alert.state != "rejected", Alert.ongoing.is_(True), Alert.ended_at >= recent)
    return set(session.scalars(q))


@router.get("/api/cameras")
def list_cameras(request: Request, site: str | None = None, user: Principal = Depends(VIEW)) -> dict:
    """Every camera with its site, live state (live/stalled/reconnecting/offline, last error) and alert flag."""
    runtime = runtime_of(request)
    with services_of(request).sessions() as s:
        q = select(Camera).order_by(Camera.site_id, Camera.id)
        if site:
            q = q.where(Camera.site_id == site)
        cams = s.scalars(q).all()
        sites = {x.id: x.name for x in s.scalars(select(Site))}
        active = _active_cameras(s)
        items = [{"id": c.id, "name": c.name, "site_id": c.site_id, "site_name": sites.get(c.site_id, c.site_id),
                  "profile": c.profile, "enabled": c.enabled, "alerting": c.id in active,
                  **_state(runtime, c.id, c.enabled)} for c in cams]
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}


@router.get("/api/cameras/{camera_id}")
def get_camera(camera_id: str, request: Request, user: Principal = Depends(VIEW)) -> dict:
    """One camera, its state and its 20 most recent alerts."""
    runtime = runtime_of(request)
    with services_of(request).sessions() as s:
        c = s.get(Camera, camera_id)
        if c is None:
            raise not_found("camera", camera_id)
        site = s.get(Site, c.site_id)
        recent = s.scalars(select(Alert).where(Alert.camera_id == camera_id)
                           .order_by(Alert.started_at.desc()).limit(20)).all()
        return {"id": c.id, "name": c.name, "site_id": c.site_id, "site_name": site.name if site else c.site_id,
                "profile": c.profile, "enabled": c.enabled, "alerting": camera_id in _active_cameras(s),
                **_state(runtime, c.id, c.enabled), "alerts": [alert_dict(a) for a in recent]}


def _placeholder(text: str, size: tuple[int, int] = (640, 360)) -> np.ndarray:
    img = np.full((size[1], size[0], 3), 40, np.uint8)
    cv2.putText(img, text, (24, size[1] // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (200, 200, 200), 2, cv2.LINE_AA)
    return img


def _annotated_jpeg(request: Request, camera_id: str, last_seq: int | None, quality: int) -> tuple[bytes | None, int | None]:
    """(JPEG, seq) of the newest analysed frame, annotated; (None, last_seq) when nothing new."""
    runtime = runtime_of(request)
    latest = runtime.latest(camera_id) if runtime else None
    if latest is None:
        state = _state(runtime, camera_id, True)["state"]
        return (_jpeg(_placeholder(f"{camera_id}: {state}"), quality), -1) if last_seq != -1 else (None, -1)
    if latest.frame.seq == last_seq:
        return None, last_seq
    from vision.annotate import annotate

    cam = services_of(request).loaded.config.cameras.get(camera_id)
    zones = {name: z.polygon for name, z in (cam.zones.items() if cam else ())}
    image = annotate(latest.frame.image, latest.detections, zones=zones, active_rules=latest.active_rules)
    return _jpeg(image, quality), latest.frame.seq


def _jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes()


def _part(jpeg: bytes) -> bytes:
    """One frame, closed by the next boundary at once (browsers show a part only when its boundary follows)."""
    head = f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
    return head + jpeg + f"\r\n--{BOUNDARY}\r\n".encode()


@router.get("/api/cameras/{camera_id}/live.mjpg", response_class=StreamingResponse)
async def live(camera_id: str, request: Request, fps: float = Query(3.0, gt=0, le=10),
               quality: int = Query(70, ge=30, le=95), user: Principal = Depends(VIEW)):
    """MJPEG (multipart/x-mixed-replace) of the annotated detect stream; frames are encoded only while watched."""
    if camera_id not in services_of(request).loaded.config.cameras:
        raise not_found("camera", camera_id)

    async def frames():
        seq, keepalive = None, 0.0
        yield f"--{BOUNDARY}\r\n".encode()
        while not await request.is_disconnected():
            try:
                jpeg, seq = await asyncio.to_thread(_annotated_jpeg, request, camera_id, seq, quality)
            except Exception as e:  # noqa: BLE001 - one bad frame must not end the viewer's stream
                log.warning("live view %s: %s", camera_id, e)
                jpeg, seq = _jpeg(_placeholder(f"{camera_id}: no frame"), quality), -1
            if jpeg is not None:
                keepalive = time.monotonic()
                yield _part(jpeg)
            elif time.monotonic() - keepalive > 1 and seq == -1:
                seq = None  # resend the placeholder now and then so a new proxy/browser sees a frame
            await asyncio.sleep(1.0 / fps)

    return StreamingResponse(frames(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                             headers={"Cache-Control": "no-store"})


@router.get("/api/cameras/{camera_id}/snapshot.jpg")
def snapshot(camera_id: str, request: Request, user: Principal = Depends(VIEW)) -> Response:
    """One annotated JPEG of the newest frame."""
    if camera_id not in services_of(request).loaded.config.cameras:
        raise not_found("camera", camera_id)
    jpeg, _ = _annotated_jpeg(request, camera_id, None, 80)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
