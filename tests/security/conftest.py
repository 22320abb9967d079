"""Security fixtures: the web tests' app (SQLite, local evidence, a user per role) and signed-in clients."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import client, open_web_services, web_services  # noqa: F401 - fixtures reused as they are
from tests.web.seed import PASSWORD, ROLE_USERS

__all__ = ["client", "open_web_services", "web_services"]


def sign_in(app, username: str, password: str = PASSWORD) -> TestClient:
    """A browser of its own (cookie jar), signed in, sending its CSRF token on writes."""
    c = TestClient(app)
    r = c.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    c.headers["x-csrf-token"] = r.json()["csrf"]
    return c


@pytest.fixture
def admin(client):
    return sign_in(client.app, ROLE_USERS["admin"])
