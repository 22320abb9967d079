"""Turning one violation phase into evidence files (JPEGs, clip) and manifest metadata."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vigil.errors import InputError
from vigil.evidence import EvidenceMeta
from vigil.types import Box, Violation, iso_utc

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


def encode_jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    if image is None or image.ndim != 3 or image.shape[2] != 3:
        shape = None if image is None else image.shape
        raise InputError(f"expected a BGR image HxWx3 to encode as evidence, found shape {shape}")
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InputError(f"could not encode a {image.shape} image as JPEG")
    return buf.tobytes()


def draw_boxes(image: np.ndarray, boxes: tuple[Box, ...], title: str) -> np.ndarray:
    """The annotated frame when the pipeline handed none: the best frame's boxes drawn by vision."""
    import supervision as sv

    from vision.annotate import annotate

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
