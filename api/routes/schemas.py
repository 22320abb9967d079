"""Types the JSON routes share: the answer base, one page of a list, database ids, and the few-valued request
fields (each Literal equals the tuple its route checks; tests/security/test_api_spec.py holds them equal)."""
from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from fastapi import Path
from pydantic import Field

from api.routes.auth_schemas import Out

__all__ = ["Out", "Page", "TOTAL", "LIMIT", "OFFSET", "DbId", "MAX_DB_INT", "BulkAction", "ProfileName",
           "DeliveryStatus", "DocumentKind", "JobStatus"]

# the largest whole number every supported database holds in an integer column (PostgreSQL's int4): a larger id
# or offset is refused by the spec itself, not by the database after the fact
MAX_DB_INT = 2**31 - 1
DbId = Annotated[int, Path(ge=0, le=MAX_DB_INT, description="id")]

BulkAction = Literal["confirm", "reject", "reopen"]  # api.ops.alert_queue.BULK_ACTIONS
ProfileName = Literal["site", "lab"]  # vigil.catalogue.PROFILE_CLASSES
Language = Literal["en", "zh"]  # api.i18n.LANGUAGES
DeliveryStatus = Literal["pending", "sent", "dead"]  # api.ops.deliveries.STATUSES
DocumentKind = Literal["order_correct", "penalty_notice", "inspection_record"]  # api.ops.document_compose.KINDS
JobStatus = Literal["queued", "running", "cancelling", "registering", "done", "failed",
                    "cancelled"]  # vigil.db.models.JOB_STATUSES


TOTAL = Field(description="number of matching items")
LIMIT = Field(description="at most this many items per answer")
OFFSET = Field(description="items skipped before the first")

T = TypeVar("T")


class Page(Out, Generic[T]):
    """One page of a list: its items, and where they sit in the whole."""

    items: list[T]
    total: int = TOTAL
    limit: int = LIMIT
    offset: int = OFFSET
