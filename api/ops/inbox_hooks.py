"""Who hears of a workflow step in the inbox: the reviewers when a lead waits for review, the officer when a lead
is dispatched (every officer when an admin dispatches an unassigned one), decided or reopened; never the person
who took the step."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from api.auth.roles import OFFICER, REVIEWER
from api.ops import inbox
from api.ops.leads import user_id_of
from vigil.db.models import Lead

if TYPE_CHECKING:
    from api.ops.workflow import Transition


def tell_people(s: Session, lead: Lead, t: "Transition", actor: str, role: str, reason: str,
                verifier_id: int | None) -> None:
    """Add the step's inbox item (in the step's transaction)."""
    action = t.action.value
    actor_id = user_id_of(s, actor)
    if action == "submit":
        inbox.post(s, "lead.review", lead, role=REVIEWER, by=actor)
        return
    if action == "dispatch":
        if lead.assignee_id is None:
            if role != OFFICER:  # an officer who dispatches an unassigned lead takes it on: nobody else to tell
                inbox.post(s, "lead.dispatched", lead, role=OFFICER, by=actor)
        elif lead.assignee_id != actor_id:
            inbox.post(s, "lead.dispatched", lead, user_id=lead.assignee_id, by=actor)
        return
    kind = "lead.reopened" if action == "reopen" else "lead.decided"
    to = verifier_id or lead.assignee_id
    if to is not None and to != actor_id:
        inbox.post(s, kind, lead, user_id=to, by=actor, outcome=t.target.value, reason=reason)
