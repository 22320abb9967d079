"""Security fixtures: the web tests' app (SQLite, local evidence, a user per role) and signed-in clients."""
from __future__ import annotations

import threading
import time

import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.serving import uvicorn_config
from tests.servers import free_port
from tests.web.conftest import browser, client, open_web_services, web_services  # noqa: F401 - fixtures reused
from tests.web.seed import PASSWORD, ROLE_USERS
from vigil.config import ServerConfig

__all__ = ["browser", "client", "open_web_services", "web_services"]


class Served:
    """The app behind uvicorn on a loopback port, configured by `uvicorn_config`."""

    def __init__(self, app, server_cfg: ServerConfig | None = None):
        server_cfg = server_cfg or ServerConfig()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn_config(app, server_cfg, "127.0.0.1", self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Served":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


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
