"""Web fixtures: an app over a written config (SQLite, local evidence), users of every role, seeded alerts."""
from __future__ import annotations

from pathlib import Path

import pytest

from api.context import Services
from tests.web.seed import add_role_users
from vigil.config_loader import load_config
from vigil.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SHARED = (ROOT.parent / "shared").resolve()

CONFIG = f"""
shared_dir: {SHARED}
sites:
  works: {{name: Riverside Works, address: "18 Riverside Road, Eastport", kind: site, operator: Eastport Build}}
  lab3: {{name: "Chemistry lab 3", address: "2 University Avenue", kind: lab}}
cameras:
{{extra_cameras}}  gate: {{name: Riverside gate, site: works, source: "{SHARED}/videos/construction_site_cctv.mp4"}}
  bench: {{name: Lab 3 bench, site: lab3, source: "rtsp://viewer:${{CAM_PW}}@127.0.0.1:9/bench"}}
storage:
  database_url: sqlite:///{{db}}
  evidence: {{backend: local, path: evidence}}
"""


def open_web_services(tmp_path: Path, extra_cameras: str = "", env: dict | None = None,
                      extra_config: str = "") -> Services:
    """`extra_config`: top-level YAML sections added to the config (e.g. recording:)."""
    cfg = tmp_path / "vigil.yaml"
    body = CONFIG.replace("{db}", str(tmp_path / "vigil.db")).replace("{extra_cameras}", extra_cameras)
    cfg.write_text(f"data_dir: {tmp_path}/data\n" + body + extra_config)
    env = {"CAM_PW": "cam-secret-pw", **(env or {})}
    settings = Settings.from_env(env, config_path=cfg)
    return Services.open(settings, load_config(cfg, env))


@pytest.fixture
def web_services(tmp_path):
    services = open_web_services(tmp_path)
    add_role_users(services)
    yield services
    services.close()


@pytest.fixture
def bearer(web_services):
    """{role: Authorization header} with an API token of the seeded user of each role."""
    from sqlalchemy import select

    from api.auth.users import create_token
    from tests.web.seed import ROLE_USERS
    from vigil.db.models import User

    with web_services.sessions() as s:
        ids = {u.username: u.id for u in s.scalars(select(User))}
    return {role: {"Authorization": f"Bearer {create_token(web_services.sessions, ids[name], 't')}"}
            for role, name in ROLE_USERS.items()}


@pytest.fixture
def server(tmp_path):
    """The app without cameras, served by uvicorn on 127.0.0.1: (LiveServer, Services), seeded role users."""
    from api.app import create_app
    from tests.servers import free_port

    services = open_web_services(tmp_path)
    add_role_users(services)
    srv = LiveServer(create_app(services, run_cameras=False), free_port()).start()
    yield srv, services
    srv.stop()
    services.close()


@pytest.fixture
def client(web_services):
    """An in-process client of the app without cameras (the route and role tests)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(web_services, run_cameras=False)) as c:
        yield c


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser():
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


DEMO_CAMERA = "  yard: {name: Yard (demo scene), site: works, source: \"demo:site?seed=5&duration=20\"}\n"


class LiveServer:
    """The app served by uvicorn on a loopback port, in a thread."""

    def __init__(self, app, port: int):
        import uvicorn

        self.app, self.port = app, port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    timeout_graceful_shutdown=2, lifespan="on"))

    def start(self) -> "LiveServer":
        import threading
        import time

        self.thread = threading.Thread(target=self.server.run, name="uvicorn-test", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{self.port} within 60 s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def live_app(tmp_path):
    """Services with users, cameras running (a real CCTV file, a rendered demo scene, an unreachable RTSP camera),
    served by uvicorn on 127.0.0.1."""
    yield from serve_live(tmp_path, DEMO_CAMERA)


def serve_live(tmp_path: Path, extra_cameras: str, extra_config: str = ""):
    """Services with the role users and the given cameras running, served by uvicorn; stopped after the yield."""
    from api.app import create_app
    from tests.servers import free_port

    services = open_web_services(tmp_path, extra_cameras, extra_config=extra_config)
    add_role_users(services)
    server = LiveServer(create_app(services, run_cameras=True), free_port()).start()
    yield server, services
    server.stop()
    services.close()

