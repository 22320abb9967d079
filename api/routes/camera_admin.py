"""Editing cameras from the UI (admins): a camera's config, its zones and masks, adding, changing and disabling
cameras. Each change is validated like `vigil config check`, stored over the YAML, audited and applied at once.

A body the schema refuses (a point outside 0-1, a polygon of two points, an unknown rule) is a 422; one the schema
admits but the config in effect does not (a site it does not define, a rule of another profile, a source this
server cannot open) is a 409 with the config check's message. Either way nothing is stored or changed."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from api.auth.deps import Allow
from api.auth.roles import ADMIN_ONLY
from api.auth.users import Principal
from api.routes.camera_admin_schemas import CameraConfigOut, CameraIn, CameraPatch, ZonesIn
from api.routes.common import not_found, runtime_of, services_of
from api.service.camera_config import (CameraEdit, current_source, edit_camera, load_overrides, override_meta,
                                       revert_camera)
from vigil.camera_overrides import restore_source, shown_source
from vigil.catalogue import RULES, rules_for_profile

router = APIRouter(tags=["cameras"])
EDIT = Allow(ADMIN_ONLY)


def camera_config_out(services, camera_id: str) -> dict:
    cfg = services.loaded.config
    cam = cfg.cameras[camera_id]
    in_yaml = camera_id in services.seed.config.cameras
    overridden = camera_id in load_overrides(services)
    by, at = override_meta(services, camera_id)
    return {"id": camera_id, "name": cam.name or camera_id, "site": cam.site,
            "source": shown_source(current_source(services, camera_id) or cam.source),
            "profile": cfg.camera_profile(camera_id), "profile_set": cam.profile, "enabled": cam.enabled,
            "detect": cam.detect.model_dump(),
            "zones": {n: {"polygon": [list(p) for p in z.polygon], "anchor": z.anchor, "no_dumping": z.no_dumping,
                          "rules": [r for r in RULES if r in cam.rules and n in cam.rules[r].zones]}
                      for n, z in cam.zones.items()},
            "masks": [[list(p) for p in poly] for poly in cam.masks],
            "rules": [r.name for r in rules_for_profile(cfg.camera_profile(camera_id))],
            "origin": "yaml+database" if in_yaml and overridden else "database" if overridden else "yaml",
            "updated_by": by, "updated_at": at}


def _known(services, camera_id: str) -> None:
    if camera_id not in services.loaded.config.cameras:
        raise not_found("camera", camera_id)


def _source(services, camera_id: str, sent: str) -> str:
    try:
        return restore_source(sent, current_source(services, camera_id))
    except ValueError as e:  # *** with no password stored: a conflict with what the server holds
        raise HTTPException(409, f"camera {camera_id!r}: source: {e}") from None


def _changes(services, camera_id: str, body: CameraPatch) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True, exclude={"id"})
    cam = services.loaded.config.cameras.get(camera_id)
    if "detect" in changes:  # the fields sent, over the camera's detect settings now (replaced whole when stored)
        changes["detect"] = {**(cam.detect.model_dump() if cam else {}), **changes["detect"]}
    if "source" in changes:
        changes["source"] = _source(services, camera_id, changes["source"])
    return changes


def _restarted(request: Request, camera_id: str) -> None:
    cache = getattr(request.app.state, "frame_cache", None)
    if cache is not None:
        cache.forget(camera_id)


def _apply(request: Request, user: Principal, camera_id: str, changes: dict, action: str) -> dict:
    services = services_of(request)
    edit_camera(services, runtime_of(request), CameraEdit(camera_id, changes, user.username, action))
    _restarted(request, camera_id)
    return camera_config_out(services, camera_id)


@router.get("/api/cameras/{camera_id}/config", response_model=CameraConfigOut)
def get_camera_config(camera_id: str, request: Request, user: Principal = Depends(EDIT)) -> dict:
    """The camera's editable config as in effect now (the database's edits over the YAML), source redacted."""
    services = services_of(request)
    _known(services, camera_id)
    return camera_config_out(services, camera_id)


@router.put("/api/cameras/{camera_id}/zones", response_model=CameraConfigOut)
def put_zones(camera_id: str, body: ZonesIn, request: Request, user: Principal = Depends(EDIT)) -> dict:
    """Replace the camera's zones, masks and the zones each rule is limited to; applied without a restart."""
    services = services_of(request)
    _known(services, camera_id)
    cam = services.loaded.config.cameras[camera_id]
    rules = {name: o.model_dump(exclude_unset=True) for name, o in cam.rules.items()}
    for name in [r for r in RULES if r in rules or any(r in z.rules for z in body.zones.values())]:
        rules.setdefault(name, {})["zones"] = [n for n, z in body.zones.items() if name in z.rules]
    changes = {"zones": {n: z.model_dump(exclude={"rules"}) for n, z in body.zones.items()}, "masks": body.masks,
               "rules": rules}
    return _apply(request, user, camera_id, changes, "camera.zones")


@router.post("/api/cameras", status_code=201, response_model=CameraConfigOut)
def add_camera(body: CameraIn, request: Request, user: Principal = Depends(EDIT)) -> dict:
    """A new camera, started at once when enabled."""
    services = services_of(request)
    if body.id in services.loaded.config.cameras:
        raise HTTPException(409, f"camera {body.id!r} exists already; change it with PUT /api/cameras/{body.id}")
    return _apply(request, user, body.id, _changes(services, body.id, body), "camera.create")


@router.patch("/api/cameras/{camera_id}", response_model=CameraConfigOut)
@router.put("/api/cameras/{camera_id}", response_model=CameraConfigOut)
def update_camera(camera_id: str, body: CameraPatch, request: Request, user: Principal = Depends(EDIT)) -> dict:
    """Change a camera's name, site, source, profile, enabled or detect settings (absent fields are kept); the
    camera restarts with them, the others keep running."""
    services = services_of(request)
    _known(services, camera_id)
    changes = _changes(services, camera_id, body)
    if not changes:  # nothing to change: nothing stored, audited or restarted
        return camera_config_out(services, camera_id)
    return _apply(request, user, camera_id, changes, "camera.update")


@router.delete("/api/cameras/{camera_id}", response_model=CameraConfigOut)
def disable_camera(camera_id: str, request: Request, user: Principal = Depends(EDIT)) -> dict:
    """Disable the camera (it stops; its alerts and evidence stay). PUT with enabled: true starts it again."""
    services = services_of(request)
    _known(services, camera_id)
    return _apply(request, user, camera_id, {"enabled": False}, "camera.disable")


@router.post("/api/cameras/{camera_id}/revert", response_model=CameraConfigOut)
def revert(camera_id: str, request: Request, user: Principal = Depends(EDIT)) -> dict:
    """Drop the edits made in the UI: the camera runs as the config file has it again (409 for a camera added in
    the UI, which the file does not have)."""
    services = services_of(request)
    _known(services, camera_id)
    revert_camera(services, runtime_of(request), camera_id, user.username)
    _restarted(request, camera_id)
    return camera_config_out(services, camera_id)
