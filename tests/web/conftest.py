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
  gate: {{name: Riverside gate, site: works, source: "{SHARED}/videos/construction_site_cctv.mp4"}}
  bench: {{name: Lab 3 bench, site: lab3, source: "rtsp://viewer:${{CAM_PW}}@127.0.0.1:9/bench"}}
storage:
  database_url: sqlite:///{{db}}
  evidence: {{backend: local, path: evidence}}
"""


def open_web_services(tmp_path: Path, extra: str = "", env: dict | None = None) -> Services:
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(f"data_dir: {tmp_path}/data\n" + CONFIG.replace("{db}", str(tmp_path / "vigil.db")) + extra)
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
def client(web_services):
    """An in-process client of the app without cameras (the route and role tests)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(web_services, run_cameras=False)) as c:
        yield c
