"""Alerts: lists with filters, one alert with its detections and evidence, evidence files, the review queue."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field
from sqlalchemy import select

from api.auth.deps import Allow
from api.auth.roles import REVIEW, WALL
from api.auth.users import Principal
from api.ops import labels
from api.routes.alert_schemas import AcknowledgeOut, AlertFull, ConfirmOut, LabelsOut, RejectOut, ReviewNext
from api.routes.common import StrictIn, iso, not_found, services_of
from api.routes.site_schemas import binary
from vigil.catalogue import PROFILE_CLASSES
from api.ops.grading import severity
from vigil.db.models import Alert, Camera, Site

router = APIRouter(tags=["alerts"])
VIEW = Allow(WALL)
REVIEWER = Allow(REVIEW)


class BoxIn(StrictIn):
    class_name: str = Field(..., max_length=64)
    x1: float
    y1: float
    x2: float
    y2: float


class DecisionIn(StrictIn):
    note: str = Field("", max_length=2000)
    boxes: list[BoxIn] | None = Field(None, description="corrected boxes in best-frame pixels; None: unchanged")


class LabelsIn(StrictIn):
    note: str = Field("", max_length=2000)
    boxes: list[BoxIn] = Field(..., description="corrected boxes in best-frame pixels ([]: nothing in the frame)")


def alert_dict(a: Alert, full: bool = False) -> dict:
    d = {"id": a.id, "rule": a.rule, "camera_id": a.camera_id, "site_id": a.site_id, "state": a.state,
         "ongoing": a.ongoing, "started_at": iso(a.started_at), "ended_at": iso(a.ended_at),
         "best_at": iso(a.best_at), "best_score": round(a.best_score, 4), "lead_id": a.lead_id,
         "model": f"{a.model_name} {a.model_version}".strip(), "reviewed_at": iso(a.reviewed_at),
         "missed": a.event_id.startswith("missed-"),
         "marked_by": (a.thresholds or {}).get("marked_by") if a.event_id.startswith("missed-") else None,
         "acknowledged_by": a.acknowledged_by, "acknowledged_at": iso(a.acknowledged_at)}
    if full:
        d["detections"] = [{"class_name": b.class_name, "confidence": round(b.confidence, 4), "track_id": b.track_id,
                            "x1": b.x1, "y1": b.y1, "x2": b.x2, "y2": b.y2} for b in a.detections]
        d["evidence"] = [{"name": e.name, "size": e.size, "sha256": e.sha256, "content_type": e.content_type,
                          "url": f"/api/alerts/{a.id}/evidence/{e.name}"} for e in a.evidence]
        d["review_note"] = a.review_note
        d["thresholds"] = a.thresholds
        d["manifest_sha256"] = a.manifest_sha256
        d["revision"] = a.evidence_revision
        d["revisions"] = sorted({e.revision for e in a.evidence})
        d["clip_pending"] = not any(e.name.endswith(".mp4") for e in a.evidence)
    return d


def _full(request: Request, alert_id: str) -> dict:
    with services_of(request).sessions() as s:
        a = s.get(Alert, alert_id)
        if a is None:
            raise not_found("alert", alert_id)
        d = alert_dict(a, full=True)
        cam = s.get(Camera, a.camera_id)
        d["profile"] = cam.profile if cam else None
        d["camera_name"] = cam.name if cam else a.camera_id
        d["classes"] = list(PROFILE_CLASSES.get(d["profile"], ()))
        site = s.get(Site, a.site_id)
        d["site_name"] = site.name if site else a.site_id
        d["severity"] = severity(services_of(request).loaded.config, a.camera_id, a.rule)
        return d


@router.get("/api/alerts/{alert_id}", response_model=AlertFull)
def get_alert(alert_id: str, request: Request, user: Principal = Depends(VIEW)) -> dict:
    return _full(request, alert_id)


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) from 'bytes=a-b', or None when absent or unusable."""
    if not header.startswith("bytes=") or "," in header:
        return None
    a, _, b = header[6:].partition("-")
    try:
        start = int(a) if a else max(0, size - int(b))
        end = min(int(b), size - 1) if a and b else size - 1
    except ValueError:
        return None
    return (start, end) if 0 <= start <= end < size else None


@router.get("/api/alerts/{alert_id}/evidence/{name}", response_class=Response,
            responses=binary("*/*", what="the file (JPEG, MP4, JSON manifest ...); 206 for a byte range"))
