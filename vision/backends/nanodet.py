"""A COCO person detector (NanoDet, GFL head) on ONNX Runtime: letterbox, decode of its three strides, NMS.

The shipped file is models/people.onnx (see training/people_model.py for where it comes from). It sees people on
cameras none of our sources come from far better than a detector trained here from scratch can (its card), so it
runs beside the profile's detector and its person boxes join the detector's (vision/people.py).

NanoDet's head gives, per stride, class scores (cells, 80) after a sigmoid and box sides as distributions over
`reg_max + 1` bins (cells, 4 * (reg_max + 1)): the distance to each side is the distribution's mean, in strides,
from the cell's centre.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import supervision as sv

from vigil.errors import ModelError
from vigil.types import ModelInfo
from vision.backends.onnx import Letterbox, cpu_session, letterbox, make_detections

TASK = "people"
MAX_DET = 100
COCO_CLASSES = 80


@dataclass(frozen=True)
class NanoDetLayout:
    """What the ONNX metadata says about the network: its input size, normalisation and the class it keeps."""

    size: int
    mean_bgr: tuple[float, float, float]
    std_bgr: tuple[float, float, float]
    class_index: int  # the COCO class kept (person: 0)
    reg_max: int


def read_layout(meta: dict[str, str], path: str) -> NanoDetLayout:
    """The layout from the file's metadata (written by training/people_model.py); a clear error otherwise."""
    if meta.get("vigil_task") != TASK:
        raise ModelError(f"{path}: expected a people detector (ONNX metadata vigil_task={TASK!r}), "
                         f"found vigil_task={meta.get('vigil_task')!r}")
    try:
        mean, std = ast.literal_eval(meta["vigil_mean_bgr"]), ast.literal_eval(meta["vigil_std_bgr"])
        size, class_index, reg_max = (int(meta["vigil_input_size"]), int(meta["vigil_class_index"]),
                                      int(meta["vigil_reg_max"]))
        mean, std = tuple(float(v) for v in mean), tuple(float(v) for v in std)
    except (KeyError, ValueError, SyntaxError, TypeError) as e:
        raise ModelError(f"{path}: expected metadata vigil_input_size, vigil_mean_bgr, vigil_std_bgr, "
                         f"vigil_class_index and vigil_reg_max, found a bad or missing value ({e})") from None
    if len(mean) != 3 or len(std) != 3 or size % 32:
        raise ModelError(f"{path}: expected three-channel mean/std and an input size divisible by 32, found "
                         f"mean {mean}, std {std}, size {size}")
    layout = NanoDetLayout(size, (mean[0], mean[1], mean[2]), (std[0], std[1], std[2]), class_index, reg_max)
    return layout


def decode_level(scores: np.ndarray, sides: np.ndarray, grid: int, stride: float, reg_max: int,
                 conf: float) -> tuple[np.ndarray, np.ndarray]:
    """One stride's (cells,) class scores and (cells, 4 * (reg_max + 1)) side distributions -> xyxy boxes in the
    network's input pixels and their scores, for the cells scoring above `conf`."""
    keep = np.flatnonzero(scores > conf)
    if not len(keep):
        return np.empty((0, 4), np.float32), np.empty(0, np.float32)
    logits = sides[keep].reshape(-1, 4, reg_max + 1)
    p = np.exp(logits - logits.max(axis=2, keepdims=True))
    dist = (p / p.sum(axis=2, keepdims=True)) @ np.arange(reg_max + 1, dtype=np.float32) * stride
    cx, cy = (keep % grid + 0.5) * stride, (keep // grid + 0.5) * stride
    boxes = np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], axis=1)
    return boxes.astype(np.float32), scores[keep].astype(np.float32)


def grids(size: int) -> list[int]:
    """The side of each stride's grid (8, 16, 32) at this input size."""
    return [size // s for s in (8, 16, 32)]


def expected_outputs(size: int, reg_max: int) -> list[tuple[int, int]]:
    """The network's output shapes (batch dropped), sorted: per stride, class scores and box-side distributions."""
    return sorted((g * g, n) for g in grids(size) for n in (COCO_CLASSES, 4 * (reg_max + 1)))


def to_input(image: np.ndarray, layout: NanoDetLayout) -> tuple[np.ndarray, Letterbox]:
    """A BGR image as the network's input (letterboxed, normalised, NCHW) and how it was fitted."""
    boxed, lb = letterbox(image, layout.size)
    x = (boxed.astype(np.float32) - np.array(layout.mean_bgr, np.float32)) / np.array(layout.std_bgr, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]), lb


def heads(session, layout: NanoDetLayout, path: str) -> tuple[tuple[int, int, int], ...]:
    """Per stride: (grid side, index of its score output, index of its box-side output), from the output shapes."""
    shapes = [tuple(o.shape[1:]) for o in session.get_outputs()]
    want = expected_outputs(layout.size, layout.reg_max)
    if sorted(shapes) != want:
        raise ModelError(f"{path}: expected NanoDet outputs {want} (scores and box sides per stride), "
                         f"found {sorted(shapes)}")
    return tuple((g, shapes.index((g * g, COCO_CLASSES)), shapes.index((g * g, 4 * (layout.reg_max + 1))))
                 for g in grids(layout.size))


class NanoDetPeople:
    """Person boxes from a NanoDet COCO model; `detect(images)` like any Detector (class name `person` only)."""

    def __init__(self, session, info: ModelInfo, layout: NanoDetLayout, *, conf: float, iou: float):
        self._session = session
        self.info, self.layout, self.conf, self.iou = info, layout, conf, iou
        self._input = session.get_inputs()[0].name
        self._heads = heads(session, layout, info.path)

    @classmethod
    def load(cls, path: str | Path, *, conf: float = 0.3, iou: float = 0.6, threads: int = 1) -> "NanoDetPeople":
        from vision.detector import file_sha256

        p = Path(path)
        if not p.is_file():
            found = "a folder" if p.is_dir() else "nothing"
            raise ModelError(f"{p}: expected a people detector (.onnx), found {found}")
        session = cpu_session(str(p), threads)
        meta = session.get_modelmeta().custom_metadata_map
        layout = read_layout(meta, str(p))
        sha = file_sha256(p)
        info = ModelInfo(name=TASK, version=meta.get("vigil_version") or sha[:12], profile="", classes=("person",),
                         path=str(p), sha256=sha, imgsz=layout.size)
        return cls(session, info, layout, conf=conf, iou=iou)

    def _one(self, image: np.ndarray) -> sv.Detections:
        x, lb = to_input(image, self.layout)
        outs = self._session.run(None, {self._input: x})
        boxes, scores = [], []
        for grid, score_at, sides_at in self._heads:
            b, s = decode_level(outs[score_at][0][:, self.layout.class_index], outs[sides_at][0], grid,
                                self.layout.size / grid, self.layout.reg_max, self.conf)
            boxes.append(b)
            scores.append(s)
        xyxy, score = np.concatenate(boxes), np.concatenate(scores)
        if len(score):
            xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
            idx = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), score.tolist(), self.conf, self.iou), int)
            idx = idx.reshape(-1)[:MAX_DET]
            xyxy, score = lb.to_image(xyxy[idx]), score[idx]
        return make_detections(xyxy, score, np.zeros(len(score), int), ("person",))

    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        return [self._one(img) for img in images]
