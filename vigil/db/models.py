"""SQLAlchemy 2 models: sites, cameras, alerts and their evidence, leads, labels, datasets, models, users, audit."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

ROLES = ("operator", "reviewer", "officer", "data_staff", "admin")
ALERT_STATES = ("new", "confirmed", "rejected")
# the three-step evidence workflow (api.ops.workflow holds the transition table)
LEAD_STATUSES = ("electronic_evidence", "onsite_verification", "review", "case_filed", "dismissed")
JOB_STATUSES = ("queued", "running", "cancelling", "registering", "done", "failed", "cancelled")
MODEL_STATUSES = ("candidate", "promoted", "retired", "rejected")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always returns timezone-aware UTC (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times only")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    email: Mapped[str] = mapped_column(String(200), default="")  # overdue escalations, when SMTP is configured
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "sign out everywhere": session cookies issued before this time are refused
    sessions_valid_after: Mapped[datetime | None] = mapped_column(default=None)


class RevokedSession(Base):
    """A signed-out session cookie's nonce, refused until the cookie would have expired anyway."""

    __tablename__ = "revoked_sessions"
    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the token
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(8))  # site | lab
    operator: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")  # the enterprise's contact person
    contact_phone: Mapped[str] = mapped_column(String(64), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cameras: Mapped[list["Camera"]] = relationship(back_populates="site")


class Camera(Base):
    __tablename__ = "cameras"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    profile: Mapped[str] = mapped_column(String(8))
    source_redacted: Mapped[str] = mapped_column(String(1000), default="")  # never the password
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    site: Mapped[Site] = relationship(back_populates="cameras")


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(64))
    profile: Mapped[str] = mapped_column(String(8), index=True)
    path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64))
    classes: Mapped[list[Any]] = mapped_column(default=list)
    dataset_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"), default=None)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    trained_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_by: Mapped[str | None] = mapped_column(String(64), default=None)
    promoted_at: Mapped[datetime | None] = mapped_column(default=None)


class Lead(Base):
    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="electronic_evidence", index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    # users.id of who submitted the on-site verification and who approved or dismissed (plain ints: adding a foreign
    # key would rebuild `leads` on SQLite, and the rebuild would cascade into lead_events)
    verified_by_id: Mapped[int | None] = mapped_column(Integer, default=None)
    decided_by_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # the officer's decision on measure and fine, with its reason and the discretion suggestion it departs from
    decision: Mapped[dict[str, Any]] = mapped_column(default=dict)
    alerts: Mapped[list["Alert"]] = relationship(back_populates="lead")
    events: Mapped[list["LeadEvent"]] = relationship(back_populates="lead", order_by="LeadEvent.id")


class LeadEvent(Base):
    """A lead's history: status changes, assignments, notes, alerts attached."""

    __tablename__ = "lead_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    kind: Mapped[str] = mapped_column(String(16))  # status | assign | note | alert
    text: Mapped[str] = mapped_column(Text, default="")
    old_value: Mapped[str | None] = mapped_column(String(64), default=None)
    new_value: Mapped[str | None] = mapped_column(String(64), default=None)
    lead: Mapped[Lead] = relationship(back_populates="events")


class Alert(Base):
    """One violation event; its evidence is written before the row exists."""

    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # uuid, also the evidence prefix
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    track_id: Mapped[int | None] = mapped_column(Integer, default=None)
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime]
    best_at: Mapped[datetime]
    best_score: Mapped[float] = mapped_column(Float)
    ongoing: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(16), default="new", index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    review_note: Mapped[str] = mapped_column(Text, default="")
    model_name: Mapped[str] = mapped_column(String(100), default="")
    model_version: Mapped[str] = mapped_column(String(64), default="")
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    manifest_key: Mapped[str] = mapped_column(String(500), default="")
    manifest_sha256: Mapped[str] = mapped_column(String(64), default="")
    evidence_revision: Mapped[int] = mapped_column(Integer, default=0)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), default=None, index=True)
    # what became of its lead: dismissed (out of the grade, a hard negative) | case_filed; None while open
    lead_outcome: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    # "I've seen it" from the wall: who first acknowledged it and when (independent of the review state)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    lead: Mapped[Lead | None] = relationship(back_populates="alerts")
    detections: Mapped[list["AlertDetection"]] = relationship(back_populates="alert", cascade="all, delete-orphan")
    evidence: Mapped[list["EvidenceItem"]] = relationship(back_populates="alert", cascade="all, delete-orphan")


