"""Review -> lead, lead changes, grading and audited evidence access, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from api.ops import grading, leads, review
from api.ops.evidence_access import read_evidence
from tests.service.conftest import SITES
from tests.service.helpers import add_alert
from vigil.audit import verify_chain
from vigil.db.models import Alert, AuditEntry, User
from vigil.db.session import session_scope
from vigil.errors import InputError, NotFoundError

CONFIG = SITES + """
cameras:
  gate: {site: works, source: demo:site}
  bench: {site: lab3, source: demo:lab}
rules:
  open_burning: {severity: 4}
grading: {window_days: 7, yellow: 1, orange: 4, red: 8}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def services(request, make_services):
    svc = make_services(CONFIG, db=request.param)
    with session_scope(svc.sessions) as s:
        s.add(User(username="olga", password_hash="x", role="officer"))
    return svc


def _actions(services) -> list[str]:
    with services.sessions() as s:
        return [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_confirm_opens_then_attaches_and_closed_lead_starts_a_new_one(services):
    a1 = add_alert(services, camera="gate", rule="dust", site="works")
    a2 = add_alert(services, camera="gate", rule="open_burning", site="works")
    a3 = add_alert(services, camera="gate", rule="dust", site="works")
    lead = review.confirm(services, a1, "rita")
    assert (lead.site_id, lead.status, lead.alert_ids) == ("works", "electronic_evidence", (a1,))
    again = review.confirm(services, a2, "rita")
    assert again.id == lead.id and set(again.alert_ids) == {a1, a2}
    assert review.confirm(services, a2, "rita").id == lead.id  # a second click changes nothing
    _dismiss(services, lead.id)
    third = review.confirm(services, a3, "rita")
    assert third.id != lead.id and third.alert_ids == (a3,)
    closed = leads.get_lead(services, lead.id)
    assert closed.closed_at is not None and [e.kind for e in closed.events].count("alert") == 2
    assert _actions(services) == ["alert.confirm", "lead.create", "alert.confirm", "lead.attach", "lead.dispatch",
                                  "lead.attachment.onsite", "lead.submit", "lead.dismiss", "label.skipped",
                                  "label.skipped", "alert.confirm", "lead.create"]


def _dismiss(services, lead_id: int) -> None:
    """Through the workflow: on site with a photo, then a reviewer dismisses (no evidence: no labels to learn)."""
    from api.ops.attachments import NewAttachment, add_attachment
    from api.ops.workflow import advance

    advance(services, lead_id, "dispatch", "olga", "officer")
    add_attachment(services, lead_id, NewAttachment(b"\xff\xd8photo", "p.jpg", "image/jpeg",
                                                    datetime.now(timezone.utc)), "olga")
    advance(services, lead_id, "submit", "olga", "officer")
    advance(services, lead_id, "dismiss", "rita", "reviewer", "duplicate of case 12")


def test_reject_keeps_the_alert_and_leaves_the_lead(services):
    aid = add_alert(services, camera="bench", rule="lab_fire", site="lab3")
    lead = review.confirm(services, aid, "rita")
    review.reject(services, aid, "rita", note="a red jacket")
    with services.sessions() as s:
        alert = s.get(Alert, aid)
        assert (alert.state, alert.lead_id, alert.review_note) == ("rejected", None, "a red jacket")
    assert leads.get_lead(services, lead.id).alert_ids == ()
    assert _actions(services)[-1] == "alert.reject"


def test_lead_status_assign_and_notes(services):
    lead = review.confirm(services, add_alert(services, camera="gate", rule="dust", site="works"), "rita")
    view = leads.assign(services, lead.id, "olga", "chief")
    assert (view.assignee, view.status) == ("olga", "electronic_evidence")  # the workflow alone moves the status
    view = leads.add_note(services, lead.id, "site manager informed", "olga")
    assert view.events[-1].text == "site manager informed"
    assert [e.kind for e in view.events] == ["status", "alert", "assign", "note"]
    assert [v.id for v in leads.list_leads(services, status="electronic_evidence")] == [lead.id]
    assert leads.list_leads(services, site_id="lab3") == []
    with pytest.raises(InputError, match="empty note"):
        leads.add_note(services, lead.id, "  ", "olga")
    with pytest.raises(NotFoundError, match="user 'nobody'"):
        leads.assign(services, lead.id, "nobody", "chief")
    with pytest.raises(NotFoundError, match="lead 999"):
        leads.add_note(services, 999, "x", "olga")
    with services.sessions() as s:
        assert verify_chain(s).ok


@pytest.mark.parametrize("confirmed,expected", [
    ([], "blue"),
    ([("dust", 0)], "yellow"),  # dust weighs 2
    ([("dust", 0), ("dust", 1)], "orange"),  # 4
    ([("open_burning", 0), ("open_burning", 2)], "red"),  # severity edited to 4 in config: 8
    ([("open_burning", 0), ("open_burning", 10)], "orange"),  # one is outside the 7-day window
])
def test_grade_follows_weighted_confirmed_violations(services, confirmed, expected):
    now = datetime.now(timezone.utc)
    for rule, days_ago in confirmed:
        add_alert(services, camera="gate", rule=rule, site="works", at=now - timedelta(days=days_ago),
                  state="confirmed")
    add_alert(services, camera="gate", rule="open_burning", site="works", state="rejected")  # never counts
    add_alert(services, camera="gate", rule="open_burning", site="works")  # unreviewed: never counts
    g = grading.site_grade(services, "works")
    assert g.grade == expected
    assert len(g.reasons) == len({r for r, d in confirmed if d < 7})


def test_all_grades_lists_red_first(services):
    for _ in range(2):
        add_alert(services, camera="bench", rule="lab_fire", site="lab3", state="confirmed")  # 3 + 3
    add_alert(services, camera="gate", rule="dust", site="works", state="confirmed")  # 2
    grades = grading.all_grades(services)
    assert [(g.site_id, g.grade) for g in grades] == [("lab3", "orange"), ("works", "yellow")]
    assert "2 confirmed fire in laboratory" in grades[0].reasons[0]
    with pytest.raises(NotFoundError):
        grading.site_grade(services, "nowhere")


def test_evidence_access_needs_evidence_and_is_audited(services):
    aid = add_alert(services, camera="gate", rule="dust", site="works")
    with pytest.raises(NotFoundError, match="no evidence manifest"):
        read_evidence(services, aid, "clip.mp4", "olga")
    with pytest.raises(NotFoundError, match="alert nope"):
        read_evidence(services, "nope", "clip.mp4", "olga")
    assert "evidence.view" not in _actions(services)
