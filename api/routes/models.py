"""The model registry (data staff): models and their metrics, promote and rollback, training jobs, datasets."""
from __future__ import annotations

import re
from pathlib import PurePath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from api.auth.deps import Allow
from api.auth.roles import MODELS
from api.auth.users import Principal
from api.routes.common import StrictIn, choice, iso, not_found, services_of
from api.routes.model_schemas import (BuildList, BuildOut, BuildStarted, DatasetList, GateRefusal, JobList, JobOut,
                                      ModelList, ModelOut, PromoteOut, RollbackOut)
from api.routes.schemas import DbId, JobStatus, ProfileName
from vigil.catalogue import PROFILE_CLASSES
from vigil.db.models import DatasetVersion, TrainingJob
from vigil.errors import NotFoundError

router = APIRouter(tags=["models"])
DATA = Allow(MODELS)
DEVICE_RE = re.compile(r"^(cpu|\d{1,2}(,\d{1,2})*)$")


class PromoteIn(StrictIn):
    force: bool = False


class RollbackIn(StrictIn):
    profile: ProfileName


class DatasetBuildIn(BaseModel):
    """A new dataset version from reviewed labels and/or rendered demo scenes (and other versions)."""

    model_config = ConfigDict(extra="forbid")
    # the spec lists the profiles; the route refuses another with a message naming them (`choice`)
    profile: str = Field(description="site or lab", json_schema_extra={"enum": list(PROFILE_CLASSES)})
    name: str | None = Field(None, description="default: PROFILE-vN")
    reviews: bool = Field(True, description="include reviewed labels (confirmed, corrected, hard negatives)")
    scene_seeds: list[Annotated[int, Field(ge=0, le=2**31 - 1)]] = Field(
        default_factory=list, max_length=50, description="rendered demo scenes (seeds 0 to 2^31-1)")
    scene_duration_s: float = Field(20.0, gt=0, le=600)
    scene_fps: float = Field(1.0, gt=0, le=10)
    include: list[str] = Field(default_factory=list, max_length=20, description="other versions to merge")
    val: float = Field(0.15, ge=0, lt=0.5)
    test: float = Field(0.15, ge=0, lt=0.5)
    wait_s: float = Field(2.0, ge=0, le=30, description="answer with the version if the build ends this soon")


class JobIn(BaseModel):
    """A training job on a dataset version."""

    model_config = ConfigDict(extra="forbid")
    dataset: str = Field(min_length=1, description="dataset version name or id")
    epochs: int = Field(30, ge=1, le=1000)
    imgsz: int = Field(320, ge=32, le=1920, description="a multiple of 32",
                       json_schema_extra={"multipleOf": 32})  # shown in the spec; the validator says it plainly
    batch: int = Field(16, ge=1, le=512)
    device: str = Field("cpu", description="cpu, or CUDA device indexes such as 0 or 0,1",
                        json_schema_extra={"pattern": DEVICE_RE.pattern})
    base: Literal["scratch", "promoted"] = Field("scratch", description="train from scratch or fine-tune the "
                                                                         "promoted model")
    lr0: float | None = Field(None, gt=0, le=1)

    @field_validator("dataset", mode="before")
    @classmethod
    def _dataset_text(cls, v):
        return str(v) if isinstance(v, int) else v

    @field_validator("imgsz")
    @classmethod
    def _imgsz(cls, v: int) -> int:
        if v % 32:
            raise ValueError(f"expected a multiple of 32, found {v}")
        return v

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not DEVICE_RE.match(v):
            raise ValueError(f"expected cpu or CUDA device indexes such as 0 or 0,1, found {v!r}")
        return v


def model_dict(m) -> dict:
    return {"id": m.id, "name": m.name, "version": m.version, "profile": m.profile, "sha256": m.sha256,
            "classes": list(m.classes), "dataset_version": m.dataset_version, "metrics": m.metrics,
            "status": m.status, "trained_by": m.trained_by, "created_at": iso(m.created_at),
            "promoted_by": m.promoted_by, "promoted_at": iso(m.promoted_at),
            "format": PurePath(str(m.path)).suffix.lstrip(".")}  # pt | onnx: only a .pt can be fine-tuned