class AlertDetection(Base):
    """The best frame's detections, in pixels of that frame."""

    __tablename__ = "alert_detections"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    class_name: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    track_id: Mapped[int | None] = mapped_column(Integer, default=None)
    alert: Mapped[Alert] = relationship(back_populates="detections")


class EvidenceItem(Base):
    __tablename__ = "evidence_items"
    __table_args__ = (UniqueConstraint("alert_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    alert: Mapped[Alert] = relationship(back_populates="evidence")


class LabelImage(Base):
    """An image with reviewed boxes (or none: a hard negative). The newest revision per image wins."""

    __tablename__ = "label_images"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[str | None] = mapped_column(ForeignKey("alerts.id"), default=None, index=True)
    image_key: Mapped[str] = mapped_column(String(500), index=True)  # evidence-store key of the raw frame
    image_sha256: Mapped[str] = mapped_column(String(64))
    camera_id: Mapped[str | None] = mapped_column(String(64), default=None)
    event_id: Mapped[str | None] = mapped_column(String(64), default=None)  # groups frames for splits
    profile: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # confirmed | correction | hard_negative
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    boxes: Mapped[list["LabelBox"]] = relationship(back_populates="image", cascade="all, delete-orphan")


class LabelBox(Base):
    """A labelled box in relative 0-1 coordinates of its image."""

    __tablename__ = "label_boxes"
    id: Mapped[int] = mapped_column(primary_key=True)
    label_image_id: Mapped[int] = mapped_column(ForeignKey("label_images.id", ondelete="CASCADE"), index=True)
    class_name: Mapped[str] = mapped_column(String(64))
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    image: Mapped[LabelImage] = relationship(back_populates="boxes")


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    profile: Mapped[str] = mapped_column(String(8), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(1000))
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sources: Mapped[list[Any]] = mapped_column(default=list)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"), default=None)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingJob(Base):
    __tablename__ = "training_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    profile: Mapped[str] = mapped_column(String(8))
    dataset_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"), default=None)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    device: Mapped[str] = mapped_column(String(32), default="cpu")
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    epochs: Mapped[int] = mapped_column(Integer, default=0)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)  # latest metrics and per-epoch history
    error: Mapped[str] = mapped_column(Text, default="")
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), default=None)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    pid: Mapped[int | None] = mapped_column(Integer, default=None)  # the worker process that ran (or runs) it


class NotificationDelivery(Base):
    """One notification to one channel; `dead` after the last failed try."""

    __tablename__ = "notification_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[str | None] = mapped_column(ForeignKey("alerts.id"), default=None, index=True)
    channel: Mapped[str] = mapped_column(String(100))  # webhook:NAME | mqtt
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    """Append-only; each row carries the hash of the previous one (see api's audit module)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # a fork in the chain cannot be stored
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class LeadAttachment(Base):
    """A file added to a lead: on-site photos and video (kind onsite) or a firm's rectification reply (kind reply)."""

    __tablename__ = "lead_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # onsite | reply
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    taken_at: Mapped[datetime]
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)  # None: the firm's reply
    note: Mapped[str] = mapped_column(Text, default="")
    manifest_revision: Mapped[int] = mapped_column(Integer, default=0)  # the lead manifest that first lists it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeadDocument(Base):
    """A drafted enforcement document, versioned per (lead, kind, language, format); the bytes are in the store."""

    __tablename__ = "lead_documents"
    __table_args__ = (UniqueConstraint("lead_id", "kind", "lang", "fmt", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # order_correct | penalty_notice | inspection_record
    lang: Mapped[str] = mapped_column(String(8))
    fmt: Mapped[str] = mapped_column(String(8))  # pdf | docx
    version: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RectificationNotice(Base):
    """A rectification request sent to a site's enterprise, answered once through a token link."""

    __tablename__ = "rectification_notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the one-use token
    status: Mapped[str] = mapped_column(String(16), default="sent", index=True)  # sent | replied | escalated
    deadline: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    replied_at: Mapped[datetime | None] = mapped_column(default=None)
    reply_note: Mapped[str] = mapped_column(Text, default="")
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)


from vigil.db.models_inbox import InboxItem, InboxRead  # noqa: E402,F401  (same metadata)
from vigil.db.models_cameras import CameraOverride  # noqa: E402,F401  (same metadata)
from vigil.db.models_labelling import LabelTask  # noqa: E402,F401  (same metadata)
from vigil.db.models_jobs import DatasetBuild  # noqa: E402,F401  (same metadata)
