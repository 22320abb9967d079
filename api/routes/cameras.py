"""The camera wall's data: cameras with live state, recent alerts, annotated snapshots (wall) and MJPEG (one camera)."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import Field
from sqlalchemy import select

from api.auth.deps import Allow
from api.auth.roles import OPERATOR, REVIEWER, WALL
from api.auth.users import Principal
from api.routes.alert_schemas import AlertEvent
from api.routes.alerts import alert_dict
from api.routes.common import StrictIn, not_found, runtime_of, services_of
from api.routes.site_schemas import CameraDetail, CameraList, binary
from api.routes.schemas import Language
from api.routes.live_frames import BOUNDARY, FrameCache, LiveFrame, camera_state, live_frame, mjpeg_stream, state_card
from vigil.catalogue import rules_for_profile
from vigil.db.models import Alert, Camera, Site
from vigil.types import utcnow
from vision.jpeg import encode_jpeg

log = logging.getLogger(__name__)
router = APIRouter(tags=["cameras"])
VIEW = Allow(WALL)
MARK = Allow({OPERATOR, REVIEWER})  # who may mark a violation the model missed
ACTIVE_WINDOW = timedelta(seconds=30)  # an alert still extended this recently counts as active


def _state(request: Request, camera_id: str, enabled: bool) -> dict:
    secrets = tuple(services_of(request).loaded.secrets)
    return camera_state(runtime_of(request), camera_id, enabled, secrets)


def _active_cameras(session) -> dict[str, str]:
    """camera id -> its newest active alert that nobody has acknowledged yet (an acknowledged alert stops flashing)"""
    recent = utcnow() - ACTIVE_WINDOW
    q = (select(Alert.camera_id, Alert.id).where(Alert.state != "rejected", Alert.ongoing.is_(True),
                                                  Alert.ended_at >= recent, Alert.acknowledged_at.is_(None))
         .order_by(Alert.started_at))
    return {camera_id: alert_id for camera_id, alert_id in session.execute(q)}


@router.get("/api/cameras", response_model=CameraList)
def list_cameras(request: Request, site: str | None = None, user: Principal = Depends(VIEW)) -> dict:
    """Every camera with its site, live state (live/stalled/reconnecting/offline, last error) and alert flag."""
    with services_of(request).sessions() as s:
        q = select(Camera).order_by(Camera.site_id, Camera.id)
        if site:
            q = q.where(Camera.site_id == site)
        cams = s.scalars(q).all()
        sites = {x.id: x.name for x in s.scalars(select(Site))}
        active = _active_cameras(s)
        items = [{"id": c.id, "name": c.name, "site_id": c.site_id, "site_name": sites.get(c.site_id, c.site_id),
                  "profile": c.profile, "enabled": c.enabled, "alerting": c.id in active,
                  "alert_id": active.get(c.id),
                  "rules": [r.name for r in rules_for_profile(c.profile)],
                  **_state(request, c.id, c.enabled)} for c in cams]
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}


@router.get("/api/cameras/{camera_id}", response_model=CameraDetail)
def get_camera(camera_id: str, request: Request, user: Principal = Depends(VIEW)) -> dict:
    """One camera, its state and its 20 most recent alerts."""
    with services_of(request).sessions() as s:
        c = s.get(Camera, camera_id)
        if c is None:
            raise not_found("camera", camera_id)
        site = s.get(Site, c.site_id)
        recent = s.scalars(select(Alert).where(Alert.camera_id == camera_id)
                           .order_by(Alert.started_at.desc()).limit(20)).all()
        active = _active_cameras(s)
        return {"id": c.id, "name": c.name, "site_id": c.site_id, "site_name": site.name if site else c.site_id,
                "profile": c.profile, "enabled": c.enabled, "alerting": camera_id in active,
                "alert_id": active.get(camera_id),
                **_state(request, c.id, c.enabled), "alerts": [alert_dict(a) for a in recent],
                "rules": [r.name for r in rules_for_profile(c.profile)]}


class MissedIn(StrictIn):
    rule: str = Field(..., max_length=64, description="the violation the model missed (a rule of this camera)")
    note: str = Field("", max_length=2000)


@router.post("/api/cameras/{camera_id}/missed", status_code=201, response_model=AlertEvent)
def mark_missed(camera_id: str, body: MissedIn, request: Request, user: Principal = Depends(MARK)) -> dict:
    """"Violation here": the camera's newest analysed frame and its buffered pre-roll become an alert (state new)
    that is reviewed like any other; confirmed with drawn boxes it is a labelled example of what the model missed."""
    from api.ops.missed import MissedMark, mark_missed as make

    _known(request, camera_id)
    return make(services_of(request), runtime_of(request), MissedMark(camera_id, body.rule, user.username, body.note))


def _lang(request: Request, user: Principal, lang: str | None) -> str:
    """The overlay's language: the page's (`lang`), else the language switch's cookie, else the user's setting."""
    from api.i18n import LANG_COOKIE, pick

    return lang or pick(request.cookies.get(LANG_COOKIE), user.language)


def _frame(request: Request, camera_id: str, width: int, quality: int, lang: str = "en") -> LiveFrame:
    app = request.app
    cache = getattr(app.state, "frame_cache", None)
    if cache is None:
        cache = app.state.frame_cache = FrameCache()
    return live_frame(runtime_of(request), services_of(request).loaded, cache, camera_id, width=width,
                      quality=quality, lang=lang)


def _known(request: Request, camera_id: str) -> None:
    if camera_id not in services_of(request).loaded.config.cameras:
        raise not_found("camera", camera_id)


@router.get("/api/cameras/{camera_id}/live.mjpg", response_class=StreamingResponse)
async def live(camera_id: str, request: Request, fps: float = Query(3.0, gt=0, le=10),
               quality: int = Query(70, ge=30, le=95), w: int = Query(0, ge=0, le=3840),
               lang: Language | None = Query(None, description="overlay language (default: the page's)"),
               user: Principal = Depends(VIEW)):
    """MJPEG (multipart/x-mixed-replace) of the annotated detect stream, for one camera full screen; frames are
    encoded only while watched, once per frame for every viewer. `w`: largest width (0: as captured)."""
    _known(request, camera_id)
    shown = _lang(request, user, lang)

    async def next_frame() -> LiveFrame:
        try:
            return await asyncio.to_thread(_frame, request, camera_id, w, quality, shown)
        except Exception as e:  # noqa: BLE001 - one bad frame must not end the viewer's stream
            log.warning("live view %s: %s", camera_id, e)
            return LiveFrame(encode_jpeg(state_card(camera_id, "error", str(e)), quality), "error", -1, "error")

    return StreamingResponse(mjpeg_stream(next_frame, request.is_disconnected, fps),
                             media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                             headers={"Cache-Control": "no-store"})


@router.get("/api/cameras/{camera_id}/snapshot.jpg", response_class=Response,
            responses=binary("image/jpeg", what="the annotated newest frame, or a card with the state"))
def snapshot(camera_id: str, request: Request, w: int = Query(0, ge=0, le=3840),
             quality: int = Query(70, ge=30, le=95), if_none_match: str | None = Header(None),
             lang: Language | None = Query(None, description="overlay language (default: the page's)"),
             user: Principal = Depends(VIEW)) -> Response:
    """One annotated JPEG of the newest frame (the wall polls it per tile), or a card with the camera's state and
    last error. `w`: largest width (0: as captured). Sends 304 when the picture is the one named by If-None-Match."""
    _known(request, camera_id)
    frame = _frame(request, camera_id, w, quality, _lang(request, user, lang))
    etag = f'"{frame.tag}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Camera-State": frame.state,
               "X-Frame-Seq": str(frame.seq)}
    if if_none_match == etag:
        return Response(status_code=304, headers=headers)
    return Response(frame.jpeg, media_type="image/jpeg", headers=headers)
