"""The "To label" queue: frames the detector was unsure of (active-learning samples), labelled in the box editor
by reviewers and data staff; saved boxes become labels that dataset builds include, or the frame is skipped."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from api.auth.deps import Allow
from api.auth.roles import DATA_STAFF, REVIEWER
from api.auth.users import Principal
from api.ops import label_tasks as ops
from api.ops.labels import PixelBox
from api.routes.alerts import BoxIn
from api.routes.common import StrictIn, iso, services_of
from api.routes.schemas import DbId, Out
from api.routes.site_schemas import binary

router = APIRouter(tags=["labelling"])
LABELLERS = Allow({REVIEWER, DATA_STAFF})
TaskStatus = Literal["pending", "labelled", "skipped"]


class TaskDetection(Out):
    class_name: str
    confidence: float = Field(description="the model's score")
    track_id: int | None = Field(description="the tracker's id of the object, when tracked")
    x1: float
    y1: float
    x2: float
    y2: float


class LabelTaskOut(Out):
    id: int
    camera_id: str
    profile: str
    width: int = Field(description="frame width in pixels (box coordinates are in these pixels)")
    height: int
    detections: list[TaskDetection] = Field(description="the model's boxes with their scores")
    reason: str = Field(description="near_threshold (a score near its class threshold) or flicker (a track that "
                                    "came and went)")
    detail: str
    facts: dict[str, Any] = Field(description="the reason's values: class_name, score, threshold (near_threshold); "
                                              "track_id, class_name, changes, window_s (flicker)")
    model_name: str
    model_version: str
    captured_at: str | None
    status: str = Field(description="pending, labelled or skipped")
    label_image_id: int | None = Field(description="the label made of it, once labelled")
    done_by: str
    classes: list[str] = Field(description="the classes of the camera's profile, in key order (1-9)")
    image_url: str


class LabelTaskList(Out):
    items: list[LabelTaskOut]
    total: int = Field(description="tasks of this status")


class TaskLabelsIn(StrictIn):
    boxes: list[BoxIn] = Field(..., max_length=200, description="boxes in frame pixels ([]: nothing in the frame)")


class TaskLabelsOut(Out):
    label_image_id: int


def _out(row: dict) -> dict:
    return {**row, "captured_at": iso(row["captured_at"])}


@router.get("/api/label-tasks", response_model=LabelTaskList)
def list_tasks(request: Request, status: TaskStatus = Query("pending"), limit: int = Query(50, ge=1, le=500),
               user: Principal = Depends(LABELLERS)) -> dict:
    """The newest labelling tasks of a status, and how many there are."""
    rows, total = ops.list_tasks(services_of(request), status, limit)
    return {"items": [_out(r) for r in rows], "total": total}


@router.get("/api/label-tasks/{task_id}", response_model=LabelTaskOut)
def get_task(task_id: DbId, request: Request, user: Principal = Depends(LABELLERS)) -> dict:
    return _out(ops.get_task(services_of(request), task_id))


@router.get("/api/label-tasks/{task_id}/image", response_class=Response,
            responses=binary("image/jpeg", what="the sampled frame"))
def task_image(task_id: DbId, request: Request, user: Principal = Depends(LABELLERS)) -> Response:
    return Response(ops.task_image(services_of(request), task_id), media_type="image/jpeg",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.post("/api/label-tasks/{task_id}/labels", response_model=TaskLabelsOut)
def save_labels(task_id: DbId, body: TaskLabelsIn, request: Request, user: Principal = Depends(LABELLERS)) -> dict:
    """The boxes as the person left them become a label of the frame (no boxes: background)."""
    boxes = [PixelBox(b.class_name, b.x1, b.y1, b.x2, b.y2) for b in body.boxes]
    return {"label_image_id": ops.save_task_labels(services_of(request), task_id, user.username, boxes)}


@router.post("/api/label-tasks/{task_id}/skip", status_code=204, response_class=Response)
def skip(task_id: DbId, request: Request, user: Principal = Depends(LABELLERS)) -> Response:
    """Leave the frame out: it leaves the queue without a label."""
    ops.skip_task(services_of(request), task_id, user.username)
    return Response(status_code=204)
