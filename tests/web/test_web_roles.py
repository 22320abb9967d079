"""Every route of the app refuses anonymous callers and roles that should not have it; public ones stay open."""
from __future__ import annotations

import re

import pytest
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Mount

from api.auth.deps import Allow, AllowPage
from api.auth.users import create_token
from api.routes import PUBLIC_PATHS
from tests.web.seed import ROLE_USERS
from vigil.db.models import ROLES


def _allow_of(route: APIRoute | APIWebSocketRoute) -> Allow | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Allow):
            return dep.call
        stack.extend(dep.dependencies)
    return None


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def all_routes(routes):
    """Every route of the app, with included routers flattened (FastAPI keeps them as nested objects)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            assert not getattr(route.include_context, "prefix", ""), "flattening assumes routers without prefix"
            yield from all_routes(inner.routes)
        else:
            yield route


def _routes(app):
    for route in all_routes(app.routes):
        if isinstance(route, APIRoute):
            for method in sorted(route.methods - {"HEAD"}):
                yield route, method


@pytest.fixture
def tokens(client, web_services):
    from sqlalchemy import select

    from vigil.db.models import User

    out = {}
    with web_services.sessions() as s:
        ids = {u.role: u.id for u in s.scalars(select(User))}
    # token 1 is nobody's working token: every role calls DELETE /api/auth/tokens/1 and must keep its own
    create_token(web_services.sessions, ids["admin"], "throwaway")
    for role in ROLES:
        out[role] = create_token(web_services.sessions, ids[role], "test")
    return out


def test_every_route_is_guarded_or_listed_public(client):
    app = client.app
    routes = list(all_routes(app.routes))
    assert {type(r).__name__ for r in routes} <= {"APIRoute", "APIWebSocketRoute", "Route", "Mount"}
    unguarded = [r.path for r in routes if not isinstance(r, Mount) and
                 (not isinstance(r, (APIRoute, APIWebSocketRoute)) or _allow_of(r) is None)]
    # WebSocket refusals (anonymous, role, Origin) are handshake answers: tests/web/test_live_video.py checks them
    assert [r.path for r in routes if isinstance(r, APIWebSocketRoute)] == ["/api/cameras/{camera_id}/video"]
    assert sorted(set(unguarded) - PUBLIC_PATHS) == [], "routes without a role check"
    mounts = [r.path for r in routes if isinstance(r, Mount)]
    assert set(mounts) <= PUBLIC_PATHS
    guarded = [r for r in routes if isinstance(r, APIRoute) and _allow_of(r) is not None]
    assert len(guarded) >= 30  # the API and pages exist at all


def test_anonymous_is_refused_everywhere_but_public(client):
    checked = 0
    for route, method in _routes(client.app):
        allow = _allow_of(route)
        if allow is None:
            continue
        r = client.request(method, _concrete(route.path), follow_redirects=False)
        if isinstance(allow, AllowPage):
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), route.path
        else:
            assert r.status_code == 401, (method, route.path, r.status_code)
        checked += 1
    assert checked >= 30
    for path in ("/healthz", "/api/public-key", "/login", "/static/vigil.css"):
        assert client.get(path).status_code == 200, path


def test_each_role_is_refused_where_it_does_not_belong(client, tokens):
    refused = allowed = 0
    for route, method in _routes(client.app):
        allow = _allow_of(route)
        if allow is None:
            continue
        streaming = route.response_class is StreamingResponse  # endless for allowed roles: see the live tests
        for role in ROLES:
            if streaming and role in allow.roles:
                continue
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            r = client.request(method, _concrete(route.path), headers=headers, follow_redirects=False)
            if role in allow.roles:
                assert r.status_code not in (401, 403), (role, method, route.path, r.text)
                allowed += 1
            else:
                assert r.status_code == 403, (role, method, route.path, r.status_code)
                refused += 1
    assert refused > 50 and allowed > 50


@pytest.mark.parametrize("role, path, ok", [
    ("operator", "/api/alerts", True), ("operator", "/api/review/next", False), ("operator", "/api/leads", False),
    ("reviewer", "/api/review/next", True), ("reviewer", "/api/models", False),
    ("reviewer", "/api/leads", True),  # a reviewer approves or dismisses leads in review (the workflow table)
    ("officer", "/api/leads", True), ("officer", "/api/models", False), ("officer", "/api/users", False),
    ("data_staff", "/api/models", True), ("data_staff", "/api/alerts", False), ("data_staff", "/api/users", False),
    ("admin", "/api/users", True), ("admin", "/api/models", True), ("admin", "/api/leads", True),
])
def test_role_table(client, tokens, role, path, ok):
    r = client.get(path, headers={"Authorization": f"Bearer {tokens[role]}"})
    assert (r.status_code == 200) is ok and (r.status_code == 403) is not ok, r.text


def test_names_of_role_users_match_roles():
    assert set(ROLE_USERS) == set(ROLES)
