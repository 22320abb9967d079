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
    # secrets stay out of repr: a Services or Settings in a log line or a traceback must not carry them
    admin_password: str | None = field(default=None, repr=False)  # first admin on first start; else generated
    secret_key: str | None = field(default=None, repr=False)  # session-cookie signing; else generated in data_dir
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # snapshot for ${ENV}, S3 keys, metrics token

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, config_path: str | Path | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        path = config_path or env.get("VIGIL_CONFIG") or DEFAULT_CONFIG
        return cls(config_path=Path(path), admin_user=env.get("VIGIL_ADMIN_USER", "admin"),
                   admin_password=env.get("VIGIL_ADMIN_PASSWORD") or None,
                   secret_key=env.get("VIGIL_SECRET_KEY") or None, env=MappingProxyType(env))
