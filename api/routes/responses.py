"""The error answers any API route may give, as the OpenAPI spec documents them: one schema, `{"detail": ...}`."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorOut(BaseModel):
    """Every error answer: a message fit to show a person, or for invalid input the list of what was wrong."""

    model_config = ConfigDict(extra="forbid")
    detail: str | list[dict[str, Any]] = Field(
        description="what was expected and what was found; for invalid input, one entry per problem "
                    "(loc: where, msg: what, type: which check)")


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


# the statuses the app's dependencies, handlers and middleware answer with, whichever route was called
ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("not signed in (no session cookie, no valid bearer token)"),
    403: _error("signed in with a role that may not do this, or a cookie write without its CSRF token"),
    404: _error("nothing with that id"),
    409: _error("the request conflicts with the current state (a transition not allowed from it)"),
    413: _error("request body over the size limit"),
    422: _error("invalid input: the body, a parameter or a value the database cannot hold"),
    429: _error("too many failed sign-ins from this address or for this name; see Retry-After"),
    503: _error("a service this server does not run (training jobs) or a dependency down"),
}