def job_dict(j: TrainingJob, dataset_names: dict[int, str] | None = None) -> dict:
    return {"id": j.id, "profile": j.profile, "dataset_version_id": j.dataset_version_id,
            "dataset_version": (dataset_names or {}).get(j.dataset_version_id), "status": j.status,
            "params": j.params, "device": j.device, "epoch": j.epoch, "epochs": j.epochs, "metrics": j.metrics,
            "error": j.error, "model_version_id": j.model_version_id, "created_by": j.created_by,
            "created_at": iso(j.created_at), "started_at": iso(j.started_at), "finished_at": iso(j.finished_at),
            "pid": j.pid}


def _dataset_names(s) -> dict[int, str]:
    return dict(s.execute(select(DatasetVersion.id, DatasetVersion.name)).all())


def jobs_service(request: Request):
    """The training service started by the app's lifespan; 503 when this app runs without it."""
    jobs = getattr(request.app.state, "jobs", None)
    if jobs is None:
        raise HTTPException(503, "the training service is not running in this server (started without jobs)")
    return jobs


@router.get("/api/models", response_model=ModelList)
def list_models(request: Request, profile: ProfileName | None = None, limit: int = Query(100, ge=1, le=500),
                offset: int = Query(0, ge=0), user: Principal = Depends(DATA)) -> dict:
    """Registered models, newest first, with their evaluation metrics and status."""
    from training import registry

    rows = sorted(registry.list_models(services_of(request).sessions, profile), key=lambda m: m.id, reverse=True)
    return {"items": [model_dict(m) for m in rows[offset:offset + limit]], "total": len(rows),
            "limit": limit, "offset": offset}


@router.get("/api/models/{model_id}", response_model=ModelOut)
def get_model(model_id: DbId, request: Request, user: Principal = Depends(DATA)) -> dict:
    from training import registry

    return model_dict(registry.get_model(services_of(request).sessions, model_id))


@router.post("/api/models/{model_id}/promote", response_model=PromoteOut,
             responses={409: {"model": GateRefusal, "description": "the evaluation gate refused"}})
def promote(model_id: DbId, body: PromoteIn, request: Request, user: Principal = Depends(DATA)):
    """Promote through the evaluation gate (the candidate is re-evaluated when the promoted model changed since
    it was trained); an admin may force past a refusal. Running pipelines hot-reload it."""
    from training import registry
    from training.compare import make_evaluator, policy_and_options

    services = services_of(request)
    policy, options = policy_and_options(services.loaded)
    result = registry.promote(services.sessions, model_id, user.username, role=user.role, force=body.force,
                              policy=policy, evaluator=make_evaluator(services.sessions, services.data_dir, options))
    decision = result.decision.as_dict()
    if not result.promoted:
        return JSONResponse({"detail": f"the evaluation gate refused {result.model.version}: "
                                       f"{result.decision.reason}", "gate": decision,
                             "model": model_dict(result.model)}, 409)
    return {"promoted": True, "forced": result.forced, "gate": decision, "model": model_dict(result.model),
            "previous": model_dict(result.previous) if result.previous else None}


@router.post("/api/models/rollback", response_model=RollbackOut)
def rollback(body: RollbackIn, request: Request, user: Principal = Depends(DATA)) -> dict:
    """Demote the promoted model of a profile and re-promote the one before it."""
    from training import registry

    choice(body.profile, tuple(PROFILE_CLASSES), "profile")
    now = registry.rollback(services_of(request).sessions, body.profile, user.username)
    return {"profile": body.profile, "model": model_dict(now) if now else None}


@router.get("/api/jobs", response_model=JobList)
def list_jobs(request: Request, state: JobStatus | None = None, limit: int = Query(50, ge=1, le=500),
              offset: int = Query(0, ge=0), user: Principal = Depends(DATA)) -> dict:
    """Training jobs, newest first, with per-epoch metric history for the curves."""
    with services_of(request).sessions() as s:
        q = select(TrainingJob).order_by(TrainingJob.id.desc())
        if state:
            q = q.where(TrainingJob.status == state)
        rows = s.scalars(q).all()
        names = _dataset_names(s)
        return {"items": [job_dict(j, names) for j in rows[offset:offset + limit]], "total": len(rows),
                "limit": limit, "offset": offset}


