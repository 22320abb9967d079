"""The in-app inbox's tables: notifications addressed to a user or to every user of a role, and who read which."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from vigil.db.models import Base, utcnow


class InboxItem(Base):
    """One notification for people (rectification reply, overdue notice, a lead assigned or waiting for review).

    Addressed to one user (`user_id`) or to every user of a role (`role`); the text is rendered in the reader's
    language from `kind` and `params`."""

    __tablename__ = "inbox_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), default=None, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), default=None, index=True)
    role: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InboxRead(Base):
    """A user has read an inbox item (a role's item is read per person)."""

    __tablename__ = "inbox_reads"
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox_items.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
