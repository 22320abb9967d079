"""Continuous recording over HTTP: a camera's segments and timeline (recorded ranges, alerts), a segment's MP4, and
the export of a range as evidence on a lead."""
from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import Field
from sqlalchemy import select

from api.auth.deps import Allow
from api.auth.roles import LEAD_WORKFLOW, WALL
from api.auth.users import Principal
from api.routes.common import StrictIn, iso, runtime_of, services_of
from api.routes.schemas import MAX_DB_INT, DbId, Out, Page
from api.routes.site_schemas import binary
from streams.segment_index import Segment, SegmentIndex
from vigil.db.models import Alert
from vigil.errors import InputError, NotFoundError
from vigil.types import utcnow

router = APIRouter(tags=["recordings"])
VIEW = Allow(WALL)
EXPORT = Allow(LEAD_WORKFLOW)  # reviewers, officers (and admins) put footage on a lead
MAX_TIMELINE_H = 168
JOIN_S = 1.0  # segments closer than this draw as one recorded range


class SegmentOut(Out):
    id: int
    camera_id: str
    start_at: str = Field(description="UTC time of the first packet")
    end_at: str = Field(description="UTC time of the last packet plus one frame")
    start_s: float = Field(description="the camera's media seconds of the first packet")
    end_s: float
    bytes: int
    packets: int
    url: str = Field(description="the segment's MP4")


class RangeOut(Out):
    start_at: str
    end_at: str


class TimelineAlert(Out):
    id: str
    rule: str
    state: str
    started_at: str
    ended_at: str
    url: str = Field(description="the alert's page")


class TimelineOut(Out):
    camera_id: str
    start_at: str
    end_at: str
    recording: bool = Field(description="the camera is set to record continuously (record.continuous)")
    ranges: list[RangeOut] = Field(description="recorded footage, gaps between segments left out")
    segments: list[SegmentOut]
    alerts: list[TimelineAlert]


class ExportIn(StrictIn):
    start: datetime = Field(description="range start (ISO 8601 with a zone)")
    end: datetime = Field(description="range end (ISO 8601 with a zone)")
    lead_id: int = Field(ge=1, le=MAX_DB_INT, description="the lead the footage is attached to")
    note: str = Field("", max_length=2000, description="what the footage shows (default: camera and range)")


class ExportOut(Out):
    attachment_id: int
    lead_id: int
    name: str
    sha256: str
    bytes: int
    start_at: str = Field(description="first packet: the keyframe at or before the asked start")
    end_at: str
    segments: int = Field(description="recorded segments the clip was cut from")
    gaps_s: float = Field(description="seconds of the range no segment covered")
    url: str = Field(description="the attachment")


def index_of(request: Request) -> SegmentIndex:
    """The running recorder's index, or (no cameras run in this process) the recordings folder's, opened once."""
    runtime = runtime_of(request)
    recording = getattr(runtime, "recording", None)
    if recording is not None:
        return recording.index
    state = request.app.state
    if getattr(state, "recording_index", None) is None:
        from api.service.recording import open_index

        state.recording_index = open_index(services_of(request))
    return state.recording_index


def _camera(request: Request, camera_id: str) -> None:
    if camera_id not in services_of(request).loaded.config.cameras and camera_id not in index_of(request).cameras():
        raise NotFoundError(f"camera {camera_id!r} does not exist")


def _span(start: datetime | None, end: datetime | None, hours: float) -> tuple[datetime, datetime]:
    end = end or utcnow()
    try:
        start = start or end - timedelta(hours=hours)
    except OverflowError:
        raise InputError(f"expected an end at least {hours:g} hours after the year 1, found "
                         f"{end.isoformat()}") from None
    for name, at in (("start", start), ("end", end)):
        if at.tzinfo is None:
            raise InputError(f"{name}: expected a time with a zone, e.g. 2026-12-03T10:00:00Z, found a naive time")
    if end <= start:
        raise InputError(f"expected end after start, found start {start.isoformat()} and end {end.isoformat()}")
    if end - start > timedelta(hours=MAX_TIMELINE_H):
        raise InputError(f"expected a span of at most {MAX_TIMELINE_H} hours, found "
                         f"{(end - start).total_seconds() / 3600:.1f} hours")
    return start, end


def segment_dict(seg: Segment) -> dict:
    return {"id": seg.id, "camera_id": seg.camera_id, "start_at": iso(seg.start_at), "end_at": iso(seg.end_at),
            "start_s": seg.start_s, "end_s": seg.end_s, "bytes": seg.bytes, "packets": seg.packets,
            "url": f"/api/recordings/{seg.id}.mp4"}


