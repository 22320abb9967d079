"""Enforcement leads: lists with filters, one lead with alerts, evidence and history, status, notes, package."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field
from sqlalchemy import select

from api.auth.deps import Allow
from api.auth.roles import LEAD_WORKFLOW, LEADS
from api.auth.users import Principal
from api.ops.lead_event_codes import event_code
from api.routes.alerts import alert_dict
from api.routes.common import ListParams, StrictIn, iso, list_params, not_found, paginate, services_of
from api.routes.lead_schemas import AssigneeList, LeadFull, LeadPage
from api.routes.schemas import DbId
from api.routes.site_schemas import binary
from vigil.db.models import LEAD_STATUSES, Alert, Camera, Lead, Site, User

router = APIRouter(tags=["leads"])
OFFICER = Allow(LEADS)
WORKFLOW = Allow(LEAD_WORKFLOW)


class NoteIn(StrictIn):
    text: str = Field(..., min_length=1, max_length=5000)


class AssignIn(StrictIn):
    username: str | None = None


def lead_dict(lead: Lead) -> dict:
    rules = sorted({a.rule for a in lead.alerts})
    return {"id": lead.id, "site_id": lead.site_id, "title": lead.title, "status": lead.status,
            "assignee_id": lead.assignee_id, "created_at": iso(lead.created_at), "updated_at": iso(lead.updated_at),
            "closed_at": iso(lead.closed_at), "alerts": len(lead.alerts), "rules": rules}


def filtered_leads(p: ListParams):
    q = select(Lead)
    if p.site:
        q = q.where(Lead.site_id == p.site)
    if p.state:
        q = q.where(Lead.status == p.state)
    if p.rule or p.camera:
        sub = select(Alert.lead_id)
        if p.rule:
            sub = sub.where(Alert.rule == p.rule)
        if p.camera:
            sub = sub.where(Alert.camera_id == p.camera)
        q = q.where(Lead.id.in_(sub))
    if p.since:
        q = q.where(Lead.created_at >= p.since)
    if p.until:
        q = q.where(Lead.created_at < p.until)
    return q.order_by(Lead.updated_at.desc())


@router.get("/api/leads", response_model=LeadPage)
def list_leads(request: Request, p: ListParams = Depends(list_params), user: Principal = Depends(WORKFLOW)) -> dict:
    """Leads, most recently changed first; `state` filters by status."""
    with services_of(request).sessions() as s:
        return paginate(s, filtered_leads(p), p, lead_dict) | {"statuses": list(LEAD_STATUSES)}


def _event(e, names: dict, cams: dict[str, str]) -> dict:
    """A history entry: the stored English text, and its code and parameters for a page in another language."""
    code, values = event_code(e.kind, e.text)
    if "camera" in values:
        values["camera"] = cams.get(values["camera"], values["camera"])
    return {"at": iso(e.at), "kind": e.kind, "text": e.text, "old": e.old_value, "new": e.new_value,
            "user": names.get(e.user_id), "code": code, "params": values}


def _lead_full(request: Request, lead_id: int, user: Principal | None = None) -> dict:
    from api.routes.lead_workflow import workflow_extras

    with services_of(request).sessions() as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            raise not_found("lead", lead_id)
        names: dict[int | None, str] = {u.id: u.username for u in s.scalars(select(User))}
        site = s.get(Site, lead.site_id)
        d = lead_dict(lead)
        d["site_name"] = site.name if site else lead.site_id
        d["assignee"] = names.get(lead.assignee_id)
        d["alert_list"] = []
        cams = {c.id: c.name or c.id for c in s.scalars(select(Camera))}
        for a in sorted(lead.alerts, key=lambda a: a.started_at):
            ad = alert_dict(a)
            ad["camera_name"] = cams.get(a.camera_id, a.camera_id)
            ad["evidence"] = [{"name": e.name, "size": e.size, "sha256": e.sha256,
                               "url": f"/api/alerts/{a.id}/evidence/{e.name}"} for e in a.evidence]
            d["alert_list"].append(ad)
        d["events"] = [_event(e, names, cams) for e in lead.events]
        d["statuses"] = list(LEAD_STATUSES)
        d["verified_by"], d["decided_by"] = names.get(lead.verified_by_id), names.get(lead.decided_by_id)
    return d | workflow_extras(services_of(request), lead_id, d["status"], user)


@router.get("/api/leads/assignees", response_model=AssigneeList)
def assignees(request: Request, user: Principal = Depends(OFFICER)) -> dict:
    """Who a lead can be given to: active officers and admins."""
    from api.auth.roles import ADMIN

    with services_of(request).sessions() as s:
        q = (select(User).where(User.active.is_(True), User.role.in_(sorted(LEADS | {ADMIN})))
             .order_by(User.username))
        items = [{"username": u.username, "display_name": u.display_name or u.username, "role": u.role}
                 for u in s.scalars(q)]
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}


@router.get("/api/leads/{lead_id}", response_model=LeadFull)
def get_lead(lead_id: DbId, request: Request, user: Principal = Depends(WORKFLOW)) -> dict:
    """One lead: alerts with evidence, history, on-site attachments, discretion, decision, documents, and the
    workflow actions the caller's role may take now."""
    return _lead_full(request, lead_id, user)


@router.post("/api/leads/{lead_id}/notes", response_model=LeadFull)
def add_note(lead_id: DbId, body: NoteIn, request: Request, user: Principal = Depends(OFFICER)) -> dict:
    from api.ops import leads

    leads.add_note(services_of(request), lead_id, body.text, user.username)
    return _lead_full(request, lead_id, user)


@router.post("/api/leads/{lead_id}/assign", response_model=LeadFull)
def assign(lead_id: DbId, body: AssignIn, request: Request, user: Principal = Depends(OFFICER)) -> dict:
    from api.ops import leads

    leads.assign(services_of(request), lead_id, body.username, user.username)
    return _lead_full(request, lead_id, user)


@router.get("/api/leads/{lead_id}/package", response_class=Response,
            responses=binary("application/zip", what="the evidence package"))
def package(lead_id: DbId, request: Request, lang: str = Query("zh", pattern="^(zh|en)$"),
            user: Principal = Depends(WORKFLOW)) -> Response:
    """The evidence package: every alert's signed evidence, the lead's files and manifests, the audit extract, the
    report (Chinese unless lang=en) and the public key."""
    from api.ops.package import build_lead_package

    data = build_lead_package(services_of(request), lead_id, user.username, lang)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="vigil-lead-{lead_id}.zip"'})
