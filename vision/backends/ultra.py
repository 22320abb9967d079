"""Ultralytics adapter for `.pt` models (imports torch; the ONNX path never loads this module)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import supervision as sv

from vigil.errors import ModelError
from vigil.types import ModelInfo


def _quiet_offline() -> None:
    # Ultralytics must never try the network (fonts, weights, pip); set before its first import.
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")


class UltralyticsDetector:
    """A `.pt` YOLO model run through ultralytics' predictor on the CPU."""

    def __init__(self, model, info: ModelInfo, *, conf: float, iou: float):
        self._model = model
        self.info = info
        self.conf, self.iou = conf, iou

    @classmethod
    def load(cls, path: str, *, conf: float, iou: float, imgsz: int, threads: int, name: str | None,
             version: str | None, profile: str | None, sha256: str) -> "UltralyticsDetector":
        _quiet_offline()
        import torch
        from ultralytics import YOLO

        torch.set_num_threads(threads)
        try:
            model = YOLO(path, task="detect")
        except Exception as e:  # ultralytics raises many kinds for a bad file
            raise ModelError(f"{path}: expected a YOLO .pt model ultralytics can load, found: {e}") from None
        names = model.names
        classes = tuple(str(names[i]) for i in sorted(names)) if isinstance(names, dict) else tuple(names)
        info = ModelInfo(name=name or profile or Path(path).stem, version=version or sha256[:12],
                         profile=profile or "", classes=classes, path=path, sha256=sha256, imgsz=imgsz)
        return cls(model, info, conf=conf, iou=iou)

    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        if len(images) == 0:
            return []
        # rect=False: pad to the full square like the ONNX path, so both backends see the same input.
        results = self._model.predict(list(images), imgsz=self.info.imgsz, conf=self.conf, iou=self.iou,
                                      device="cpu", rect=False, verbose=False, batch=len(images))
        out = []
        for res in results:
            boxes = res.boxes
            xyxy = boxes.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4)
            class_id = boxes.cls.cpu().numpy().astype(int)
            names = np.array([self.info.classes[i] for i in class_id], dtype=str)
            out.append(sv.Detections(xyxy=xyxy, confidence=boxes.conf.cpu().numpy().astype(np.float32),
                                     class_id=class_id, data={"class_name": names}))
        return out
