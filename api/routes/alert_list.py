"""The alert list at volume: filters (site, camera, rule, state, severity, model, time), repeats grouped, bulk
decisions with an undo, and one alert's history."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field
from sqlalchemy import func, select

from api.auth.deps import Allow
from api.auth.roles import REVIEW, WALL
from api.auth.users import Principal
from api.ops import alert_queue
from api.ops.grading import severity
from api.routes.alert_schemas import AlertFilters, AlertGroupOut, AlertPage, BulkOut, HistoryOut
from api.routes.alerts import alert_dict
from api.routes.common import ListParams, StrictIn, iso, list_params, services_of
from api.routes.schemas import BulkAction
from vigil.catalogue import RULES
from vigil.db.models import ALERT_STATES, Alert, AuditEntry, Camera, Site

router = APIRouter(tags=["alerts"])
VIEW = Allow(WALL)
REVIEWER = Allow(REVIEW)
MAX_GROUPED = 5000  # grouping runs over this many of the newest matching alerts


class BulkIn(StrictIn):
    action: BulkAction = Field(..., description="confirm | reject | reopen (reopen undoes a decision)")
    ids: list[str] = Field(..., min_length=1, max_length=alert_queue.MAX_BULK)
    note: str = Field("", max_length=2000)


def _filtered(request: Request, p: ListParams, min_severity: int | None, model: str | None,
              acknowledged: bool | None = None):
    q = select(Alert)
    if acknowledged is not None:
        q = q.where(Alert.acknowledged_at.is_not(None) if acknowledged else Alert.acknowledged_at.is_(None))
    for column, value in ((Alert.site_id, p.site), (Alert.camera_id, p.camera), (Alert.rule, p.rule),
                          (Alert.state, p.state)):
        if value:
            q = q.where(column == value)
    if p.since:
        q = q.where(Alert.started_at >= p.since)
    if p.until:
        q = q.where(Alert.started_at < p.until)
    if min_severity:
        q = q.where(alert_queue.severity_clause(services_of(request).loaded.config, min_severity))
    if model:  # "site" matches every version of that model, "site v3" one version
        name, _, version = model.partition(" ")
        q = q.where(Alert.model_name == name)
        if version:
            q = q.where(Alert.model_version == version)
    return q.order_by(Alert.started_at.desc(), Alert.id)


def _names(session) -> tuple[dict[str, str], dict[str, str]]:
    cams = {c.id: c.name or c.id for c in session.scalars(select(Camera))}
    sites = {x.id: x.name for x in session.scalars(select(Site))}
    return cams, sites


def _row(request: Request, a: Alert, cams: dict, sites: dict) -> dict:
    d = alert_dict(a)
    d["camera_name"] = cams.get(a.camera_id, a.camera_id)
    d["site_name"] = sites.get(a.site_id, a.site_id)
    d["severity"] = severity(services_of(request).loaded.config, a.camera_id, a.rule)
    return d


def _group_row(request: Request, g: alert_queue.AlertGroup, cams: dict, sites: dict) -> dict:
    d = _row(request, g.lead, cams, sites)
    states = {a.state for a in g.alerts}
    d["group"] = {"size": len(g.alerts), "ids": g.ids, "first_started_at": iso(g.alerts[-1].started_at),
                  "states": sorted(states)}
    return d


@router.get("/api/alerts", response_model=AlertPage, response_model_exclude_unset=True)
def list_alerts(request: Request, p: ListParams = Depends(list_params),
                severity_min: int | None = Query(None, alias="severity", ge=1, le=10,
                                                 description="rules weighing at least this much"),
                model: str | None = Query(None, max_length=170, description="model name, or 'name version'"),
                grouped: bool = Query(False, description="repeats of one rule on one camera as one item"),
                acknowledged: bool | None = Query(None, description="true: acknowledged from the wall; false: not"),
                window_s: float = Query(alert_queue.GROUP_WINDOW_S, gt=0, le=86400,
                                        description="grouping window in seconds"),
                user: Principal = Depends(VIEW)) -> dict:
    """Alerts, newest first, with camera and site names and the rule's severity; filter by site, camera, rule, state
    (new/confirmed/rejected), severity, model and time. `grouped`: each item is a group of repeats (its newest
    alert, plus `group.size` and `group.ids`), paged by group."""
    q = _filtered(request, p, severity_min, model, acknowledged)
    with services_of(request).sessions() as s:
        cams, sites = _names(s)
        if not grouped:
            total = s.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
            rows = s.scalars(q.limit(p.limit).offset(p.offset)).all()
            items = [_row(request, a, cams, sites) for a in rows]
        else:
            groups = alert_queue.group_alerts(s.scalars(q.limit(MAX_GROUPED)).all(), window_s)
            total = len(groups)
            items = [_group_row(request, g, cams, sites) for g in groups[p.offset:p.offset + p.limit]]
    return {"items": items, "total": total, "limit": p.limit, "offset": p.offset}


@router.get("/api/alert-filters", response_model=AlertFilters)
def alert_filters(request: Request, user: Principal = Depends(VIEW)) -> dict:
    """What the alert list can be filtered by: sites, cameras (with names), rules, states, severities, models."""
    config = services_of(request).loaded.config
    with services_of(request).sessions() as s:
        sites = [{"id": x.id, "name": x.name} for x in s.scalars(select(Site).order_by(Site.name))]
        cameras = [{"id": c.id, "name": c.name or c.id, "site_id": c.site_id}
                   for c in s.scalars(select(Camera).order_by(Camera.name))]
        models = sorted({f"{n} {v}".strip() for n, v in s.execute(select(Alert.model_name, Alert.model_version)
                                                                  .distinct()) if n})
    severities = sorted({severity(config, c, r) for c in [*config.cameras, ""] for r in RULES})
    return {"sites": sites, "cameras": cameras, "rules": list(RULES), "states": list(ALERT_STATES),
            "severities": severities, "models": models}


@router.get("/api/alerts/{alert_id}/group", response_model=AlertGroupOut, response_model_exclude_unset=True)
def alert_group(alert_id: str, request: Request, window_s: float = Query(alert_queue.GROUP_WINDOW_S, gt=0, le=86400),
                user: Principal = Depends(VIEW)) -> dict:
    """The repeats this alert is grouped with (same rule and camera, each within `window_s` of the previous)."""
    with services_of(request).sessions() as s:
        cams, sites = _names(s)
        g = alert_queue.group_of(s, alert_id, window_s)
        return {"camera_id": g.camera_id, "rule": g.rule, "window_s": window_s, "ids": g.ids,
                "items": [_row(request, a, cams, sites) for a in g.alerts]}


@router.post("/api/alerts/bulk", response_model=BulkOut)
def bulk(body: BulkIn, request: Request, user: Principal = Depends(REVIEWER)) -> dict:
    """Confirm, reject or reopen many alerts at once, each audited like a single decision; alerts already in that
    state are skipped. `undo` is the request that takes it back (a reopen of exactly the alerts changed)."""
    services = services_of(request)
    r = alert_queue.bulk_decide(services, body.action, body.ids, user.username, body.note)
    if services.events is not None:  # live pages (wall, camera, an open alert) update: the bus's one alert schema
        from api.service.alerts_db import alert_payload

        with services.sessions() as s:
            changed = [alert_payload(a) for a in s.scalars(select(Alert).where(Alert.id.in_(r.done)))]
        for payload in changed:
            services.events.publish("alert.updated", payload)
    undo = {"action": "reopen", "ids": list(r.done)} if r.action != "reopen" and r.done else None
    return {"action": r.action, "done": list(r.done), "skipped": [{"id": i, "why": w} for i, w in r.skipped],
            "lead_ids": list(r.lead_ids), "undo": undo}


HISTORY_ACTIONS = ("alert.confirm", "alert.reject", "alert.reopen", "label_saved", "alert.missed",
                   "alert.acknowledge")


@router.get("/api/alerts/{alert_id}/history", response_model=HistoryOut)
def alert_history(alert_id: str, request: Request, user: Principal = Depends(VIEW)) -> dict:
    """The alert's decisions and label saves from the audit log, oldest first, and how often its evidence was
    viewed."""
    with services_of(request).sessions() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.target_type == "alert", AuditEntry.target_id == alert_id,
                                                  AuditEntry.action.in_(HISTORY_ACTIONS))
                         .order_by(AuditEntry.id)).all()
        views = s.scalar(select(func.count()).where(AuditEntry.target_type == "alert",
                                                    AuditEntry.target_id == alert_id,
                                                    AuditEntry.action == "evidence.view"))
        return {"items": [{"at": iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail} for e in rows],
                "evidence_views": views}
