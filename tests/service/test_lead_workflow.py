"""The lead workflow: the transition table with roles and separation of duties, on-site attachments in a signed
manifest chain, the officer's decision next to the discretion suggestion, and what closing does to alerts."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from api.ops import review
from api.ops.attachments import NewAttachment, add_attachment, lead_manifest_key, verify_lead_manifests
from api.ops.decisions import OfficerFindings, RuleDecision, decide, suggestions
from api.ops.workflow import TRANSITIONS, WorkflowError, advance, allowed_actions, transition_for
from tests.service.conftest import SITES
from tests.service.helpers import add_alert
from vigil.audit import verify_chain
from vigil.db.models import Alert, AuditEntry, User
from vigil.db.session import session_scope
from vigil.discretion import Cooperation
from vigil.errors import AuthError, InputError
from vigil.legal import Measure

CONFIG = SITES + """
cameras:
  gate: {site: works, source: demo:site}
"""
JPEG = b"\xff\xd8\xff\xe0" + b"on-site photo" * 50 + b"\xff\xd9"
TAKEN = datetime(2026, 12, 3, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def services(make_services):
    svc = make_services(CONFIG)
    with session_scope(svc.sessions) as s:
        s.add_all([User(username=n, password_hash="x", role=r) for n, r in
                   (("olga", "officer"), ("otto", "officer"), ("rita", "reviewer"), ("ada", "admin"))])
    return svc


def _lead(services, rule="dust") -> int:
    return review.confirm(services, add_alert(services, camera="gate", rule=rule, site="works"), "rita").id


def _photo(services, lead_id, who="olga", **kw):
    return add_attachment(services, lead_id, NewAttachment(JPEG, "IMG_0001.JPG", "image/jpeg", TAKEN, **kw), who)


# (state, action, role) -> target state, or the error it raises
TABLE = [
    ("electronic_evidence", "dispatch", "officer", "onsite_verification"),
    ("electronic_evidence", "dispatch", "reviewer", AuthError),
    ("electronic_evidence", "dispatch", "admin", "onsite_verification"),
    ("electronic_evidence", "submit", "officer", WorkflowError),  # not from here: forward one step at a time
    ("electronic_evidence", "approve", "reviewer", WorkflowError),
    ("onsite_verification", "submit", "officer", "review"),
    ("onsite_verification", "submit", "operator", AuthError),
    ("onsite_verification", "dispatch", "officer", WorkflowError),  # never backward
    ("review", "approve", "reviewer", "case_filed"),
    ("review", "dismiss", "reviewer", "dismissed"),
    ("review", "approve", "officer", AuthError),
    ("review", "submit", "officer", WorkflowError),
    ("case_filed", "reopen", "reviewer", "onsite_verification"),
    ("dismissed", "reopen", "reviewer", "onsite_verification"),
    ("case_filed", "dismiss", "reviewer", WorkflowError),
    ("dismissed", "approve", "reviewer", WorkflowError),
    ("case_filed", "reopen", "officer", AuthError),
    ("review", "fly", "reviewer", InputError),
]


@pytest.mark.parametrize("state, action, role, expected", TABLE)
def test_transition_table(state, action, role, expected):
    if isinstance(expected, str):
        assert transition_for(state, action, role).target.value == expected
        assert action in allowed_actions(state, role)
    else:
        with pytest.raises(expected):
            transition_for(state, action, role)
        assert action not in allowed_actions(state, role)


def test_every_transition_moves_forward_or_is_an_audited_reopen():
    order = ["electronic_evidence", "onsite_verification", "review", "case_filed", "dismissed"]
    for (src, action), t in TRANSITIONS.items():
        assert order.index(t.target.value) > order.index(src.value) or (action.value == "reopen" and t.needs_reason)


def test_walk_to_a_filed_case_with_a_photo_and_separation_of_duties(services):
    lead = _lead(services)
    assert advance(services, lead, "dispatch", "olga", "officer").status == "onsite_verification"
    with pytest.raises(WorkflowError, match="at least one on-site photo"):
        advance(services, lead, "submit", "olga", "officer")
    _photo(services, lead, latitude=29.5, longitude=106.5, note="uncovered earth by the gate")
    assert advance(services, lead, "submit", "olga", "officer").status == "review"
    with pytest.raises(AuthError, match="cannot also review"):  # an admin who verified still may not approve
        with session_scope(services.sessions) as s:
            s.scalars(select(User).where(User.username == "olga")).one().role = "admin"
        advance(services, lead, "approve", "olga", "admin")
    view = advance(services, lead, "approve", "rita", "reviewer")
    assert view.status == "case_filed" and view.closed_at is not None
    with services.sessions() as s:
        assert {a.lead_outcome for a in s.scalars(select(Alert))} == {"case_filed"}
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert verify_chain(s).ok
    assert actions[-4:] == ["lead.dispatch", "lead.attachment.onsite", "lead.submit", "lead.approve"]
    with pytest.raises(InputError, match="reopen needs a reason"):
        advance(services, lead, "reopen", "rita", "reviewer")
    view = advance(services, lead, "reopen", "rita", "reviewer", "new evidence from the firm")
    assert view.status == "onsite_verification" and view.closed_at is None
    with services.sessions() as s:
        assert {a.lead_outcome for a in s.scalars(select(Alert))} == {None}


def test_dismissal_marks_alerts_and_needs_a_reason(services):
    lead = _lead(services)
    advance(services, lead, "dispatch", "olga", "officer")
    _photo(services, lead)
    advance(services, lead, "submit", "olga", "officer")
    with pytest.raises(InputError, match="dismiss needs a reason"):
        advance(services, lead, "dismiss", "rita", "reviewer")
    advance(services, lead, "dismiss", "rita", "reviewer", "water spray, not dust")
    with services.sessions() as s:
        assert {a.lead_outcome for a in s.scalars(select(Alert))} == {"dismissed"}


def test_attachments_chain_signed_manifests_and_tampering_shows(services):
    lead = _lead(services)
    with pytest.raises(WorkflowError, match="onsite_verification"):
        _photo(services, lead)
    advance(services, lead, "dispatch", "olga", "officer")
    _photo(services, lead, latitude=29.5, longitude=106.5)
    add_attachment(services, lead, NewAttachment(b"\x00\x00\x00\x18ftypmp42 video", "clip.mp4", "video/mp4", TAKEN),
                   "olga")
    pem = services.signer.public_key_pem()
    assert verify_lead_manifests(services.store, lead, pem) == []
    second = json.loads(services.store.get(lead_manifest_key(lead, 2)))
    assert second["previous"]["revision"] == 1 and [f["name"] for f in second["files"]] == ["IMG_0001.jpg", "clip.mp4"]
    assert second["files"][0]["latitude"] == 29.5 and second["files"][0]["by"] == "olga"
    evidence = services.data_dir / "evidence"  # edit the first manifest behind the store's back
    (evidence / lead_manifest_key(lead, 1)).write_bytes(b'{"lead_id": 1, "previous": null, "files": []}')
    problems = verify_lead_manifests(services.store, lead, pem)
    assert any("signature" in p or "edited" in p for p in problems) and any("chain broken" in p for p in problems)


@pytest.mark.parametrize("attachment, message", [
    (NewAttachment(JPEG, "x.exe", "application/x-msdownload", TAKEN), "content type"),
    (NewAttachment(b"", "x.jpg", "image/jpeg", TAKEN), "empty file"),
    (NewAttachment(JPEG, "x.jpg", "image/jpeg", TAKEN, latitude=10.0), "together"),
    (NewAttachment(JPEG, "x.jpg", "image/jpeg", TAKEN, latitude=91.0, longitude=0.0), "latitude -90..90"),
    (NewAttachment(JPEG, "x.jpg", "image/jpeg", datetime(2026, 12, 3)), "naive"),
])
def test_bad_attachments_are_refused(services, attachment, message):
    lead = _lead(services)
    advance(services, lead, "dispatch", "olga", "officer")
    with pytest.raises(InputError, match=message):
        add_attachment(services, lead, attachment, "olga")


def test_decision_is_recorded_next_to_the_suggestion(services):
    lead = _lead(services)
    sg = suggestions(services, lead)["dust"]
    assert sg.fine_yuan == 28_000  # first violation, 10 seconds, severity 2 (see tests/vigil/test_discretion.py)
    with pytest.raises(WorkflowError, match="onsite_verification or review"):
        decide(services, lead, "olga", "officer", OfficerFindings(), [RuleDecision("dust", (Measure.ORDER_CORRECT,),
                                                                                   20_000, "x")])
    advance(services, lead, "dispatch", "olga", "officer")
    findings = OfficerFindings(rectified_in_time=False, cooperation=Cooperation.COOPERATIVE)
    with pytest.raises(AuthError):
        decide(services, lead, "rita", "reviewer", findings, [])
    with pytest.raises(InputError, match="no alert of that rule"):
        decide(services, lead, "olga", "officer", findings, [RuleDecision("dumping", (), None, "x")])
    rec = decide(services, lead, "olga", "officer", findings,
                 [RuleDecision("dust", (Measure.ORDER_CORRECT,), 15_000, "small site, first offence")])
    d = rec["rules"]["dust"]
    assert d["suggestion"]["fine_yuan"] == 19_000 and d["fine_yuan"] == 15_000 and not d["follows_suggestion"]
    assert suggestions(services, lead)["dust"].fine_yuan == 19_000  # the recorded findings are used from now on
    with services.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "lead.decision")).one()
        assert entry.detail["rules"]["dust"]["reason"] == "small site, first offence"


def test_a_filed_case_makes_the_next_one_a_repeat(services):
    first = _lead(services)
    advance(services, first, "dispatch", "olga", "officer")
    _photo(services, first)
    advance(services, first, "submit", "olga", "officer")
    advance(services, first, "approve", "rita", "reviewer")
    second = _lead(services)
    assert second != first
    sg = suggestions(services, second)["dust"]
    assert [s.factor for s in sg.steps][:2] == ["base", "repeat"] and sg.fine_yuan == 59_500


def _to_review(services, lead):
    advance(services, lead, "dispatch", "olga", "officer")
    _photo(services, lead)
    advance(services, lead, "submit", "olga", "officer")


def test_grade_counts_filed_cases_and_forgets_dismissed_leads(services):
    from api.ops.grading import site_grade

    lead = _lead(services)  # a confirmed dust alert weighs 2
    assert (site_grade(services, "works").score, site_grade(services, "works").grade) == (2.0, "yellow")
    _to_review(services, lead)
    advance(services, lead, "approve", "rita", "reviewer")
    g = site_grade(services, "works")
    assert (g.score, g.cases_filed) == (4.0, 1)  # + grading.case_filed (2) for the filed case
    assert g.reasons_zh == ("近 30 日已确认扬尘 1 起（权重 2）", "已立案 1 起（权重 2）")
    assert "得分 4" in g.explanation_zh and "黄色" in g.explanation_zh
    advance(services, lead, "reopen", "rita", "reviewer", "the plume was water spray")
    advance(services, lead, "submit", "olga", "officer")
    advance(services, lead, "dismiss", "rita", "reviewer", "water spray")
    g = site_grade(services, "works")
    assert (g.grade, g.score, g.reasons_zh) == ("blue", 0.0, ())
    assert "无事不扰" in g.explanation_zh


def test_disposal_time_to_close_and_field_precision(services):
    from api.ops.enforcement_stats import enforcement_stats

    filed = _lead(services)  # dust
    _to_review(services, filed)
    advance(services, filed, "approve", "rita", "reviewer")
    dismissed = _lead(services, "uncovered_truck")
    _to_review(services, dismissed)
    advance(services, dismissed, "dismiss", "rita", "reviewer", "covered with a tarp after all")
    review.confirm(services, add_alert(services, camera="gate", rule="dust", site="works"), "rita")  # open lead
    review.reject(services, add_alert(services, camera="gate", rule="dust", site="works"), "rita")
    add_alert(services, camera="gate", rule="dust", site="works")  # not reviewed: counts nowhere
    stats = enforcement_stats(services)
    o = stats["overall"]
    assert (o["leads"], o["closed"], o["filed"], o["dismissed"], o["disposal_rate"]) == (3, 2, 1, 1, 0.6667)
    assert (o["reviewed"], o["confirmed"], o["precision"]) == (4, 3, 0.75)
    assert (o["field_confirmed"], o["field_precision"]) == (2, 0.5)  # the dismissed truck is not a violation
    assert o["median_close_hours"] is not None and o["median_close_hours"] < 1
    dust, truck = stats["by_rule"]["dust"], stats["by_rule"]["uncovered_truck"]
    assert (dust["leads"], dust["reviewed"], dust["confirmed"], dust["disposal_rate"]) == (2, 3, 2, 0.5)
    assert (truck["precision"], truck["field_precision"]) == (1.0, 0.0)
    assert stats["by_site"]["works"] == o and enforcement_stats(services, "lab3")["overall"]["leads"] == 0


def test_an_alert_reviewed_again_forgets_its_old_leads_outcome(services):
    from api.ops.grading import site_grade

    lead = _lead(services)
    _to_review(services, lead)
    advance(services, lead, "dismiss", "rita", "reviewer", "water spray")
    with services.sessions() as s:
        alert = s.scalars(select(Alert)).one().id
    review.reopen(services, alert, "rita")
    review.confirm(services, alert, "rita", "it was dust after all")
    with services.sessions() as s:
        assert s.get(Alert, alert).lead_outcome is None
    assert site_grade(services, "works").score == 2.0  # counts again
