"""The model registry (data staff): models and their metrics, promote and rollback, training jobs, datasets."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel
from sqlalchemy import select

from api.auth.deps import Allow
from api.auth.roles import MODELS
from api.auth.users import Principal
from api.routes.common import iso, not_found, services_of
from vigil.db.models import DatasetVersion, TrainingJob

router = APIRouter(tags=["models"])
DATA = Allow(MODELS)


class PromoteIn(BaseModel):
    force: bool = False


class RollbackIn(BaseModel):
    profile: str


def model_dict(m) -> dict:
    return {"id": m.id, "name": m.name, "version": m.version, "profile": m.profile, "sha256": m.sha256,
            "classes": list(m.classes), "dataset_version": m.dataset_version, "metrics": m.metrics,
            "status": m.status, "trained_by": m.trained_by, "created_at": iso(m.created_at),
            "promoted_by": m.promoted_by, "promoted_at": iso(m.promoted_at)}


def job_dict(j: TrainingJob) -> dict:
    return {"id": j.id, "profile": j.profile, "dataset_version_id": j.dataset_version_id, "status": j.status,
            "params": j.params, "device": j.device, "epoch": j.epoch, "epochs": j.epochs, "metrics": j.metrics,
            "error": j.error, "model_version_id": j.model_version_id, "created_by": j.created_by,
            "created_at": iso(j.created_at), "started_at": iso(j.started_at), "finished_at": iso(j.finished_at)}


@router.get("/api/models")
def list_models(request: Request, profile: str | None = None, limit: int = Query(100, ge=1, le=500),
                offset: int = Query(0, ge=0), user: Principal = Depends(DATA)) -> dict:
    """Registered models, newest first, with their evaluation metrics and status."""
    from training import registry

    rows = sorted(registry.list_models(services_of(request).sessions, profile), key=lambda m: m.id, reverse=True)
    return {"items": [model_dict(m) for m in rows[offset:offset + limit]], "total": len(rows),
            "limit": limit, "offset": offset}


@router.get("/api/models/{model_id}")
def get_model(model_id: int, request: Request, user: Principal = Depends(DATA)) -> dict:
    from training import registry

    return model_dict(registry.get_model(services_of(request).sessions, model_id))


@router.post("/api/models/{model_id}/promote")
def promote(model_id: int, body: PromoteIn, request: Request, user: Principal = Depends(DATA)) -> dict:
    """Promote through the evaluation gate; an admin may force past a refusal. Workers hot-reload it."""
    from training import registry

    result = registry.promote(services_of(request).sessions, model_id, user.username, role=user.role,
                              force=body.force)
    decision = result.decision.as_dict() if hasattr(result.decision, "as_dict") else str(result.decision)
    if not result.promoted:
        raise HTTPException(409, {"message": "the evaluation gate refused the promotion", "gate": decision})
    return {"promoted": True, "forced": result.forced, "gate": decision, "model": model_dict(result.model),
            "previous": model_dict(result.previous) if result.previous else None}


@router.post("/api/models/rollback")
def rollback(body: RollbackIn, request: Request, user: Principal = Depends(DATA)) -> dict:
    """Demote the promoted model of a profile and re-promote the one before it."""
    from training import registry

    now = registry.rollback(services_of(request).sessions, body.profile, user.username)
    return {"profile": body.profile, "model": model_dict(now) if now else None}


@router.get("/api/jobs")
def list_jobs(request: Request, state: str | None = None, limit: int = Query(50, ge=1, le=500),
              offset: int = Query(0, ge=0), user: Principal = Depends(DATA)) -> dict:
    """Training jobs, newest first, with per-epoch metric history for the curves."""
    with services_of(request).sessions() as s:
        q = select(TrainingJob).order_by(TrainingJob.id.desc())
        if state:
            q = q.where(TrainingJob.status == state)
        rows = s.scalars(q).all()
        return {"items": [job_dict(j) for j in rows[offset:offset + limit]], "total": len(rows),
                "limit": limit, "offset": offset}


@router.get("/api/jobs/{job_id}")
def get_job(job_id: int, request: Request, user: Principal = Depends(DATA)) -> dict:
    with services_of(request).sessions() as s:
        j = s.get(TrainingJob, job_id)
        if j is None:
            raise not_found("job", job_id)
        return job_dict(j)


@router.get("/api/datasets")
def list_datasets(request: Request, user: Principal = Depends(DATA)) -> dict:
    with services_of(request).sessions() as s:
        rows = s.scalars(select(DatasetVersion).order_by(DatasetVersion.id.desc())).all()
        items = [{"id": d.id, "name": d.name, "profile": d.profile, "content_hash": d.content_hash,
                  "stats": d.stats, "created_by": d.created_by, "created_at": iso(d.created_at)} for d in rows]
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}
