"""Dumping: a debris pile that appears where none was and stays, or a dump truck stopped in a no-dumping zone.

A pile is one event: once reported, its place stays known (`reported_memory_s` after it was last seen there), so
a heap that smoke, a truck or a blind spell of the detector hid for longer than the grace is not reported again
when it shows once more. The heaps already there are learnt over the first `baseline_s`: a place counts when a
pile was boxed there in a good share of that window's detector frames, not when a plume or a passing truck was
boxed as a heap a few times."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, cast

import numpy as np
import supervision as sv

from vigil.catalogue import DetClass, RuleSpec
from vigil.types import Violation
from vision.rules.base import Episode, Moment, box_area, intersections, iou_matrix, track_ids
from vision.rules.presence import qualifying
from vision.zones import Zone

SAME_PLACE_IOU = 0.3  # a pile box overlapping a known pile this much is that pile
SAME_PLACE_INSIDE = 0.7  # ... and so is one lying this much (of the smaller box) inside it: part of the heap
STOP_TOLERANCE = 0.15  # a truck whose box centre moved less than this fraction of its width is stopped
# a place is part of the baseline (a heap already there) when a pile was boxed there in at least this share of the
# baseline window's detector frames: a passing smoke plume or truck boxed as a heap a few times is not a heap that
# was there, and must not hide the heap dumped at that place later
BASELINE_SHARE = 0.3


def same_place(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) bool: box a[i] is at the place of b[j] (IoU >= SAME_PLACE_IOU, or one lies mostly inside
    the other: a detector boxes a heap whole one frame and a part of it the next)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), bool)
    inter = intersections(a, b)
    smaller = np.minimum(box_area(a)[:, None], box_area(b)[None, :])
    return (iou_matrix(a, b) >= SAME_PLACE_IOU) | (inter / np.clip(smaller, 1e-6, None) >= SAME_PLACE_INSIDE)


@dataclass
class _Place:
    """A place piles were boxed at while learning the baseline: its boxes and in how many detector frames."""

    boxes: list[np.ndarray]
    frames: int = 1


class _Pile:
    """A new heap: its last box, its extent (the union of every box it was matched with: a detector boxes a heap
    whole one frame and a part of it the next) and its candidate event."""

    def __init__(self, box: np.ndarray, episode: Episode):
        self.box, self.episode = box, episode
        self.extent = box.copy()

    def seen(self, box: np.ndarray) -> None:
        self.box = box.copy()
        self.extent = np.concatenate([np.minimum(self.extent[:2], box[:2]), np.maximum(self.extent[2:], box[2:])])


class NewObjectRule:
    """The dumping rule. Piles are followed by place (static things lose tracks between idle checks)."""

    def __init__(self, spec: RuleSpec, zones: Mapping[str, Zone]):
        self.spec = spec
        self.zones = [zones[z] for z in spec.zones]
        self.no_dumping = [z for z in zones.values() if z.no_dumping]
        self.baseline_s = float(spec.extra.get("baseline_s", 20.0))
        self.truck_stop_s = float(spec.extra.get("truck_stop_s", 10.0))
        # a new heap not yet an event stays a candidate while hidden up to this long (a truck, a person, smoke in
        # front of it): it does not have to be seen anew for min_s after every passer-by
        self.hidden_s = float(spec.extra.get("pile_hidden_s", 10.0))
        self.pile_class = DetClass.DEBRIS_PILE.value if DetClass.DEBRIS_PILE.value in spec.classes else None
        self.truck_class = DetClass.DUMP_TRUCK.value if DetClass.DUMP_TRUCK.value in spec.classes else None
        self.started_s: float | None = None
        self.baseline = np.empty((0, 4), np.float32)  # the boxes of the places where a heap already was
        self._learning: list[_Place] = []  # the places piles were boxed at during the baseline window
        self._learn_frames = 0  # detector frames of the baseline window
        self._settled = False  # the baseline window is over and `baseline` holds its places
        self.piles: list[_Pile] = []
        self.reported_memory_s = float(spec.extra.get("reported_memory_s", 600.0))
        self.reported: list[list] = []  # [box, last seen there (s)] of piles whose event has closed
        self.trucks: dict[int, tuple[np.ndarray, Episode]] = {}  # track -> (where it came to rest, episode)
        self._elapsed = 0.0

    @property
    def active(self) -> bool:
        return any(p.episode.open for p in self.piles) or any(e.open for _, e in self.trucks.values())

    def forming(self, now_s: float) -> bool:
        return any(p.episode.forming(now_s) for p in self.piles) or \
            any(e.forming(now_s) for _, e in self.trucks.values())

    @property
    def learning(self) -> bool:
        return self.started_s is None or self._elapsed < self.baseline_s

    def update(self, tracks: sv.Detections, now: Moment) -> list[Violation]:
        if self.started_s is None:
            self.started_s = now.pts_s
        self._elapsed = now.pts_s - self.started_s
        out = self._update_piles(tracks, now) if self.pile_class else []
        if self.truck_class and self.no_dumping:
            out += self._update_trucks(tracks, now)
        return out

    def _update_piles(self, tracks: sv.Detections, now: Moment) -> list[Violation]:
        piles = qualifying(self.spec, tracks, self.zones, now, classes=(self.pile_class,))
        if self._elapsed < self.baseline_s:
            if now.detected:
                self._learn(piles.xyxy.astype(np.float32))
            return []
        if not self._settled:
            self._settle_baseline()
        if len(piles) and len(self.baseline):
            piles = piles[(iou_matrix(piles.xyxy, self.baseline) < SAME_PLACE_IOU).all(axis=1)]
        piles = self._not_reported(piles, now.pts_s)
        matched = self._match_piles(piles)
        out = []
        for pile in list(self.piles):
            pile.episode.observe(matched.get(id(pile), piles[:0]), tracks, now)
            v = pile.episode.step(now)
            if v is not None:
                out.append(v)
                if v.phase == "closed":
                    self.reported.append([pile.extent.copy(), now.pts_s])
                    self.piles.remove(pile)
                    continue
            if not pile.episode.open and pile.episode.run_start is None:
                self.piles.remove(pile)
        return out

    def _learn(self, boxes: np.ndarray) -> None:
        """One detector frame of the baseline window: count the places where a pile is boxed (once per frame)."""
        self._learn_frames += 1
        seen: set[int] = set()
        for box in boxes:
            last = np.array([p.boxes[-1] for p in self._learning], np.float32).reshape(-1, 4)
            same = same_place(box[None], last)[0]
            if not same.any():
                self._learning.append(_Place([box]))
                seen.add(len(self._learning) - 1)
                continue
            j = int(np.argmax(same))
            self._learning[j].boxes.append(box)
            self._learning[j].frames += j not in seen
            seen.add(j)

    def _settle_baseline(self) -> None:
        """The baseline window is over: the places boxed in at least BASELINE_SHARE of its frames were there."""
        need = BASELINE_SHARE * max(self._learn_frames, 1)
        kept = [np.array(p.boxes, np.float32) for p in self._learning if p.frames >= need]
        self.baseline = np.concatenate(kept) if kept else np.empty((0, 4), np.float32)
        self._learning, self._settled = [], True

    def _not_reported(self, piles: sv.Detections, now_s: float) -> sv.Detections:
        """The pile boxes that are not at the place of a pile already reported (those refresh its last sighting);
        places not seen for `reported_memory_s` are forgotten: a heap there now is a new one."""
        self.reported = [r for r in self.reported if now_s - r[1] <= self.reported_memory_s]
        if not len(piles) or not self.reported:
            return piles
        same = same_place(piles.xyxy, np.array([r[0] for r in self.reported], np.float32))
        for j in np.flatnonzero(same.any(axis=0)):
            self.reported[j][1] = now_s
        return cast(sv.Detections, piles[np.flatnonzero(~same.any(axis=1))])

    def _match_piles(self, piles: sv.Detections) -> dict[int, sv.Detections]:
        """Assign each new-pile detection to the known pile at its place (its last box or its extent; the most IoU
        first), or start a new one. The largest boxes go first: a part of a heap boxed beside the whole is that
        heap."""
        matched: dict[int, list[int]] = {}
        for i in np.argsort(-box_area(piles.xyxy), kind="stable"):
            box = piles.xyxy[i]
            last = np.array([p.box for p in self.piles], np.float32).reshape(-1, 4)
            extent = np.array([p.extent for p in self.piles], np.float32).reshape(-1, 4)
            same = (same_place(box[None], last) | same_place(box[None], extent))[0]
            if not same.any():
                pile = _Pile(box.copy(), Episode(self.spec, self.spec.name, fade_s=self.hidden_s,
                                                 extra_thresholds={"trigger": "new_pile"}))
                self.piles.append(pile)
            else:
                pile = self.piles[int(np.argmax(iou_matrix(box[None], last)[0] + same))]
                pile.seen(box)
            matched.setdefault(id(pile), []).append(int(i))
        return {k: piles[np.array(v)] for k, v in matched.items()}

    def _update_trucks(self, tracks: sv.Detections, now: Moment) -> list[Violation]:
        trucks = qualifying(self.spec, tracks, self.no_dumping, now, classes=(self.truck_class,))
        trucks = trucks[track_ids(trucks) >= 0] if len(trucks) else trucks
        ids, out = track_ids(trucks), []
        for tid in set(int(t) for t in ids) | set(self.trucks):
            one = trucks[ids == tid]
            ep, at_rest = self._at_rest(tid, one)
            if ep is None:
                continue
            ep.observe(one if at_rest else one[:0], tracks, now)
            v = ep.step(now)
            if v is not None:
                out.append(v)
            if (v is not None and v.phase == "closed") or (not ep.open and ep.run_start is None):
                del self.trucks[tid]
        return out

    def _at_rest(self, tid: int, one: sv.Detections) -> tuple[Episode | None, bool]:
        """The truck's episode, and whether it is still where it came to rest (a move restarts the clock)."""
        state = self.trucks.get(tid)
        if len(one) == 0:
            return (state[1] if state else None), False
        box = one.xyxy[0]
        centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        if state is not None and np.linalg.norm(centre - state[0]) <= STOP_TOLERANCE * max(float(box[2] - box[0]), 1.0):
            return state[1], True
        if state is not None and state[1].open:
            self.trucks[tid] = (centre, state[1])  # it moved on: the open event fades out over its grace
            return state[1], False
        ep = Episode(self.spec, self.spec.name, min_s=self.truck_stop_s,
                     extra_thresholds={"trigger": "truck_stopped", "truck_stop_s": self.truck_stop_s})
        self.trucks[tid] = (centre, ep)
        return ep, True
