"""Scripted detector output for rule tests: the only place detections are made up (the rules are under test)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import supervision as sv

from vigil.catalogue import UNIFIED_CLASSES
from vigil.config_loader import parse_config
from vigil.types import Violation
from vision.analyzer import CameraAnalyzer
from vision.frame_step import FrameStep
from vision.replay import frames_from_images

W, H = 320, 180


@dataclass(frozen=True)
class Obj:
    cls: str
    xyxy: tuple[float, float, float, float]
    score: float = 0.8
    data: tuple[tuple[str, float], ...] = ()  # extra per-box columns (a second look's, e.g. ("p_gloves", 0.4))


def dets_of(objs: Sequence[Obj]) -> sv.Detections:
    """The boxes as one Detections; a data column any box has is NaN for the boxes without it."""
    keys = sorted({k for o in objs for k, _ in o.data})
    columns = {k: np.array([dict(o.data).get(k, np.nan) for o in objs], np.float32) for k in keys}
    return sv.Detections(
        xyxy=np.array([o.xyxy for o in objs], np.float32).reshape(-1, 4),
        confidence=np.array([o.score for o in objs], np.float32),
        class_id=np.array([UNIFIED_CLASSES.index(o.cls) for o in objs], int),
        data={"class_name": np.array([o.cls for o in objs], dtype=str), **columns})


def camera_config(kind: str, camera_yaml: str = "", rules_yaml: str = "") -> str:
    motion = "" if "motion:" in camera_yaml else "    motion: {enabled: false}\n"  # a repeated key is refused
    return (f"sites: {{s1: {{name: Test site, kind: {kind}}}}}\n"
            f"cameras:\n  cam:\n    site: s1\n    source: demo:{kind}\n{motion}"
            + "".join(f"    {line}\n" for line in camera_yaml.strip().splitlines())
            + (f"rules:\n" + "".join(f"  {line}\n" for line in rules_yaml.strip().splitlines()) if rules_yaml else ""))


def analyzer_for(kind: str, camera_yaml: str = "", rules_yaml: str = "") -> CameraAnalyzer:
    return CameraAnalyzer.from_config(parse_config(camera_config(kind, camera_yaml, rules_yaml)), "cam")


def lively(script: Callable[[float], Sequence[Obj]], fps: float = 2.0) -> Callable[[float], np.ndarray]:
    """A blank frame where each scripted person's box changes from frame to frame, as a live person's pixels do
    (stripes that shift by half a stripe each frame; a person box on an unchanging frame is a picture of one:
    vision.still_people)."""
    def image(t: float) -> np.ndarray:
        frame = np.full((H, W, 3), 90, np.uint8)
        shift = 8 * (int(round(t * fps)) % 4)
        for o in script(t):
            if o.cls == "person":
                x1, y1, x2, y2 = (max(int(round(v)), 0) for v in o.xyxy)
                xs = np.arange(x1, max(x2, x1))
                frame[y1:y2, x1:x2] = np.where((xs + shift) // 16 % 2, 40, 150)[None, :, None]
        return frame
    return image


def run_script(analyzer: CameraAnalyzer, script: Callable[[float], Sequence[Obj]], *, seconds: float,
               fps: float = 2.0, image: Callable[[float], np.ndarray] | None = None) -> list[Violation]:
    """Feed `script(t)` as the detector's output at every frame for `seconds` of media time, on `image(t)` or a
    blank frame where the scripted people move (`lively`)."""
    image = image or lively(script, fps)
    n = int(seconds * fps)
    images = (image(i / fps) for i in range(n))
    step = FrameStep(analyzer, lambda frame: (dets_of(script(frame.pts_s)), None))
    return [v for result in step.run(frames_from_images("cam", images, fps=fps)) for v in result.violations]


def phases(violations: Sequence[Violation], rule: str | None = None) -> list[tuple[str, float]]:
    """(phase, media time of the frame it was emitted on ~ end_s for closes) for compact assertions."""
    return [(v.phase, v.end_s if v.phase == "closed" else v.start_s) for v in violations
            if rule in (None, v.rule)]
