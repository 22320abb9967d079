"""What the camera editing routes take and answer: a camera's editable config, its zones and masks, new cameras."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from api.routes.common import StrictIn
from api.routes.schemas import Out, ProfileName
from vigil.catalogue import RULES

CameraId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="lower-case id: letters, "
                                                                                   "digits, - and _")]
Coord = Annotated[float, Field(ge=0, le=1, description="0-1, relative to the frame's width or height")]
PointIn = Annotated[list[Coord], Field(min_length=2, max_length=2, description="[x, y]")]
PolygonIn = Annotated[list[PointIn], Field(min_length=3, max_length=100, description="points [x, y] relative to "
                                                                                      "the frame (0-1), at least 3")]
Anchor = Literal["bottom_center", "center"]
if TYPE_CHECKING:
    RuleName = str
else:
    RuleName = Literal[tuple(RULES)]  # every rule of the catalogue, an enum in the spec


class DetectIn(StrictIn):
    fps: float = Field(2.0, gt=0, le=30, description="frames per second decoded and analysed")
    width: int = Field(640, ge=64, le=3840, description="analysis frame size (the long side is fitted to the larger "
                                                        "of width and height)")
    height: int = Field(360, ge=64, le=2160, description="see width")


class ZoneIn(StrictIn):
    polygon: PolygonIn
    anchor: Anchor = Field("bottom_center", description="point of a box tested against the zone")
    no_dumping: bool = Field(False, description="a dump truck stopping here is a dumping violation")
    rules: list[RuleName] = Field(default_factory=list, max_length=16, description=(
        "rules limited to this zone (a rule limited to no zone watches the whole frame); rules of the camera's "
        "profile"))


class ZonesIn(StrictIn):
    """A camera's zones (with the rules each limits) and masks, replacing what it had."""

    zones: dict[str, ZoneIn] = Field(default_factory=dict, max_length=32, description="zones by name (rules name "
                                                                                     "them)")
    masks: list[PolygonIn] = Field(default_factory=list, max_length=32,
                                   description="detections whose anchor falls here are dropped")


# an absent field is left as it is; null is not a value any of them takes
_KEEP: Any = None


class CameraPatch(StrictIn):
    """A camera's settings; an absent field is left as it is."""

    name: str = Field(_KEEP, max_length=200, description="name shown on the wall")
    site: str = Field(_KEEP, min_length=1, max_length=64, description="id of a site of the config")
    source: str = Field(_KEEP, min_length=1, max_length=2000, description=(
        "rtsp://, a video file path, or demo:site|lab; ${ENV} references are substituted. Sent back with its "
        "password as *** it keeps the stored password"))
    profile: ProfileName | None = Field(_KEEP, description="detector profile (null: the site's kind)")
    enabled: bool = Field(_KEEP, description="run this camera")
    detect: DetectIn = Field(_KEEP, description="analysis frame rate and size")


class CameraIn(CameraPatch):
    """A new camera."""

    id: CameraId
    site: str = Field(min_length=1, max_length=64, description="id of a site of the config")
    source: str = Field(min_length=1, max_length=2000, description="rtsp://, a video file path, or demo:site|lab")


class ZoneOut(Out):
    polygon: list[list[float]]
    anchor: str
    no_dumping: bool
    rules: list[str] = Field(description="rules limited to this zone")


class CameraConfigOut(Out):
    """A camera's editable config as in effect now (the YAML with the edits stored in the database)."""

    id: str
    name: str
    site: str
    source: str = Field(description="the source with its password shown as *** (a ${NAME} reference is shown)")
    profile: str = Field(description="the profile in effect")
    profile_set: str | None = Field(description="the profile the config names (null: the site's kind)")
    enabled: bool
    detect: DetectIn
    zones: dict[str, ZoneOut]
    masks: list[list[list[float]]]
    rules: list[str] = Field(description="the rules of the camera's profile")
    origin: Literal["yaml", "database", "yaml+database"] = Field(description="where the camera's config comes "
                                                                             "from: the database overrides the YAML")
    updated_by: str
    updated_at: datetime | None
