"""What the model registry, training job and dataset routes answer."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from api.routes.schemas import LIMIT, OFFSET, TOTAL, Out, Page


class ModelOut(Out):
    id: int
    name: str
    version: str
    profile: str
    sha256: str
    classes: list[str]
    dataset_version: str | None = Field(description="the dataset version it was trained on")
    metrics: dict[str, Any] | None = Field(description="evaluation metrics")
    status: str = Field(description="candidate, promoted, retired or rejected")
    trained_by: str | None
    created_at: str | None = Field(description="UTC, ISO 8601")
    promoted_by: str | None
    promoted_at: str | None
    format: str = Field(description="pt or onnx: only a .pt can be fine-tuned")


class ModelList(Page[ModelOut]):
    """One page of registered models."""


class GateOut(Out):
    """The evaluation gate's decision: one metric of candidate and baseline on the same frozen test split."""

    allowed: bool
    metric: str
    candidate: float | None
    baseline: float | None = Field(description="the promoted model's value; null: none to compare with")
    reason: str


class PromoteOut(Out):
    promoted: bool = Field(description="always true (a refusal is a 409)")
    forced: bool = Field(description="an admin forced it past the gate's refusal")
    gate: GateOut
    model: ModelOut
    previous: ModelOut | None = Field(description="the model it replaced")


class GateRefusal(Out):
    detail: str
    gate: GateOut
    model: ModelOut


class RollbackOut(Out):
    profile: str
    model: ModelOut | None = Field(description="the profile's promoted model now; null: none")


class JobOut(Out):
    id: int
    profile: str
    dataset_version_id: int | None
    dataset_version: str | None
    status: str = Field(description="queued, running, cancelling, registering, done, failed or cancelled")
    params: dict[str, Any] | None
    device: str
    epoch: int
    epochs: int
    metrics: dict[str, Any] | None = Field(description="latest metrics and per-epoch history")
    error: str | None
    model_version_id: int | None
    created_by: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    pid: int | None = Field(None, description="the worker process that ran (or runs) the job")


class JobList(Page[JobOut]):
    """One page of training jobs."""


class DatasetOut(Out):
    id: int
    name: str
    profile: str
    content_hash: str
    stats: dict[str, Any] | None
    created_by: str | None
    created_at: str | None


class DatasetList(Page[DatasetOut]):
    """One page of dataset versions."""


class VersionOut(Out):
    """A dataset version a build made (or found: `created` false when identical content already existed)."""

    id: int
    name: str
    profile: str
    content_hash: str
    stats: dict[str, Any]
    sources: list[Any]
    parent: str | None
    created_by: str
    created_at: str | None
    created: bool


class BuildOut(Out):
    id: int
    profile: str
    status: str = Field(description="running, done, failed or cancelled")
    stage: str
    items: int
    version: VersionOut | None = Field(description="the version built, once done")
    error: str
    created_by: str
    started_at: str | None
    finished_at: str | None
    pid: int | None = Field(None, description="the worker process that ran (or runs) the build")


class BuildList(Page[BuildOut]):
    """One page of dataset builds."""


class BuildStarted(Out):
    build: BuildOut
    version: VersionOut | None = Field(description="the version built (201); null while building (202)")


class ImageBoxOut(Out):
    class_name: str
    x1: float = Field(description="relative, 0 to 1")
    y1: float
    x2: float
    y2: float


class ImageOut(Out):
    uid: str
    split: str
    source: str
    group: str | None
    width: int
    height: int
    boxes: list[ImageBoxOut]
    url: str


class FacetsOut(Out):
    splits: dict[str, int]
    classes: dict[str, int] = Field(description="boxes per class; '': images without a box")
    sources: dict[str, int]


class DatasetImages(Out):
    id: int
    name: str
    profile: str
    items: list[ImageOut]
    total: int = TOTAL
    limit: int = LIMIT
    offset: int = OFFSET
    facets: FacetsOut
