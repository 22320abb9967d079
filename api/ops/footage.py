"""Recorded footage as evidence: a range of a camera's segments exported as one MP4 (its own packets, remuxed),
stored on a lead like its other files (content-addressed, listed in the lead's signed manifest chain, so it is in
the lead's package), and audited with the segments it came from."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.ops.attachments import MAX_ATTACHMENT_BYTES, NewAttachment, add_attachment
from api.ops.workflow import OPEN_STATES, LeadState, WorkflowError
from streams.segment_export import cut_range
from streams.segment_index import SegmentIndex
from vigil import audit
from vigil.db.models import Lead
from vigil.errors import InputError, NotFoundError
from vigil.types import iso_utc

FOOTAGE = "footage"  # the lead attachment kind of exported recordings


@dataclass(frozen=True)
class ExportRequest:
    camera_id: str
    start: datetime
    end: datetime
    lead_id: int
    note: str = ""


@dataclass(frozen=True)
class ExportResult:
    attachment_id: int
    lead_id: int
    name: str
    sha256: str
    bytes: int
    start_at: datetime
    end_at: datetime
    segments: int
    gaps_s: float


def check_request(services, index: SegmentIndex, req: ExportRequest) -> None:
    """Everything about the request that can be said without reading footage: camera, lead, range."""
    cfg = services.loaded.config
    if req.camera_id not in cfg.cameras and req.camera_id not in index.cameras():
        raise NotFoundError(f"camera {req.camera_id!r} does not exist")
    for name, at in (("start", req.start), ("end", req.end)):
        if at.tzinfo is None:
            raise InputError(f"{name}: expected a time with a zone, e.g. 2026-12-03T10:00:00Z, found a naive time")
    if req.end <= req.start:
        raise InputError(f"expected the end after the start, found start {iso_utc(req.start)} and end "
                         f"{iso_utc(req.end)}")
    longest = cfg.recording.max_export_s
    if (req.end - req.start).total_seconds() > longest:
        raise InputError(f"expected a range of at most {longest:g} s (recording.max_export_s), found "
                         f"{(req.end - req.start).total_seconds():g} s")
    with services.sessions() as s:
        lead = s.get(Lead, req.lead_id)
        if lead is None:
            raise NotFoundError(f"lead {req.lead_id} does not exist")
        if LeadState(lead.status) not in OPEN_STATES:
            raise WorkflowError(f"footage is attached to open leads; lead {req.lead_id} is {lead.status}")
        cam = cfg.cameras.get(req.camera_id)
        if cam is not None and cam.site != lead.site_id:
            raise InputError(f"camera {req.camera_id!r} watches site {cam.site!r}, but lead {req.lead_id} is about "
                             f"site {lead.site_id!r}: expected a lead of the camera's site")


def export_footage(services, index: SegmentIndex, req: ExportRequest, actor: str) -> ExportResult:
    """Cut the range, attach it to the lead (signed lead manifest), audit it with its source segments."""
    check_request(services, index, req)
    clip = cut_range(index, req.camera_id, req.start, req.end)
    if len(clip.data) > MAX_ATTACHMENT_BYTES:
        raise InputError(f"the range makes a {len(clip.data)}-byte clip; expected at most {MAX_ATTACHMENT_BYTES} "
                         "bytes: export a shorter range")
    cam = services.loaded.config.cameras.get(req.camera_id)
    shown = cam.name if cam is not None and cam.name else req.camera_id
    name = f"{req.camera_id}_{clip.start_at:%Y%m%dT%H%M%SZ}_{round(clip.duration_s)}s.mp4"
    note = req.note.strip() or f"{shown}: {iso_utc(clip.start_at)} – {iso_utc(clip.end_at)}"
    att = NewAttachment(clip.data, name, "video/mp4", clip.start_at, note=note)
    att_id = add_attachment(services, req.lead_id, att, actor, kind=FOOTAGE)
    from vigil.store.base import sha256_hex

    sha = sha256_hex(clip.data)
    audit.record(services.sessions, actor, "recording.export", "camera", req.camera_id, {
        "lead_id": req.lead_id, "attachment_id": att_id, "sha256": sha, "bytes": len(clip.data),
        "asked": [iso_utc(req.start), iso_utc(req.end)], "start_at": iso_utc(clip.start_at),
        "end_at": iso_utc(clip.end_at), "packets": clip.packets, "gaps_s": round(clip.gaps_s, 3),
        "segments": [{"path": s.path, "bytes": s.bytes, "start_at": iso_utc(s.start_at)} for s in clip.segments]})
    return ExportResult(att_id, req.lead_id, name, sha, len(clip.data), clip.start_at, clip.end_at,
                        len(clip.segments), clip.gaps_s)