@router.get("/api/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: DbId, request: Request, user: Principal = Depends(DATA)) -> dict:
    with services_of(request).sessions() as s:
        j = s.get(TrainingJob, job_id)
        if j is None:
            raise not_found("job", job_id)
        return job_dict(j, _dataset_names(s))


@router.post("/api/jobs", status_code=201, response_model=JobOut)
def submit_job(body: JobIn, request: Request, user: Principal = Depends(DATA)) -> dict:
    """Queue a training job; the server's job runner takes it (one at a time by default). Progress arrives as
    `job.progress` events on /api/events."""
    from training import jobs
    from vigil import audit

    services, runner = services_of(request), jobs_service(request)
    version = _known_dataset(services, body.dataset)
    _check_training_request(services, version, body)
    params = {"epochs": body.epochs, "imgsz": body.imgsz, "batch": body.batch, "device": body.device,
              "base_weights": "promoted" if body.base == "promoted" else ""}
    if body.lr0 is not None:
        params["lr0"] = body.lr0
    job = jobs.submit_job(services.sessions, dataset=version.id, params=params, created_by=user.username)
    audit.record(services.sessions, user.username, "job.submit", "job", str(job.id),
                 {"dataset_version": version.name, "params": params})
    runner.submitted(job)
    return get_job(job.id, request, user)


@router.post("/api/jobs/{job_id}/cancel", response_model=JobOut, responses={
    202: {"model": JobOut, "description": "running: asked to stop (cancelling); cancelled once its trainer stopped"},
    409: {"description": "the job already ended or is registering its model"}})
def cancel_job(job_id: DbId, request: Request, user: Principal = Depends(DATA)):
    """Cancel a training job: a queued one at once (200, cancelled); a running one is asked to stop (202,
    cancelling) and becomes cancelled when its trainer stopped, registering no model. `job.progress` events
    carry both changes. 409 names the state of a job that cannot be cancelled any more."""
    from training import jobs
    from vigil import audit

    services = services_of(request)
    job = jobs.cancel_job(services.sessions, job_id)
    audit.record(services.sessions, user.username, "job.cancel", "job", str(job_id), {"status": job.status})
    runner = getattr(request.app.state, "jobs", None)
    if runner is not None:
        runner.submitted(job)
    body = get_job(job_id, request, user)
    return JSONResponse(body, 202) if body["status"] == "cancelling" else body


def _known_dataset(services, ref: str):
    from datasets.versions import get_version, list_versions

    try:
        return get_version(services.sessions, ref)
    except NotFoundError:
        known = ", ".join(v.name for v in list_versions(services.sessions)[-10:]) or "none built yet"
        raise HTTPException(422, f"dataset: unknown dataset version {ref!r}; known: {known}") from None


def _check_training_request(services, version, body: JobIn) -> None:
    """What would only fail later, on the runner: held-out seeds in the data, no promoted base, no GPU."""
    from training.compare import policy_and_options
    from training.evaluate import check_heldout
    from training.registry import promoted_model, weights_of
    from vigil.errors import TrainingError

    _policy, options = policy_and_options(services.loaded)
    try:
        check_heldout(options, version.sources)
    except TrainingError as e:
        raise HTTPException(422, f"dataset: {e}") from None
    if body.base == "promoted":
        rec = promoted_model(services.sessions, version.profile)
        if rec is None or weights_of(rec) is None:
            raise HTTPException(422, f"base: no promoted {version.profile} model with a .pt checkpoint to "
                                     f"fine-tune; use base 'scratch'")
    if body.device != "cpu":
        _check_gpu(body.device)


def _check_gpu(device: str) -> None:
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    missing = [d for d in device.split(",") if int(d) >= count]
    if missing:
        raise HTTPException(422, f"device: CUDA device {missing[0]} is not available on this server "
                                 f"({count} GPU(s) found); use cpu")


@router.get("/api/datasets", response_model=DatasetList)
def list_datasets(request: Request, user: Principal = Depends(DATA)) -> dict:
    with services_of(request).sessions() as s:
        rows = s.scalars(select(DatasetVersion).order_by(DatasetVersion.id.desc())).all()
        items = [{"id": d.id, "name": d.name, "profile": d.profile, "content_hash": d.content_hash,
                  "stats": d.stats, "created_by": d.created_by, "created_at": iso(d.created_at)} for d in rows]
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}


