"""What the site, camera, enforcement-statistics and system routes answer."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from api.problems import CODES as PROBLEM_CODES
from api.routes.alert_schemas import AlertOut
from api.routes.schemas import Out, Page


class ReasonItem(Out):
    rule: str
    count: int = Field(description="confirmed violations in the window")
    weight: float
    window_days: float


class GradeFields(Out):
    """A site's colour grade; `explanation*` and `cases_weight` are absent for a site without a grade yet."""

    grade: str = Field(description="blue, yellow, orange or red")
    score: int | float = Field(description="sum of the severities of confirmed violations in the window (0: none)")
    reasons: list[str]
    reasons_zh: list[str]
    explanation: str | None = Field(None, description="why this colour: the score against the thresholds")
    explanation_zh: str | None = None
    cases_filed: int
    cases_weight: float | None = Field(None, description="what filed cases add to the score")
    reason_items: list[ReasonItem] = Field(description="the reasons as data")


class SiteFields(Out):
    id: str
    name: str
    address: str | None
    kind: str | None
    operator: str | None


class SiteCounts(SiteFields):
    cameras: int
    confirmed_alerts: int
    open_leads: int


class SiteOut(GradeFields, SiteCounts):
    """A site in the list: its camera count, confirmed alerts, open leads and grade."""


class SiteList(Page[SiteOut]):
    """One page of sites."""


class DayCounts(Out):
    day: str = Field(description="UTC date, YYYY-MM-DD")
    confirmed: int
    rejected: int
    new: int


class SiteDetail(GradeFields, SiteFields):
    """One site: its grade, alerts per day, and its recent alerts."""

    history: list[DayCounts] = Field(description="alerts per day and state over `days`")
    alerts: list[AlertOut] = Field(description="its recent alerts; empty for roles that may not read alerts")


class StatsOut(Out):
    leads: int
    closed: int = Field(description="case_filed + dismissed")
    filed: int
    dismissed: int
    disposal_rate: float | None = Field(description="closed / leads")
    median_close_hours: float | None
    reviewed: int = Field(description="alerts confirmed or rejected")
    confirmed: int
    precision: float | None = Field(description="confirmed / reviewed")
    field_confirmed: int = Field(description="confirmed alerts whose lead was not dismissed after the on-site check")
    field_precision: float | None = Field(description="field_confirmed / reviewed")


class EnforcementStatsOut(Out):
    overall: StatsOut
    by_rule: dict[str, StatsOut]
    by_site: dict[str, StatsOut]


class CameraOut(Out):
    """A camera of the wall: site, live state and whether it is alerting now."""

    id: str
    name: str | None
    site_id: str
    site_name: str
    profile: str
    enabled: bool
    alerting: bool = Field(description="an alert on it is still going on")
    alert_id: str | None = Field(None, description="that alert (the newest not yet acknowledged); null: none")
    rules: list[str] = Field(description="the rules its profile runs")
    state: str = Field(description="connecting, live, stalled, reconnecting, offline or disabled")
    last_error: str = Field(description="redacted")
    fps: float
    since: str | None = Field(description="UTC, ISO 8601: the last state change")


class CameraList(Page[CameraOut]):
    """One page of cameras."""


class CameraDetail(CameraOut):
    """One camera, its state and its 20 most recent alerts."""

    alerts: list[AlertOut]


class ProblemOut(Out):
    """One of the service's problems: a stable code and its parameters (the UI words them in its language), and
    the English text that `problems` lists."""

    code: str = Field(description="one of " + ", ".join(PROBLEM_CODES))
    params: dict[str, str | int | float | None]
    text: str


class ReliabilityOut(Out):
    """What /healthz shows a signed-in caller, with its problems and the notification deliveries waiting."""

    version: str
    database: bool
    store: str = Field(description="where evidence is stored")
    cameras: int
    runtime: bool = Field(description="the camera service runs in this server")
    disk_free_mb: dict[str, int | None]
    outbox: dict[str, Any] | None = Field(None, description="only with the camera service: per-lane depth")
    camera_states: dict[str, dict[str, Any]] | None = Field(None, description="only with the camera service")
    problems: list[str]
    problem_details: list[ProblemOut] = Field(description="the problems with their codes and parameters")
    deliveries: dict[str, int] = Field(description="pending and dead notification deliveries")


class DeliveryOut(Out):
    id: int
    alert_id: str | None
    channel: str
    status: str = Field(description="pending, sent or dead")
    attempts: int
    last_error: str | None
    event: str | None
    created_at: str | None
    updated_at: str | None


class DeliveryList(Out):
    items: list[DeliveryOut]


class Retried(Out):
    retried: list[int] = Field(description="the deliveries set to be sent again")


class OutboxPending(Out):
    pending: int = Field(description="outbox jobs waiting")


class HealthOut(Out):
    """/healthz: the status alone to an anonymous caller; the details (as /api/system/reliability) when signed in."""

    version: str | None = None
    database: bool | None = None
    store: str | None = None
    cameras: int | None = None
    runtime: bool | None = None
    disk_free_mb: dict[str, int | None] | None = None
    outbox: dict[str, Any] | None = None
    camera_states: dict[str, dict[str, Any]] | None = None
    status: str = Field(description="ok, degraded (see problems) or not ok (503: the database does not answer)")
    problems: list[str] | None = None
    problem_details: list[ProblemOut] | None = None


def binary(*media_types: str, what: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route whose answer is a file, not JSON: the spec names its media types."""
    return {200: {"description": what, "content": {m: {"schema": {"type": "string", "format": "binary"}}
                                                   for m in media_types}}}
