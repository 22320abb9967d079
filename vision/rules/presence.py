"""Presence rules: a trigger class in the rule's zones, confident, seen k of n frames for min_s; one event."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import supervision as sv

from vigil.catalogue import RuleSpec
from vigil.types import Violation
from vision.rules.base import MOVED, Episode, Moment, class_names, reset_episode, track_ids
from vision.zones import Zone, in_any_zone


def qualifying(spec: RuleSpec, dets: sv.Detections, zones: list[Zone], now: Moment,
               classes: tuple[str, ...] | None = None) -> sv.Detections:
    """The detections of `classes` (default: the rule's) at or above min_score inside the rule's zones; not the ones
    the analyzer marked not `moved` (a picture of a person and what it "does": vision.still_people) unless the rule
    says `judge_still: true` (catalogue extra)."""
    if len(dets) == 0:
        return dets
    keep = np.isin(class_names(dets), np.array(classes or spec.classes, dtype=str))
    keep &= dets.confidence >= spec.min_score
    keep &= in_any_zone(dets, zones, now.width, now.height)
    moved = dets.data.get(MOVED) if dets.data and not spec.extra.get("judge_still", False) else None
    if moved is not None:
        keep &= np.asarray(moved, bool)
    return dets[keep]


class PresenceRule:
    """open_burning, dust, uncovered_truck, lab_fire, lab_eating_smoking: 'this is here and should not be'."""

    def __init__(self, spec: RuleSpec, zones: Mapping[str, Zone]):
        self.spec = spec
        self.zones = [zones[z] for z in spec.zones]
        self.episode = Episode(spec, spec.name)
        self.cooldown_until: dict[int, float] = {}  # track id -> media seconds; -1 stands for untracked boxes

    @property
    def active(self) -> bool:
        return self.episode.open

    def forming(self, now_s: float) -> bool:
        return self.episode.forming(now_s)

    def _not_cooling(self, hits: sv.Detections, now: Moment) -> sv.Detections:
        if len(hits) == 0 or self.episode.open:
            return hits
        ids = track_ids(hits)
        cooling = np.array([self.cooldown_until.get(int(t), -np.inf) > now.pts_s for t in ids], bool)
        return hits[~cooling]

    def update(self, tracks: sv.Detections, now: Moment) -> list[Violation]:
        hits = self._not_cooling(qualifying(self.spec, tracks, self.zones, now), now)
        self.episode.observe(hits, tracks, now)
        v = self.episode.step(now)
        if v is None:
            return []
        if v.phase == "closed":
            until = now.pts_s + self.spec.cooldown_s
            self.cooldown_until = {t: u for t, u in self.cooldown_until.items() if u > now.pts_s}
            for t in self.episode.tracks | {-1}:  # -1: boxes seen before their track was confirmed
                self.cooldown_until[t] = until
            reset_episode(self.episode)
        return [v]
