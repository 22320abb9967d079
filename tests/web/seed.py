"""Seeding the web tests: users of every role, and alerts with real signed evidence (real frames, a real clip)."""
from __future__ import annotations

import subprocess
import uuid
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from api.context import Services
from vigil.catalogue import UNIFIED_CLASSES
from vigil.evidence import EvidenceMeta, write_evidence
from vigil.db.models import User
from vigil.types import Box, Violation, utcnow

PASSWORD = "correct-horse-42"
ROLE_USERS = {"operator": "olga", "reviewer": "rita", "officer": "oscar", "data_staff": "dana", "admin": "ada"}


@lru_cache(maxsize=1)
def _password_hash() -> str:
    from api.auth.passwords import hash_password

    return hash_password(PASSWORD)


def add_role_users(services: Services) -> dict[str, str]:
    """One user per role, all with PASSWORD's argon2 hash, computed once per test session instead of five times per
    test (argon2 is slow on purpose; `create_user` itself is tested by the user CLI test)."""
    with services.sessions() as s:
        s.add_all(User(username=name, role=role, password_hash=_password_hash(), display_name=name)
                  for role, name in ROLE_USERS.items())
        s.commit()
    return dict(ROLE_USERS)


def _fire_sample(shared: Path) -> tuple[np.ndarray, tuple[Box, ...]]:
    """A real CCTV fire/smoke frame from the shared dataset with its labelled boxes as detections."""
    root = shared / "datasets" / "abonia1-fire-smoke-cctv"
    for img_path in sorted((root / "images" / "val").glob("*.jpg")):
        label = root / "labels" / "val" / (img_path.stem + ".txt")
        if not label.exists() or not label.read_text().strip():
            continue
        image = cv2.imread(str(img_path))
        h, w = image.shape[:2]
        boxes = []
        for line in label.read_text().split("\n"):
            if not line.strip():
                continue
            cid, cx, cy, bw, bh = line.split()
            cx, cy, bw, bh = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
            boxes.append(Box((cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2), UNIFIED_CLASSES[int(cid)], 0.81))
        return image, tuple(boxes)
    raise FileNotFoundError(f"no labelled image under {root}")


@lru_cache(maxsize=1)
def clip_bytes(shared: Path) -> bytes:
    """Four seconds of the real construction CCTV clip, stream-copied (no re-encode), faststart MP4."""
    src = shared / "videos" / "construction_site_cctv.mp4"
    out = Path(subprocess.run(["mktemp", "--suffix=.mp4"], capture_output=True, text=True, check=True).stdout.strip())
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-t", "4", "-an", "-c", "copy",
                    "-movflags", "+faststart", str(out)], check=True)
    data = out.read_bytes()
    out.unlink()
    return data


def seed_alert(services: Services, *, camera: str, rule: str = "open_burning", site: str | None = None,
               ago_s: float = 120, clip: bool = True, duration_s: float = 8) -> str:
    """An alert as the evidence sink makes one: signed evidence first, then the row (service code). `clip=False`:
    the row before its clip, as the sink hands it out at the rule's confirmation."""
    from api.service.alerts_db import insert_alert
    from api.service.evidence_files import draw_boxes, encode_jpeg

    site = site or services.loaded.config.cameras[camera].site
    image, boxes = _fire_sample(services.loaded.shared_dir)
    started = utcnow() - timedelta(seconds=ago_s)
    ended, best = started + timedelta(seconds=duration_s), started + timedelta(seconds=3)
    alert_id = str(uuid.uuid4())
    meta = EvidenceMeta(camera_id=camera, site_id=site, rule=rule, model_name="site", model_version="test",
                        started_at=started, ended_at=ended, best_at=best, detections=boxes)
    files = {"best_raw.jpg": (encode_jpeg(image), "image/jpeg"),
             "best_annotated.jpg": (encode_jpeg(draw_boxes(image, boxes, rule)), "image/jpeg"),
             **({"clip.mp4": (clip_bytes(services.loaded.shared_dir), "video/mp4")} if clip else {})}
    manifest, key = write_evidence(services.store, services.signer, alert_id=alert_id, revision=1, meta=meta,
                                   files=files)
    v = Violation(event_id=uuid.uuid4().hex, rule=rule, camera_id=camera, phase="closed", track_id=None,
                  start_s=0.0, end_s=duration_s, started_at=started, ended_at=ended, best_s=3.0, best_at=best,
                  best_score=0.81, best_image=image, detections=boxes, model_name="site", model_version="test")
    insert_alert(services.sessions, alert_id, v, site, manifest, key, services.store.get(key))
    return alert_id
