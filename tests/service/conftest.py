"""Service fixtures: Services over a written config, on SQLite or PostgreSQL, a local or S3 evidence store."""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Callable

import pytest

from api.context import Services
from vigil.config_loader import load_config
from vigil.settings import Settings

_buckets = itertools.count(1)

SITES = """
sites:
  works: {name: Riverside Works, address: "18 Riverside Road, Eastport", kind: site, operator: Eastport Build}
  lab3: {name: "化学楼 3 号实验室", address: "大学路 2 号", kind: lab}
"""


def storage_yaml(db: str, store: str, request, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/vigil.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    if store == "local":
        evidence = "{backend: local, path: evidence}"
    else:
        s3 = request.getfixturevalue("s3_server")
        evidence = (f"{{backend: s3, endpoint: '{s3.url}', bucket: svc-{next(_buckets)}, secure: false, "
                    f"access_key_env: S3_AK, secret_key_env: S3_SK}}")
    return f"storage:\n  database_url: {url}\n  evidence: {evidence}\n"


def open_services(tmp_path: Path, body: str, *, env: dict | None = None, request=None, db: str = "sqlite",
                  store: str = "local") -> Services:
    env = dict(env or {})
    if store == "s3":
        s3 = request.getfixturevalue("s3_server")
        env.update(S3_AK=s3.extra["access_key"], S3_SK=s3.extra["secret_key"])
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(f"data_dir: {tmp_path}/data\n" + body + storage_yaml(db, store, request, tmp_path))
    settings = Settings.from_env(env, config_path=cfg)
    return Services.open(settings, load_config(cfg, env))


@pytest.fixture
def make_services(tmp_path, request) -> Callable[..., Services]:
    opened: list[Services] = []

    def make(body: str, **kw) -> Services:
        services = open_services(tmp_path, body, request=request, **kw)
        opened.append(services)
        return services

    yield make
    for s in opened:
        s.close()
