"""Sign in and out, the caller's own account and tokens, and user management (admin)."""
from __future__ import annotations

import math
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import Field
from sqlalchemy import func, select

from api.auth.cookies import CSRF_COOKIE, SESSION_COOKIE, password_tag
from api.auth.deps import Allow, AuthState
from api.auth.passwords import DUMMY_HASH, hash_password, verify_password
from api.auth.roles import ADMIN as ADMIN_ROLE, ADMIN_ONLY, EVERYONE
from api.auth.sessions import end_all_sessions, revoke_session
from api.auth.users import Principal, create_user, issue_token
from api.routes.auth_schemas import (LoginOut, LogoutOut, MeOut, NewTokenOut, TokenList, TokenOut, UserList,
                                     UserOut)
from api.routes.common import StrictIn, iso, not_found, services_of
from api.routes.schemas import DbId
from vigil.audit import record
from vigil.db.models import ROLES, ApiToken, User

router = APIRouter(tags=["auth"])
SIGNED_IN = Allow(EVERYONE)
ADMIN = Allow(ADMIN_ONLY)


class LoginIn(StrictIn):
    username: str = Field(..., max_length=64)
    password: str = Field(..., max_length=256)


class LogoutIn(StrictIn):
    everywhere: bool = Field(False, description="end every session of this user (all browsers), not only this one")


class TokenIn(StrictIn):
    name: str = Field("script", max_length=100)


# the roles as the spec shows them (tests check it equals vigil.db.models.ROLES): a request naming another is
# invalid by the spec itself, not only refused by the route
RoleName = Literal["operator", "reviewer", "officer", "data_staff", "admin"]


EMAIL = r"^([^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+)?$"  # one address, or none


class UserIn(StrictIn):
    username: str = Field(..., pattern=r"^[\w.-]{1,64}$", description="letters, digits, '.', '_' or '-'")
    role: RoleName
    password: str = Field(..., min_length=8, max_length=256)
    display_name: str = ""
    email: str = Field("", pattern=EMAIL, max_length=200, description="for overdue escalations by e-mail (optional)")


class UserPatch(StrictIn):
    role: RoleName | None = None
    active: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=256)
    language: str | None = Field(None, pattern="^(en|zh)$")
    email: str | None = Field(None, pattern=EMAIL, max_length=200, description="e-mail address ('' removes it)")
    current_password: str | None = Field(None, max_length=256, description="needed to change one's own password")


def user_dict(u: User) -> dict:
    return {"id": u.id, "username": u.username, "role": u.role, "display_name": u.display_name,
            "language": u.language, "email": u.email, "active": u.active, "created_at": iso(u.created_at)}


def token_dict(t: ApiToken) -> dict:
    """A token's public facts; never its hash, and the token itself is shown only once, at creation."""
    return {"id": t.id, "user_id": t.user_id, "name": t.name, "created_at": iso(t.created_at),
            "last_used_at": iso(t.last_used_at), "revoked": t.revoked}


def _set_session(response: Response, auth: AuthState, user: User) -> str:
    value, data = auth.signer.issue(user.id, password_tag(user.password_hash))
    csrf = auth.signer.csrf_token(data)
    common = dict(max_age=auth.signer.max_age, samesite="lax", secure=auth.secure_cookies, path="/")
    response.set_cookie(SESSION_COOKIE, value, httponly=True, **common)
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)  # read by the page's script
    return csrf


