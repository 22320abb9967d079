"""Hot reload: notices a newly promoted (or rolled back) model per profile and hands running pipelines a detector."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from training.registry import ModelRecord, promoted_model
from vigil.config import DetectorConfig
from vision.detector import Detector, load_detector

log = logging.getLogger(__name__)
SwapFn = Callable[[str, Detector], None]


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

    def _detector_config(self, profile: str) -> DetectorConfig | None:
        return self.services.loaded.config.detectors.get(profile)

    def current_path(self, profile: str) -> tuple[Path, ModelRecord] | None:
        """The promoted model's file and record, or None (the config's model applies)."""
        rec = promoted_model(self.services.sessions, profile)
        return (rec.path, rec) if rec else None

    def _build(self, profile: str, rec: ModelRecord | None) -> Detector | None:
        from vision.detector import profile_detector

        if rec is None:
            return profile_detector(self.services.loaded, profile, loader=self.loader)
        return profile_detector(self.services.loaded, profile, model_path=rec.path, loader=self.loader,
                                imgsz=int(rec.metrics.get("imgsz") or 0) or None, name=rec.name,
                                version=rec.version)

    def check(self) -> list[str]:
        """Swap every profile whose promoted model changed since the last check; returns those profiles."""
        swapped = []
        for profile in self.profiles():
            rec = promoted_model(self.services.sessions, profile)
            key = (rec.id, rec.promoted_at) if rec else None
            if key == self._applied.get(profile) or (profile in self._failed and self._failed[profile] == key):
                continue
            try:
                detector = self._build(profile, rec)
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
