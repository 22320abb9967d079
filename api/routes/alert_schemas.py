"""What the alert routes answer, and what the event bus carries about an alert (`alert.new`, `alert.updated`):
one model per thing on the wire."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from api.routes.schemas import Out, Page


class AlertEvent(Out):
    """An alert as the live bus (`alert.new`, `alert.updated`) and notifications carry it, and as marking a missed
    violation answers it."""

    id: str = Field(description="alert id (uuid)")
    event_id: str = Field(description="the pipeline's event id; `missed-...` for a violation marked by hand")
    rule: str = Field(description="the rule that fired")
    camera_id: str
    site_id: str
    track_id: int | None = Field(description="the tracked object that fired it; null: none")
    started_at: str = Field(description="UTC, ISO 8601")
    ended_at: str = Field(description="UTC, ISO 8601; still moving while ongoing")
    best_at: str = Field(description="UTC, ISO 8601: the best frame's time")
    best_score: float = Field(description="the best frame's score")
    ongoing: bool = Field(description="the violation is still going on")
    state: str = Field(description="new, confirmed or rejected")
    model_name: str
    model_version: str
    evidence_revision: int = Field(description="the newest signed evidence revision")
    manifest_sha256: str = Field(description="SHA-256 of that revision's signed manifest")
    acknowledged_by: str | None = Field(None, description="who acknowledged it from the wall; null: nobody yet")
    acknowledged_at: str | None = Field(None, description="UTC, ISO 8601: when it was acknowledged")


class AlertOut(Out):
    """An alert in a list."""

    id: str = Field(description="alert id (uuid)")
    rule: str
    camera_id: str
    site_id: str
    state: str = Field(description="new, confirmed or rejected")
    ongoing: bool
    started_at: str | None = Field(description="UTC, ISO 8601")
    ended_at: str | None
    best_at: str | None
    best_score: float
    lead_id: int | None = Field(description="the lead a confirmed alert belongs to")
    model: str = Field(description="'name version' of the model that raised it")
    reviewed_at: str | None
    missed: bool = Field(description="marked by hand as a violation the model missed")
    marked_by: str | None = Field(description="who marked a missed violation")
    acknowledged_by: str | None = Field(description="who acknowledged it (\"I've seen it\"); null: nobody yet")
    acknowledged_at: str | None = Field(description="UTC, ISO 8601: when it was acknowledged")


class DetectionOut(Out):
    class_name: str
    confidence: float
    track_id: int | None
    x1: float = Field(description="best-frame pixels")
    y1: float
    x2: float
    y2: float


class EvidenceOut(Out):
    name: str = Field(description="file name in the evidence")
    size: int = Field(description="bytes")
    sha256: str
    content_type: str
    url: str = Field(description="where to read it (audited)")


class AlertFull(AlertOut):
    """One alert with its detections and evidence, as its page shows it."""

    detections: list[DetectionOut]
    evidence: list[EvidenceOut]
    review_note: str
    thresholds: dict[str, Any] | None = Field(description="the thresholds in force when it fired")
    manifest_sha256: str
    revision: int = Field(description="the newest evidence revision")
    revisions: list[int]
    clip_pending: bool = Field(description="no clip in the evidence yet")
    profile: str | None = Field(description="the camera's profile")
    camera_name: str
    classes: list[str] = Field(description="the classes a reviewer may draw for that profile")
    site_name: str
    severity: int = Field(description="the rule's weight on this camera")


class GroupOut(Out):
    size: int = Field(description="alerts in the group")
    ids: list[str]
    first_started_at: str | None
    states: list[str]


class AlertRow(AlertOut):
    """An alert of /api/alerts: names and severity; `group` when the list is grouped."""

    camera_name: str
    site_name: str
    severity: int
    group: GroupOut | None = Field(None, description="only when grouped: the repeats this item stands for")


class AlertPage(Page[AlertRow]):
    """One page of alerts."""


class NamedOut(Out):
    id: str
    name: str


class CameraNameOut(NamedOut):
    site_id: str


class AlertFilters(Out):
    sites: list[NamedOut]
    cameras: list[CameraNameOut]
    rules: list[str]
    states: list[str]
    severities: list[int]
    models: list[str] = Field(description="'name version' of every model that raised an alert")


class AlertGroupOut(Out):
    camera_id: str
    rule: str
    window_s: float
    ids: list[str]
    items: list[AlertRow]


class SkippedOut(Out):
    id: str
    why: str


class UndoOut(Out):
    action: str = Field(description="reopen")
    ids: list[str]


class BulkOut(Out):
    action: str
    done: list[str] = Field(description="alerts changed")
    skipped: list[SkippedOut] = Field(description="alerts left as they were, and why")
    lead_ids: list[int] = Field(description="leads the confirmed alerts joined")
    undo: UndoOut | None = Field(description="the request that takes it back; null: nothing to undo")


class HistoryEntry(Out):
    at: str | None
    actor: str
    action: str
    detail: dict[str, Any] | None


class HistoryOut(Out):
    items: list[HistoryEntry]
    evidence_views: int


class ReviewNext(Out):
    alert: AlertFull | None = Field(description="the next alert to review; null: none waits")
    waiting: int


class ConfirmOut(Out):
    alert: AlertFull
    lead_id: int
    label_image_id: int = Field(description="the saved label image (the reviewed best frame)")


class RejectOut(Out):
    alert: AlertFull
    label_image_id: int


class LabelsOut(Out):
    label_image_id: int


class AcknowledgeOut(Out):
    """An alert acknowledged: whether this request did it (false: it was acknowledged already), and the alert."""

    acknowledged: bool = Field(description="true: this request acknowledged it; false: it already was")
    alert: AlertFull
