"""Domain types that cross threads and packages: frames, boxes, violations, clips, evidence manifests.

Inside `vision/` one frame's detections are a `supervision.Detections` (parallel numpy arrays).
What leaves the pipeline (a violation, a manifest) carries `Box` tuples instead: frozen, hashable,
JSON-ready, and free of any vision library, so the core stays at the bottom of the import graph.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

import numpy as np


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso_utc(t: datetime) -> str:
    """ISO-8601 with an explicit Z; refuses naive datetimes (every record time is UTC-aware)."""
    if t.tzinfo is None:
        raise ValueError("naive datetime: Vigil records only timezone-aware UTC times")
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Box:
    """One detection in pixel coordinates of the frame it was found in."""

    xyxy: tuple[float, float, float, float]
    class_name: str
    confidence: float
    track_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"xyxy": [round(v, 2) for v in self.xyxy], "class_name": self.class_name,
                "confidence": round(float(self.confidence), 4), "track_id": self.track_id}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Box":
        x1, y1, x2, y2 = (float(v) for v in d["xyxy"])
        return cls((x1, y1, x2, y2), str(d["class_name"]), float(d["confidence"]), d.get("track_id"))


@dataclass(frozen=True, eq=False)
class VideoFrame:
    """A decoded frame at detect size, handed from a camera's reader to vision."""

    camera_id: str
    seq: int  # decoded-frame counter of this camera
    pts_s: float  # media time in seconds from the start of the source
    t_mono: float  # time.monotonic() when it was decoded
    captured_at: datetime  # UTC wall time of the frame
    image: np.ndarray  # BGR uint8, HxWx3, at the camera's detect size
    source_size: tuple[int, int]  # (width, height) of the stream before resizing
    keyframe: bool = False


ViolationPhase = Literal["open", "update", "closed"]


@dataclass(frozen=True, eq=False)
class Violation:
    """One violation event as the rules see it; the same `event_id` goes open -> update* -> closed."""

    event_id: str
    rule: str
    camera_id: str
    phase: ViolationPhase
    track_id: int | None
    start_s: float  # media seconds from the start of the source
    end_s: float
    started_at: datetime  # UTC
    ended_at: datetime  # UTC
    best_s: float
    best_at: datetime
    best_score: float
    best_image: np.ndarray | None  # raw BGR frame at detect size, None when unchanged since last phase
    detections: tuple[Box, ...]  # detections of the best frame
    thresholds: dict[str, Any] = field(default_factory=dict)
    model_name: str = ""  # the model that saw the best frame
    model_version: str = ""


@dataclass(frozen=True)
class ModelInfo:
    """Which model produced detections: what the manifest and the alert record."""

    name: str  # e.g. "site"
    version: str  # registry version, or the file's sha256[:12] when unregistered
    profile: str
    classes: tuple[str, ...]
    path: str
    sha256: str
    imgsz: int = 320
    people: str = ""  # version of the people detector whose person boxes joined this model's (vision.people)


@dataclass(frozen=True)
class ClipRequest:
    """Ask a camera for its own packets over a span (media seconds), padded by pre/post roll."""

    camera_id: str
    event_id: str
    start_s: float
    end_s: float
    pre_roll_s: float
    post_roll_s: float


@dataclass(frozen=True)
class EvidenceFile:
    """One stored evidence object as the manifest lists it."""

    name: str  # role-bearing file name: clip.mp4, best_raw.jpg, best_annotated.jpg ...
    key: str  # object key in the evidence store (content-addressed, under the alert's prefix)
    sha256: str
    size: int
    content_type: str


@dataclass(frozen=True)
class EvidenceManifest:
    """What an alert's evidence consists of; its canonical JSON is what gets signed."""

    alert_id: str
    revision: int
    camera_id: str
    site_id: str
    rule: str
    model_name: str
    model_version: str
    thresholds: dict[str, Any]
    started_at: datetime
    ended_at: datetime
    best_at: datetime
    detections: tuple[Box, ...]
    files: tuple[EvidenceFile, ...]
    created_at: datetime
    schema: str = "vigil.evidence/1"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("started_at", "ended_at", "best_at", "created_at"):
            d[k] = iso_utc(getattr(self, k))
        d["detections"] = [b.to_dict() for b in self.detections]
        d["files"] = [asdict(f) for f in self.files]
        return d

    def canonical_json(self) -> bytes:
        """Deterministic bytes (sorted keys, no whitespace): the signed form."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EvidenceManifest":
        return cls(
            alert_id=str(d["alert_id"]), revision=int(d["revision"]), camera_id=d["camera_id"],
            site_id=d["site_id"], rule=d["rule"], model_name=d["model_name"],
            model_version=d["model_version"], thresholds=dict(d.get("thresholds") or {}),
            started_at=parse_utc(d["started_at"]), ended_at=parse_utc(d["ended_at"]),
            best_at=parse_utc(d["best_at"]), detections=tuple(Box.from_dict(b) for b in d["detections"]),
            files=tuple(EvidenceFile(**f) for f in d["files"]), created_at=parse_utc(d["created_at"]),
            schema=d.get("schema", "vigil.evidence/1"),
        )

    def file(self, name: str) -> EvidenceFile | None:
        return next((f for f in self.files if f.name == name), None)
