"""Cameras, zones and masks edited from the UI: stored as overrides in the database (the YAML is the seed), checked
like `vigil config check`, audited, and applied to the running supervisor without a restart."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import select

from vigil.audit import record
from vigil.camera_overrides import apply_overrides, shown_source, yaml_sources
from vigil.config_loader import LoadedConfig
from vigil.db.models import CameraOverride, utcnow
from vigil.db.session import session_scope
from vigil.errors import ConfigError
from vigil.redact import install_log_redaction, redact_text

log = logging.getLogger(__name__)
# one edit at a time in this process: each reads every override, validates the whole and writes one
_EDITS = threading.Lock()


@dataclass(frozen=True)
class CameraEdit:
    """One change to one camera: the override keys it sets (values as they are stored), who, and the audit verb."""

    camera_id: str
    changes: Mapping[str, Any]
    actor: str
    action: str  # camera.create | camera.update | camera.zones | camera.disable


def load_overrides(services) -> dict[str, dict]:
    with services.sessions() as s:
        return {row.camera_id: dict(row.config) for row in s.scalars(select(CameraOverride))}


def override_meta(services, camera_id: str) -> tuple[str, Any]:
    """(who, when) last edited the camera from the UI; ("", None) when it is as the YAML has it."""
    with services.sessions() as s:
        row = s.get(CameraOverride, camera_id)
        return (row.updated_by, row.updated_at) if row is not None else ("", None)


def effective_at_start(services) -> LoadedConfig:
    """The YAML with every stored override; one that no longer fits the YAML (a site removed from it, say) is left
    out and said in the log, so the service still starts with the rest."""
    seed, env = services.seed, services.settings.env
    overrides = load_overrides(services)
    try:
        return apply_overrides(seed, overrides, env)
    except ConfigError:
        kept: dict[str, dict] = {}
        for camera_id, override in overrides.items():
            try:
                apply_overrides(seed, {**kept, camera_id: override}, env)
            except ConfigError as e:
                log.error("camera %s: its edits in the database no longer fit the config and are not applied: %s",
                          camera_id, redact_text("; ".join(e.problems), seed.secrets))
                continue
            kept[camera_id] = override
        return apply_overrides(seed, kept, env)


def current_source(services, camera_id: str) -> str | None:
    """The camera's source as stored or written in the YAML (${ENV} references kept), None for a new camera."""
    stored = load_overrides(services).get(camera_id, {}).get("source")
    if isinstance(stored, str):
        return stored
    cam = services.loaded.config.cameras.get(camera_id)
    if cam is None:
        return None
    return yaml_sources(services.seed.path).get(camera_id, cam.source)


def _source_problem(loaded: LoadedConfig, camera_id: str) -> str | None:
    from streams.source import source_problem

    return source_problem(loaded.config.cameras[camera_id].source, loaded.base_dir)


def _audit_values(changes: Mapping[str, Any]) -> dict:
    return {k: shown_source(v) if k == "source" and isinstance(v, str) else v for k, v in changes.items()}


def _problem(text: str, camera_id: str) -> str:
    """A config problem as said about this camera (its key path within the camera; no model-level noise)."""
    for prefix in (f"cameras.{camera_id}.", f"cameras.{camera_id}: ", "(top level): "):
        text = text.removeprefix(prefix)
    return text.removesuffix("; found dict")


def edit_camera(services, runtime, edit: CameraEdit) -> LoadedConfig:
    """Validate the edit over the whole config, store it, audit it, and apply it to the running cameras. An edit
    the config check refuses raises ConfigError naming the camera (409: it conflicts with the config in effect),
    with nothing stored or changed."""
    cid = edit.camera_id
    with _EDITS:
        overrides = load_overrides(services)
        override = {**overrides.get(cid, {}), **edit.changes}
        try:
            new = apply_overrides(services.seed, {**overrides, cid: override}, services.settings.env)
        except ConfigError as e:
            problems = "; ".join(_problem(p, cid) for p in e.problems)
            raise ConfigError(f"camera {cid!r}: {redact_text(problems, services.loaded.secrets)}") from None
        cam = new.config.cameras[cid]
        if cam.enabled and ("source" in edit.changes or "enabled" in edit.changes):
            problem = _source_problem(new, cid)
            if problem:
                raise ConfigError(f"camera {cid!r}: source: {redact_text(problem, new.secrets)}")
        with session_scope(services.sessions) as s:
            row = s.get(CameraOverride, cid) or CameraOverride(camera_id=cid)
            row.config, row.updated_by, row.updated_at = override, edit.actor, utcnow()
            s.add(row)
        record(services.sessions, edit.actor, edit.action, "camera", cid,
               {"changed": sorted(edit.changes), "values": _audit_values(edit.changes)})
        services.loaded = new
        services.sync_sites_and_cameras()
        install_log_redaction(new.secrets)  # a password typed in the UI is redacted from every log from now on
        log.info("camera %s: %s by %s (%s); applying without a restart", cid, edit.action, edit.actor,
                 ", ".join(sorted(edit.changes)))
        if runtime is not None:  # in the lock: two quick edits reach the camera in the order they were stored
            from api.service.sources import resolve_file_sources

            runtime.supervisor.replace_camera(cid, resolve_file_sources(new))
    return new


def revert_camera(services, runtime, camera_id: str, actor: str) -> LoadedConfig:
    """Drop the camera's edits: it runs as the YAML has it again (audited, applied without a restart). A camera
    the YAML does not have cannot go back to it (ConfigError: disable it instead)."""
    with _EDITS:
        if camera_id not in services.seed.config.cameras:
            raise ConfigError(f"camera {camera_id!r} was added in the UI and has no config file entry to go back to; "
                              "disable it instead")
        overrides = load_overrides(services)
        dropped = overrides.pop(camera_id, None)
        if dropped is None:
            return services.loaded
        new = apply_overrides(services.seed, overrides, services.settings.env)
        with session_scope(services.sessions) as s:
            row = s.get(CameraOverride, camera_id)
            if row is not None:
                s.delete(row)
        record(services.sessions, actor, "camera.revert", "camera", camera_id,
               {"changed": sorted(dropped), "values": _audit_values(dropped)})
        services.loaded = new
        services.sync_sites_and_cameras()
        log.info("camera %s: back to the config file (by %s); applying without a restart", camera_id, actor)
        if runtime is not None:
            from api.service.sources import resolve_file_sources

            runtime.supervisor.replace_camera(camera_id, resolve_file_sources(new))
    return new
