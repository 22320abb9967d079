"""Changing one's own password needs the current one; the audit never records either."""
from __future__ import annotations

from sqlalchemy import select

from tests.web.seed import PASSWORD
from vigil.db.models import AuditEntry


def _sign_in(client, user: str, password: str = PASSWORD):
    r = client.post("/api/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    client.headers["x-csrf-token"] = r.json()["csrf"]


def test_own_password_change_needs_the_current_password(client, web_services):
    _sign_in(client, "rita")
    r = client.patch("/api/auth/me", json={"password": "taken-over-123"})
    assert r.status_code == 403 and "current_password" in r.json()["detail"]
    r = client.patch("/api/auth/me", json={"password": "taken-over-123", "current_password": "wrong-guess-1"})
    assert r.status_code == 403 and "wrong" in r.json()["detail"]
    assert client.patch("/api/auth/me", json={"language": "zh"}).status_code == 200  # no password: none needed
    r = client.patch("/api/auth/me", json={"password": "a-new-password-1", "current_password": PASSWORD})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    assert client.post("/api/auth/login", json={"username": "rita", "password": PASSWORD}).status_code == 401
    _sign_in(client, "rita", "a-new-password-1")
    with web_services.sessions() as s:
        details = s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "user_updated")).all()
    assert {"fields": ["language"]} in details and {"fields": ["password"]} in details
    assert PASSWORD not in str(details) and "a-new-password-1" not in str(details)
