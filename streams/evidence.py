"""One violation phase as evidence: the event handed to the recorder, the best frame encoded, the manifest metadata."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

import numpy as np
import supervision as sv

from vigil.evidence import EvidenceMeta
from vigil.types import Box, Violation, iso_utc
from vision.annotate import annotate
from vision.jpeg import encode_jpeg  # noqa: F401 - evidence frames are encoded here


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


JPEG = "image/jpeg"
MP4 = "video/mp4"
BEST_RAW = "best_raw.jpg"
BEST_ANNOTATED = "best_annotated.jpg"
CLIP = "clip.mp4"


@dataclass(frozen=True)
class FrameFiles:
    """The best frame of an event, encoded: raw as the camera saw it, and with boxes drawn."""

    raw: bytes
    annotated: bytes


def draw_boxes(image: np.ndarray, boxes: tuple[Box, ...], title: str) -> np.ndarray:
    """The annotated frame when the pipeline handed none: the best frame's boxes drawn by vision."""
    dets = sv.Detections(
        xyxy=np.array([b.xyxy for b in boxes], np.float32).reshape(-1, 4),
        confidence=np.array([b.confidence for b in boxes], np.float32),
        class_id=np.arange(len(boxes), dtype=int),
        tracker_id=np.array([-1 if b.track_id is None else b.track_id for b in boxes], int) if boxes else None,
        data={"class_name": np.array([b.class_name for b in boxes], dtype=str)})
    return annotate(image, dets, title=title)


def frame_files(violation: Violation, annotated: np.ndarray | None) -> FrameFiles | None:
    """Encoded best frame (None when the phase carries no new best image)."""
    if violation.best_image is None:
        return None
    drawn = annotated if annotated is not None else draw_boxes(
        violation.best_image, violation.detections, f"{violation.rule} {iso_utc(violation.best_at)}")
    return FrameFiles(encode_jpeg(violation.best_image), encode_jpeg(drawn))


def evidence_meta(violation: Violation, site_id: str, extra: dict[str, Any] | None = None) -> EvidenceMeta:
    thresholds = dict(violation.thresholds)
    thresholds.update(extra or {})
    return EvidenceMeta(camera_id=violation.camera_id, site_id=site_id, rule=violation.rule,
                        model_name=violation.model_name, model_version=violation.model_version,
                        started_at=violation.started_at, ended_at=violation.ended_at, best_at=violation.best_at,
                        detections=tuple(violation.detections), thresholds=thresholds)


def file_map(frames: FrameFiles | None, clip: bytes | None) -> dict[str, tuple[bytes, str]]:
    files: dict[str, tuple[bytes, str]] = {}
    if frames is not None:
        files[BEST_RAW] = (frames.raw, JPEG)
        files[BEST_ANNOTATED] = (frames.annotated, JPEG)
    if clip:
        files[CLIP] = (clip, MP4)
    return files
