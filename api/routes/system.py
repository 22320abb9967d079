"""System routes: reliability state (outbox, disks, cameras), notification deliveries and their retry."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.auth.deps import Allow
from api.auth.roles import ADMIN_ONLY, WALL
from api.auth.users import Principal
from api.ops import deliveries
from api.routes.common import runtime_of, services_of
from api.routes.schemas import DeliveryStatus, MAX_DB_INT
from api.routes.site_schemas import DeliveryList, OutboxPending, Retried, ReliabilityOut

router = APIRouter(tags=["system"])
VIEW, ADMIN = Allow(WALL), Allow(ADMIN_ONLY)


class RetryIn(BaseModel):
    ids: list[Annotated[int, Field(ge=0, le=MAX_DB_INT)]] = Field(default_factory=list, max_length=10000,
                                                             description="dead deliveries (empty: all)")


@router.get("/api/system/reliability", response_model=ReliabilityOut, response_model_exclude_unset=True)
def reliability(request: Request, user: Principal = Depends(VIEW)) -> dict:
    """The outbox (jobs, bytes, retries per lane), disk space, cameras in error, and the problems /healthz lists."""
    from api.app import health

    body, problems = health(services_of(request), runtime_of(request))
    body["problems"] = problems
    body["deliveries"] = {st: len(deliveries.list_deliveries(services_of(request), st, limit=10000))
                          for st in ("pending", "dead")}
    return body


@router.get("/api/notifications", response_model=DeliveryList)
def list_notifications(request: Request,
                       status: DeliveryStatus | None = Query(None, description="pending | sent | dead"),
                       user: Principal = Depends(VIEW)) -> dict:
    return {"items": deliveries.list_deliveries(services_of(request), status)}


@router.post("/api/notifications/retry", response_model=Retried)
def retry_notifications(body: RetryIn, request: Request, user: Principal = Depends(ADMIN)) -> dict:
    runtime = runtime_of(request)
    chosen = deliveries.retry_dead(services_of(request), user.username, body.ids or None,
                                   runtime.notifier if runtime is not None else None)
    return {"retried": chosen}


@router.post("/api/system/outbox/retry", response_model=OutboxPending)
def retry_outbox(request: Request, user: Principal = Depends(ADMIN)) -> dict:
    """Retry every waiting outbox job now (the peer is known to be back)."""
    runtime = runtime_of(request)
    if runtime is not None:
        runtime.outbox.kick()
    return {"pending": runtime.outbox.pending() if runtime is not None else 0}
