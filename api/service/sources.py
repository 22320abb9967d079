"""What the runtime hands the supervisor: demo scenes rendered to files, file paths made absolute, detectors."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Callable

from vigil.config_loader import LoadedConfig

log = logging.getLogger(__name__)


def make_resolver(services) -> Callable[[str], str]:
    """`demo:site?seed=N` -> the rendered scene's mp4 under data_dir/scenes (rendered once, then cached)."""
    def resolve(spec: str) -> str:
        from datasets.scenes import demo_source_path

        return str(demo_source_path(spec, services.data_dir / "scenes"))
    return resolve


def _is_path(source: str) -> bool:
    return not source.startswith("demo:") and "://" not in source


def resolve_file_sources(loaded: LoadedConfig) -> LoadedConfig:
    """The same config with relative camera file paths resolved against the config file's folder."""
    cams = {}
    for cid, cam in loaded.config.cameras.items():
        for key in ("source", "detect_source"):
            src = getattr(cam, key)
            if src is not None and _is_path(src) and not Path(src).is_absolute():
                cam = cam.model_copy(update={key: str(loaded.resolve(src))})
        cams[cid] = cam
    return dataclasses.replace(loaded, config=loaded.config.model_copy(update={"cameras": cams}))


def _profiles(loaded: LoadedConfig) -> list[str]:
    cfg = loaded.config
    return sorted(set(cfg.detectors) | {cfg.camera_profile(c) for c in cfg.cameras})


def _load(services, profile: str, watcher):
    from api.service.model_watch import service_detector

    promoted = watcher.current_path(profile) if watcher is not None else None
    return service_detector(services.loaded, profile, promoted[1] if promoted is not None else None)


def detectors_at_start(services, watcher) -> dict:
    """One detector per profile: the promoted model, else the config's; a profile whose model cannot be loaded
    runs its cameras without detection (ingest, buffer, live view) and says why in the log."""
    out = {}
    for profile in _profiles(services.loaded):
        try:
            det = _load(services, profile, watcher)
        except Exception as e:  # noqa: BLE001 - one missing model must not stop every camera
            log.error("profile %s: no detector (%s); its cameras run without detection", profile, e)
            continue
        if det is None:
            log.warning("profile %s: no detector configured; its cameras run without detection", profile)
        else:
            out[profile] = det
    return out
