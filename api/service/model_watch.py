"""Hot reload: notices a newly promoted (or rolled back) model per profile and hands running pipelines a detector."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from training.registry import ModelRecord, promoted_model
from vision.detector import Detector, load_detector, profile_detector

log = logging.getLogger(__name__)
SwapFn = Callable[[str, Detector], None]


def service_detector(loaded, profile: str, rec: ModelRecord | None, *,
                     loader: Callable[..., Detector] | None = None) -> Detector | None:
    """The service's detector for a profile: the promoted model `rec` (its own input size, name and version), else
    the config's (None when the config names none). Start-up and hot reload both choose here."""
    if rec is None:
        return profile_detector(loaded, profile, loader=loader)
    return profile_detector(loaded, profile, model_path=rec.path, loader=loader,
                            imgsz=int(rec.metrics.get("imgsz") or 0) or None, name=rec.name, version=rec.version)


class ModelWatcher:
    """`check()` (the runtime calls it every ~2 s) compares each profile's promoted model with the one last
    applied and calls `swap(profile, detector)` on a change. The first check applies any model promoted before
    the service started; a rollback to no promoted model swaps the config's model back in."""

    def __init__(self, services, swap: SwapFn, *, loader: Callable[..., Detector] = load_detector):
        self.services = services
        self.swap = swap
        self.loader = loader
        self._applied: dict[str, tuple | None] = {}  # profile -> (model id, promoted_at) last swapped in
        self._failed: dict[str, tuple | None] = {}  # profile -> the key whose load failed (not retried)

    def profiles(self) -> list[str]:
        cfg = self.services.loaded.config
        found = set(cfg.detectors)
        found.update(cfg.camera_profile(c) for c in cfg.cameras)
        return sorted(found)

    def current_path(self, profile: str) -> tuple[Path, ModelRecord] | None:
        """The promoted model's file and record, or None (the config's model applies)."""
        rec = promoted_model(self.services.sessions, profile)
        return (rec.path, rec) if rec else None

    def check(self) -> list[str]:
        """Swap every profile whose promoted model changed since the last check; returns those profiles."""
        swapped = []
        for profile in self.profiles():
            rec = promoted_model(self.services.sessions, profile)
            key = (rec.id, rec.promoted_at) if rec else None
            if key == self._applied.get(profile) or (profile in self._failed and self._failed[profile] == key):
                continue
            try:
                detector = service_detector(self.services.loaded, profile, rec, loader=self.loader)
            except Exception as e:  # a bad model file must not stop the runtime; say which and why, once
                log.error("model watch: cannot load %s model %s: %s", profile, rec.version if rec else "from config", e)
                self._failed[profile] = key
                continue
            self._failed.pop(profile, None)
            self._applied[profile] = key
            if detector is None:
                continue
            self.swap(profile, detector)
            log.info("model watch: %s now runs %s %s", profile, detector.info.name, detector.info.version)
            swapped.append(profile)
        return swapped
