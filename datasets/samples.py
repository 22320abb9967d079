"""Labelled samples (an encoded image and its boxes) and the sources that produce them: reviews and scenes."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Iterator

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from datasets.image_header import header_size
from vigil.catalogue import PROFILE_CLASSES
from vigil.db.models import LabelImage
from vigil.errors import DatasetError
from vigil.store import EvidenceStore


@dataclass(frozen=True)
class LabelledBox:
    """One box in relative 0-1 coordinates of its image, with a catalogue class name."""

    cls: str
    x1: float
    y1: float
    x2: float
    y2: float

    def rounded(self, nd: int = 6) -> "LabelledBox":
        return LabelledBox(self.cls, round(self.x1, nd), round(self.y1, nd), round(self.x2, nd), round(self.y2, nd))


@dataclass(frozen=True)
class Sample:
    """One image for a dataset: its encoded bytes, size, boxes (none: a negative), split group and source."""

    uid: str  # stable id, becomes the file stem
    data: bytes  # encoded JPEG or PNG
    ext: str  # ".jpg" or ".png"
    width: int
    height: int
    boxes: tuple[LabelledBox, ...]
    group: str  # frames of one group never land on both sides of a split (camera/event, scene)
    source: str  # "review", "scene:site:3", "import:NAME", "carried:VERSION"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def image_ext(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return ".jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return ".png"
    raise DatasetError("expected a JPEG or PNG image, found neither signature")


def decode_size(data: bytes, what: str) -> tuple[int, int]:
    """(width, height) of an encoded image; DatasetError naming `what` when it does not decode. The header's
    size is checked first (`header_size`): an image of too many pixels is refused before it is decoded."""
    if not data:
        raise DatasetError(f"{what}: expected a readable JPEG or PNG image, found an empty file")
    header_size(data, what)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise DatasetError(f"{what}: expected a readable JPEG or PNG image, found a corrupt or empty file")
    return img.shape[1], img.shape[0]


def check_box(box: LabelledBox, classes: tuple[str, ...], what: str) -> LabelledBox:
    """Refuse a box outside 0-1, empty, or of a class the profile does not have."""
    if box.cls not in classes:
        raise DatasetError(f"{what}: unknown class {box.cls!r}; expected one of {', '.join(classes)}")
    eps = 1e-6
    coords = (box.x1, box.y1, box.x2, box.y2)
    if any(not np.isfinite(c) or c < -eps or c > 1 + eps for c in coords):
        raise DatasetError(f"{what}: box {coords} is out of range; expected relative coordinates in 0-1")
    if box.x2 - box.x1 <= eps or box.y2 - box.y1 <= eps:
        raise DatasetError(f"{what}: box {coords} is empty; expected x2 > x1 and y2 > y1")
    return LabelledBox(box.cls, *(float(min(max(c, 0.0), 1.0)) for c in coords))


def _newest_per_image(session: Session, profile: str) -> list[LabelImage]:
    rows = session.scalars(select(LabelImage).where(LabelImage.profile == profile)
                           .options(selectinload(LabelImage.boxes))
                           .order_by(LabelImage.image_key, LabelImage.revision.desc(), LabelImage.id.desc()))
    newest: dict[str, LabelImage] = {}
    for row in rows:
        newest.setdefault(row.image_key, row)
    return list(newest.values())


def review_samples(sessions: sessionmaker[Session], store: EvidenceStore, profile: str,
                   dropped: dict[str, int] | None = None) -> Iterator[Sample]:
    """Reviewed frames of `profile`: confirmed boxes, corrections and hard negatives (no boxes).

    The newest revision per image wins; images come from the evidence store by key and must match their
    recorded sha256. Boxes of classes outside the profile are dropped and counted in `dropped`."""
    classes = PROFILE_CLASSES[profile]
    with sessions() as s:
        rows = _newest_per_image(s, profile)
        plain = [(r.id, r.image_key, r.image_sha256, r.camera_id, r.event_id, r.alert_id, r.kind,
                  [(b.class_name, b.x1, b.y1, b.x2, b.y2) for b in r.boxes]) for r in rows]
    for rid, key, sha, camera, event, alert, kind, boxes in plain:
        data = store.get(key)
        if hashlib.sha256(data).hexdigest() != sha:
            raise DatasetError(f"label image {rid} ({key}): the stored image does not match its recorded sha256")
        w, h = decode_size(data, key)
        kept: list[LabelledBox] = []
        for cls, *coords in ([] if kind == "hard_negative" else boxes):
            if cls not in classes:
                if dropped is not None:
                    dropped[cls] = dropped.get(cls, 0) + 1
                continue
            kept.append(check_box(LabelledBox(cls, *coords), classes, f"label image {rid} ({key})"))
        group = f"cam:{camera or '-'}/event:{event or alert or key}"
        yield Sample(uid=f"review-{sha[:16]}", data=data, ext=image_ext(data), width=w, height=h,
                     boxes=tuple(kept), group=group, source="review")


def scene_samples(profile: str, seed: int, *, duration_s: float = 20.0, fps: float = 1.0,
                  size: tuple[int, int] = (320, 180), render: Callable | None = None) -> Iterator[Sample]:
    """Frames of a rendered demo scene with their labels; one scene is one split group."""
    if render is None:
        from datasets.scenes import iter_frames as render
    classes = PROFILE_CLASSES[profile]
    w, h = size
    for i, (t, img, labels) in enumerate(render(profile, seed, duration_s, fps=fps, size=size)):
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise DatasetError(f"scene {profile}:{seed} frame {i}: JPEG encoding failed")
        boxes = []
        for lb in labels:
            if lb.cls not in classes:
                continue
            x1, y1, x2, y2 = lb.box
            box = LabelledBox(lb.cls, max(x1, 0) / w, max(y1, 0) / h, min(x2, w) / w, min(y2, h) / h)
            if box.x2 - box.x1 > 1e-3 and box.y2 - box.y1 > 1e-3:
                boxes.append(box.rounded())
        yield Sample(uid=f"scene-{profile}-{seed}-{i:05d}", data=buf.tobytes(), ext=".jpg", width=w, height=h,
                     boxes=tuple(boxes), group=f"scene:{profile}:{seed}", source=f"scene:{profile}:{seed}")
