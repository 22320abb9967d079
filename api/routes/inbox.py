"""The in-app inbox over HTTP: my notifications, how many are unread (the header's badge), mark read."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from api.auth.deps import Allow
from api.auth.roles import LEAD_WORKFLOW
from api.auth.users import Principal
from api.routes.common import StrictIn, services_of
from api.routes.schemas import MAX_DB_INT, Out

router = APIRouter(tags=["inbox"])
READERS = Allow(LEAD_WORKFLOW)


class InboxItemOut(Out):
    id: int
    kind: str = Field(description="rectification.reply, rectification.overdue, lead.assigned, lead.dispatched, "
                      "lead.review, lead.decided or lead.reopened")
    lead_id: int | None
    params: dict[str, Any] = Field(description="what the message says: site, notice, by, outcome, reason, ...")
    read: bool
    to: str = Field(description="'me', or the role it was addressed to")
    created_at: str = Field(description="UTC, ISO 8601")


class InboxOut(Out):
    items: list[InboxItemOut]
    unread: int


class UnreadOut(Out):
    unread: int


class ReadIn(StrictIn):
    ids: list[Annotated[int, Field(ge=0, le=MAX_DB_INT)]] | None = Field(
        None, max_length=1000, description="items to mark read (none: all of mine)")


class ReadOut(Out):
    marked: int
    unread: int


@router.get("/api/inbox", response_model=InboxOut)
def my_inbox(request: Request, unread: bool = Query(False, description="only unread items"),
             limit: int = Query(100, ge=1, le=500), user: Principal = Depends(READERS)) -> dict:
    """My notifications, newest first."""
    from api.ops.inbox import list_items, unread_count

    services = services_of(request)
    return {"items": list_items(services, user.username, unread_only=unread, limit=limit),
            "unread": unread_count(services, user.username)}


@router.get("/api/inbox/unread", response_model=UnreadOut)
def my_unread(request: Request, user: Principal = Depends(READERS)) -> dict:
    """How many of my notifications are unread (the header's badge)."""
    from api.ops.inbox import unread_count

    return {"unread": unread_count(services_of(request), user.username)}


@router.post("/api/inbox/read", response_model=ReadOut)
def mark(body: ReadIn, request: Request, user: Principal = Depends(READERS)) -> dict:
    """Mark some (or all) of my notifications read."""
    from api.ops.inbox import mark_read, unread_count

    services = services_of(request)
    marked = mark_read(services, user.username, body.ids)
    return {"marked": marked, "unread": unread_count(services, user.username)}
