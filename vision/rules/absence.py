"""Absence rules: a person track without an overlapping protective item (coat, goggles, gloves) for min_s."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import supervision as sv

from vigil.catalogue import RuleSpec
from vigil.types import Violation
from vision.rules.base import Episode, Moment, class_names, reset_episode, track_ids
from vision.rules.presence import qualifying
from vision.zones import Zone

ITEM_INSIDE = 0.5  # an item counts as worn when this fraction of its box lies inside the person's box


def covered_fraction(items: np.ndarray, people: np.ndarray) -> np.ndarray:
    """(P, I): the fraction of each item box's area that lies inside each person box."""
    if len(items) == 0 or len(people) == 0:
        return np.zeros((len(people), len(items)))
    x1 = np.maximum(people[:, None, 0], items[None, :, 0])
    y1 = np.maximum(people[:, None, 1], items[None, :, 1])
    x2 = np.minimum(people[:, None, 2], items[None, :, 2])
    y2 = np.minimum(people[:, None, 3], items[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = np.clip((items[:, 2] - items[:, 0]) * (items[:, 3] - items[:, 1]), 1e-6, None)
    return inter / area[None, :]


class AbsenceRule:
    """lab_no_coat, lab_no_goggles, lab_no_gloves: one event per person track seen without the item."""

    def __init__(self, spec: RuleSpec, zones: Mapping[str, Zone]):
        if not spec.subject:
            raise ValueError(f"rule {spec.name!r}: an absence rule needs a subject class, found none")
        self.spec = spec
        self.zones = [zones[z] for z in spec.zones]
        self.item_min_score = float(spec.extra.get("item_min_score", min(spec.min_score, 0.3)))
        self.episodes: dict[int, Episode] = {}
        self.cooldown_until: dict[int, float] = {}

    @property
    def active(self) -> bool:
        return any(ep.open for ep in self.episodes.values())

    def _bare_people(self, tracks: sv.Detections, now: Moment) -> sv.Detections:
        people = qualifying(self.spec, tracks, self.zones, now, classes=(self.spec.subject,))
        people = people[track_ids(people) >= 0] if len(people) else people
        if len(people) == 0:
            return people
        names = class_names(tracks)
        items = tracks[np.isin(names, np.array(self.spec.classes, dtype=str)) &
                       (tracks.confidence >= self.item_min_score)] if len(tracks) else tracks
        worn = (covered_fraction(items.xyxy, people.xyxy) >= ITEM_INSIDE).any(axis=1)
        return people[~worn]

    def update(self, tracks: sv.Detections, now: Moment) -> list[Violation]:
        bare = self._bare_people(tracks, now)
        ids = track_ids(bare)
        out: list[Violation] = []
        for tid in set(int(t) for t in ids) | set(self.episodes):
            if tid not in self.episodes:
                if self.cooldown_until.get(tid, -np.inf) > now.pts_s:
                    continue
                self.episodes[tid] = Episode(self.spec, self.spec.name)
            ep = self.episodes[tid]
            ep.observe(bare[ids == tid], tracks, now)
            v = ep.step(now)
            if v is not None:
                out.append(v)
                if v.phase == "closed":
                    self.cooldown_until = {t: u for t, u in self.cooldown_until.items() if u > now.pts_s}
                    self.cooldown_until[tid] = now.pts_s + self.spec.cooldown_s
                    reset_episode(ep)
            if not ep.open and ep.run_start is None:
                del self.episodes[tid]  # nothing pending for this track
        return out
