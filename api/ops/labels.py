"""Review decisions become training labels: the best raw frame with the reviewed boxes (or a hard negative)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
from sqlalchemy import func, select

from api.context import Services
from vigil.audit import record
from vigil.catalogue import PROFILE_CLASSES
from vigil.db.models import Alert, Camera, LabelBox, LabelImage, User
from vigil.db.session import session_scope
from vigil.errors import InputError, NotFoundError
from vigil.evidence import read_manifest

BEST_RAW = "best_raw.jpg"
KINDS = ("confirmed", "correction", "hard_negative")
EDGE_SLACK = 0.01  # of the frame's width or height: how far past an edge a reviewed box may reach (then clipped)


@dataclass(frozen=True)
class PixelBox:
    """A reviewed box in pixels of the alert's best frame."""

    class_name: str
    x1: float
    y1: float
    x2: float
    y2: float


def _alert_profile(services: Services, alert_id: str) -> tuple[Alert, str]:
    with services.sessions() as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise NotFoundError(f"alert {alert_id!r} not found")
        cam = s.get(Camera, alert.camera_id)
        profile = cam.profile if cam else services.loaded.config.camera_profile(alert.camera_id)
        s.expunge(alert)
        return alert, profile


def check_boxes(services: Services, alert_id: str, boxes: Sequence[PixelBox] | None) -> None:
    """Every class must belong to the camera's profile and every box must lie inside the best frame (finite
    pixel coordinates, 0 to its width or height) and have an area; raises InputError before anything changes."""
    if boxes is None:
        return
    _, profile = _alert_profile(services, alert_id)
    allowed = PROFILE_CLASSES[profile]
    _, _, w, h = _best_frame(services, alert_id) if boxes else ("", "", 0, 0)
    for i, b in enumerate(boxes):
        if b.class_name not in allowed:
            raise InputError(f"boxes[{i}].class_name: expected one of {', '.join(allowed)} "
                             f"(profile {profile}), found {b.class_name!r}")
        for name, value, limit in (("x1", b.x1, w), ("y1", b.y1, h), ("x2", b.x2, w), ("y2", b.y2, h)):
            slack = EDGE_SLACK * limit  # a detector's box may poke a little past the frame's edge; it is clipped
            if not (math.isfinite(value) and -slack <= value <= limit + slack):
                raise InputError(f"boxes[{i}].{name}: expected a pixel coordinate from 0 to {limit} (the best "
                                 f"frame is {w}x{h}), found {value!r}")
        if not (min(b.x2, w) > max(b.x1, 0) and min(b.y2, h) > max(b.y1, 0)):  # an area inside the frame
            raise InputError(f"boxes[{i}]: expected x2 > x1 and y2 > y1 inside the frame, found "
                             f"({b.x1:.1f}, {b.y1:.1f}, {b.x2:.1f}, {b.y2:.1f})")


def _best_frame(services: Services, alert_id: str) -> tuple[str, str, int, int]:
    """(key, sha256, width, height) of the alert's best raw frame, from its signed manifest."""
    manifest, _, _ = read_manifest(services.store, alert_id)
    item = manifest.file(BEST_RAW)
    if item is None:
        raise NotFoundError(f"alert {alert_id}: evidence has no {BEST_RAW} (files: "
                            f"{', '.join(f.name for f in manifest.files)})")
    data = services.store.get(item.key)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"alert {alert_id}: {BEST_RAW} is not a readable JPEG")
    return item.key, item.sha256, int(image.shape[1]), int(image.shape[0])


def _relative(b: PixelBox, w: int, h: int) -> tuple[float, float, float, float]:
    def clamp(v: float) -> float:
        return min(1.0, max(0.0, v))

    return clamp(b.x1 / w), clamp(b.y1 / h), clamp(b.x2 / w), clamp(b.y2 / h)


def _same_as_detected(alert: Alert, boxes: Sequence[PixelBox], detected: list) -> bool:
    if len(boxes) != len(detected):
        return False
    key = lambda t: (t[0], round(t[1]), round(t[2]), round(t[3]), round(t[4]))  # noqa: E731
    mine = sorted(key((b.class_name, b.x1, b.y1, b.x2, b.y2)) for b in boxes)
    theirs = sorted(key((d.class_name, d.x1, d.y1, d.x2, d.y2)) for d in detected)
    return mine == theirs


def save_review_labels(services: Services, alert_id: str, username: str, boxes: Sequence[PixelBox] | None,
                       *, confirmed: bool | None) -> int:
    """Store the reviewed best frame as a LabelImage (new revision); returns its id.

    confirmed=True: the boxes as reviewed (the detections when `boxes` is None): kind confirmed, or
    correction when the reviewer changed them. confirmed=False (rejected): kind hard_negative, with the
    boxes the reviewer kept (none unless given), so the false detection is learnt as background.
    confirmed=None: a correction without a decision.
    """
    alert, profile = _alert_profile(services, alert_id)
    key, sha, w, h = _best_frame(services, alert_id)
    with session_scope(services.sessions) as s:
        detected = s.get(Alert, alert_id).detections
        if boxes is None:
            boxes = [] if confirmed is False else [PixelBox(d.class_name, d.x1, d.y1, d.x2, d.y2) for d in detected]
            changed = False
        else:
            changed = not _same_as_detected(alert, boxes, detected)
        kind = "hard_negative" if confirmed is False else ("correction" if changed or confirmed is None
                                                            else "confirmed")
        revision = (s.scalar(select(func.max(LabelImage.revision)).where(LabelImage.image_key == key)) or 0) + 1
        user_id = s.scalar(select(User.id).where(User.username == username))
        image = LabelImage(alert_id=alert_id, image_key=key, image_sha256=sha, camera_id=alert.camera_id,
                           event_id=alert.event_id, profile=profile, width=w, height=h, kind=kind,
                           revision=revision, created_by=user_id)
        image.boxes = [LabelBox(class_name=b.class_name, **dict(zip(("x1", "y1", "x2", "y2"), _relative(b, w, h))))
                       for b in boxes]
        s.add(image)
        s.flush()
        label_id = image.id
    record(services.sessions, username, "label_saved", "alert", alert_id,
           {"label_image_id": label_id, "kind": kind, "revision": revision, "boxes": len(boxes)})
    return label_id
