"""What the supervisor hands a violation sink: the event, its site and profile, and an annotated best frame."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence

import numpy as np
import supervision as sv

from vigil.types import Box, Violation
from vision.annotate import annotate


@dataclass(frozen=True, eq=False)
class ViolationEvent:
    """One violation phase (open / update / closed) with what evidence writing needs."""

    violation: Violation
    site_id: str
    profile: str
    annotated: np.ndarray | None  # best frame with boxes, zones and rule drawn; None when no new best frame


class ViolationSink(Protocol):
    def on_violation(self, event: ViolationEvent) -> None:
        """Called on an evidence worker thread; may call `Supervisor.cut_clip` (it blocks for the post-roll)."""


def boxes_to_detections(boxes: Sequence[Box]) -> sv.Detections:
    """The best frame's boxes back as Detections, for drawing."""
    if not boxes:
        dets = sv.Detections.empty()
        dets.data["class_name"] = np.array([], dtype=str)
        return dets
    names = [b.class_name for b in boxes]
    ids = {n: i for i, n in enumerate(sorted(set(names)))}
    return sv.Detections(
        xyxy=np.array([b.xyxy for b in boxes], dtype=float),
        confidence=np.array([b.confidence for b in boxes], dtype=float),
        class_id=np.array([ids[n] for n in names], dtype=int),
        tracker_id=np.array([-1 if b.track_id is None else b.track_id for b in boxes], dtype=int),
        data={"class_name": np.array(names)})


def annotate_violation(v: Violation, zones: Mapping[str, list[tuple[float, float]]]) -> np.ndarray | None:
    if v.best_image is None:
        return None
    return annotate(v.best_image, boxes_to_detections(v.detections), zones=zones, active_rules=(v.rule,),
                    title=f"{v.camera_id} {v.best_at:%Y-%m-%d %H:%M:%S}Z")
