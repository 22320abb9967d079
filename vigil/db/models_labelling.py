"""Labelling tasks: frames the detector was unsure of (active-learning samples), waiting for a person's boxes."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vigil.db.models import Base, utcnow


class LabelTask(Base):
    """A sampled frame (JPEG in the evidence store) with the model's detections; labelled, it becomes a
    LabelImage (`label_image_id`), skipped it stays as a record. status: pending | labelled | skipped."""

    __tablename__ = "label_tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(64), index=True)
    profile: Mapped[str] = mapped_column(String(8))
    image_key: Mapped[str] = mapped_column(String(500))
    image_sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    detections: Mapped[list[Any]] = mapped_column(default=list)  # [{class_name, confidence, x1..y2, track_id}]
    reason: Mapped[str] = mapped_column(String(32))  # near_threshold | flicker
    detail: Mapped[str] = mapped_column(String(200), default="")
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the reason's values (class, score, threshold)
    model_name: Mapped[str] = mapped_column(String(200), default="")
    model_version: Mapped[str] = mapped_column(String(100), default="")
    captured_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    label_image_id: Mapped[int | None] = mapped_column(ForeignKey("label_images.id"), default=None)
    done_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
