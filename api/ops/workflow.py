"""The lead's three-step evidence workflow: states, the transition table, who may take each step, and its effects.

electronic_evidence -> onsite_verification -> review -> case_filed | dismissed, only forward; a closed lead
comes back only through an audited reopen with a reason. An officer verifies on site; a different person with a
reviewing role approves or dismisses (separation of duties).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlalchemy import select

from api.auth.roles import ADMIN, OFFICER, REVIEWER
from api.ops.inbox_hooks import tell_people
from api.ops.leads import LeadView, get_lead, user_id_of
from vigil import audit
from vigil.db.models import LEAD_STATUSES, Alert, Lead, LeadAttachment, LeadEvent
from vigil.db.session import session_scope
from vigil.errors import AuthError, InputError, NotFoundError, VigilError
from vigil.types import utcnow


class LeadState(str, Enum):
    ELECTRONIC_EVIDENCE = "electronic_evidence"
    ONSITE_VERIFICATION = "onsite_verification"
    REVIEW = "review"
    CASE_FILED = "case_filed"
    DISMISSED = "dismissed"


assert tuple(s.value for s in LeadState) == LEAD_STATUSES  # one list of statuses (the column's values)

OPEN_STATES = frozenset({LeadState.ELECTRONIC_EVIDENCE, LeadState.ONSITE_VERIFICATION, LeadState.REVIEW})
CLOSED_STATES = frozenset({LeadState.CASE_FILED, LeadState.DISMISSED})
ATTACH_ELIGIBLE_STATES = frozenset({LeadState.ONSITE_VERIFICATION})  # on-site photos and video
DECIDE_ELIGIBLE_STATES = frozenset({LeadState.ONSITE_VERIFICATION, LeadState.REVIEW})  # the officer's decision
DRAFT_ELIGIBLE_STATES = frozenset({LeadState.ONSITE_VERIFICATION, LeadState.REVIEW, LeadState.CASE_FILED})


class Action(str, Enum):
    DISPATCH = "dispatch"  # send an officer to verify on site
    SUBMIT = "submit"  # the officer submits the on-site verification for review
    APPROVE = "approve"  # the reviewer files the case
    DISMISS = "dismiss"  # the reviewer dismisses the lead
    REOPEN = "reopen"  # a closed lead goes back to on-site verification


@dataclass(frozen=True)
class Transition:
    source: LeadState
    action: Action
    target: LeadState
    roles: frozenset[str]  # admin may always act, but never review their own verification
    needs_reason: bool = False


TRANSITIONS: dict[tuple[LeadState, Action], Transition] = {(t.source, t.action): t for t in (
    Transition(LeadState.ELECTRONIC_EVIDENCE, Action.DISPATCH, LeadState.ONSITE_VERIFICATION, frozenset({OFFICER})),
    Transition(LeadState.ONSITE_VERIFICATION, Action.SUBMIT, LeadState.REVIEW, frozenset({OFFICER})),
    Transition(LeadState.REVIEW, Action.APPROVE, LeadState.CASE_FILED, frozenset({REVIEWER})),
    Transition(LeadState.REVIEW, Action.DISMISS, LeadState.DISMISSED, frozenset({REVIEWER}), needs_reason=True),
    Transition(LeadState.CASE_FILED, Action.REOPEN, LeadState.ONSITE_VERIFICATION, frozenset({REVIEWER}),
               needs_reason=True),
    Transition(LeadState.DISMISSED, Action.REOPEN, LeadState.ONSITE_VERIFICATION, frozenset({REVIEWER}),
               needs_reason=True),
)}


class WorkflowError(VigilError):
    """A step the transition table does not allow in the lead's state (HTTP 409); a role or person who may not take
    it is an AuthError (HTTP 403)."""


def allowed_actions(state: str, role: str) -> list[str]:
    """The actions this role may offer in this state (the UI's buttons)."""
    return [t.action.value for (src, _), t in TRANSITIONS.items()
            if src.value == state and (role == ADMIN or role in t.roles)]


def transition_for(state: str, action: str, role: str) -> Transition:
    """The table's entry for (state, action), checked against the role; raises WorkflowError otherwise."""
    try:
        source, act = LeadState(state), Action(action)
    except ValueError:
        raise InputError(f"action must be one of {', '.join(a.value for a in Action)}, found {action!r}") from None
    t = TRANSITIONS.get((source, act))
    if t is None:
        possible = ", ".join(a.action.value for (s, _), a in TRANSITIONS.items() if s == source) or "none"
        raise WorkflowError(f"a lead in {source.value} cannot {act.value}; allowed there: {possible}")
    if role != ADMIN and role not in t.roles:
        raise AuthError(f"role {role!r} may not {act.value} a lead; needs {', '.join(sorted(t.roles))}")
    return t


def _check_preconditions(s, lead: Lead, t: Transition, actor_id: int | None, reason: str) -> None:
    if t.needs_reason and not reason.strip():
        raise InputError(f"{t.action.value} needs a reason, found none")
    if t.action == Action.SUBMIT:
        photos = s.scalar(select(LeadAttachment.id).where(LeadAttachment.lead_id == lead.id,
                                                          LeadAttachment.kind == "onsite").limit(1))
        if photos is None:
            raise WorkflowError("submit needs at least one on-site photo or video attached, found none")
    if t.action in (Action.APPROVE, Action.DISMISS) and actor_id is not None and actor_id == lead.verified_by_id:
        raise AuthError("the officer who verified on site cannot also review the lead; another reviewer must")


def advance(services, lead_id: int, action: str, actor: str, role: str, reason: str = "") -> LeadView:
    """Take one step of the workflow; the step, its reason and its effects on the lead's alerts are audited."""
    with session_scope(services.sessions) as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            raise NotFoundError(f"lead {lead_id} does not exist")
        t = transition_for(lead.status, action, role)
        actor_id = user_id_of(s, actor)
        _check_preconditions(s, lead, t, actor_id, reason)
        old, now, verifier_id = lead.status, utcnow(), lead.verified_by_id
        lead.status, lead.updated_at = t.target.value, now
        if t.action == Action.SUBMIT:
            lead.verified_by_id = actor_id
        if t.target in CLOSED_STATES:
            lead.closed_at, lead.decided_by_id = now, actor_id
        if t.action == Action.REOPEN:
            lead.closed_at, lead.decided_by_id, lead.verified_by_id = None, None, None
        outcome = t.target.value if t.target in CLOSED_STATES else None
        alert_ids = [a.id for a in lead.alerts]
        for a in lead.alerts:
            a.lead_outcome = outcome
        s.add(LeadEvent(lead_id=lead.id, kind="status", user_id=actor_id, text=reason, old_value=old,
                        new_value=t.target.value))
        tell_people(s, lead, t, actor, role, reason, verifier_id)
    audit.record(services.sessions, actor, f"lead.{t.action.value}", "lead", str(lead_id),
                 {"from": old, "to": t.target.value, "reason": reason, "role": role, "alerts": alert_ids})
    _teach(services, t, alert_ids, actor)
    return get_lead(services, lead_id)


def _teach(services, t: Transition, alert_ids: list[str], actor: str) -> None:
    """A dismissed lead's alerts become hard negatives; a reopen relabels them as confirmed (newest label wins)."""
    from api.ops.labels import save_review_labels

    if t.action not in (Action.DISMISS, Action.REOPEN):
        return
    if t.action == Action.REOPEN and t.source != LeadState.DISMISSED:
        return
    confirmed = t.action == Action.REOPEN
    for alert_id in alert_ids:
        try:
            save_review_labels(services, alert_id, actor, None, confirmed=confirmed)
        except (NotFoundError, InputError) as e:  # evidence without a best frame: the outcome still stands
            audit.record(services.sessions, actor, "label.skipped", "alert", alert_id, {"why": str(e)})


def alerts_of(services, lead_id: int) -> list[Alert]:
    with services.sessions() as s:
        rows = list(s.scalars(select(Alert).where(Alert.lead_id == lead_id).order_by(Alert.started_at)))
        for r in rows:
            s.expunge(r)
        return rows
