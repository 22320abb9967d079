"""What the auth and user routes answer, as typed models: the OpenAPI spec says exactly what comes back."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    """An answer: a field the route adds without declaring it here is an error in the tests, not silent drift."""

    model_config = ConfigDict(extra="forbid")


class UserOut(Out):
    id: int = Field(description="user id")
    username: str = Field(description="sign-in name")
    role: str = Field(description="operator, reviewer, officer, data_staff or admin")
    display_name: str = Field(description="name shown in the UI")
    language: str = Field(description="UI language: en or zh")
    email: str = Field(description="e-mail address for overdue escalations ('' when none)")
    active: bool = Field(description="false: cannot sign in; tokens and sessions ended")
    created_at: str | None = Field(description="UTC, ISO 8601")


class MeOut(UserOut):
    via: str = Field(description="how this request was authenticated: cookie or token")


class LoginOut(Out):
    user: UserOut
    csrf: str = Field(description="send it back in X-CSRF-Token on writes made with the session cookie")


class LogoutOut(Out):
    ok: bool = Field(description="always true")
    everywhere: bool = Field(description="every session of the user ended, not only this one")


class TokenOut(Out):
    id: int = Field(description="token id (what revoking it takes)")
    user_id: int = Field(description="owner")
    name: str = Field(description="what the token is for")
    created_at: str | None = Field(description="UTC, ISO 8601")
    last_used_at: str | None = Field(description="UTC, ISO 8601, to the minute; null: never used")
    revoked: bool = Field(description="true: refused from now on")


class TokenList(Out):
    items: list[TokenOut]
    total: int = Field(description="number of items")


class NewTokenOut(Out):
    token: str = Field(description="the bearer token, shown this once")
    id: int = Field(description="token id")
    name: str = Field(description="what the token is for")


class UserList(Out):
    items: list[UserOut]
    total: int = Field(description="number of items")
    roles: list[str] = Field(description="the roles a user may have")
