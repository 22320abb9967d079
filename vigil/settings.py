"""Process settings: the one module that reads environment variables."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

DEFAULT_CONFIG = "config/vigil.example.yaml"


@dataclass(frozen=True)
class Settings:
    """What the environment says; everything else comes from the config file."""

    config_path: Path
    admin_user: str = "admin"
    admin_password: str | None = None  # first admin on first start; generated and printed when unset
    secret_key: str | None = None  # session-cookie signing; generated into data_dir when unset
    env: Mapping[str, str] = field(default_factory=dict)  # snapshot for ${ENV} substitution and S3 keys

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, config_path: str | Path | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        path = config_path or env.get("VIGIL_CONFIG") or DEFAULT_CONFIG
        return cls(config_path=Path(path), admin_user=env.get("VIGIL_ADMIN_USER", "admin"),
                   admin_password=env.get("VIGIL_ADMIN_PASSWORD") or None,
                   secret_key=env.get("VIGIL_SECRET_KEY") or None, env=MappingProxyType(env))
