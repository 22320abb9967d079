"""What every rule shares: the frame moment it is told about, and the episode that becomes one violation event."""
from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import supervision as sv

from vigil.catalogue import RuleSpec
from vigil.types import Box, ModelInfo, Violation

UPDATE_EVERY_S = 30.0  # an open event is re-announced at least this often while it lasts
# a forming candidate asks for the detector on every frame (past the motion gate) for its min_s and this long
# after: faint smoke drifting too slowly to count as motion is seen once at an idle check, then confirmed or not
FOCUS_S = 10.0
MOVED = "moved"  # the analyzer's column: whether a person track has ever moved (vision.still_people)


def to_boxes(dets: sv.Detections) -> tuple[Box, ...]:
    """Detections as frozen `Box` tuples (for a Violation or a manifest)."""
    names = dets.data.get("class_name") if dets.data else None
    out = []
    for i in range(len(dets)):
        x1, y1, x2, y2 = (float(v) for v in dets.xyxy[i])
        name = str(names[i]) if names is not None else str(int(dets.class_id[i]))
        conf = float(dets.confidence[i]) if dets.confidence is not None else 1.0
        tid = int(dets.tracker_id[i]) if dets.tracker_id is not None and dets.tracker_id[i] >= 0 else None
        out.append(Box((x1, y1, x2, y2), name, conf, tid))
    return tuple(out)


def class_names(dets: sv.Detections) -> np.ndarray:
    names = dets.data.get("class_name") if dets.data else None
    return np.asarray(names, dtype=str) if names is not None else np.full(len(dets), "", dtype=str)


def track_ids(dets: sv.Detections) -> np.ndarray:
    return dets.tracker_id if dets.tracker_id is not None else np.full(len(dets), -1, int)


def intersections(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B): the intersection area of each xyxy box of `a` with each of `b`."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    return np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)


def box_area(b: np.ndarray) -> np.ndarray:
    return np.clip((b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]), 1e-6, None)


def covered_fraction(items: np.ndarray, people: np.ndarray) -> np.ndarray:
    """(P, I): the fraction of each item box's area that lies inside each person box."""
    inter = intersections(people, items)
    return inter / box_area(items)[None, :] if inter.size else inter


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    inter = intersections(a, b)
    if inter.size == 0:
        return inter
    return inter / np.clip(box_area(a)[:, None] + box_area(b)[None, :] - inter, 1e-6, None)


