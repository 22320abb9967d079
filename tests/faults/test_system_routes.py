"""The reliability state and the delivery retry over HTTP, with the roles that may use them."""
from __future__ import annotations

from sqlalchemy import select

from tests.web.conftest import client, web_services  # noqa: F401 - fixtures
from tests.web.seed import ROLE_USERS
from vigil.db.models import AuditEntry, NotificationDelivery, User


def _bearer(services, role: str) -> dict:
    from api.auth.users import create_token

    with services.sessions() as s:
        uid = s.scalars(select(User.id).where(User.username == ROLE_USERS[role])).one()
    return {"Authorization": f"Bearer {create_token(services.sessions, uid, 't')}"}


def test_reliability_state_and_dead_delivery_retry(client, web_services):  # noqa: F811 - fixtures
    with web_services.sessions() as s:
        s.add(NotificationDelivery(channel="webhook:desk", status="dead", attempts=5, last_error="HTTP 500",
                                   payload={"event": "alert.new"}))
        s.commit()
    assert client.get("/healthz").json() == {"status": "ok"}  # anonymous: the status alone
    op = _bearer(web_services, "operator")
    health = client.get("/healthz", headers=op).json()
    assert health["database"] is True and health["problems"] == [] and "disk_free_mb" in health
    body = client.get("/api/system/reliability", headers=op).json()
    assert body["deliveries"] == {"pending": 0, "dead": 1} and body["runtime"] is False
    listed = client.get("/api/notifications?status=dead", headers=op).json()["items"]
    assert [d["last_error"] for d in listed] == ["HTTP 500"]
    assert client.post("/api/notifications/retry", json={}, headers=op).status_code == 403
    admin = _bearer(web_services, "admin")
    r = client.post("/api/notifications/retry", json={"ids": [listed[0]["id"]]}, headers=admin)
    assert r.status_code == 200 and r.json() == {"retried": [listed[0]["id"]]}
    with web_services.sessions() as s:
        row = s.get(NotificationDelivery, listed[0]["id"])
        assert (row.status, row.attempts) == ("pending", 0)
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action == "notification.retry")).one()
    assert client.get("/api/notifications?status=bogus", headers=op).status_code == 422
