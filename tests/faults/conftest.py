"""Fault-suite fixtures: servers of the test's own (they are stopped mid-test), services over a written config."""
from __future__ import annotations

from pathlib import Path

import pytest

from api.context import Services
from tests.conftest import S3_ACCESS_KEY, S3_SECRET_KEY
from tests.servers import create_database, start_postgres, start_seaweed_s3
from tests.streams.conftest import make_clip
from vigil.config_loader import load_config
from vigil.settings import Settings


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "cam.mp4", seconds=6, fps=10, gop=10)


@pytest.fixture
def own_s3(tmp_path):
    server = start_seaweed_s3(tmp_path / "s3", S3_ACCESS_KEY, S3_SECRET_KEY)
    yield server
    server.stop()


@pytest.fixture
def own_postgres():
    server = start_postgres()
    yield server
    server.stop()


def write_config(tmp_path: Path, body: str, *, database_url: str | None = None, s3=None,
                 evidence_path: str = "evidence") -> tuple[Path, dict]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    env = {"VIGIL_ADMIN_PASSWORD": "fault-admin-pass"}
    url = database_url or f"sqlite:///{tmp_path}/data/vigil.db"
    if s3 is not None:
        evidence = (f"{{backend: s3, endpoint: '{s3.url}', bucket: faults, secure: false, access_key_env: S3_AK, "
                    f"secret_key_env: S3_SK}}")
        env.update(S3_AK=S3_ACCESS_KEY, S3_SK=S3_SECRET_KEY)
    else:
        evidence = f"{{backend: local, path: '{evidence_path}'}}"
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(f"data_dir: {tmp_path}/data\n{body}\nstorage:\n  database_url: {url}\n  evidence: {evidence}\n")
    return cfg, env


def open_services(cfg: Path, env: dict) -> Services:
    return Services.open(Settings.from_env(env, config_path=cfg), load_config(cfg, env))


def pg_database(server, name: str) -> str:
    return create_database(server, name)
