"""Sites with their colour grade (blue, yellow, orange, red), its reasons, and their alert history."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select

from api.auth.deps import Allow
from api.auth.roles import ADMIN, EVERYONE, WALL
from api.auth.users import Principal
from api.routes.alerts import alert_dict
from api.routes.common import not_found, services_of
from api.routes.site_schemas import EnforcementStatsOut, SiteDetail, SiteList
from vigil.db.models import Alert, Camera, Lead, Site
from vigil.types import utcnow

router = APIRouter(tags=["sites"])
SIGNED_IN = Allow(EVERYONE)


def grade_dict(grade) -> dict:
    if grade is None:
        return {"grade": "blue", "score": 0, "reasons": [], "reasons_zh": [], "reason_items": [], "cases_filed": 0}
    return {"grade": grade.grade, "score": grade.score, "reasons": list(grade.reasons),
            "reasons_zh": list(grade.reasons_zh), "explanation": grade.explanation,
            "explanation_zh": grade.explanation_zh, "cases_filed": grade.cases_filed,
            "cases_weight": round(grade.score - sum(w for _, _, w in grade.items), 6),
            "reason_items": [{"rule": r, "count": n, "weight": w, "window_days": grade.window_days}
                             for r, n, w in grade.items]}


def _grades(services) -> dict:
    from api.ops.grading import all_grades

    grades = all_grades(services)
    if isinstance(grades, dict):
        return grades
    return {getattr(g, "site_id", None): g for g in grades}


@router.get("/api/sites", response_model=SiteList, response_model_exclude_unset=True)
def list_sites(request: Request, user: Principal = Depends(SIGNED_IN)) -> dict:
    """Every site with its grade, camera count, confirmed alerts and open leads."""
    services = services_of(request)
    grades = _grades(services)
    with services.sessions() as s:
        cams = dict(s.execute(select(Camera.site_id, func.count(Camera.id)).group_by(Camera.site_id)).all())
        confirmed = dict(s.execute(select(Alert.site_id, func.count(Alert.id)).where(Alert.state == "confirmed")
                                   .group_by(Alert.site_id)).all())
        open_leads = dict(s.execute(select(Lead.site_id, func.count(Lead.id)).where(Lead.closed_at.is_(None))
                                    .group_by(Lead.site_id)).all())
        items = [{"id": x.id, "name": x.name, "address": x.address, "kind": x.kind, "operator": x.operator,
                  "cameras": cams.get(x.id, 0), "confirmed_alerts": confirmed.get(x.id, 0),
                  "open_leads": open_leads.get(x.id, 0), **grade_dict(grades.get(x.id))}
                 for x in s.scalars(select(Site).order_by(Site.name))]
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}


@router.get("/api/sites/{site_id}", response_model=SiteDetail, response_model_exclude_unset=True)
def get_site(site_id: str, request: Request, days: int = Query(30, ge=1, le=365),
             user: Principal = Depends(SIGNED_IN)) -> dict:
    """One site: grade and reasons, confirmed alerts per day over `days`, and its recent alerts."""
    services = services_of(request)
    from api.ops.grading import site_grade

    grade = grade_dict(site_grade(services, site_id))
    since = (utcnow() - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    with services.sessions() as s:
        site = s.get(Site, site_id)
        if site is None:
            raise not_found("site", site_id)
        rows = s.scalars(select(Alert).where(Alert.site_id == site_id, Alert.started_at >= since)
                         .order_by(Alert.started_at.desc())).all()
        per_day: dict[str, dict[str, int]] = {}
        for i in range(days):
            per_day[(since + timedelta(days=i)).date().isoformat()] = {"confirmed": 0, "rejected": 0, "new": 0}
        for a in rows:
            per_day.setdefault(a.started_at.date().isoformat(), {"confirmed": 0, "rejected": 0, "new": 0})
            per_day[a.started_at.date().isoformat()][a.state] = per_day[a.started_at.date().isoformat()].get(a.state, 0) + 1
        # the recent alerts only to roles that may read alerts (as /api/alerts): data staff see the counts
        may_read_alerts = user.role == ADMIN or user.role in WALL
        return {"id": site.id, "name": site.name, "address": site.address, "kind": site.kind,
                "operator": site.operator, **grade,
                "history": [{"day": d, **c} for d, c in sorted(per_day.items())],
                "alerts": [alert_dict(a) for a in rows[:50]] if may_read_alerts else []}


@router.get("/api/enforcement/stats", response_model=EnforcementStatsOut)
def enforcement_stats(request: Request, site: str | None = Query(None, max_length=64),
                      user: Principal = Depends(SIGNED_IN)) -> dict:
    """Disposal rate, median time to close and field precision (confirmed / reviewed), overall, per rule and per
    site; `site` limits it to one site."""
    from api.ops.enforcement_stats import enforcement_stats as stats

    return stats(services_of(request), site)
