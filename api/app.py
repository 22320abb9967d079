"""The FastAPI application factory: health, public key, and the routers of each area."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import shutil
from typing import Any, Mapping

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from api.context import Services
from vigil import __version__

log = logging.getLogger(__name__)


def create_app(services: Services, *, run_cameras: bool = True, run_jobs: bool = True,
               runtime_options: Mapping[str, Any] | None = None) -> FastAPI:
    """Build the app around opened services; `run_cameras` starts the stream service in the lifespan (with
    `runtime_options` given to `start_runtime`: scripted detectors in tests and benches), `run_jobs` the training
    job runner and dataset builds (with or without cameras)."""
    from api.auth.scrape import ScrapeGuard
    from api.metrics import VigilMetrics

    server_cfg = services.loaded.config.server
    scrape_guard = ScrapeGuard.from_config(server_cfg.metrics, services.settings.env, server_cfg.host)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.runtime = None
        app.state.jobs = None
        listener = None
        if server_cfg.metrics.listen:
            from api.metrics import MetricsListener

            listener = MetricsListener(app.state.metrics, server_cfg.metrics.listen)
            log.info("metrics: also served on %s (server.metrics.listen)", listener.address)
        if run_cameras or run_jobs:
            from api.service.shipped import adopt_config_models  # the registry shows the model cameras run

            adopt_config_models(services)
        if run_cameras:
            from api.service.runtime import start_runtime  # the camera service (streams + vision + evidence)

            app.state.runtime = start_runtime(services, metrics=app.state.metrics, **dict(runtime_options or {}))
        try:
            if run_jobs:
                from api.service.jobs import start_jobs  # training jobs publish job.progress on services.events

                app.state.jobs = start_jobs(services)
            yield
        finally:
            if app.state.jobs is not None:
                app.state.jobs.stop()
            if app.state.runtime is not None:
                app.state.runtime.stop()
            if listener is not None:
                listener.close()

    app = FastAPI(title="Vigil", version=__version__, lifespan=lifespan,
                  description="Camera analytics for environmental and lab-safety enforcement.")
    app.state.services = services
    app.state.scrape_guard = scrape_guard
    app.state.metrics = VigilMetrics(lambda: getattr(app.state, "runtime", None))
    from api.routes.body_limit import BodyLimit

    app.add_middleware(BodyLimit)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError):
        return JSONResponse({"detail": "the database is unavailable; try again shortly"}, status_code=503,
                            headers={"Retry-After": "5"})

    from api.routes.site_schemas import HealthOut

    @app.get("/healthz", tags=["system"], response_model=HealthOut, response_model_exclude_unset=True,
             responses={503: {"model": HealthOut, "description": "not ok: the database does not answer"}})
    def healthz(request: Request, response: Response) -> dict:
        """"ok", "degraded" (with the problems: outbox, disk space, cameras in error) or "not ok" (503: the
        database does not answer). The details only to a signed-in caller: an anonymous one learns the status
        alone, never the S3 endpoint or bucket."""
        body, problems = health(services, getattr(app.state, "runtime", None))
        if not body["database"]:
            response.status_code = 503
            return {"status": "not ok"}
        status = "ok" if not problems else "degraded"
        from api.auth.deps import authenticate

        if authenticate(request) is None:
            return {"status": status}
        body.update(status=status, problems=problems)
        return body

    @app.get("/api/public-key", response_class=PlainTextResponse, tags=["evidence"])
    def public_key() -> str:
        """The Ed25519 public key that verifies every evidence manifest (PEM)."""
        return services.signer.public_key_pem().decode()

    from api.routes import include_routers

    include_routers(app)
    return app


def _free_mb(path) -> int | None:
    try:
        return shutil.disk_usage(path).free >> 20
    except OSError:
        return None


def health(services: Services, runtime) -> tuple[dict, list[str]]:
    """What /healthz reports, and the list of problems (empty when all is well): English texts; the body's
    `problem_details` has each one's code and parameters too (api.problems)."""
    from api.problems import Problem, problem

    found: list[Problem] = []
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        db_ok = True
    except Exception:  # noqa: BLE001 - health reports, never raises
        db_ok = False
        found.append(problem("database_unreachable"))
    rel = services.loaded.config.reliability
    disks = {"data_dir": _free_mb(services.data_dir)}
    root = getattr(services.store, "root", None)
    if root is not None:
        disks["evidence"] = _free_mb(root)
    for name, free in disks.items():
        if free is not None and free < rel.min_free_mb:
            found.append(problem("disk_low", disk=name, free_mb=free, min_mb=rel.min_free_mb))
    body: dict[str, Any] = {"version": __version__, "database": db_ok, "store": services.store.describe(),
            "cameras": len(services.loaded.config.cameras), "runtime": runtime is not None,
            "disk_free_mb": disks}
    if runtime is not None:
        body["outbox"] = runtime.outbox.summary()
        lanes = body["outbox"]["lanes"]
        for lane, st in lanes.items():
            if st["attempts"]:
                found.append(problem("outbox_waiting", lane=lane, jobs=st["jobs"], oldest_s=st["oldest_age_s"],
                                     error=str(st["last_error"])))
        if body["outbox"]["filling"]:
            box = body["outbox"]
            found.append(problem("outbox_filling", bytes=box["bytes"], max_bytes=box["max_bytes"]))
        if getattr(runtime, "lock_problem", None):
            found.append(problem("instance_lock", error=runtime.lock_problem))
        if getattr(runtime, "recording", None) is not None:
            found += runtime.recording.problems()
        states = runtime.camera_states()
        body["camera_states"] = {cid: {"state": st.state, "error": st.last_error} for cid, st in states.items()}
        for cid, st in states.items():
            if st.state in ("offline", "stalled", "reconnecting"):
                found.append(problem("camera", camera=cid, state=st.state, error=st.last_error or ""))
    body["problem_details"] = [p.as_dict() for p in found]
    return body, [p.text for p in found]
