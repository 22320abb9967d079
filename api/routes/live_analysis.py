"""The newest analysis of a camera as data, for overlays the browser draws over live video: boxes with class names,
zones, active rules, stamped with the frame's media time (the clock of the live video's `currentTime`)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from api.auth.deps import Allow
from api.auth.roles import WALL
from api.auth.users import Principal
from api.routes.common import iso, not_found, runtime_of, services_of
from api.routes.schemas import Out

router = APIRouter(tags=["cameras"])
VIEW = Allow(WALL)


class LiveBox(Out):
    box: tuple[float, float, float, float] = Field(description="x1, y1, x2, y2 as fractions of the picture (0-1)")
    class_name: str = Field(description="the detector class (the UI shows its translated name)")
    confidence: float


class LiveZone(Out):
    name: str
    polygon: list[tuple[float, float]] = Field(description="points as fractions of the picture (0-1)")


class LiveAnalysis(Out):
    """What an overlay draws; `t` is the analysed frame's media time in seconds, -1 before the first frame."""

    camera_id: str
    seq: int = Field(description="the analysed frame's number; -1 before the first")
    t: float = Field(description="media seconds of the analysed frame: the live video's currentTime for that frame")
    captured_at: str | None
    boxes: list[LiveBox]
    zones: list[LiveZone]
    active_rules: list[str] = Field(description="rules with an open event on this camera")


def _zones(loaded, camera_id: str) -> list[dict]:
    cam = loaded.config.cameras.get(camera_id)
    if cam is None:
        return []
    return [{"name": name, "polygon": [(float(x), float(y)) for x, y in z.polygon]} for name, z in cam.zones.items()]


def analysis_payload(runtime, loaded, camera_id: str) -> dict:
    """The newest analysis result as a `LiveAnalysis` dict (boxes normalised to the analysed picture)."""
    from vision.rules.base import class_names

    latest = runtime.latest(camera_id) if runtime is not None else None
    zones = _zones(loaded, camera_id)
    if latest is None:
        return {"camera_id": camera_id, "seq": -1, "t": -1.0, "captured_at": None, "boxes": [], "zones": zones,
                "active_rules": []}
    h, w = latest.frame.image.shape[:2]
    dets = latest.detections
    names = class_names(dets)
    conf = dets.confidence if dets.confidence is not None else [1.0] * len(dets)
    boxes = [{"box": (round(float(x1) / w, 4), round(float(y1) / h, 4), round(float(x2) / w, 4),
                      round(float(y2) / h, 4)),
              "class_name": str(n), "confidence": round(float(c), 3)}
             for (x1, y1, x2, y2), n, c in zip(dets.xyxy, names, conf)]
    return {"camera_id": camera_id, "seq": latest.frame.seq, "t": round(latest.frame.pts_s, 4),
            "captured_at": iso(latest.frame.captured_at), "boxes": boxes, "zones": zones,
            "active_rules": list(latest.active_rules)}


def latest_seq(runtime, camera_id: str) -> int:
    latest = runtime.latest(camera_id) if runtime is not None else None
    return -1 if latest is None else latest.frame.seq


@router.get("/api/cameras/{camera_id}/analysis", response_model=LiveAnalysis)
def latest_analysis(camera_id: str, request: Request, user: Principal = Depends(VIEW)) -> dict:
    """The camera's newest analysis: boxes (class names, confidence), zones and active rules, with the frame's
    media time `t` so an overlay lines up with the live video (`/api/cameras/{id}/video`, which also pushes it)."""
    loaded = services_of(request).loaded
    if camera_id not in loaded.config.cameras:
        raise not_found("camera", camera_id)
    return analysis_payload(runtime_of(request), loaded, camera_id)
