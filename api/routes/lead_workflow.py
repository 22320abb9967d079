"""A lead's workflow over HTTP: steps, on-site attachments, discretion and the officer's decision, documents."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field
from sqlalchemy import select

from api.auth.deps import Allow
from api.auth.roles import LEAD_WORKFLOW, LEADS
from api.auth.users import Principal
from api.ops.attachments import MEDIA_TYPES
from api.ops.documents import MEDIA as DOCUMENT_MEDIA
from api.ops.workflow import Action
from api.routes.common import StrictIn, iso, services_of
from api.routes.lead_schemas import DiscretionOut, LeadFull
from api.routes.schemas import DbId, DocumentKind
from api.routes.site_schemas import binary
from vigil import audit
from vigil.db.models import LeadAttachment, LeadDocument, User
from vigil.discretion import Cooperation
from vigil.errors import InputError, NotFoundError
from vigil.legal import Measure

router = APIRouter(tags=["leads"])
WORKFLOW = Allow(LEAD_WORKFLOW)
OFFICER = Allow(LEADS)


class StepIn(StrictIn):
    action: Action = Field(..., description="dispatch | submit | approve | dismiss | reopen")
    reason: str = Field("", max_length=5000, description="why (required to dismiss and to reopen)")


class FindingsIn(StrictIn):
    rectified_in_time: bool = Field(False, description="the party corrected within the deadline")
    cooperation: Cooperation = Field(Cooperation.NORMAL, description="cooperative | normal | obstructive")
    refused: bool = Field(False, description="the party refused to correct")


class RuleDecisionIn(StrictIn):
    rule: str = Field(..., max_length=64)
    measures: list[Measure] = Field(default_factory=list, max_length=5, description="measures decided")
    fine_yuan: int | None = Field(None, ge=0, le=10_000_000, description="fine decided (None: no fine)")
    reason: str = Field(..., min_length=1, max_length=5000, description="the officer's reason")


class DecisionIn(StrictIn):
    findings: FindingsIn = Field(default_factory=lambda: FindingsIn.model_validate({}))
    rules: list[RuleDecisionIn] = Field(..., min_length=1, max_length=20)


class DraftIn(StrictIn):
    kind: DocumentKind = Field(..., description="order_correct | penalty_notice | inspection_record")
    lang: str = Field("zh", pattern="^(zh|en)$", description="zh (default) or en")
    fmt: str = Field("pdf", pattern="^(pdf|docx)$", description="pdf or docx")


def workflow_extras(services, lead_id: int, status: str, user: Principal | None) -> dict:
    """What the lead page shows beyond the lead itself."""
    from api.ops.attachments import attachments_of
    from api.ops.decisions import decision_of, suggestion_dict, suggestions
    from api.ops.workflow import allowed_actions

    docs = documents_list(services, lead_id)
    atts = attachments_of(services, lead_id)
    with services.sessions() as s:
        ids = [r.id for r in s.scalars(select(LeadAttachment).where(LeadAttachment.lead_id == lead_id)
                                       .order_by(LeadAttachment.id))]
    for a, att_id in zip(atts, ids):
        a["id"], a["url"] = att_id, f"/api/leads/{lead_id}/attachments/{att_id}"
        a.pop("key", None)
    from api.ops.rectification import notices_of

    sgs = suggestions(services, lead_id)
    enf = services.loaded.config.enforcement
    available = {}
    for rule in sgs:
        p = enf.rule(rule).primary
        available[rule] = list(dict.fromkeys(m.value for m in (p.measures + p.on_refusal))) if p else []
    return {"measures_available": available, "actions": allowed_actions(status, user.role) if user else [],
            "attachments": atts,
            "notices": notices_of(services, lead_id),
            "decision": decision_of(services, lead_id), "documents": docs,
            "suggestions": {r: suggestion_dict(sg) for r, sg in sgs.items()}}


def documents_list(services, lead_id: int) -> list[dict]:
    with services.sessions() as s:
        names = {u.id: u.username for u in s.scalars(select(User))}
        return [{"id": d.id, "kind": d.kind, "lang": d.lang, "fmt": d.fmt, "version": d.version, "sha256": d.sha256,
                 "size": d.size, "by": names.get(d.created_by), "at": iso(d.created_at),
                 "url": f"/api/leads/{lead_id}/documents/{d.id}"}
                for d in s.scalars(select(LeadDocument).where(LeadDocument.lead_id == lead_id)
                                   .order_by(LeadDocument.id))]


def _full(request: Request, lead_id: int, user: Principal) -> dict:
    from api.routes.leads import _lead_full

    return _lead_full(request, lead_id, user)


@router.post("/api/leads/{lead_id}/steps", response_model=LeadFull)
def step(lead_id: DbId, body: StepIn, request: Request, user: Principal = Depends(WORKFLOW)) -> dict:
    """One workflow step; the transition table decides whether it is allowed now and for this role."""
    from api.ops.workflow import advance

    advance(services_of(request), lead_id, body.action.value, user.username, user.role, body.reason)
    bus = services_of(request).events
    if bus is not None:
        bus.publish("lead.updated", {"id": lead_id})
    return _full(request, lead_id, user)


# the raw file is the body: the spec lists the media types taken (api.ops.attachments.MEDIA_TYPES)
RAW_FILE = {"requestBody": {"required": True, "description": "the photo or video itself", "content": {
    media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES}}}


@router.post("/api/leads/{lead_id}/attachments", response_model=LeadFull, openapi_extra=RAW_FILE)
async def add_attachment(lead_id: DbId, request: Request,
                         name: str = Query(..., min_length=1, max_length=200, description="file name"),
                         taken_at: datetime = Query(..., description="when the photo or video was taken (ISO 8601)"),
                         latitude: float | None = Query(None, ge=-90, le=90),
                         longitude: float | None = Query(None, ge=-180, le=180),
                         note: str = Query("", max_length=2000),
                         user: Principal = Depends(OFFICER)) -> dict:
    """An on-site photo or video: the raw file is the body, its Content-Type says what it is."""
    from api.ops.attachments import NewAttachment
    from api.ops.attachments import add_attachment as add

    if taken_at.tzinfo is None:
        raise InputError("taken_at: expected a time with a zone, e.g. 2026-12-03T10:00:00Z, found a naive time")
    data = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    att = NewAttachment(data, name, content_type, taken_at, latitude, longitude, note)
    add(services_of(request), lead_id, att, user.username)
    return _full(request, lead_id, user)


@router.get("/api/leads/{lead_id}/attachments/{attachment_id}", response_class=Response,
            responses=binary(*MEDIA_TYPES, what="the photo or video"))
def attachment_file(lead_id: DbId, attachment_id: DbId, request: Request,
                    user: Principal = Depends(WORKFLOW)) -> Response:
    """One attachment's bytes; every access is audited, like evidence."""
    services = services_of(request)
    with services.sessions() as s:
        row = s.get(LeadAttachment, attachment_id)
        if row is None or row.lead_id != lead_id:
            raise NotFoundError(f"lead {lead_id} has no attachment {attachment_id}")
        key, ctype, sha = row.key, row.content_type, row.sha256
    data = services.store.get(key)
    audit.record(services.sessions, user.username, "lead.attachment.read", "lead", str(lead_id),
                 {"attachment_id": attachment_id, "sha256": sha})
    return Response(data, media_type=ctype)


