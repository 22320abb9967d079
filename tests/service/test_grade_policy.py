"""Grades that change what happens: a blue site's alert waits for the daily digest, a red site's notifies at once
with high priority and comes first in review; rectification notices escalate when overdue."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from api.notify.dispatcher import RetryPolicy
from api.notify.factory import alert_message, make_notifier
from api.ops import review
from api.ops.alert_queue import review_order
from api.ops.grade_policy import DigestClock, GradedNotifier, flush_digest
from api.ops.rectification import escalate_overdue, send_notice
from tests.service.conftest import SITES
from tests.service.helpers import add_alert, start_hook
from vigil.db.models import Alert, AuditEntry, LeadEvent, NotificationDelivery, RectificationNotice
from vigil.errors import AuthError
from vigil.types import utcnow

CONTACT = "operator: Eastport Build, contact_email: site@eastport.test}"
CONFIG = SITES.replace("operator: Eastport Build}", CONTACT) + """
  depot: {name: North depot, kind: site}
cameras:
  gate: {site: works, source: demo:site}
  yard: {site: depot, source: demo:site}
grading: {window_days: 30, yellow: 1, orange: 4, red: 6}
"""


@pytest.fixture
def hooked(make_services):
    hook = start_hook({"/desk": [200]})
    services = make_services(CONFIG + f"notifications:\n  webhooks:\n    desk: {{url: \"{hook.url('/desk')}\"}}\n")
    notifier = make_notifier(services, retry=RetryPolicy(base_s=0.05)).start()
    yield services, notifier, hook
    notifier.stop()
    hook.server.shutdown()


def _make_red(services, site="works", camera="gate"):
    for _ in range(3):  # 3 confirmed dust x weight 2 = 6: red
        add_alert(services, camera=camera, rule="dust", site=site, state="confirmed")


def _sent(hook) -> list[dict]:
    return [json.loads(body) for _, _, body in hook.received]


def test_blue_site_waits_for_the_digest_red_site_notifies_at_once(hooked):
    services, notifier, hook = hooked
    _make_red(services)
    graded = GradedNotifier(services, notifier)
    blue = add_alert(services, camera="yard", rule="dust", site="depot")
    red = add_alert(services, camera="gate", rule="dust", site="works")
    assert graded.notify(alert_message("alert.new", {"id": blue, "rule": "dust", "site_id": "depot"}, services)) \
        == "digest"
    assert graded.notify(alert_message("alert.new", {"id": red, "rule": "dust", "site_id": "works"}, services)) \
        == "live"
    assert notifier.wait_idle(10)
    live = _sent(hook)
    assert [(m["alert"]["id"], m["priority"], m["site_grade"]) for m in live] == [(red, "high", "red")]
    with services.sessions() as s:
        queued = s.scalars(select(NotificationDelivery).where(NotificationDelivery.channel == "digest")).one()
        assert (queued.alert_id, queued.status) == (blue, "queued")
    assert flush_digest(services, notifier) == 1
    assert flush_digest(services, notifier) == 0  # nothing twice
    assert notifier.wait_idle(10)
    digest = _sent(hook)[-1]
    assert (digest["event"], digest["count"], digest["alerts"][0]["id"]) == ("alert.digest", 1, blue)
    with services.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "notify.digest")).one()
        assert entry.detail["alerts"] == [blue]


def test_a_fire_at_a_blue_site_still_notifies_at_once(hooked):
    services, notifier, hook = hooked
    fire = add_alert(services, camera="yard", rule="open_burning", site="depot")
    dust = add_alert(services, camera="yard", rule="dust", site="depot")
    graded = GradedNotifier(services, notifier)
    assert graded.notify(alert_message("alert.new", {"id": fire, "rule": "open_burning", "site_id": "depot"},
                                       services)) == "live"
    assert graded.notify(alert_message("alert.new", {"id": dust, "rule": "dust", "site_id": "depot"}, services)) \
        == "digest"
    assert notifier.wait_idle(10)
    assert [(m["alert"]["id"], m["site_grade"], m["priority"]) for m in _sent(hook)] == [(fire, "blue", "normal")]


@pytest.mark.parametrize("hour, times, due", [
    (1, ["00:30", "01:00", "01:30", "23:00"], [False, True, False, False]),
    (0, ["00:00", "12:00"], [True, False]),
])
def test_digest_is_due_once_a_day_at_its_hour(hour, times, due):
    clock = DigestClock(hour)
    day = datetime(2026, 12, 3, tzinfo=timezone.utc)
    got = [clock.due(day.replace(hour=int(t[:2]), minute=int(t[3:]))) for t in times]
    assert got == due
    assert clock.due(day + timedelta(days=1, hours=hour)) is True  # and again the next day


def test_red_sites_come_first_in_review(make_services):
    """Urgent (red) sites first, even before a more severe rule elsewhere; then severity, grade, age."""
    services = make_services(CONFIG)
    blue_old = add_alert(services, camera="yard", rule="dust", site="depot", at=utcnow() - timedelta(hours=5))
    blue_severe = add_alert(services, camera="yard", rule="open_burning", site="depot",
                            at=utcnow() - timedelta(hours=1))
    _make_red(services)
    red_new = add_alert(services, camera="gate", rule="dust", site="works")
    with services.sessions() as s:
        ordered = [a.id for a in review_order(services, s.scalars(select(Alert).where(Alert.state == "new")).all())]
    assert ordered == [red_new, blue_severe, blue_old]


def test_rectification_notice_escalates_when_overdue(make_services):
    services = make_services(CONFIG)
    lead = review.confirm(services, add_alert(services, camera="gate", rule="dust", site="works"), "rita").id
    notice_id, link, payload = send_notice(services, lead, "olga", "http://vigil.test/", days=3)
    assert link.startswith("http://vigil.test/rectify/") and payload["contact"]["email"] == "site@eastport.test"
    with services.sessions() as s:
        mail = s.scalars(select(NotificationDelivery).where(NotificationDelivery.channel == "email")).one()
        assert link in mail.payload["body"] and mail.status == "pending"
        assert mail.payload["to"] == ["site@eastport.test"] and mail.payload["subject"].startswith("【整改通知】")
    assert escalate_overdue(services, utcnow() + timedelta(days=2)) == []
    items = escalate_overdue(services, utcnow() + timedelta(days=4))
    assert [(i["event"], i["notice_id"], i["priority"]) for i in items] == [
        ("rectification.overdue", notice_id, "high")]
    assert escalate_overdue(services, utcnow() + timedelta(days=5)) == []  # once
    with services.sessions() as s:
        assert s.get(RectificationNotice, notice_id).status == "escalated"
        assert "overdue" in s.scalars(select(LeadEvent).order_by(LeadEvent.id.desc())).first().text
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-2:] == ["rectification.send", "rectification.escalate"]


def test_the_running_service_routes_a_blue_sites_alert_to_the_digest(make_services):
    """The sink's notify hook in a running service (no camera needed to call it) goes through the grade."""
    import time

    from api.service.runtime import start_runtime

    hook = start_hook({"/desk": [200]})
    services = make_services(SITES + "cameras:\n  gate: {site: works, source: demo:site, enabled: false}\n"
                             f"notifications:\n  webhooks:\n    desk: {{url: \"{hook.url('/desk')}\"}}\n")
    runtime = start_runtime(services, detectors={}, watch_models=False)
    try:
        aid = add_alert(services, camera="gate", rule="dust", site="works")
        runtime.sink.notify({"id": aid, "rule": "dust", "site_id": "works"})  # no confirmed alert yet: blue
        time.sleep(0.5)
        assert runtime.notifier.wait_idle(5) and hook.received == []  # not live
        with services.sessions() as s:
            row = s.scalars(select(NotificationDelivery)).one()
        assert (row.channel, row.status, row.payload["priority"]) == ("digest", "queued", "low")
    finally:
        runtime.stop()
        hook.server.shutdown()


