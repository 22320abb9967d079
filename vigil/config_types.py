"""Shared pieces of the configuration models: ids, grades, points and polygons, environment-variable names and
the strict (frozen, no unknown keys) base every section uses."""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
Id = Annotated[str, Field(pattern=ID_PATTERN, description="lower-case id: letters, digits, - and _")]
GradeName = Literal["blue", "yellow", "orange", "red"]
Point = tuple[Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]]


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def _check_env_name(name: str) -> str:
    # the value is never echoed: a secret pasted here by mistake must not reach a terminal or a log
    if not _ENV_NAME.fullmatch(name):
        raise ValueError("expected the NAME of an environment variable (letters, digits and '_', not starting with "
                         f"a digit, at most 128), found a value that is not one ({len(name)} characters, not shown: "
                         "it may be the secret itself)")
    return name


EnvName = Annotated[str, AfterValidator(_check_env_name)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_polygon(points: list[Point]) -> list[Point]:
    if len(points) < 3:
        raise ValueError(f"a polygon needs at least 3 points [x, y] in 0-1 coordinates, found {len(points)}")
    return points


Polygon = Annotated[list[Point], Field(description="points [x, y] relative to the frame (0-1), at least 3")]
