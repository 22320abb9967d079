"""Fixtures for dataset tests: a real SQLite database, a local evidence store and a signing key."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from vigil.db.session import init_db
from vigil.signing import Signer
from vigil.store.local import LocalStore


@dataclass
class DataEnv:
    data_dir: Path
    sessions: object
    store: LocalStore
    signer: Signer


@pytest.fixture
def data_env(tmp_path) -> DataEnv:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    engine, sessions = init_db(f"sqlite:///{data_dir / 'vigil.db'}")
    env = DataEnv(data_dir, sessions, LocalStore(data_dir / "evidence"), Signer.load_or_create(data_dir / "key.pem"))
    yield env
    engine.dispose()
