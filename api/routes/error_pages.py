"""Errors for people and for programs: a browser asking for a page gets an HTML page in its language, the JSON API
(and any caller that does not ask for HTML) gets {"detail": ...}."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
PAGE_STATUSES = (401, 403, 404, 405, 409, 422, 500)


def wants_html(request: Request) -> bool:
    """A person's browser: a GET outside /api whose Accept header puts HTML first or alone."""
    if request.url.path.startswith("/api/") or request.method not in ("GET", "HEAD"):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept


def error_page(request: Request, status: int, detail: str):
    from api.routes.pages import current_or_none, render

    try:
        user = current_or_none(request)
    except Exception:  # noqa: BLE001 - an error page must render even when the database is the problem
        user = None
    shown = status if status in PAGE_STATUSES else (500 if status >= 500 else 400)
    response = render(request, "error", user, status=shown, detail=detail, params={})
    response.status_code = status
    return response


def respond(request: Request, status: int, detail, headers: dict | None = None):
    if wants_html(request):
        return error_page(request, status, detail if isinstance(detail, str) else "")
    return JSONResponse({"detail": detail}, status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if wants_html(request):
            return error_page(request, exc.status_code, exc.detail if isinstance(exc.detail, str) else "")
        return await http_exception_handler(request, exc)  # FastAPI's own JSON (and body-less statuses)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(request, 500, "internal error; the server log has the details")
