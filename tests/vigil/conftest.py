"""Fixtures for the core: a database URL per backend, an evidence store per backend."""
from __future__ import annotations

import itertools

import pytest

from vigil.store.local import LocalStore
from vigil.store.s3 import S3Store

_buckets = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/vigil.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "evidence")
    s3 = request.getfixturevalue("s3_server")
    return S3Store(s3.url, f"evidence-{next(_buckets)}", s3.extra["access_key"], s3.extra["secret_key"],
                   secure=False)
