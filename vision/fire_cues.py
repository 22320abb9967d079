"""A second opinion on fire boxes from cues no training source taught: flame colour and flicker.

The detector learned the look of fire from a few sources; flame colour (bright, red-orange: Cr well above Cb in
YCbCr) and flicker (the flame's pixels change between detector frames) hold on any camera. They raise a weak fire
box to `promote_score` when both are strong, and veto a confident fire box that does not change at all across
two detector frames (a static orange lamp, a sunset, a red sign). Every other box passes unchanged, cut back to the
detector's own `conf` (the detector runs at `weak_conf` so that weak fire boxes reach this look).

Smoke has no such cue here: a drift-and-grey test promoted the detector's weak "smoke" all over a grey clinic
CCTV picture (measured on the shared clinic clip), so smoke stays the detector's alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import supervision as sv

FIRE = "fire"
MAX_GAP_S = 2.5  # frames further apart than this cannot tell flicker from change


@dataclass(frozen=True)
class CueSettings:
    """Thresholds of the cues (config: detectors.<profile>.cues)."""

    conf: float = 0.25  # the detector's own threshold for every class
    weak_conf: float = 0.1  # fire/smoke boxes down to this are looked at
    promote_score: float = 0.5  # what a weak box with strong cues becomes: enough for every rule (min_score 0.4,
    # lab_fire's confirm_score 0.5): a weak detector box with flame colour and flicker opens an event
    flame_share: float = 0.15  # share of flame-coloured pixels in a fire box for it to count as flame
    promote_flicker: float = 5.0  # mean grey change of flame pixels between detector frames (real flames: 6-20)
    veto_flicker: float = 1.0  # below this a fire box is static across frames: not a flame


def flame_mask(bgr: np.ndarray) -> np.ndarray:
    """Bool mask of flame-coloured pixels: bright, Cr far above Cb (skin reaches ~60, orange flames 110+), red >=
    green > blue (a YCbCr fire rule)."""
    if bgr.size == 0:
        return np.zeros(bgr.shape[:2], bool)
    ycrcb = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb).astype(np.int16)
    y, cr, cb = ycrcb[..., 0], ycrcb[..., 1], ycrcb[..., 2]
    b, g, r = (bgr[..., i].astype(np.int16) for i in range(3))
    return (y >= 120) & (cr - cb >= 80) & (r >= g) & (g > b) & (r >= 190)


@dataclass(frozen=True)
class BoxCues:
    flame_share: float
    change: float | None  # mean grey change of the box's (flame) pixels since the last detector frame


class FireSmokeCues:
    """Per-camera, stateful: `refine(dets, image, t_s)` once per detector frame. Not thread-safe."""

    def __init__(self, settings: CueSettings = CueSettings()):
        self.s = settings
        self._prev: tuple[float, np.ndarray] | None = None  # (t_s, grey) of the last detector frame
        self.promoted = self.vetoed = 0

    def measure(self, box: np.ndarray, image: np.ndarray, grey: np.ndarray, prev: np.ndarray | None) -> BoxCues:
        h, w = grey.shape
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
        if x2 - x1 < 2 or y2 - y1 < 2:
            return BoxCues(0.0, None)
        mask = flame_mask(image[y1:y2, x1:x2])
        share = float(mask.mean())
        if prev is None:
            return BoxCues(share, None)
        diff = np.abs(grey[y1:y2, x1:x2].astype(np.int16) - prev[y1:y2, x1:x2].astype(np.int16))
        region = diff[mask] if mask.sum() >= 16 else diff
        return BoxCues(share, float(region.mean()))

    def refine(self, dets: sv.Detections, image: np.ndarray, t_s: float) -> sv.Detections:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        prev = None
        if self._prev is not None and self._prev[1].shape == grey.shape and 0 < t_s - self._prev[0] <= MAX_GAP_S:
            prev = self._prev[1]
        self._prev = (t_s, grey)
        if len(dets) == 0:
            return dets
        names = np.asarray(dets.data.get("class_name", np.array([""] * len(dets))), dtype=str)
        conf = dets.confidence.astype(np.float32).copy()
        keep = conf >= self.s.conf
        for i, name in enumerate(names):
            if name != FIRE:
                continue
            c = self.measure(dets.xyxy[i], image, grey, prev)
            weak = self.s.weak_conf <= conf[i] < self.s.promote_score
            strong = c.flame_share >= self.s.flame_share and c.change is not None and \
                c.change >= self.s.promote_flicker
            static = c.change is not None and c.change < self.s.veto_flicker
            if weak and strong:
                conf[i], keep[i] = self.s.promote_score, True
                self.promoted += 1
            elif keep[i] and static:
                keep[i] = False
                self.vetoed += 1
        out = dets[np.arange(len(dets))]  # a copy: the caller's detections stay as the detector gave them
        out.confidence = conf
        return out[keep]