def ranges_of(segments: list[Segment]) -> list[dict]:
    out: list[list[datetime]] = []
    for seg in segments:
        if out and (seg.start_at - out[-1][1]).total_seconds() <= JOIN_S:
            out[-1][1] = max(out[-1][1], seg.end_at)
        else:
            out.append([seg.start_at, seg.end_at])
    return [{"start_at": iso(a), "end_at": iso(b)} for a, b in out]


SPAN = {"start": Query(None, description="from (ISO 8601 with a zone; default: `hours` before end)"),
        "end": Query(None, description="until (default: now)")}


@router.get("/api/cameras/{camera_id}/recordings", response_model=Page[SegmentOut])
def list_segments(camera_id: str, request: Request, start: datetime | None = SPAN["start"],
                  end: datetime | None = SPAN["end"], hours: float = Query(6, gt=0, le=MAX_TIMELINE_H),
                  limit: int = Query(1000, ge=1, le=10000), user: Principal = Depends(VIEW)) -> dict:
    """The camera's recorded segments that overlap the span, oldest first."""
    _camera(request, camera_id)
    a, b = _span(start, end, hours)
    segs = index_of(request).between(camera_id, a, b)
    return {"items": [segment_dict(s) for s in segs[:limit]], "total": len(segs), "limit": limit, "offset": 0}


@router.get("/api/cameras/{camera_id}/timeline", response_model=TimelineOut)
def timeline(camera_id: str, request: Request, start: datetime | None = SPAN["start"],
             end: datetime | None = SPAN["end"], hours: float = Query(6, gt=0, le=MAX_TIMELINE_H),
             segments: bool = Query(True, description="list the segments too (a day holds thousands: the page "
                                    "asks without, and looks a segment up by time when it plays one)"),
             user: Principal = Depends(VIEW)) -> dict:
    """What the camera page's timeline draws: recorded ranges, segments and the camera's alerts over the span."""
    _camera(request, camera_id)
    a, b = _span(start, end, hours)
    services = services_of(request)
    segs = index_of(request).between(camera_id, a, b)
    with services.sessions() as s:
        rows = s.scalars(select(Alert).where(Alert.camera_id == camera_id, Alert.ended_at >= a, Alert.started_at <= b)
                         .order_by(Alert.started_at).limit(2000))
        alerts = [{"id": r.id, "rule": r.rule, "state": r.state, "started_at": iso(r.started_at),
                   "ended_at": iso(r.ended_at), "url": f"/alerts/{r.id}"} for r in rows]
    cam = services.loaded.config.cameras.get(camera_id)
    return {"camera_id": camera_id, "start_at": iso(a), "end_at": iso(b),
            "recording": bool(cam and cam.enabled and cam.record.continuous), "ranges": ranges_of(segs),
            "segments": [segment_dict(x) for x in segs] if segments else [], "alerts": alerts}


@router.get("/api/recordings/{segment_id}.mp4", response_class=FileResponse,
            responses=binary("video/mp4", what="the segment (MP4, the camera's own packets)"))
def segment_media(segment_id: DbId, request: Request, user: Principal = Depends(VIEW)) -> FileResponse:
    """One recorded segment (byte ranges served, for seeking in a <video>)."""
    index = index_of(request)
    seg = index.get(segment_id)
    path = index.root / seg.path if seg is not None else None
    if seg is None or path is None or not path.is_file():
        raise NotFoundError(f"recorded segment {segment_id} does not exist (or retention removed it)")
    return FileResponse(path, media_type="video/mp4", filename=f"{seg.camera_id}_{seg.start_at:%Y%m%dT%H%M%SZ}.mp4",
                        content_disposition_type="inline")


@router.post("/api/cameras/{camera_id}/exports", status_code=201, response_model=ExportOut)
def export(camera_id: str, body: ExportIn, request: Request, user: Principal = Depends(EXPORT)) -> dict:
    """Export a recorded range as evidence on an open lead of the camera's site: the segments' own packets
    remuxed into one MP4, stored and hashed in the lead's signed manifest (so its package holds it), audited."""
    from api.ops.footage import ExportRequest, export_footage

    r = export_footage(services_of(request), index_of(request),
                       ExportRequest(camera_id, body.start, body.end, body.lead_id, body.note), user.username)
    bus = services_of(request).events
    if bus is not None:
        bus.publish("lead.updated", {"id": r.lead_id})
    return {"attachment_id": r.attachment_id, "lead_id": r.lead_id, "name": r.name, "sha256": r.sha256,
            "bytes": r.bytes, "start_at": iso(r.start_at), "end_at": iso(r.end_at), "segments": r.segments,
            "gaps_s": round(r.gaps_s, 3), "url": f"/api/leads/{r.lead_id}/attachments/{r.attachment_id}"}