@router.post("/api/auth/login", response_model=LoginOut)
def login(body: LoginIn, request: Request, response: Response) -> dict:
    """Check the password; set the session and CSRF cookies. After repeated failures (per user name and address,
    per address, per user name) sign-ins are refused for a while, with one answer that names no user."""
    auth: AuthState = request.app.state.auth
    ip = request.client.host if request.client else "?"
    wait = math.ceil(auth.limiter.retry_after(body.username, ip))
    if wait:
        raise HTTPException(429, f"too many failed sign-ins; try again in {wait} s",
                            headers={"Retry-After": str(wait)})
    services = services_of(request)
    with services.sessions() as s:
        user = s.scalar(select(User).where(User.username == body.username))
        ok = verify_password(user.password_hash if user else DUMMY_HASH, body.password)
        if not (ok and user and user.active):
            auth.limiter.failed(body.username, ip)
            record(services.sessions, body.username, "login_failed", "user", body.username, {"ip": ip})
            raise HTTPException(401, "wrong user name or password")
        auth.limiter.succeeded(body.username, ip)
        csrf = _set_session(response, auth, user)
        out = {"user": user_dict(user), "csrf": csrf}
    record(services.sessions, body.username, "login", "user", body.username, {"ip": ip})
    return out


@router.post("/api/auth/logout", response_model=LogoutOut)
def logout(request: Request, response: Response, body: LogoutIn | None = None,
           user: Principal = Depends(SIGNED_IN)) -> dict:
    """End this session server-side (a copied cookie stops working too); with everywhere, every session of
    the caller. API tokens are not touched: revoke them one by one."""
    services = services_of(request)
    auth: AuthState = request.app.state.auth
    ip = request.client.host if request.client else "?"
    everywhere = body is not None and body.everywhere
    if everywhere:
        end_all_sessions(services.sessions, user.user_id)
        record(services.sessions, user.username, "logout_everywhere", "user", user.username, {"ip": ip})
    elif user.via == "cookie":
        data = auth.signer.read(request.cookies.get(SESSION_COOKIE))
        if data is not None:
            revoke_session(services.sessions, data)
        record(services.sessions, user.username, "logout", "user", user.username, {"ip": ip})
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return {"ok": True, "everywhere": everywhere}


@router.get("/api/auth/me", response_model=MeOut)
def me(request: Request, user: Principal = Depends(SIGNED_IN)) -> dict:
    with services_of(request).sessions() as s:
        return user_dict(s.get(User, user.user_id)) | {"via": user.via}


@router.patch("/api/auth/me", response_model=UserOut)
def update_me(body: UserPatch, request: Request, user: Principal = Depends(SIGNED_IN)) -> dict:
    """Change one's own language, e-mail address or password (not role or active)."""
    if body.role is not None or body.active is not None:
        raise HTTPException(403, "only an admin changes roles or deactivates users")
    if body.password is not None:  # a borrowed session or a stolen token must not take the account over
        with services_of(request).sessions() as s:
            current = s.get(User, user.user_id).password_hash
        if not body.current_password or not verify_password(current, body.current_password):
            raise HTTPException(403, "current_password: expected your current password to change it, "
                                     f"found {'a wrong one' if body.current_password else 'none'}")
    return _patch_user(request, user.user_id, body, user)


@router.post("/api/auth/tokens", response_model=NewTokenOut)
def new_token(body: TokenIn, request: Request, user: Principal = Depends(SIGNED_IN)) -> dict:
    """A bearer token for scripts, acting as the caller; shown once. Its id is what revoking it takes."""
    services = services_of(request)
    issued = issue_token(services.sessions, user.user_id, body.name)
    record(services.sessions, user.username, "token_created", "token", str(issued.id),
           {"owner": user.username, "name": body.name})
    return {"token": issued.token, "id": issued.id, "name": body.name}


@router.get("/api/auth/tokens", response_model=TokenList)
def my_tokens(request: Request, user: Principal = Depends(SIGNED_IN)) -> dict:
    """The caller's own tokens, newest first."""
    return _tokens_of(request, user.user_id)


@router.get("/api/users/{user_id}/tokens", response_model=TokenList)
def user_tokens(user_id: DbId, request: Request, user: Principal = Depends(ADMIN)) -> dict:
    """Any user's tokens (admin), so a leaked one can be found and revoked."""
    with services_of(request).sessions() as s:
        if s.get(User, user_id) is None:
            raise not_found("user", user_id)
    return _tokens_of(request, user_id)


