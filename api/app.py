"""The FastAPI application factory: health, public key, and the routers of each area."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from sqlalchemy import text

from api.context import Services
from vigil import __version__

log = logging.getLogger(__name__)


def create_app(services: Services, *, run_cameras: bool = True, run_jobs: bool = True) -> FastAPI:
    """Build the app around opened services; `run_cameras` starts the stream service in the lifespan,
    `run_jobs` the training job runner and dataset builds (with or without cameras)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.runtime = None
        app.state.jobs = None
        if run_cameras or run_jobs:
            from api.service.shipped import adopt_config_models  # the registry shows the model cameras run

            adopt_config_models(services)
        if run_cameras:
            from api.service.runtime import start_runtime  # the camera service (streams + vision + evidence)

            app.state.runtime = start_runtime(services)
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

    app = FastAPI(title="Vigil", version=__version__, lifespan=lifespan,
                  description="Camera analytics for environmental and lab-safety enforcement.")
    app.state.services = services
    from api.routes.body_limit import BodyLimit

    app.add_middleware(BodyLimit)

    @app.get("/healthz", tags=["system"])
    def healthz(request: Request, response: Response) -> dict:
        """"ok" (200) or "not ok" (503: the database does not answer); the details (version, store, cameras,
        runtime) only to a signed-in caller: an anonymous one must not learn the S3 endpoint or bucket."""
        try:
            with services.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            status = "ok"
        except Exception:  # noqa: BLE001 - any database failure is "not ok", said without its details
            log.warning("health check: the database does not answer", exc_info=True)
            status, response.status_code = "not ok", 503
        from api.auth.deps import authenticate

        if status != "ok" or authenticate(request) is None:  # signing in needs the database too
            return {"status": status}
        runtime = getattr(app.state, "runtime", None)
        return {"status": status, "version": __version__, "store": services.store.describe(),
                "cameras": len(services.loaded.config.cameras), "runtime": runtime is not None}

    @app.get("/api/public-key", response_class=PlainTextResponse, tags=["evidence"])
    def public_key() -> str:
        """The Ed25519 public key that verifies every evidence manifest (PEM)."""
        return services.signer.public_key_pem().decode()

    from api.routes import include_routers

    include_routers(app)
    return app
