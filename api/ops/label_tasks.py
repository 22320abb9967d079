"""Labelling tasks: doubtful frames (active-learning samples) queued for a person's boxes in the box editor.

A task keeps the frame (JPEG in the evidence store, under `labelling/`), the model's detections with their
scores, the camera, time, model and why it was sampled. Labelled, it becomes a LabelImage like a review's
(datasets built from reviews include it); skipped, it leaves the queue. Past `max_pending` unlabelled tasks the
oldest are dropped with their images."""
from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime
from typing import Sequence

from sqlalchemy import func, select

from api.context import Services
from api.ops.labels import EDGE_SLACK, PixelBox
from vigil.audit import record
from vigil.catalogue import PROFILE_CLASSES
from vigil.db.models import LabelBox, LabelImage, User
from vigil.db.models_labelling import LabelTask
from vigil.db.session import session_scope
from vigil.errors import InputError, NotFoundError
from vigil.types import utcnow

log = logging.getLogger(__name__)
PREFIX = "labelling"


def create_task(services: Services, *, camera_id: str, profile: str, jpeg: bytes, width: int, height: int,
                detections: list[dict], reason: str, detail: str, facts: dict, model_name: str, model_version: str,
                captured_at: datetime, max_pending: int) -> int:
    """Store the frame and its task; drop the oldest pending tasks past `max_pending`. Returns the task id."""
    key = f"{PREFIX}/{camera_id}/{uuid.uuid4().hex}.jpg"
    services.store.put(key, jpeg, "image/jpeg")
    with session_scope(services.sessions) as s:
        task = LabelTask(camera_id=camera_id, profile=profile, image_key=key,
                         image_sha256=hashlib.sha256(jpeg).hexdigest(), width=width, height=height,
                         detections=detections, reason=reason, detail=detail[:200], facts=facts, model_name=model_name,
                         model_version=model_version, captured_at=captured_at)
        s.add(task)
        s.flush()
        task_id = task.id
        pending = s.scalars(select(LabelTask).where(LabelTask.status == "pending")
                            .order_by(LabelTask.created_at.desc(), LabelTask.id.desc()).offset(max_pending)).all()
        dropped = [t.image_key for t in pending]
        for t in pending:
            s.delete(t)
    delete = getattr(services.store, "delete", None)
    for k in dropped:
        try:
            if delete is not None:
                delete(k)
        except OSError as e:
            log.warning("labelling task image %s: not deleted (%s)", k, e)
    return task_id


def task_row(t: LabelTask) -> dict:
    return {"id": t.id, "camera_id": t.camera_id, "profile": t.profile, "width": t.width, "height": t.height,
            "detections": list(t.detections or []), "reason": t.reason, "detail": t.detail,
            "facts": dict(t.facts or {}),
            "model_name": t.model_name, "model_version": t.model_version, "captured_at": t.captured_at,
            "status": t.status, "label_image_id": t.label_image_id, "done_by": t.done_by,
            "classes": list(PROFILE_CLASSES.get(t.profile, ())), "image_url": f"/api/label-tasks/{t.id}/image"}


def list_tasks(services: Services, status: str = "pending", limit: int = 100) -> tuple[list[dict], int]:
    """The newest tasks of `status` (at most `limit`) and how many there are."""
    with services.sessions() as s:
        rows = s.scalars(select(LabelTask).where(LabelTask.status == status)
                         .order_by(LabelTask.created_at.desc(), LabelTask.id.desc()).limit(limit)).all()
        total = s.scalar(select(func.count()).select_from(LabelTask).where(LabelTask.status == status)) or 0
        return [task_row(t) for t in rows], int(total)


def _task(s, task_id: int) -> LabelTask:
    task = s.get(LabelTask, task_id)
    if task is None:
        raise NotFoundError(f"labelling task {task_id} not found")
    return task


def get_task(services: Services, task_id: int) -> dict:
    with services.sessions() as s:
        return task_row(_task(s, task_id))


def task_image(services: Services, task_id: int) -> bytes:
    with services.sessions() as s:
        key = _task(s, task_id).image_key
    return services.store.get(key)


def _check(task: LabelTask, boxes: Sequence[PixelBox]) -> None:
    allowed = PROFILE_CLASSES[task.profile]
    w, h = task.width, task.height
    for i, b in enumerate(boxes):
        if b.class_name not in allowed:
            raise InputError(f"boxes[{i}].class_name: expected one of {', '.join(allowed)} "
                             f"(profile {task.profile}), found {b.class_name!r}")
        for name, value, limit in (("x1", b.x1, w), ("y1", b.y1, h), ("x2", b.x2, w), ("y2", b.y2, h)):
            if not (-EDGE_SLACK * limit <= value <= limit * (1 + EDGE_SLACK)):
                raise InputError(f"boxes[{i}].{name}: expected a pixel coordinate from 0 to {limit} (the frame is "
                                 f"{w}x{h}), found {value!r}")
        if not (min(b.x2, w) > max(b.x1, 0) and min(b.y2, h) > max(b.y1, 0)):
            raise InputError(f"boxes[{i}]: expected x2 > x1 and y2 > y1 inside the frame, found "
                             f"({b.x1:.1f}, {b.y1:.1f}, {b.x2:.1f}, {b.y2:.1f})")


def _open(s, task_id: int) -> LabelTask:
    task = _task(s, task_id)
    if task.status != "pending":
        raise InputError(f"labelling task {task_id}: expected a pending task, found one {task.status}")
    return task


def save_task_labels(services: Services, task_id: int, username: str, boxes: Sequence[PixelBox]) -> int:
    """The person's boxes become a LabelImage of the frame (no boxes: a hard negative); returns its id."""
    def rel(v: float, limit: int) -> float:
        return min(1.0, max(0.0, v / limit))

    with session_scope(services.sessions) as s:
        task = _open(s, task_id)
        _check(task, boxes)
        w, h = task.width, task.height
        image = LabelImage(alert_id=None, image_key=task.image_key, image_sha256=task.image_sha256,
                           camera_id=task.camera_id, event_id=f"sample-{task.id}", profile=task.profile, width=w,
                           height=h, kind="correction" if boxes else "hard_negative", revision=1,
                           created_by=s.scalar(select(User.id).where(User.username == username)))
        image.boxes = [LabelBox(class_name=b.class_name, x1=rel(b.x1, w), y1=rel(b.y1, h), x2=rel(b.x2, w),
                                y2=rel(b.y2, h)) for b in boxes]
        s.add(image)
        s.flush()
        task.status, task.label_image_id, task.done_by, task.done_at = "labelled", image.id, username, utcnow()
        label_id = image.id
    record(services.sessions, username, "label_saved", "label_task", str(task_id),
           {"label_image_id": label_id, "boxes": len(boxes)})
    return label_id


def skip_task(services: Services, task_id: int, username: str) -> None:
    with session_scope(services.sessions) as s:
        task = _open(s, task_id)
        task.status, task.done_by, task.done_at = "skipped", username, utcnow()
    record(services.sessions, username, "label_task.skipped", "label_task", str(task_id), {})