def overlap_of_smaller(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(N,): the intersection of `box` with each of `others`, as a fraction of the smaller of the two boxes."""
    return intersections(others, box[None, :])[:, 0] / np.minimum(box_area(box), box_area(others))


@dataclass(frozen=True, eq=False)
class Moment:
    """The frame a rule is told about: its times, its picture and whether the detector ran on it."""

    camera_id: str
    pts_s: float  # media seconds
    captured_at: datetime  # UTC
    image: np.ndarray | None  # BGR at detect size
    width: int
    height: int
    detected: bool  # False: the motion gate skipped the detector; the detections are carried forward
    model: ModelInfo | None = None


class Rule(Protocol):
    spec: RuleSpec

    def update(self, tracks: sv.Detections, now: Moment) -> list[Violation]: ...

    @property
    def active(self) -> bool: ...

    def forming(self, now_s: float) -> bool:
        """Whether a candidate is forming that needs detector frames to become an event or fade."""
        ...


def thresholds(spec: RuleSpec, **extra: Any) -> dict[str, Any]:
    keys = ("min_score", "confirm_score", "min_s", "k", "n", "cooldown_s", "grace_s")
    out: dict[str, Any] = {k: getattr(spec, k) for k in keys}
    out["zones"] = list(spec.zones)
    out.update({k: v for k, v in dict(spec.extra).items()})
    out.update(extra)
    return out


@dataclass(frozen=True, eq=False)
class _Best:
    score: float
    pts_s: float
    at: datetime
    image: np.ndarray | None
    boxes: tuple[Box, ...]
    model: ModelInfo | None
    track_id: int | None


class Episode:
    """One candidate event: k-of-n hits over detector frames, persistence, best frame, open/update/close.

    `observe` on every frame with the detections that satisfy the rule (empty when none do);
    `step` then says whether a Violation phase is due.
    """

    def __init__(self, spec: RuleSpec, rule_name: str, *, min_s: float | None = None,
                 extra_thresholds: dict[str, Any] | None = None, fade_s: float | None = None):
        self.spec, self.rule_name = spec, rule_name
        self.min_s = spec.min_s if min_s is None else min_s
        # a candidate (not yet an event) fades after n detector frames without a hit; with `fade_s`, only once it
        # has not been seen for that long (a heap stays put: a truck passing in front hides it for a few seconds)
        self.fade_s = fade_s
        self.hits: deque[bool] = deque(maxlen=max(spec.n, 1))
        self.run_start: tuple[float, datetime] | None = None
        self.last_seen: tuple[float, datetime] | None = None
        self.best: _Best | None = None
        self.event_id: str | None = None
        self.last_emit_s = 0.0
        self.best_sent = True
        self.tracks: set[int] = set()
        self.scores: list[float] = []  # the best hit's score on each detector frame of the run
        # fire flickers: with `min_flicker`, the run's median change of the best hit's pixels between detector
        # frames (mean absolute grey difference, 0..255) must reach it; a static orange thing never does
        flicker = spec.extra.get("min_flicker") if spec.extra else None
        self.min_flicker = float(flicker) if flicker is not None else None
        self.flicker: list[float] = []
        self._prev_grey: np.ndarray | None = None
        self._thresholds = thresholds(spec, **(extra_thresholds or {}))

    @property
    def open(self) -> bool:
        return self.event_id is not None

    def forming(self, now_s: float) -> bool:
        """Seen, not yet an event, and not for longer than it takes to become one (min_s + FOCUS_S)."""
        return not self.open and self.run_start is not None and now_s - self.run_start[0] <= self.min_s + FOCUS_S

    def observe(self, hits: sv.Detections, frame_dets: sv.Detections, now: Moment) -> None:
        if not now.detected:
            return  # a still frame only repeats the last detector frame: it neither extends nor ends a run
        seen = len(hits) > 0
        self.hits.append(seen)
        if seen:
            self.last_seen = (now.pts_s, now.captured_at)
            if self.run_start is None:
                self.run_start = self.last_seen
            self.tracks.update(int(t) for t in track_ids(hits) if t >= 0)
            self.scores.append(float(np.max(hits.confidence)))
            self._offer_best(hits, frame_dets, now)
        elif not self.open and self._faded(now.pts_s):
            self.run_start, self.best = None, None  # the candidate faded before it became an event
            self.scores, self.flicker = [], []
        if self.min_flicker is not None and now.image is not None:
            self._observe_flicker(hits if seen else None, now.image)

    def _faded(self, now_s: float) -> bool:
        if self.fade_s is None or self.last_seen is None:
            return bool(self.hits) and not any(self.hits)
        return now_s - self.last_seen[0] > self.fade_s

    def _observe_flicker(self, hits: sv.Detections | None, image: np.ndarray) -> None:
        import cv2

        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        prev, self._prev_grey = self._prev_grey, grey
        if hits is None or prev is None or prev.shape != grey.shape:
            return
        H, W = grey.shape
        x1, y1, x2, y2 = (int(v) for v in hits.xyxy[int(np.argmax(hits.confidence))])
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(W, x2), min(H, y2)
        if x2 - x1 >= 2 and y2 - y1 >= 2:
            a = grey[y1:y2, x1:x2].astype(np.int16)
            self.flicker.append(float(np.abs(a - prev[y1:y2, x1:x2]).mean()))

    def _offer_best(self, hits: sv.Detections, frame_dets: sv.Detections, now: Moment) -> None:
        i = int(np.argmax(hits.confidence))
        score = float(hits.confidence[i])
        tid = int(track_ids(hits)[i])
        untracked_best = self.best is not None and self.best.track_id is None and tid >= 0
        if self.best is None or score > self.best.score or (untracked_best and score >= self.best.score):
            self.best = _Best(score, now.pts_s, now.captured_at, now.image, to_boxes(frame_dets), now.model,
                              tid if tid >= 0 else None)
            self.best_sent = False

    def due_to_open(self, now: Moment) -> bool:
        if self.open or self.run_start is None or self.last_seen is None:
            return False
        if sum(self.hits) < min(self.spec.k, self.hits.maxlen):
            return False
        if self.spec.confirm_score is not None and (not self.scores
                                                    or float(np.median(self.scores)) < self.spec.confirm_score):
            return False
        if self.min_flicker is not None and (not self.flicker or float(np.median(self.flicker)) < self.min_flicker):
            return False
        return self.last_seen[0] - self.run_start[0] >= self.min_s and self.last_seen[0] == now.pts_s

    def step(self, now: Moment) -> Violation | None:
        """The phase due now, if any: open (conditions met), update (better frame / periodic), closed (grace)."""
        if not self.open:
            if not self.due_to_open(now):
                return None
            self.event_id = uuid.uuid4().hex
            return self._emit("open", now)
        assert self.last_seen is not None
        if now.pts_s - self.last_seen[0] > self.spec.grace_s:
            return self._emit("closed", now)
        improved = not self.best_sent and now.pts_s - self.last_emit_s >= min(5.0, UPDATE_EVERY_S)
        if improved or now.pts_s - self.last_emit_s >= UPDATE_EVERY_S:
            return self._emit("update", now)
        return None

    def _emit(self, phase: str, now: Moment) -> Violation:
        assert self.best is not None and self.run_start is not None and self.last_seen is not None
        b = self.best
        image = b.image if not self.best_sent else None
        self.best_sent, self.last_emit_s = True, now.pts_s
        model = b.model
        v = Violation(
            event_id=self.event_id or "", rule=self.rule_name, camera_id=now.camera_id, phase=phase,  # type: ignore[arg-type]
            track_id=b.track_id, start_s=self.run_start[0], end_s=self.last_seen[0], started_at=self.run_start[1],
            ended_at=self.last_seen[1], best_s=b.pts_s, best_at=b.at, best_score=b.score, best_image=image,
            detections=b.boxes, thresholds=dict(self._thresholds), model_name=model.name if model else "",
            model_version=model.version if model else "")
        if phase == "closed":
            self.event_id = None
        return v


def reset_episode(ep: Episode) -> None:
    """Forget a closed episode's run so the next one starts fresh."""
    ep.hits.clear()
    ep.run_start = ep.last_seen = ep.best = None
    ep.tracks = set()
    ep.scores, ep.flicker = [], []
    ep.best_sent = True

