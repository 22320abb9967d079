"""Dataset builds requested from the API (training jobs stay in `models`): kept so a restart keeps the list."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vigil.db.models import Base, utcnow


class DatasetBuild(Base):
    """One dataset build requested from the API, run in a worker process; kept across restarts."""

    __tablename__ = "dataset_builds"
    id: Mapped[int] = mapped_column(primary_key=True)
    profile: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)  # running|done|failed|cancelled
    stage: Mapped[str] = mapped_column(String(64), default="queued")
    items: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # the version built, once done
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    pid: Mapped[int | None] = mapped_column(Integer, default=None)
