"""The web UI's pages: server-rendered shells (Jinja2) whose scripts fetch the JSON API."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from api.auth.deps import AllowPage, authenticate
from api.auth.roles import ADMIN, ADMIN_ONLY, DATA_STAFF, EVERYONE, LEAD_WORKFLOW, MODELS, REVIEW, REVIEWER, WALL
from api.auth.users import Principal
from api.i18n import LANG_COOKIE, LANGUAGES, catalogue, pick

router = APIRouter(include_in_schema=False)
WEB = Path(__file__).resolve().parent.parent / "web"
templates = Jinja2Templates(directory=str(WEB / "templates"))
LABEL = frozenset({REVIEWER, DATA_STAFF})  # the "To label" queue (active learning)
NAV = (("wall", "/wall", WALL), ("alerts", "/alerts", WALL), ("review", "/review", REVIEW),
       ("label", "/label", LABEL), ("leads", "/leads", LEAD_WORKFLOW), ("sites", "/sites", EVERYONE),
       ("models", "/models", MODELS), ("cameras", "/cameras", ADMIN_ONLY), ("users", "/users", ADMIN_ONLY))


def render(request: Request, page: str, user: Principal | None, **extra) -> HTMLResponse:
    lang = pick(request.cookies.get(LANG_COOKIE), user.language if user else None)
    cat = catalogue(lang)
    nav = [(name, href) for name, href, roles in NAV if user and (user.role == ADMIN or user.role in roles)]
    ctx = {"page": page, "user": user, "lang": lang, "languages": LANGUAGES, "nav": nav, "i18n": cat,
           "t": lambda key: cat.get(key, key), **extra}
    template = {"login": "login.html", "error": "error.html"}.get(page, "page.html")
    return templates.TemplateResponse(request, template, ctx)


def safe_next(target: str | None) -> str:
    r"""Where to go after sign-in: a path on this site, else "/". Browsers read `/\host`, `//host`, `/\t/host`
    (they drop tabs and newlines) and `https:host` as another site, so only a plain absolute path passes."""
    if not target or len(target) > 2000 or not target.startswith("/") or target[1:2] == "/":
        return "/"
    if "\\" in target or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request):
    return render(request, "login", None, next_url=safe_next(request.query_params.get("next")))


@router.get("/")
def home(request: Request, user: Principal = Depends(AllowPage(EVERYONE))):
    target = "/models" if user.role == DATA_STAFF else "/wall"
    return RedirectResponse(target, 303)


def _exists(request: Request, name: str, params: dict) -> bool:
    """A page about one thing (an alert, a camera) answers 404 when that thing does not exist."""
    services = request.app.state.services
    if name == "alert":
        from vigil.db.models import Alert

        with services.sessions() as s:
            return s.get(Alert, params["alert_id"]) is not None
    if name in ("camera", "zones"):
        return params["camera_id"] in services.loaded.config.cameras
    return True


def _page(name: str, roles: frozenset[str], path: str, **params):
    guard = AllowPage(roles)

    def handler(request: Request, user: Principal = Depends(guard)) -> HTMLResponse:
        if not _exists(request, name, dict(request.path_params)):
            from api.routes.error_pages import error_page

            return error_page(request, 404, f"{name} {next(iter(request.path_params.values()))!r} not found")
        return render(request, name, user, params=dict(request.path_params))

    handler.__name__ = f"page_{name}"
    router.add_api_route(path, handler, methods=["GET"], response_class=HTMLResponse)


for _name, _roles, _path in (("wall", WALL, "/wall"), ("camera", WALL, "/wall/{camera_id}"),
                             ("review", REVIEW, "/review"), ("leads", LEAD_WORKFLOW, "/leads"),
                             ("lead", LEAD_WORKFLOW, "/leads/{lead_id}"), ("sites", EVERYONE, "/sites"),
                             ("site", EVERYONE, "/sites/{site_id}"), ("models", MODELS, "/models"),
                             ("users", ADMIN_ONLY, "/users"), ("alerts", WALL, "/alerts"),
                             ("alert", WALL, "/alerts/{alert_id}"), ("dataset", MODELS, "/datasets/{dataset_id}"),
                             ("inbox", LEAD_WORKFLOW, "/inbox"), ("zones", ADMIN_ONLY, "/wall/{camera_id}/zones"),
                             ("cameras", ADMIN_ONLY, "/cameras"), ("label", LABEL, "/label")):
    _page(_name, _roles, _path)


def login_redirect(request: Request) -> RedirectResponse:
    """Where an anonymous browser goes: the login page, then back."""
    from urllib.parse import quote

    return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)


def current_or_none(request: Request) -> Principal | None:
    return authenticate(request)
