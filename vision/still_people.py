"""Has this person ever moved? A person box whose pixels never change is a picture of one.

A person detector (the lab's, and the COCO people detector beside it) boxes people in posters, photos and
mannequins as readily as people: a lab's safety poster would be "a person without a lab coat" for as long as it
hangs there. A person walks into view, works, turns; a picture does not. Each person track is marked `moved` once
its box's pixels change between two analysed frames over at least `share` of the box, and stays so (a real person
who then stands still is still a person). The change is measured on the motion gate's small blurred grey copy of the
frame, after taking out the box's own median change: a change of brightness over the picture (exposure, lights)
changes a poster's pixels all alike, which is not movement, and a frame where much of the picture changed at once
(lights switched, a cut in the footage) shows no one moving. Pixels inside another object's person box do not count:
someone walking in front of a poster moves, the poster does not. A new track where a moved person was a moment ago
(an identity switch, a duplicate box) is that person.

What a picture of a person "does" is the picture's too: an eating/drinking or smoking box inside the box of a person
who never moved (and of no one who did) is marked not `moved`, so a poster of a smoker is not smoking in the lab.

A camera that starts with someone already standing still judges them from their first movement on. A screen
showing people changes, and a shaking camera moves every picture on the wall: neither is caught here (mask them).
"""
from __future__ import annotations

import numpy as np
import supervision as sv

from vigil.catalogue import DetClass
from vision.rules.base import MOVED, class_names, covered_fraction, overlap_of_smaller, track_ids

PERSON = DetClass.PERSON.value
ACTIVITIES = (DetClass.EATING_DRINKING.value, DetClass.SMOKING.value)  # what a person does: a picture does not
HELD = 0.5  # an activity box this much (of its area) inside a person's box is theirs
CHANGE = 25  # grey levels (after blur and the box's median change) a pixel must change by to count
SHARE = 0.02  # share of a box's pixels that changed for its person to have moved
INNER = 0.1  # only the box less this share of its width and height on each side: its edges hold the background
JUMP = 0.25  # a frame where more than this share of the picture changed (lights, exposure, a cut) shows no one moving
SAME_OBJECT = 0.7  # another person box overlapping this much (of the smaller) is this same person
REMEMBER_S = 15.0  # a new track where a moved person was this recently is them


def box_change(diff: np.ndarray, box: np.ndarray, others: np.ndarray, width: int, height: int,
               change: float = CHANGE) -> float:
    """Share of the pixels inside `box` (frame pixels xyxy, less its edges) whose grey level changed by more than
    `change` in `diff` (the small frame's change since the last one), after taking out the box's median change;
    pixels inside `others` (other objects' boxes) are left out (0.0 where they cover it all)."""
    sh, sw = diff.shape
    sx, sy = sw / width, sh / height

    def cells(b: np.ndarray) -> tuple[int, int, int, int]:
        x1, y1 = int(np.floor(b[0] * sx)), int(np.floor(b[1] * sy))
        x2, y2 = int(np.ceil(b[2] * sx)), int(np.ceil(b[3] * sy))
        return max(x1, 0), max(y1, 0), min(x2, sw), min(y2, sh)

    bw, bh = box[2] - box[0], box[3] - box[1]
    x1, y1, x2, y2 = cells(np.array([box[0] + INNER * bw, box[1] + INNER * bh,
                                     box[2] - INNER * bw, box[3] - INNER * bh]))
    if x2 <= x1 or y2 <= y1:
        return 0.0
    seen = np.ones((y2 - y1, x2 - x1), bool)
    for o in others:
        ox1, oy1, ox2, oy2 = cells(o)
        seen[max(oy1 - y1, 0):max(oy2 - y1, 0), max(ox1 - x1, 0):max(ox2 - x1, 0)] = False
    if not seen.any():
        return 0.0
    d = diff[y1:y2, x1:x2][seen]
    return float(np.mean(np.abs(d - np.median(d)) > change))


class PersonMotion:
    """One camera's memory of which person tracks have moved: `mark(tracks, small, width, height, t_s)` once per
    analysed frame, in order, with the frame as the motion gate saw it (`vision.motion.small_grey`) and the frame's
    size; it adds the `moved` column to `tracks` (True for every box that is neither a person nor an activity)."""

    def __init__(self, share: float = SHARE):
        self.share = share
        self._prev: np.ndarray | None = None  # the last frame, small, grey, blurred
        self._seen: dict[int, tuple[np.ndarray, float, bool]] = {}  # track -> (last box, last seen, moved)

    def mark(self, tracks: sv.Detections, small: np.ndarray | None, width: int, height: int,
             t_s: float) -> sv.Detections:
        prev, self._prev = self._prev, small
        diff: np.ndarray | None = None  # the frame's change, worked out only for a person not yet seen moving
        self._seen = {t: s for t, s in self._seen.items() if t_s - s[1] <= REMEMBER_S}
        moved = np.ones(len(tracks), bool)
        people = np.flatnonzero(class_names(tracks) == PERSON)
        ids = track_ids(tracks)
        boxes = tracks.xyxy[people] if len(people) else np.empty((0, 4))
        for k, i in enumerate(people):
            t, box = int(ids[i]), tracks.xyxy[i]
            before = self._seen.get(t)
            was = before[2] if before is not None else self._inherited(t, box)
            if not was and diff is None:
                diff = self._change(small, prev)
            if not was and diff is not None and diff.size:
                rest = np.delete(boxes, k, axis=0)
                others = rest[overlap_of_smaller(box, rest) < SAME_OBJECT] if len(rest) else rest
                was = box_change(diff, box, others, width, height) >= self.share
            moved[i] = was
            if t >= 0:
                self._seen[t] = (box.copy(), t_s, was)
        acts = np.flatnonzero(np.isin(class_names(tracks), np.array(ACTIVITIES, dtype=str)))
        if len(acts) and len(people):  # smoking in a photo of a smoker: the picture's, not a live person's
            inside = covered_fraction(tracks.xyxy[acts], boxes) >= HELD  # (people, activities)
            live, still = moved[people], ~moved[people]
            moved[acts] = ~((inside & still[:, None]).any(axis=0) & ~(inside & live[:, None]).any(axis=0))
        tracks.data[MOVED] = moved
        return tracks

    @staticmethod
    def _change(small: np.ndarray | None, prev: np.ndarray | None) -> np.ndarray:
        """The small frame's change since the last one; empty where there is none to tell (the first frame, a new
        size, or the whole picture changed at once: every picture on the wall with it)."""
        if small is None or prev is None or prev.shape != small.shape:
            return np.empty(0, np.float32)
        diff = small - prev
        return np.empty(0, np.float32) if np.mean(np.abs(diff - np.median(diff)) > CHANGE) > JUMP else diff

    def _inherited(self, track: int, box: np.ndarray) -> bool:
        """A new track at the place of a person who moved (seen within REMEMBER_S) is them."""
        there = [b for t, (b, _, m) in self._seen.items() if m and t != track]
        return bool(there) and bool((overlap_of_smaller(box, np.asarray(there)) >= SAME_OBJECT).any())