def test_a_reply_by_the_deadline_counts_as_corrected_in_time_until_the_officer_decides(make_services):
    from api.ops.attachments import NewAttachment
    from api.ops.decisions import suggestions
    from api.ops.rectification import reply

    services = make_services(CONFIG)
    lead = review.confirm(services, add_alert(services, camera="gate", rule="dust", site="works"), "rita").id
    assert suggestions(services, lead)["dust"].fine_yuan == 28_000
    _, link, _ = send_notice(services, lead, "olga", "http://vigil.test/")
    token = link.rsplit("/", 1)[1]
    reply(services, token, "covered", [NewAttachment(b"\xff\xd8ok", "a.jpg", "image/jpeg", utcnow())])
    sg = suggestions(services, lead)["dust"]
    assert [st.factor for st in sg.steps][-2:] == ["rectified", "exempt"]  # 首违不罚: first, short, corrected
    assert (sg.exempt, sg.fine_yuan) == (True, None)
    with pytest.raises(AuthError, match="not valid"):  # the link is spent
        reply(services, token, "again", [NewAttachment(b"\xff\xd8", "b.jpg", "image/jpeg", utcnow())])


def test_always_live_rules_must_be_rules():
    from pydantic import ValidationError

    from vigil.config import GradingConfig

    with pytest.raises(ValidationError, match="always_live_rules: expected rule names .* found 'fire'"):
        GradingConfig(always_live_rules=["fire"])
