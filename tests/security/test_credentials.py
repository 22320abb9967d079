"""Credentials end with the change that should end them: a password reset revokes API tokens, and deactivating
a user ends their session cookies for good (reactivating does not bring the old ones back)."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.auth.users import create_token
from tests.security.conftest import sign_in
from tests.web.seed import ROLE_USERS
from vigil.db.models import User

NEW_PASSWORD = "a-brand-new-password-7"


def _user_id(services, name: str) -> int:
    with services.sessions() as s:
        return s.scalar(select(User.id).where(User.username == name))


def _me(c: TestClient, headers: dict | None = None) -> int:
    return c.get("/api/auth/me", headers=headers or {}).status_code


@pytest.mark.parametrize("change, token_after, cookie_after", [
    ([{"password": NEW_PASSWORD}], 401, 401),
    ([{"active": False}], 401, 401),
    ([{"active": False}, {"active": True}], 401, 401),  # reactivated: old credentials stay dead
    ([{"language": "zh"}], 200, 200),  # an unrelated change ends nothing
    ([{"role": "reviewer"}], 200, 200),
], ids=["password-reset", "deactivated", "deactivated-then-reactivated", "language", "role"])
def test_admin_changes_end_old_credentials(client, web_services, admin, change, token_after, cookie_after):
    name = ROLE_USERS["operator"]
    uid = _user_id(web_services, name)
    token = create_token(web_services.sessions, uid, "script")
    browser = sign_in(client.app, name)
    bearer = {"Authorization": f"Bearer {token}"}
    assert _me(client, bearer) == 200 and _me(browser) == 200
    for patch in change:
        r = admin.patch(f"/api/users/{uid}", json=patch)
        assert r.status_code == 200, r.text
    assert _me(client, bearer) == token_after
    assert _me(browser) == cookie_after


def test_a_reactivated_user_signs_in_afresh(client, web_services, admin):
    name = ROLE_USERS["operator"]
    uid = _user_id(web_services, name)
    old = sign_in(client.app, name)
    admin.patch(f"/api/users/{uid}", json={"active": False})
    admin.patch(f"/api/users/{uid}", json={"active": True})
    assert _me(old) == 401
    assert _me(sign_in(client.app, name)) == 200
