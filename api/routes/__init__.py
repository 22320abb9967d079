"""HTTP routes by area; `include_routers` mounts every area's router on the app."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from vigil.errors import AuthError, InputError, NotFoundError, VigilError

SECRET_FIELDS = ("password", "secret", "token", "source")  # a validation error never echoes what was sent in these

# routes anyone may call: signing in, health, the evidence public key, the login page, static assets, docs;
# /metrics has its own guard (api.auth.scrape: the metrics token, or open by config), not a user's role
PUBLIC_PATHS = frozenset({"/api/auth/login", "/healthz", "/api/public-key", "/login", "/static", "/rectify/{token}",
                          "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


def _error_handlers(app: FastAPI) -> None:
    from api.auth.deps import LoginRequired
    from api.routes.pages import login_redirect

    def status_for(exc: VigilError) -> int:
        if isinstance(exc, NotFoundError):
            return 404
        if isinstance(exc, AuthError):
            return 403
        if isinstance(exc, InputError):
            return 422
        return 409

    @app.exception_handler(VigilError)
    async def vigil_error(request: Request, exc: VigilError):
        from api.routes.error_pages import respond

        return respond(request, status_for(exc), str(exc))

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        return login_redirect(request)

    _input_handlers(app)
    from api.routes import error_pages  # HTML error pages for browsers, JSON for the API

    error_pages.install(app)


def _input_handlers(app: FastAPI) -> None:
    """Input the database cannot hold (a NUL character, a number past its integer range) is the caller's error
    (422), not a 500; a validation error shows what was sent, except for passwords and secrets."""
    from fastapi.encoders import jsonable_encoder
    from fastapi.exceptions import RequestValidationError
    from sqlalchemy.exc import DataError

    def refused(found: str) -> JSONResponse:
        return JSONResponse({"detail": "expected text without NUL characters and whole numbers within the "
                                       f"database's range (ids, limit, offset), found {found}"}, 422)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError):
        return refused(f"a value the database refused ({str(exc.orig).splitlines()[0][:200]})")

    @app.exception_handler(OverflowError)
    async def overflow(request: Request, exc: OverflowError):
        return refused(f"a number too large ({str(exc)[:200]})")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        errors = jsonable_encoder(exc.errors())
        for err in errors:
            if any(word in str(part).lower() for part in err.get("loc", ()) for word in SECRET_FIELDS):
                err.pop("input", None)
        return JSONResponse({"detail": errors}, 422)


def _auth_state(app: FastAPI) -> None:
    from api.auth.cookies import CookieSigner, load_secret
    from api.auth.deps import AuthState
    from api.auth.ratelimit import LoginLimiter

    services = app.state.services
    secret = load_secret(services.settings.secret_key, services.data_dir)
    app.state.auth = AuthState(CookieSigner(secret), LoginLimiter())
    if services.events is None:  # live updates for review and leads even without cameras; the runtime replaces it
        from api.service.events import EventBus

        services.events = EventBus()


def include_routers(app: FastAPI) -> None:
    """Each area adds its router here (auth, alerts, leads, sites, models, wall, UI pages)."""
    from api.routes import (alert_list, alerts, auth, camera_admin, cameras, dataset_browser, events, inbox,
                            label_tasks, lead_workflow, leads, live_analysis, live_video, metrics, models, pages,
                            recordings, rectify, sites, system)

    _auth_state(app)
    _error_handlers(app)
    from api.routes.responses import ERRORS

    for module in (auth, alert_list, alerts, cameras, camera_admin, events, leads, lead_workflow, rectify, sites,
                   models, dataset_browser, inbox, recordings, pages, system, metrics, live_analysis, label_tasks):
        app.include_router(module.router, responses=ERRORS)
    app.include_router(live_video.router)  # a WebSocket route: its refusals are handshake answers, not ERRORS
    app.mount("/static", StaticFiles(directory=str(pages.WEB / "static")), name="static")
    from api.routes.allow import AllowEveryMethod

    app.add_middleware(AllowEveryMethod, spec=app.openapi)
