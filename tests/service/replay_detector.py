"""A scripted detector for the end-to-end test: replays a demo scene's ground-truth labels (rules under test).

It recognises which scene frame it is shown by nearest thumbnail (the renderer is deterministic; the
camera's decoded frames differ only by compression), and returns that frame's labelled boxes.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
import supervision as sv

from datasets.scenes import iter_frames
from vigil.catalogue import PROFILE_CLASSES
from vigil.types import ModelInfo

THUMB = (48, 27)


def _thumb(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, THUMB, interpolation=cv2.INTER_AREA).astype(np.float32).ravel()


class GroundTruthDetector:
    """Implements vision's Detector protocol; confidence 0.9 for every labelled object."""

    def __init__(self, profile: str, seed: int, duration_s: float, *, fps: float = 10, size=(640, 360)):
        classes = PROFILE_CLASSES[profile]
        self.info = ModelInfo(name=f"ground-truth-{profile}", version=f"seed{seed}", profile=profile,
                              classes=classes, path="(scripted)", sha256="0" * 64)
        self.size = size
        thumbs, self.labels = [], []
        for _, img, labels in iter_frames(profile, seed, duration_s, fps=fps, size=size):
            thumbs.append(_thumb(img))
            self.labels.append([(lb.cls, lb.box) for lb in labels if lb.cls in classes])
        self.thumbs = np.stack(thumbs)
        self.calls = 0

    def _one(self, image: np.ndarray) -> sv.Detections:
        i = int(np.argmin(((self.thumbs - _thumb(image)) ** 2).sum(axis=1)))
        sx, sy = image.shape[1] / self.size[0], image.shape[0] / self.size[1]
        labels = self.labels[i]
        xyxy = np.array([[b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy] for _, b in labels], np.float32).reshape(-1, 4)
        names = [c for c, _ in labels]
        return sv.Detections(xyxy=xyxy, confidence=np.full(len(names), 0.9, np.float32),
                             class_id=np.array([self.info.classes.index(c) for c in names], int),
                             data={"class_name": np.array(names, dtype=str)})

    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        self.calls += 1
        return [self._one(img) for img in images]
