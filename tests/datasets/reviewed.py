"""Test helper: alerts with real evidence frames in a real store, and reviewers' label rows for them."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

import cv2

from datasets.scenes import iter_frames
from vigil.catalogue import PROFILE_CLASSES
from vigil.db.models import Alert, Camera, LabelBox, LabelImage, Site
from vigil.evidence import EvidenceMeta, write_evidence
from vigil.types import utcnow


@dataclass(frozen=True)
class ReviewedEvent:
    alert_id: str
    event_id: str
    camera_id: str
    image_keys: tuple[str, ...]
    kind: str  # confirmed | correction | hard_negative
    boxes: tuple[tuple, ...]  # per image: ((cls, x1, y1, x2, y2), ...) as labelled


def _site_and_cameras(s, profile: str, cameras: int) -> list[str]:
    site_id = f"test-{profile}"
    if s.get(Site, site_id) is None:
        s.add(Site(id=site_id, name="Test site", kind=profile))
        s.flush()
    ids = []
    for i in range(cameras):
        cam = f"{profile}-cam{i}"
        if s.get(Camera, cam) is None:
            s.add(Camera(id=cam, site_id=site_id, name=cam, profile=profile))
        ids.append(cam)
    s.flush()
    return ids


def _frames(profile: str, seed: int, n: int, size):
    classes = PROFILE_CLASSES[profile]
    w, h = size
    out = []
    for _t, img, labels in iter_frames(profile, seed, float(n), fps=1, size=size):
        ok, buf = cv2.imencode(".jpg", img)
        assert ok
        boxes = tuple((lb.cls, max(lb.box[0], 0) / w, max(lb.box[1], 0) / h, min(lb.box[2], w) / w,
                       min(lb.box[3], h) / h) for lb in labels if lb.cls in classes)
        boxes = tuple(b for b in boxes if b[3] - b[1] > 0.002 and b[4] - b[2] > 0.002)
        out.append((buf.tobytes(), boxes))
    return out


def seed_reviews(sessions, store, signer, *, profile: str = "site", seeds=(21, 22, 23, 24, 25),
                 frames: int = 3, size=(320, 180), negatives: int = 1, shots=None) -> list[ReviewedEvent]:
    """One alert per seed with `frames` evidence frames; the last `negatives` alerts are rejected (hard
    negatives), the others alternate confirmed and corrected. Every frame gets a LabelImage row.
    `shots(seed, n)` gives [(jpeg, ((cls, x1, y1, x2, y2), ...))]; default: frames of a rendered scene."""
    events = []
    with sessions() as s:
        cams = _site_and_cameras(s, profile, 2)
        s.commit()
    for i, seed in enumerate(seeds):
        kind = "hard_negative" if i >= len(seeds) - negatives else ("correction" if i % 2 else "confirmed")
        got = shots(seed, frames) if shots else _frames(profile, seed, frames, size)
        events.append(_one_event(sessions, store, signer, profile, seed, cams[i % len(cams)], kind, got, size))
    return events


def _one_event(sessions, store, signer, profile, seed, camera, kind, shots, size) -> ReviewedEvent:
    # the event id is the dataset's split group: made from the seed, so a test's train/val/test split is the same
    # on every run (a random one put 8 mostly-smoke-and-dust frames in the retrain test's test split now and then)
    alert_id, event_id = str(uuid.uuid4()), f"evt-{profile}-{seed}"
    n = len(shots)
    now = utcnow()
    meta = EvidenceMeta(camera_id=camera, site_id=f"test-{profile}", rule="dust", model_name=profile,
                        model_version="v0", started_at=now - timedelta(seconds=n), ended_at=now, best_at=now)
    manifest, mkey = write_evidence(store, signer, alert_id=alert_id, revision=1, meta=meta,
                                    files={f"frame_{j}.jpg": (data, "image/jpeg") for j, (data, _) in enumerate(shots)})
    keys = {f.name: f.key for f in manifest.files}
    with sessions() as s:
        s.add(Alert(id=alert_id, event_id=event_id, rule="dust", camera_id=camera, site_id=f"test-{profile}",
                    started_at=meta.started_at, ended_at=now, best_at=now, best_score=0.7, ongoing=False,
                    state="rejected" if kind == "hard_negative" else "confirmed", manifest_key=mkey))
        s.flush()
        for j, (data, boxes) in enumerate(shots):
            row = LabelImage(alert_id=alert_id, image_key=keys[f"frame_{j}.jpg"],
                             image_sha256=hashlib.sha256(data).hexdigest(), camera_id=camera, event_id=event_id,
                             profile=profile, width=size[0], height=size[1], kind=kind, revision=1)
            if kind != "hard_negative":
                row.boxes = [LabelBox(class_name=c, x1=x1, y1=y1, x2=x2, y2=y2) for c, x1, y1, x2, y2 in boxes]
            s.add(row)
        s.commit()
    return ReviewedEvent(alert_id, event_id, camera, tuple(keys[f"frame_{j}.jpg"] for j in range(n)), kind,
                         tuple(b for _, b in shots))
