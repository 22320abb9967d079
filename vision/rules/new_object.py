"""Dumping: a debris pile that appears where none was and stays, or a dump truck stopped in a no-dumping zone."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import supervision as sv

from vigil.catalogue import DetClass, RuleSpec
from vigil.types import Violation
from vision.rules.base import Episode, Moment, iou_matrix, reset_episode, track_ids
from vision.rules.presence import qualifying
from vision.zones import Zone

SAME_PLACE_IOU = 0.3  # a pile box overlapping a known pile this much is that pile
STOP_TOLERANCE = 0.15  # a truck whose box centre moved less than this fraction of its width is stopped


class _Pile:
    def __init__(self, box: np.ndarray, episode: Episode):
        self.box, self.episode = box, episode


class NewObjectRule:
    """The dumping rule. Piles are followed by place (static things lose tracks between idle checks)."""

    def __init__(self, spec: RuleSpec, zones: Mapping[str, Zone]):
        self.spec = spec
        self.zones = [zones[z] for z in spec.zones]
        self.no_dumping = [z for z in zones.values() if z.no_dumping]
        self.baseline_s = float(spec.extra.get("baseline_s", 20.0))
        self.truck_stop_s = float(spec.extra.get("truck_stop_s", 10.0))
        self.pile_class = DetClass.DEBRIS_PILE.value if DetClass.DEBRIS_PILE.value in spec.classes else None
        self.truck_class = DetClass.DUMP_TRUCK.value if DetClass.DUMP_TRUCK.value in spec.classes else None
        self.started_s: float | None = None
        self.baseline = np.empty((0, 4), np.float32)
        self.piles: list[_Pile] = []
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
            if now.detected and len(piles):
                self.baseline = np.concatenate([self.baseline, piles.xyxy.astype(np.float32)])
            return []
        if len(piles) and len(self.baseline):
            piles = piles[(iou_matrix(piles.xyxy, self.baseline) < SAME_PLACE_IOU).all(axis=1)]
        matched = self._match_piles(piles)
        out = []
        for pile in list(self.piles):
            pile.episode.observe(matched.get(id(pile), piles[:0]), tracks, now)
            v = pile.episode.step(now)
            if v is not None:
                out.append(v)
                if v.phase == "closed":
                    reset_episode(pile.episode)
            if not pile.episode.open and pile.episode.run_start is None:
                self.piles.remove(pile)
        return out

    def _match_piles(self, piles: sv.Detections) -> dict[int, sv.Detections]:
        """Assign each new-pile detection to the known pile it overlaps most, or start a new one."""
        known = np.array([p.box for p in self.piles], np.float32).reshape(-1, 4)
        ious = iou_matrix(piles.xyxy, known)
        matched: dict[int, list[int]] = {}
        for i in range(len(piles)):
            j = int(np.argmax(ious[i])) if ious.shape[1] else -1
            if j < 0 or ious[i, j] < SAME_PLACE_IOU:
                pile = _Pile(piles.xyxy[i].copy(), Episode(self.spec, self.spec.name,
                                                             extra_thresholds={"trigger": "new_pile"}))
                self.piles.append(pile)
            else:
                pile = self.piles[j]
                pile.box = piles.xyxy[i].copy()
            matched.setdefault(id(pile), []).append(i)
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
