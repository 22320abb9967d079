"""Review decisions: confirm (the alert joins its site's open lead, or opens one) or reject (kept for retraining)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from api.ops.leads import LeadView, attach_alert, get_lead, open_lead_for, user_id_of
from vigil import audit
from vigil.db.models import Alert
from vigil.db.session import session_scope
from vigil.errors import InputError, NotFoundError
from vigil.types import utcnow


def _alert(s: Session, alert_id: str) -> Alert:
    alert = s.get(Alert, alert_id)
    if alert is None:
        raise NotFoundError(f"alert {alert_id} does not exist")
    return alert


def confirm(services, alert_id: str, user: str, note: str = "") -> LeadView:
    """Mark the alert a true violation and put it on its site's open lead; returns that lead.

    Confirming an alert already on a lead returns that lead unchanged (a second click is harmless).
    """
    with session_scope(services.sessions) as s:
        alert = _alert(s, alert_id)
        if alert.state == "confirmed" and alert.lead_id is not None:
            return get_lead(services, alert.lead_id)
        old = alert.state
        alert.state, alert.reviewed_at = "confirmed", utcnow()
        alert.reviewer_id, alert.review_note = user_id_of(s, user), note
        alert.lead_outcome = None  # a fresh decision: what became of an earlier lead no longer applies
        lead, created = open_lead_for(s, alert.site_id, user)
        attach_alert(s, lead, alert, user)
        s.flush()
        lead_id = lead.id
    audit.record(services.sessions, user, "alert.confirm", "alert", alert_id,
                 {"from": old, "lead_id": lead_id, "note": note})
    audit.record(services.sessions, user, "lead.create" if created else "lead.attach", "lead", str(lead_id),
                 {"alert_id": alert_id})
    _publish(services, "lead.updated", {"id": lead_id, "alert_id": alert_id})
    return get_lead(services, lead_id)


def reject(services, alert_id: str, user: str, note: str = "") -> None:
    """Mark the alert a false positive; it stays (with its evidence) for retraining, and leaves any lead."""
    with session_scope(services.sessions) as s:
        alert = _alert(s, alert_id)
        old, old_lead = alert.state, alert.lead_id
        alert.state, alert.reviewed_at = "rejected", utcnow()
        alert.reviewer_id, alert.review_note = user_id_of(s, user), note
        alert.lead_id, alert.lead_outcome = None, None
    audit.record(services.sessions, user, "alert.reject", "alert", alert_id,
                 {"from": old, "note": note, "left_lead": old_lead})


def reopen(services, alert_id: str, user: str) -> None:
    """Undo a decision: the alert waits for review again (its lead, if any, keeps its history)."""
    with session_scope(services.sessions) as s:
        alert = _alert(s, alert_id)
        if alert.state == "new":
            raise InputError(f"alert {alert_id} is not reviewed yet; nothing to reopen")
        old, alert.state, alert.lead_id, alert.lead_outcome = alert.state, "new", None, None
    audit.record(services.sessions, user, "alert.reopen", "alert", alert_id, {"from": old})


def _publish(services, kind: str, payload: dict) -> None:
    """Tell live pages, when a runtime with an event bus is attached to the services."""
    bus = services.events
    if bus is not None:
        bus.publish(kind, payload)