@router.get("/api/leads/{lead_id}/discretion", response_model=DiscretionOut)
def discretion(lead_id: DbId, request: Request, rectified_in_time: bool = False,
               cooperation: Cooperation = Cooperation.NORMAL, refused: bool = False,
               user: Principal = Depends(WORKFLOW)) -> dict:
    """The discretion model's suggestion per rule for these findings, every step shown (nothing is recorded)."""
    from api.ops.decisions import OfficerFindings, suggestion_dict, suggestions

    sg = suggestions(services_of(request), lead_id, OfficerFindings(rectified_in_time, cooperation, refused))
    return {"suggestions": {r: suggestion_dict(x) for r, x in sg.items()}}


@router.post("/api/leads/{lead_id}/decision", response_model=LeadFull)
def decision(lead_id: DbId, body: DecisionIn, request: Request, user: Principal = Depends(OFFICER)) -> dict:
    """The officer's decision per rule (measures, fine, reason), recorded with the suggestion; audited."""
    from api.ops.decisions import OfficerFindings, RuleDecision, decide

    f = body.findings
    decide(services_of(request), lead_id, user.username, user.role,
           OfficerFindings(f.rectified_in_time, f.cooperation, f.refused),
           [RuleDecision(r.rule, tuple(r.measures), r.fine_yuan, r.reason) for r in body.rules])
    return _full(request, lead_id, user)


@router.post("/api/leads/{lead_id}/documents", response_model=LeadFull)
def draft(lead_id: DbId, body: DraftIn, request: Request, user: Principal = Depends(WORKFLOW)) -> dict:
    """Draft one enforcement document as a new version (stored, hashed, in the lead manifest, audited)."""
    from api.ops.documents import draft_document

    draft_document(services_of(request), lead_id, body.kind, body.lang, body.fmt, user.username)
    return _full(request, lead_id, user)


@router.get("/api/leads/{lead_id}/documents/{doc_id}", response_class=Response,
            responses=binary(*DOCUMENT_MEDIA.values(), what="the document (PDF or DOCX)"))
def document_file(lead_id: DbId, doc_id: DbId, request: Request, user: Principal = Depends(WORKFLOW)) -> Response:
    from api.ops.documents import read_document

    data, media, filename = read_document(services_of(request), lead_id, doc_id, user.username)
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