@router.post("/api/datasets", status_code=201, response_model=BuildStarted,
             responses={202: {"model": BuildStarted, "description": "still building: poll the build"}})
def build_dataset(body: DatasetBuildIn, request: Request, user: Principal = Depends(DATA)):
    """Build a dataset version on a background thread. 201 with the version when it ends within `wait_s`,
    else 202 with a build to poll at /api/datasets/builds/{id}; 422 when the request or the build is refused."""
    from datasets.versions import BuildSpec

    services, runner = services_of(request), jobs_service(request)
    _check_build_request(services, body)
    spec = BuildSpec(body.profile, name=body.name, reviews=body.reviews, scene_seeds=tuple(body.scene_seeds),
                     scene_duration_s=body.scene_duration_s, scene_fps=body.scene_fps, include=tuple(body.include),
                     val=body.val, test=body.test, created_by=user.username)
    state = runner.builds.wait(runner.builds.start(spec).id, body.wait_s)
    if state.status == "failed":
        raise HTTPException(422, f"dataset build failed: {state.error}")
    if state.status == "done":
        return JSONResponse({"build": state.as_dict(), "version": state.version}, 201)
    return JSONResponse({"build": state.as_dict(), "version": None}, 202,
                        headers={"Location": f"/api/datasets/builds/{state.id}"})


def _check_build_request(services, body: DatasetBuildIn) -> None:
    from datasets.versions import NAME_RE, get_version
    from training.compare import policy_and_options

    choice(body.profile, tuple(PROFILE_CLASSES), "profile")
    if not (body.reviews or body.scene_seeds or body.include):
        raise HTTPException(422, "nothing to build from: set reviews, scene_seeds or include")
    if body.name is not None:
        if not NAME_RE.match(body.name):
            raise HTTPException(422, f"name: expected lower-case letters, digits, '.', '_' or '-' (at most 64), "
                                     f"found {body.name!r}")
        if _exists(services, body.name):
            raise HTTPException(422, f"name: dataset version {body.name!r} already exists; choose another name")
    _policy, options = policy_and_options(services.loaded)
    clash = sorted(set(body.scene_seeds) & set(options.scene_seeds))
    if clash:
        raise HTTPException(422, f"scene_seeds: {clash} are the held-out evaluation scenes "
                                 f"(training.eval_scene_seeds); choose other seeds")
    for ref in body.include:
        try:
            other = get_version(services.sessions, ref)
        except NotFoundError:
            raise HTTPException(422, f"include: unknown dataset version {ref!r}") from None
        if other.profile != body.profile:
            raise HTTPException(422, f"include: {other.name!r} is a {other.profile} dataset, not {body.profile}")


def _exists(services, name: str) -> bool:
    with services.sessions() as s:
        return s.scalars(select(DatasetVersion.id).where(DatasetVersion.name == name)).first() is not None


@router.get("/api/datasets/builds", response_model=BuildList)
def list_builds(request: Request, user: Principal = Depends(DATA)) -> dict:
    """Dataset builds (kept in the database across restarts), newest first; each runs in a worker process."""
    items = [b.as_dict() for b in jobs_service(request).builds.list()]
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}


@router.get("/api/datasets/builds/{build_id}", response_model=BuildOut)
def get_build(build_id: DbId, request: Request, user: Principal = Depends(DATA)) -> dict:
    state = jobs_service(request).builds.get(build_id)
    if state is None:
        raise not_found("dataset build", build_id)
    return state.as_dict()


@router.post("/api/datasets/builds/{build_id}/cancel", response_model=BuildOut, responses={
    409: {"description": "the build already ended"}})
def cancel_build(build_id: DbId, request: Request, user: Principal = Depends(DATA)) -> dict:
    """Cancel a queued or running dataset build: its worker process is stopped (SIGTERM, then SIGKILL), what it
    half wrote is removed, and it reads cancelled. 409 names the state of a build that already ended."""
    from vigil import audit

    builds = jobs_service(request).builds
    builds.cancel(build_id)
    audit.record(services_of(request).sessions, user.username, "dataset.build_cancel", "dataset_build",
                 str(build_id), {})
    return builds.wait(build_id, builds.kill_grace_s + 10).as_dict()
