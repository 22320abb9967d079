"""What the lead routes answer: a lead in a list, one lead with its alerts, history, files and workflow."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from api.routes.alert_schemas import AlertOut
from api.routes.schemas import Out, Page


class LeadOut(Out):
    id: int
    site_id: str
    title: str
    status: str = Field(description="electronic_evidence, onsite_verification, review, case_filed or dismissed")
    assignee_id: int | None
    created_at: str | None = Field(description="UTC, ISO 8601")
    updated_at: str | None
    closed_at: str | None
    alerts: int = Field(description="number of alerts")
    rules: list[str] = Field(description="the rules among its alerts")


class LeadPage(Page[LeadOut]):
    statuses: list[str] = Field(description="every lead status, in workflow order")


class LeadEvidenceOut(Out):
    name: str
    size: int
    sha256: str
    url: str


class LeadAlertOut(AlertOut):
    evidence: list[LeadEvidenceOut]
    camera_name: str = Field("", description="the camera's name (its id when it has none)")


class LeadEventOut(Out):
    at: str | None
    kind: str
    text: str
    old: str | None
    new: str | None
    user: str | None
    code: str | None = Field(None, description="what a server-written text says (notice_sent, notice_replied, "
                             "notice_replied_late, notice_overdue, opened, alert); null: a user's own text")
    params: dict[str, str] = Field(default_factory=dict, description="the values in that text, by name")


class AttachmentOut(Out):
    type: str = Field(description="attachment")
    kind: str = Field(description="onsite (an officer's) or reply (the firm's)")
    name: str
    sha256: str
    size: int
    content_type: str
    taken_at: str | None
    latitude: float | None
    longitude: float | None
    by: str | None
    note: str
    id: int
    url: str


class SuggestionOut(Out):
    rule: str
    provision_set: bool = Field(description="false: no provision configured; the agency sets it")
    exempt: bool = Field(description="first violation, no fine")
    measures: list[str]
    measures_zh: str
    measures_en: str
    fine_yuan: int | None
    position: float = Field(description="where in the provision's range the findings put it, 0 to 1")
    steps: list[dict[str, Any]] = Field(description="each step of the reasoning")


class NoticeOut(Out):
    id: int
    status: str
    deadline: str | None
    created_at: str | None
    replied_at: str | None
    reply_note: str
    escalated_at: str | None
    text: str


class DocumentOut(Out):
    id: int
    kind: str
    lang: str
    fmt: str
    version: int
    sha256: str
    size: int
    by: str | None
    at: str | None
    url: str


class LeadFull(LeadOut):
    """One lead as its page shows it, with the workflow actions the caller may take now."""

    site_name: str
    assignee: str | None
    alert_list: list[LeadAlertOut]
    events: list[LeadEventOut]
    statuses: list[str]
    verified_by: str | None
    decided_by: str | None
    measures_available: dict[str, list[str]] = Field(description="per rule, the measures its provision allows")
    actions: list[str] = Field(description="the workflow steps the caller may take now")
    attachments: list[AttachmentOut]
    notices: list[NoticeOut]
    decision: dict[str, Any] = Field(description="the officer's recorded decision; empty: none yet")
    documents: list[DocumentOut]
    suggestions: dict[str, SuggestionOut] = Field(description="per rule, the discretion model's suggestion")


class AssigneeOut(Out):
    username: str
    display_name: str
    role: str


class AssigneeList(Page[AssigneeOut]):
    """People a lead may be assigned to."""


class DiscretionOut(Out):
    suggestions: dict[str, SuggestionOut]


class NoticeSent(Out):
    id: int = Field(description="notice id")
    link: str = Field(description="the firm's one-use reply link")
    deadline: str = Field(description="UTC, ISO 8601")
    emailed_to: str = Field("", description="the site contact's address the notice was queued to ('' when none)")


class Escalated(Out):
    escalated: list[int] = Field(description="the notices escalated now")
