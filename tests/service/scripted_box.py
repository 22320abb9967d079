"""A scripted detector for active-learning tests: one box of a class at a fixed score on every frame."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import supervision as sv

from vigil.catalogue import PROFILE_CLASSES
from vigil.types import ModelInfo


class OneBoxDetector:
    """Implements vision's Detector protocol: `class_name` at `score` in the frame's centre (every other frame
    when `blink`)."""

    def __init__(self, profile: str, class_name: str, score: float, *, blink: bool = False):
        self.info = ModelInfo(name=f"one-box-{profile}", version=f"score{score}", profile=profile,
                              classes=PROFILE_CLASSES[profile], path="(scripted)", sha256="0" * 64)
        self.class_name, self.score, self.blink, self.calls = class_name, score, blink, 0

    def _one(self, image: np.ndarray) -> sv.Detections:
        h, w = image.shape[:2]
        return sv.Detections(xyxy=np.array([[w * 0.3, h * 0.3, w * 0.6, h * 0.8]], np.float32),
                             confidence=np.array([self.score], np.float32),
                             class_id=np.array([self.info.classes.index(self.class_name)], int),
                             data={"class_name": np.array([self.class_name], dtype=str)})

    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        """blink: the box is there on every other call only (a model that sees the object now and then)."""
        out = []
        for img in images:
            self.calls += 1
            d = self._one(img)
            out.append(d[np.zeros(1, bool)] if self.blink and self.calls % 2 == 0 else d)
        return out
