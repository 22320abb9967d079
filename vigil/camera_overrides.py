"""Cameras edited from the UI: the database's per-camera overrides laid over the YAML's cameras, and validated like
the file itself. The YAML is the seed; each key an override holds (source, zones, masks, ...) replaces the YAML's.

Sources are kept as written, ${ENV} references included, and substituted only here, when the effective config is
built: a secret referenced from the environment never reaches the database. A source is shown to people with its
password redacted (`rtsp://user:***@host`), a bare `${NAME}` reference excepted: that is where the secret lives,
not the secret.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Mapping

from vigil.config_loader import LoadedConfig, substitute_env, validate_raw
from vigil.errors import ConfigError
from vigil.redact import redact_text, redact_url
from vigil.safe_yaml import YamlLimits, load_yaml

EDITABLE_KEYS = ("name", "site", "source", "profile", "enabled", "detect", "zones", "masks", "rules")
REDACTED = "***"
# scheme://user:password@rest, the password running to the URL's last '@' (as vigil.redact reads it)
_CRED = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>.*)@(?P<rest>[^@]*)$")
_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def apply_overrides(seed: LoadedConfig, overrides: Mapping[str, Mapping[str, Any]],
                    env: Mapping[str, str] | None) -> LoadedConfig:
    """The effective config: `seed` (the YAML) with each camera's override laid over it, validated by the same
    models as the file. ConfigError names every problem with its key path (cameras.ID....)."""
    raw = seed.config.model_dump(exclude_unset=True)
    cameras = dict(raw.get("cameras", {}))
    secrets = list(seed.secrets)
    file = str(seed.path or "<config>") + " + camera edits in the database"
    for camera_id, override in overrides.items():
        unknown = sorted(set(override) - set(EDITABLE_KEYS))
        if unknown:
            raise ConfigError(f"{file}: cameras.{camera_id}: expected only {', '.join(EDITABLE_KEYS)} in a camera "
                              f"edit, found {', '.join(unknown)}", file=file)
        values, used = substitute_env(dict(override), env, file=file, path=f"cameras.{camera_id}")
        secrets.extend(used)
        if isinstance(values.get("source"), str):
            secrets.extend(p for p in [source_password(values["source"])] if p and len(p) >= 3)
        cameras[camera_id] = {**cameras.get(camera_id, {}), **values}
    raw["cameras"] = cameras
    loaded = validate_raw(raw, file=file, base_dir=seed.base_dir, secrets=tuple(dict.fromkeys(secrets)))
    return dataclasses.replace(loaded, path=seed.path)


def source_password(source: str) -> str | None:
    m = _CRED.match(source.strip())
    return m["pw"] if m else None


def shown_source(source: str) -> str:
    """A source as people may see it: the password redacted unless it is a bare ${NAME} reference."""
    m = _CRED.match(source.strip())
    if m and _REF.fullmatch(m["pw"]):
        return f"{m['scheme']}{m['user']}:{m['pw']}@{redact_text(m['rest'])}"
    return redact_url(source.strip())


def restore_source(sent: str, current: str | None) -> str:
    """What an edited source means: sent back with its password shown as *** it keeps the current password (the
    host or path may have changed); a full new source replaces it. ValueError when *** stands for nothing."""
    text = sent.strip()
    if REDACTED not in text:
        return text
    m, old = _CRED.match(text), source_password(current or "")
    if m is None or m["pw"] != REDACTED or old is None:
        raise ValueError("expected the camera's full source, or its shown form with the password left as ***; "
                         "found *** where no password is stored (type the password, or a ${NAME} reference to an "
                         "environment variable)")
    return f"{m['scheme']}{m['user']}:{old}@{m['rest']}"


def yaml_sources(path: Path | None) -> dict[str, str]:
    """The YAML's camera sources as written (${ENV} references not substituted), by camera id."""
    if path is None or not path.is_file():
        return {}
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"), YamlLimits()) or {}
    except Exception:  # noqa: BLE001 - the file was valid when loaded; changed since, we show the substituted form
        return {}
    cams = raw.get("cameras") if isinstance(raw, dict) else None
    if not isinstance(cams, dict):
        return {}
    return {str(k): v["source"] for k, v in cams.items() if isinstance(v, dict) and isinstance(v.get("source"), str)}
