"""Acknowledging an alert ("I've seen it") through the API: who and when recorded, audited, told to the live bus,
idempotent, the review state untouched, the camera stops flashing, the list filters by it; 404 and roles."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.web.seed import seed_alert
from vigil.db.models import Alert, AuditEntry
from vigil.types import utcnow


def going_on(services, alert_id: str) -> None:
    """The alert as the pipeline keeps it while the violation goes on: ongoing, its end moving with the video."""
    with services.sessions() as s:
        a = s.get(Alert, alert_id)
        a.ongoing, a.ended_at = True, utcnow() + timedelta(minutes=5)
        s.commit()


def test_operator_acknowledges_once_review_state_unchanged(client, web_services, bearer):
    alert_id = seed_alert(web_services, camera="gate", ago_s=20)
    going_on(web_services, alert_id)
    gate = client.get("/api/cameras/gate", headers=bearer["operator"]).json()
    assert gate["alerting"] is True and gate["alert_id"] == alert_id
    sub = web_services.events.subscribe()

    r = client.post(f"/api/alerts/{alert_id}/acknowledge", headers=bearer["operator"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["acknowledged"] is True
    a = body["alert"]
    assert a["acknowledged_by"] == "olga" and a["acknowledged_at"].endswith("Z") and a["state"] == "new"
    kind, payload = sub.get(2)
    assert kind == "alert.updated" and payload["id"] == alert_id and payload["acknowledged_by"] == "olga"
    sub.close()

    again = client.post(f"/api/alerts/{alert_id}/acknowledge", headers=bearer["reviewer"]).json()
    assert again["acknowledged"] is False                               # a second click is harmless
    assert again["alert"]["acknowledged_by"] == "olga"                  # the first acknowledgement stays
    assert again["alert"]["acknowledged_at"] == a["acknowledged_at"]
    with web_services.sessions() as s:
        assert s.get(Alert, alert_id).state == "new"                    # still waits for review
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "alert.acknowledge")).all()
        assert [(e.actor, e.target_id) for e in rows] == [("olga", alert_id)]

    gate = client.get("/api/cameras/gate", headers=bearer["operator"]).json()
    assert gate["alerting"] is False and gate["alert_id"] is None      # the flash stops
    listed = client.get("/api/cameras", headers=bearer["operator"]).json()["items"]
    assert {c["id"]: c["alerting"] for c in listed}["gate"] is False
    history = client.get(f"/api/alerts/{alert_id}/history", headers=bearer["operator"]).json()
    assert [e["action"] for e in history["items"]] == ["alert.acknowledge"]


def test_list_filter_by_acknowledged(client, web_services, bearer):
    seen = seed_alert(web_services, camera="gate", ago_s=300)
    unseen = seed_alert(web_services, camera="bench", rule="lab_fire", ago_s=200)
    assert client.post(f"/api/alerts/{seen}/acknowledge", headers=bearer["officer"]).status_code == 200
    ids = lambda q: {a["id"] for a in client.get(f"/api/alerts?grouped=false&{q}",  # noqa: E731
                                                 headers=bearer["operator"]).json()["items"]}
    assert ids("acknowledged=true") == {seen}
    assert ids("acknowledged=false") == {unseen}
    assert ids("") == {seen, unseen}
    row = next(a for a in client.get("/api/alerts?grouped=false", headers=bearer["operator"]).json()["items"]
               if a["id"] == seen)
    assert row["acknowledged_by"] == "oscar"
    bad = client.get("/api/alerts?acknowledged=maybe", headers=bearer["operator"])
    assert bad.status_code == 422


def test_unknown_alert_and_roles(client, web_services, bearer):
    r = client.post("/api/alerts/no-such-alert/acknowledge", headers=bearer["operator"])
    assert r.status_code == 404 and "no-such-alert" in r.text
    alert_id = seed_alert(web_services, camera="gate")
    assert client.post(f"/api/alerts/{alert_id}/acknowledge", headers=bearer["data_staff"]).status_code == 403
    assert client.post(f"/api/alerts/{alert_id}/acknowledge").status_code == 401
    assert client.post(f"/api/alerts/{alert_id}/acknowledge", headers=bearer["admin"]).json()["acknowledged"] is True
