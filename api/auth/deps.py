"""FastAPI dependencies: who is calling (cookie or bearer token), may they, and is the CSRF token right."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from fastapi import HTTPException, Request
from sqlalchemy import select

from api.auth.cookies import CSRF_HEADER, SESSION_COOKIE, CookieSigner, password_tag
from api.auth.ratelimit import LoginLimiter
from api.auth.roles import ADMIN
from api.auth.sessions import session_ended
from api.auth.users import Principal, hash_token
from vigil.db.models import ApiToken, User, utcnow

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# a token's last use is written at most this often: a script polling every second must not write every second
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass
class AuthState:
    """Per-app auth machinery, at `app.state.auth`."""

    signer: CookieSigner
    limiter: LoginLimiter
    secure_cookies: bool = False


class LoginRequired(Exception):
    """Raised by page dependencies: the handler redirects to the login page."""


def _from_token(request: Request, token: str) -> Principal | None:
    services = request.app.state.services
    with services.sessions() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False)))
        user = s.get(User, row.user_id) if row else None
        if user is None or not user.active:
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            row.last_used_at = now
            s.commit()
        return Principal(user.id, user.username, user.role, user.language, "token")


def _from_cookie(request: Request) -> Principal | None:
    auth: AuthState = request.app.state.auth
    data = auth.signer.read(request.cookies.get(SESSION_COOKIE))
    if data is None:
        return None
    with request.app.state.services.sessions() as s:
        user = s.get(User, data.user_id)
        if user is None or not user.active or password_tag(user.password_hash) != data.pw_tag:
            return None
        if session_ended(s, user, data):
            return None
        return Principal(user.id, user.username, user.role, user.language, "cookie", auth.signer.csrf_token(data))


def authenticate(request: Request) -> Principal | None:
    """The caller, from a bearer token (scripts) or the session cookie (the UI); None when anonymous."""
    if "principal" in request.state._state:
        return request.state.principal
    header = request.headers.get("authorization", "")
    principal = None
    if header[:7].lower() == "bearer ":
        principal = _from_token(request, header[7:].strip())
    else:
        principal = _from_cookie(request)
    request.state.principal = principal
    return principal


def check_csrf(request: Request, principal: Principal) -> None:
    """Cookie-authenticated writes must echo the session's CSRF token in a header (double submit)."""
    if principal.via != "cookie" or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent, principal.csrf):
        raise HTTPException(403, "CSRF token missing or wrong: send the vigil_csrf cookie's value in X-CSRF-Token")


class Allow:
    """`Depends(Allow(roles))`: the caller must be signed in with one of `roles` (admin always may)."""

    page = False

    def __init__(self, roles: frozenset[str] | set[str]):
        self.roles = frozenset(roles) | {ADMIN}

    def __call__(self, request: Request) -> Principal:
        principal = authenticate(request)
        if principal is None:
            if self.page:
                raise LoginRequired()
            raise HTTPException(401, "sign in first (session cookie or Authorization: Bearer token)",
                                headers={"WWW-Authenticate": "Bearer"})
        if principal.role not in self.roles:
            raise HTTPException(403, f"role {principal.role!r} may not do this; needs one of "
                                     f"{', '.join(sorted(self.roles))}")
        check_csrf(request, principal)
        return principal


class AllowPage(Allow):
    """Like `Allow`, but an anonymous browser is sent to the login page."""

    page = True