def evidence_file(alert_id: str, name: str, request: Request, user: Principal = Depends(VIEW)) -> Response:
    """One evidence file (best frame, clip, manifest ...); every access is audited. Supports byte ranges."""
    from api.ops.evidence_access import read_evidence

    data, content_type = read_evidence(services_of(request), alert_id, name, user.username)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=300"}
    rng = _byte_range(request.headers.get("range", ""), len(data))
    if rng:
        start, end = rng
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return Response(data[start:end + 1], 206, headers=headers, media_type=content_type)
    return Response(data, media_type=content_type, headers=headers)


@router.get("/api/alerts/{alert_id}/thumbnail.jpg", response_class=Response,
            responses=binary("image/jpeg", what="a small JPEG of the best frame"))
def thumbnail(alert_id: str, request: Request, user: Principal = Depends(VIEW)) -> Response:
    """A small preview of the best frame for lists; not audited, unlike the evidence files it is made from."""
    from api.ops.evidence_access import read_thumbnail, thumbnail_tag

    services = services_of(request)
    tag, key = thumbnail_tag(services, alert_id)
    headers = {"ETag": tag, "Cache-Control": "private, max-age=300"}
    if tag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(read_thumbnail(services, key), media_type="image/jpeg", headers=headers)


@router.get("/api/review/next", response_model=ReviewNext)
def review_next(request: Request, skip: list[str] = Query([], description="alert ids to pass over"),
                site: str | None = None, user: Principal = Depends(REVIEWER)) -> dict:
    """The next alert waiting for review (state new), or {"alert": null}; also how many wait. Urgent (red) sites'
    first, then the most severe rule, then the worst-graded site, then the oldest
    (`api.ops.alert_queue.review_order`)."""
    from api.ops.alert_queue import review_order

    services = services_of(request)
    with services.sessions() as s:
        q = select(Alert).where(Alert.state == "new")
        if site:
            q = q.where(Alert.site_id == site)
        waiting = s.scalars(q).all()
        ordered = review_order(services, [a for a in waiting if a.id not in set(skip)])
        alert_id = ordered[0].id if ordered else None
    return {"alert": _full(request, alert_id) if alert_id else None, "waiting": len(waiting)}


def _boxes(body: DecisionIn | LabelsIn) -> list[labels.PixelBox] | None:
    if body.boxes is None:
        return None
    return [labels.PixelBox(b.class_name, b.x1, b.y1, b.x2, b.y2) for b in body.boxes]


@router.post("/api/alerts/{alert_id}/acknowledge", response_model=AcknowledgeOut)
def acknowledge(alert_id: str, request: Request, user: Principal = Depends(VIEW)) -> dict:
    """"I've seen it": records who and when, stops the camera's flash on every wall. The review state is unchanged;
    acknowledging twice keeps the first acknowledgement (`acknowledged` is then false)."""
    from api.ops.acknowledge import acknowledge as ack

    done = ack(services_of(request), alert_id, user.username)
    return {"acknowledged": done, "alert": _full(request, alert_id)}


@router.post("/api/alerts/{alert_id}/confirm", response_model=ConfirmOut)
def confirm(alert_id: str, body: DecisionIn, request: Request, user: Principal = Depends(REVIEWER)) -> dict:
    """Confirm: the alert joins (or opens) its site's lead; the reviewed boxes are saved as labels."""
    from api.ops import review

    services = services_of(request)
    boxes = _boxes(body)
    labels.check_boxes(services, alert_id, boxes)
    lead = review.confirm(services, alert_id, user.username)
    label = labels.save_review_labels(services, alert_id, user.username, boxes, confirmed=True)
    return {"alert": _full(request, alert_id), "lead_id": lead.id, "label_image_id": label}


@router.post("/api/alerts/{alert_id}/reject", response_model=RejectOut)
def reject(alert_id: str, body: DecisionIn, request: Request, user: Principal = Depends(REVIEWER)) -> dict:
    """Reject as a false positive: the best frame becomes a hard negative for retraining."""
    from api.ops import review

    services = services_of(request)
    boxes = _boxes(body)
    labels.check_boxes(services, alert_id, boxes)
    review.reject(services, alert_id, user.username, note=body.note)
    label = labels.save_review_labels(services, alert_id, user.username, boxes, confirmed=False)
    return {"alert": _full(request, alert_id), "label_image_id": label}


@router.post("/api/alerts/{alert_id}/labels", response_model=LabelsOut)
def save_labels(alert_id: str, body: LabelsIn, request: Request, user: Principal = Depends(REVIEWER)) -> dict:
    """Save corrected boxes without deciding the alert."""
    services = services_of(request)
    boxes = _boxes(body)
    labels.check_boxes(services, alert_id, boxes)
    return {"label_image_id": labels.save_review_labels(services, alert_id, user.username, boxes, confirmed=None)}