def _tokens_of(request: Request, user_id: int) -> dict:
    with services_of(request).sessions() as s:
        rows = s.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())).all()
        return {"items": [token_dict(t) for t in rows], "total": len(rows)}


@router.delete("/api/auth/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: DbId, request: Request, user: Principal = Depends(SIGNED_IN)) -> dict:
    """Revoke one token: one's own, or anyone's for an admin. Another user's token is a 404 to everyone else,
    the same as a missing one, so token ids cannot be probed."""
    services = services_of(request)
    with services.sessions() as s:
        row = s.get(ApiToken, token_id)
        if row is None or (row.user_id != user.user_id and user.role != ADMIN_ROLE):
            raise not_found("token", token_id)
        was_revoked, row.revoked = row.revoked, True
        s.commit()
        owner = s.get(User, row.user_id).username
        out = token_dict(row)
    if not was_revoked:
        record(services.sessions, user.username, "token_revoked", "token", str(token_id),
               {"owner": owner, "name": out["name"]})
    return out


@router.get("/api/users", response_model=UserList)
def list_users(request: Request, user: Principal = Depends(ADMIN)) -> dict:
    with services_of(request).sessions() as s:
        rows = s.scalars(select(User).order_by(User.username)).all()
        return {"items": [user_dict(u) for u in rows], "total": len(rows), "roles": list(ROLES)}


@router.post("/api/users", status_code=201, response_model=UserOut)
def add_user(body: UserIn, request: Request, user: Principal = Depends(ADMIN)) -> dict:
    services = services_of(request)
    try:
        created = create_user(services.sessions, body.username, body.role, body.password, body.display_name,
                              email=body.email)
    except ValueError as e:
        raise HTTPException(422, str(e)) from None
    record(services.sessions, user.username, "user_created", "user", body.username, {"role": body.role})
    return user_dict(created)


@router.patch("/api/users/{user_id}", response_model=UserOut)
def patch_user(user_id: DbId, body: UserPatch, request: Request, user: Principal = Depends(ADMIN)) -> dict:
    return _patch_user(request, user_id, body, user)


def _keep_an_admin(s, row: User, body: "UserPatch") -> None:
    """Refuse a change that would leave no active admin (nobody could manage users any more)."""
    demoted = body.role is not None and body.role != ADMIN_ROLE
    deactivated = body.active is False
    if row.role != ADMIN_ROLE or not row.active or not (demoted or deactivated):
        return
    others = s.scalar(select(func.count(User.id)).where(User.role == ADMIN_ROLE, User.active.is_(True),
                                                        User.id != row.id))
    if not others:
        raise HTTPException(409, f"{row.username} is the last active admin: make another admin first")


def _patch_user(request: Request, user_id: int, body: UserPatch, actor: Principal) -> dict:
    services = services_of(request)
    with services.sessions() as s:
        row = s.get(User, user_id)
        if row is None:
            raise not_found("user", user_id)
        _keep_an_admin(s, row, body)
        if body.role is not None:
            if body.role not in ROLES:
                raise HTTPException(422, f"role: expected one of {', '.join(ROLES)}, found {body.role!r}")
            row.role = body.role
        if body.active is not None:
            row.active = body.active
        if body.password is not None:
            row.password_hash = hash_password(body.password)
        # a deactivated user's or a replaced password's credentials must not come back: tokens are revoked for
        # good, and every session cookie issued so far ends (reactivating does not revive them)
        deactivated = body.active is False
        if deactivated or body.password is not None:
            for tok in s.scalars(select(ApiToken).where(ApiToken.user_id == user_id)):
                tok.revoked = True
        if body.language is not None:
            row.language = body.language
        if body.email is not None:
            row.email = body.email
        s.commit()
        out = user_dict(row)
    if deactivated:
        end_all_sessions(services.sessions, user_id)
    changed = sorted(k for k, v in body.model_dump().items()
                     if v is not None and k not in ("password", "current_password"))
    record(services.sessions, actor.username, "user_updated", "user", out["username"],
           {"fields": changed + (["password"] if body.password else [])})
    return out
