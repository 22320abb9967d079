"""Cameras edited in the UI: one row per camera with the config keys it overrides over the YAML's camera."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from vigil.db.models import Base, utcnow


class CameraOverride(Base):
    """A camera as edited from the UI: the config keys it overrides over the YAML's camera (the YAML is the seed;
    vigil.camera_overrides merges them). Sources are kept as written, ${ENV} references unsubstituted."""

    __tablename__ = "camera_overrides"
    camera_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
