"""The evidence store: one interface, a local folder and S3 (minio) backends."""
from __future__ import annotations

from typing import Mapping

from vigil.errors import ConfigError
from vigil.store.base import EvidenceStore, StoredObject, content_key, join_key, safe_key, sha256_hex


def make_store(loaded, env: Mapping[str, str]) -> EvidenceStore:
    """The store a config asks for; S3 credentials come from the environment variables it names."""
    cfg = loaded.config.storage.evidence
    if cfg.backend == "local":
        from vigil.store.local import LocalStore

        return LocalStore(loaded.data_path(cfg.path))
    from vigil.store.s3 import S3Store

    missing = [name for name in (cfg.access_key_env, cfg.secret_key_env) if not env.get(name)]
    if missing:
        raise ConfigError(f"storage.evidence: expected S3 credentials in environment variable(s) "
                          f"{', '.join(missing)}, found them unset")
    return S3Store(cfg.endpoint, cfg.bucket, env[cfg.access_key_env], env[cfg.secret_key_env], secure=cfg.secure,
                   region=cfg.region, object_lock_days=cfg.object_lock_days)


__all__ = ["EvidenceStore", "StoredObject", "content_key", "join_key", "make_store", "safe_key", "sha256_hex"]
