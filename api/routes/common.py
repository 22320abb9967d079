"""Shared pieces of the JSON API: pagination, list filters, row-to-dict helpers, the services handle."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Sequence

from fastapi import HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.context import Services
from api.routes.schemas import MAX_DB_INT
from vigil.types import iso_utc

MAX_LIMIT = 500


class StrictIn(BaseModel):
    """A request body: an unknown field (a typo such as 'langauge') is a 422, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


def services_of(request: Request) -> Services:
    return request.app.state.services


def runtime_of(request: Request):
    """The camera runtime, or None when the app runs without cameras."""
    return getattr(request.app.state, "runtime", None)


@dataclass(frozen=True)
class ListParams:
    """limit/offset plus the common filters; every list endpoint takes these."""

    limit: int
    offset: int
    site: str | None
    camera: str | None
    rule: str | None
    state: str | None
    since: datetime | None
    until: datetime | None


def list_params(limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_DB_INT),
                site: str | None = Query(None, description="site id"),
                camera: str | None = Query(None, description="camera id"),
                rule: str | None = Query(None, description="rule name"),
                state: str | None = Query(None, description="alert state or lead status"),
                since: datetime | None = Query(None, description="from this UTC time (ISO 8601)"),
                until: datetime | None = Query(None, description="before this UTC time (ISO 8601)")) -> ListParams:
    for name, t in (("since", since), ("until", until)):
        if t is not None and t.tzinfo is None:
            raise HTTPException(422, f"{name}: expected a time with a zone (e.g. 2025-01-31T08:00:00Z), found {t}")
    return ListParams(limit, offset, site, camera, rule, state, since, until)


def paginate(session: Session, query: Select, params: ListParams, to_dict: Callable[[Any], dict]) -> dict:
    """{"items", "total", "limit", "offset"} for the query."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.limit(params.limit).offset(params.offset)).all()
    return {"items": [to_dict(r) for r in rows], "total": total, "limit": params.limit, "offset": params.offset}


def iso(t: datetime | None) -> str | None:
    return iso_utc(t) if t else None


def not_found(kind: str, ident: Any) -> HTTPException:
    return HTTPException(404, f"{kind} {ident!r} not found")


def choice(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise HTTPException(422, f"{what}: expected one of {', '.join(allowed)}, found {value!r}")
    return value
