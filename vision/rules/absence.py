"""Absence rules: a person track without an overlapping protective item (coat, goggles, gloves) for min_s.

An item seen on a person in at least ITEM_CONFIRM detector frames counts as still worn for `item_memory_s`
(catalogue extra, default 10 s) after it was last seen: a hand raised to the face, a turn of the head or a
passer-by hides goggles and gloves for a few frames, and PPE is not taken off and put on again within seconds.
One stray item detection on a bare person confirms nothing. Taking an item off is reported `item_memory_s` later.

Where a second look judged the person's item (a `p_<item>` data column: its probability that they wear it, e.g.
`p_gloves` from the gloves classifier), not seeing the item is not enough: the person counts as without it only when
that probability is at most `bare_max_p` (catalogue extra, default 0.15). In between, the frame says nothing.

A person box shorter than `min_person_px` (catalogue extra, default 64 frame pixels) is not judged at all: their
hands and face are a few pixels (the gloves look reads the lowest quarter of the box at 32 px high), so neither
an item box nor a second look can say what they wear, and a small false person box (a bottle a people detector
took for someone) must not be reported as a person without PPE.

Nor is a person box that has never moved (the analyzer's `moved` column, vision.still_people; `qualifying` leaves
them out): a poster, a photo or a mannequin the detectors take for someone. `judge_still: true` (catalogue extra)
judges them too.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import supervision as sv

from vigil.catalogue import RuleSpec
from vigil.types import Violation
from vision.rules.base import (Episode, Moment, class_names, covered_fraction, overlap_of_smaller, reset_episode,
                               track_ids)
from vision.rules.presence import qualifying
from vision.zones import Zone

ITEM_INSIDE = 0.5  # an item counts as worn when this fraction of its box lies inside the person's box
ITEM_MEMORY_S = 10.0  # when the catalogue does not say
ITEM_CONFIRM = 3  # detector frames with the item on the person, within item_memory_s, before it is remembered
BARE_MAX_P = 0.15  # when the catalogue does not say
MIN_PERSON_PX = 64.0  # when the catalogue does not say
SAME_PERSON = 0.6  # a new track whose box lies this much (of the smaller box) in a reported person's box is them
SAME_PERSON_GAP_S = 15.0  # ... if that person was seen this recently: someone who left longer ago is someone else


class AbsenceRule:
    """lab_no_coat, lab_no_goggles, lab_no_gloves: one event per person track seen without the item."""

    def __init__(self, spec: RuleSpec, zones: Mapping[str, Zone]):
        if not spec.subject:
            raise ValueError(f"rule {spec.name!r}: an absence rule needs a subject class, found none")
        self.spec = spec
        self.zones = [zones[z] for z in spec.zones]
        self.item_min_score = float(spec.extra.get("item_min_score", min(spec.min_score, 0.3)))
        self.item_memory_s = float(spec.extra.get("item_memory_s", ITEM_MEMORY_S))
        self.bare_max_p = float(spec.extra.get("bare_max_p", BARE_MAX_P))
        self.min_person_px = float(spec.extra.get("min_person_px", MIN_PERSON_PX))
        self.worn_at: dict[int, list[float]] = {}  # person track -> media times the item was seen on it
        self.episodes: dict[int, Episode] = {}
        self.cooldown_until: dict[int, float] = {}
        # last box of each track with an episode or a cooldown, and when it was seen there: a second track on the
        # same person (a duplicate box, an identity switch) must not report them again; the next person to stand
        # at the bench after they left must
        self.boxes: dict[int, tuple[np.ndarray, float]] = {}

    @property
    def active(self) -> bool:
        return any(ep.open for ep in self.episodes.values())

    def forming(self, now_s: float) -> bool:
        return any(ep.forming(now_s) for ep in self.episodes.values())

    def _bare_people(self, tracks: sv.Detections, now: Moment) -> sv.Detections:
        people = qualifying(self.spec, tracks, self.zones, now, classes=(self.spec.subject,))
        if len(people):
            tall = people.xyxy[:, 3] - people.xyxy[:, 1] >= self.min_person_px
            people = people[(track_ids(people) >= 0) & tall]
        if len(people) == 0:
            return people
        names = class_names(tracks)
        items = tracks[np.isin(names, np.array(self.spec.classes, dtype=str)) &
                       (tracks.confidence >= self.item_min_score)] if len(tracks) else tracks
        worn = (covered_fraction(items.xyxy, people.xyxy) >= ITEM_INSIDE).any(axis=1)
        ids = track_ids(people)
        if now.detected:  # a still frame carries the last detections forward: nothing new was seen
            for t in ids[worn]:
                self.worn_at.setdefault(int(t), []).append(now.pts_s)
        mem = self.item_memory_s  # keep the sightings of the memory window before the last one
        self.worn_at = {t: kept for t, times in self.worn_at.items()
                        if now.pts_s - times[-1] <= mem and (kept := [at for at in times if times[-1] - at <= mem])}
        recently = np.array([len(self.worn_at.get(int(t), ())) >= ITEM_CONFIRM for t in ids], dtype=bool)
        return people[~worn & ~recently & self._not_judged_wearing(people)]

    def _not_judged_wearing(self, people: sv.Detections) -> np.ndarray:
        """Per person: False where a second look gave them a probability of wearing the item above bare_max_p."""
        ok = np.ones(len(people), dtype=bool)
        for item in self.spec.classes:
            column = people.data.get(f"p_{item}") if people.data else None
            if column is not None:
                p: np.ndarray = np.asarray(column, dtype=np.float32)
                ok &= np.isnan(p) | (p <= np.float32(self.bare_max_p))
        return ok

    def update(self, tracks: sv.Detections, now: Moment) -> list[Violation]:
        bare = self._bare_people(tracks, now)
        ids = track_ids(bare)
        out: list[Violation] = []
        if now.detected:
            self._remember_reported(tracks, now)
        for tid in sorted(set(int(t) for t in ids) | set(self.episodes)):
            if tid not in self.episodes:
                if self.cooldown_until.get(tid, -np.inf) > now.pts_s or self._someone_reported(tid, bare, ids, now):
                    continue
                self.episodes[tid] = Episode(self.spec, self.spec.name)
                self.boxes[tid] = (bare.xyxy[ids == tid][0], now.pts_s)
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
        self.boxes = {t: b for t, b in self.boxes.items()
                      if t in self.episodes or self.cooldown_until.get(t, -np.inf) > now.pts_s}
        return out

    def _remember_reported(self, tracks: sv.Detections, now: Moment) -> None:
        """Where each person with an episode or a cooldown is now (bare or not)."""
        ids = track_ids(tracks)
        for i in np.flatnonzero((class_names(tracks) == self.spec.subject) & (ids >= 0)):
            t = int(ids[i])
            if t in self.episodes or self.cooldown_until.get(t, -np.inf) > now.pts_s:
                self.boxes[t] = (tracks.xyxy[i], now.pts_s)

    def _someone_reported(self, tid: int, bare: sv.Detections, ids: np.ndarray, now: Moment) -> bool:
        """Whether the new track `tid` is a person another track already has an episode or a cooldown for: at
        their place, and seen there within SAME_PERSON_GAP_S (a duplicate box or an identity switch)."""
        others = np.asarray([b for t, (b, at) in self.boxes.items()
                             if t != tid and now.pts_s - at <= SAME_PERSON_GAP_S])
        if not len(others):
            return False
        return bool((overlap_of_smaller(bare.xyxy[ids == tid][0], others) >= SAME_PERSON).any())
