"""What the camera editing routes take and answer: a camera's editable config, its zones and masks, new cameras."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from api.routes.common import StrictIn
from api.routes.schemas import Out, ProfileName

CameraId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="lower-case id: letters, "
                                                                                   "digits, - and _")]
ZoneName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$",
                                description="the zone's name (rules name it)")]
Coord = Annotated[float, Field(description="0-1, relative to the frame's width or height")]
PointIn = Annotated[list[Coord], Field(min_length=2, max_length=2, description="[x, y]")]
PolygonIn = Annotated[list[PointIn], Field(max_length=100, description="points [x, y] relative to the frame (0-1), "
                                                                        "at least 3")]
Anchor = Literal["bottom_center", "center"]


class DetectIn(StrictIn):
    fps: float = Field(2.0, description="frames per second decoded and analysed")
    width: int = Field(640, description="analysis frame size (long side fitted to the larger of width and height)")
    height: int = Field(360, description="see width")


class ZoneIn(StrictIn):
    polygon: PolygonIn
    anchor: Anchor = Field("bottom_center", description="point of a box tested against the zone")
    no_dumping: bool = Field(False, description="a dump truck stopping here is a dumping violation")


class ZonesIn(StrictIn):
    """A camera's zones and masks, and the rules each zone limits (replacing what it had)."""

    zones: dict[ZoneName, ZoneIn] = Field(default_factory=dict, max_length=32)
    masks: list[PolygonIn] = Field(default_factory=list, max_length=32,
                                   description="detections whose anchor falls here are dropped")
    rule_zones: dict[Annotated[str, Field(max_length=64)], list[ZoneName]] = Field(
        default_factory=dict, max_length=32, description="rule -> the zones it is limited to (absent or empty: the "
                                                         "whole frame)")


class CameraPatch(StrictIn):
    """A camera's settings; an absent field is left as it is."""

    name: str | None = Field(None, max_length=200, description="name shown on the wall")
    site: str | None = Field(None, max_length=64, description="id of the site the camera watches")
    source: str | None = Field(None, min_length=1, max_length=2000, description=(
        "rtsp://, a video file path, or demo:site|lab; ${ENV} references are substituted. Sent back with its "
        "password as *** it keeps the stored password"))
    profile: ProfileName | None = Field(None, description="detector profile (default: the site's kind)")
    enabled: bool | None = Field(None, description="run this camera")
    detect: DetectIn | None = None


class CameraIn(CameraPatch):
    """A new camera."""

    id: CameraId
    site: str = Field(max_length=64, description="id of the site the camera watches")  # type: ignore[assignment]
    source: str = Field(min_length=1, max_length=2000, description="rtsp://, a video file path, or "  # type: ignore[assignment]
                                                                   "demo:site|lab")


class ZoneOut(Out):
    polygon: list[list[float]]
    anchor: str
    no_dumping: bool


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
    rule_zones: dict[str, list[str]] = Field(description="rule -> the zones it is limited to")
    rules: list[str] = Field(description="the rules of the camera's profile")
    origin: Literal["yaml", "database", "yaml+database"] = Field(description="where the camera's config comes "
                                                                             "from: the database overrides the YAML")
    updated_by: str
    updated_at: datetime | None
