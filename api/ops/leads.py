"""Enforcement leads: one open lead per site collects confirmed alerts; status, assignee, notes; all audited."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil import audit
from vigil.db.models import LEAD_STATUSES, Alert, Lead, LeadEvent, Site, User
from vigil.db.session import session_scope
from vigil.errors import InputError, NotFoundError
from vigil.types import utcnow

CLOSED_STATUSES = ("case_filed", "dismissed")  # api.ops.workflow.CLOSED_STATES, as column values
OPEN_STATUSES = tuple(s for s in LEAD_STATUSES if s not in CLOSED_STATUSES)


@dataclass(frozen=True)
class LeadEventView:
    at: datetime
    kind: str  # status | assign | note | alert
    user: str | None
    text: str
    old_value: str | None
    new_value: str | None


@dataclass(frozen=True)
class LeadView:
    """A lead as the operations hand it out (safe outside any session)."""

    id: int
    site_id: str
    title: str
    status: str
    assignee: str | None  # username
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    alert_ids: tuple[str, ...]
    events: tuple[LeadEventView, ...]


def _username(s: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    u = s.get(User, user_id)
    return u.username if u else None


def user_id_of(s: Session, username: str | None) -> int | None:
    """The users.id of a username, None for system actors or unknown names (the audit log keeps the name)."""
    if not username:
        return None
    return s.scalars(select(User.id).where(User.username == username)).first()


def view(s: Session, lead: Lead) -> LeadView:
    events = tuple(LeadEventView(e.at, e.kind, _username(s, e.user_id), e.text, e.old_value, e.new_value)
                   for e in lead.events)
    alerts = tuple(a.id for a in sorted(lead.alerts, key=lambda a: a.started_at))
    return LeadView(lead.id, lead.site_id, lead.title, lead.status, _username(s, lead.assignee_id), lead.created_at,
                    lead.updated_at, lead.closed_at, alerts, events)


def _lead(s: Session, lead_id: int) -> Lead:
    lead = s.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"lead {lead_id} does not exist")
    return lead


def open_lead_for(s: Session, site_id: str, user: str) -> tuple[Lead, bool]:
    """The site's open lead (not case_filed or dismissed), or a new one; (lead, created)."""
    lead = s.scalars(select(Lead).where(Lead.site_id == site_id, Lead.status.in_(OPEN_STATUSES))
                     .order_by(Lead.created_at.desc()).limit(1)).first()
    if lead is not None:
        return lead, False
    site = s.get(Site, site_id)
    lead = Lead(site_id=site_id, title=f"{site.name if site else site_id}: violations", status=OPEN_STATUSES[0])
    s.add(lead)
    s.flush()
    s.add(LeadEvent(lead_id=lead.id, kind="status", user_id=user_id_of(s, user), text="lead opened",
                    new_value=OPEN_STATUSES[0]))
    return lead, True


def attach_alert(s: Session, lead: Lead, alert: Alert, user: str) -> None:
    alert.lead_id = lead.id
    lead.updated_at = utcnow()
    s.add(LeadEvent(lead_id=lead.id, kind="alert", user_id=user_id_of(s, user), text=f"{alert.rule} on "
                    f"{alert.camera_id}", new_value=alert.id))


def get_lead(services, lead_id: int) -> LeadView:
    with services.sessions() as s:
        return view(s, _lead(s, lead_id))


def list_leads(services, *, status: str | None = None, site_id: str | None = None) -> list[LeadView]:
    """Leads, most recently changed first, optionally one status or one site."""
    with services.sessions() as s:
        q = select(Lead)
        if status:
            q = q.where(Lead.status == status)
        if site_id:
            q = q.where(Lead.site_id == site_id)
        return [view(s, lead) for lead in s.scalars(q.order_by(Lead.updated_at.desc()))]


def assign(services, lead_id: int, assignee: str | None, user: str) -> LeadView:
    """Give the lead to a user (None: unassign); the status moves only through api.ops.workflow."""
    with session_scope(services.sessions) as s:
        lead = _lead(s, lead_id)
        new_id = user_id_of(s, assignee)
        if assignee and new_id is None:
            raise NotFoundError(f"cannot assign lead {lead_id}: user {assignee!r} does not exist")
        old = _username(s, lead.assignee_id)
        lead.assignee_id, lead.updated_at = new_id, utcnow()
        s.add(LeadEvent(lead_id=lead.id, kind="assign", user_id=user_id_of(s, user), old_value=old,
                        new_value=assignee))
        if new_id is not None and assignee != user:
            from api.ops import inbox

            inbox.post(s, "lead.assigned", lead, user_id=new_id, by=user)
    audit.record(services.sessions, user, "lead.assign", "lead", str(lead_id), {"from": old, "to": assignee})
    return get_lead(services, lead_id)


def add_note(services, lead_id: int, text: str, user: str) -> LeadView:
    if not text.strip():
        raise InputError("a lead note needs some text, found an empty note")
    with session_scope(services.sessions) as s:
        lead = _lead(s, lead_id)
        lead.updated_at = utcnow()
        s.add(LeadEvent(lead_id=lead.id, kind="note", user_id=user_id_of(s, user), text=text))
    audit.record(services.sessions, user, "lead.note", "lead", str(lead_id), {"text": text})
    return get_lead(services, lead_id)
