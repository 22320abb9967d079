"""The motion gate: a downscaled frame difference against a slowly adapting background, with masks.

A change over the whole frame (lighting, an IR switch, camera shake) is not motion: a global brightness
shift is removed before differencing, a small shift of the whole picture is undone by phase correlation,
and a change larger than `max_area` resets the background instead of waking the detector.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

SMALL_WIDTH = 160  # the gate works on a frame this wide: a few hundred microseconds per frame


@dataclass(frozen=True)
class MotionResult:
    motion: bool
    changed: float  # fraction of unmasked pixels that changed, after global compensation
    global_change: bool  # the whole picture changed (lighting, IR, shake beyond repair): background reset
    small: np.ndarray | None = field(default=None, compare=False, repr=False)  # the frame as the gate saw it


def polygons_mask(polygons: Sequence[Sequence[tuple[float, float]]], width: int, height: int) -> np.ndarray:
    """A uint8 mask (255 inside any polygon) from polygons in relative 0-1 coordinates."""
    mask = np.zeros((height, width), np.uint8)
    for poly in polygons:
        pts = np.array([[x * (width - 1), y * (height - 1)] for x, y in poly], np.float32)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 255)
    return mask


def small_grey(image: np.ndarray, width: int = SMALL_WIDTH) -> np.ndarray:
    """The frame `width` pixels wide, grey, blurred (float32): what the gate and the still-people look compare."""
    h, w = image.shape[:2]
    sh = max(int(round(h * width / w)), 8)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    small = cv2.resize(grey, (width, sh), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small, (5, 5), 0).astype(np.float32)


class MotionGate:
    """One camera's motion detector; `update(image)` once per decoded frame, in order."""

    def __init__(self, *, threshold: int = 25, min_area: float = 0.002, max_area: float = 0.6,
                 mask: Sequence[Sequence[tuple[float, float]]] = (), alpha: float = 0.05,
                 small_width: int = SMALL_WIDTH):
        self.threshold, self.min_area, self.max_area = threshold, min_area, max_area
        self.alpha = alpha
        self.small_width = small_width
        self._mask_polys = [list(p) for p in mask]
        self._background: np.ndarray | None = None
        self._keep: np.ndarray | None = None  # bool: pixels the gate looks at
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def reset(self) -> None:
        self._background = None

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        small = small_grey(image, self.small_width)
        if self._keep is None or self._keep.shape != small.shape:
            masked = polygons_mask(self._mask_polys, small.shape[1], small.shape[0]) > 0
            self._keep = ~masked
            self._background = None
        return small

    def _aligned(self, small: np.ndarray, bg: np.ndarray) -> np.ndarray:
        """Undo a small translation of the whole picture (shake) found by phase correlation."""
        (dx, dy), response = cv2.phaseCorrelate(bg, small)
        if response < 0.2 or (abs(dx) < 0.5 and abs(dy) < 0.5) or max(abs(dx), abs(dy)) > small.shape[1] / 8:
            return small
        m = np.float32([[1, 0, -dx], [0, 1, -dy]])
        return cv2.warpAffine(small, m, (small.shape[1], small.shape[0]), borderMode=cv2.BORDER_REPLICATE)

    def update(self, image: np.ndarray) -> MotionResult:
        small = self._prepare(image)
        if self._background is None:
            self._background = small.copy()
            return MotionResult(False, 0.0, False, small)
        bg = self._background
        keep = self._keep
        diff = self._aligned(small, bg) - bg
        if keep.any():
            diff -= float(np.median(diff[keep]))  # a global brightness shift is not motion
        changed_px = (np.abs(diff) > self.threshold).astype(np.uint8)
        changed_px = cv2.morphologyEx(changed_px, cv2.MORPH_OPEN, self._kernel)
        changed_px[~keep] = 0
        changed = float(changed_px.sum()) / max(int(keep.sum()), 1)
        if changed > self.max_area:
            self._background = small  # a new picture: learn it at once
            return MotionResult(False, changed, True, small)
        # Adapt slowly, and not where things are moving, so a passing object does not smear the background.
        still = (changed_px == 0).astype(np.uint8)
        cv2.accumulateWeighted(small, bg, self.alpha, mask=still)
        cv2.accumulateWeighted(small, bg, self.alpha / 2, mask=1 - still)
        return MotionResult(changed > 0 and changed >= self.min_area, changed, False, small)
