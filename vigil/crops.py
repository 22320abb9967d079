"""Cutting a detection's box out of a frame for a second-stage model (the load-state classifier and its data)."""
from __future__ import annotations

import numpy as np

CROP_PAD = 0.06  # of the box's size on each side: a detector's box can be a little tight


def crop_resized(image: np.ndarray, box, hw: tuple[int, int], pad: float = CROP_PAD) -> np.ndarray:
    """The xyxy box, padded by `pad` and clipped to the image, resized to `hw` = (H, W) (BGR uint8).
    A box with (almost) nothing inside the image gives a black crop."""
    import cv2

    H, W = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    px, py = (x2 - x1) * pad, (y2 - y1) * pad
    xa, ya = int(max(0, np.floor(x1 - px))), int(max(0, np.floor(y1 - py)))
    xb, yb = int(min(W, np.ceil(x2 + px))), int(min(H, np.ceil(y2 + py)))
    if xb - xa < 2 or yb - ya < 2:
        return np.zeros((*hw, 3), np.uint8)
    return cv2.resize(image[ya:yb, xa:xb], (hw[1], hw[0]), interpolation=cv2.INTER_AREA)


def activity_region(box) -> tuple[float, float, float, float]:
    """The part of a person's xyxy box where hands meet the face: the upper 60 %, a little wider, and a margin
    above the head for cigarette smoke (what the activity classifier looks at)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    return x1 - 0.1 * w, y1 - 0.15 * h, x2 + 0.1 * w, y1 + 0.6 * h


def hands_region(box) -> tuple[float, float, float, float]:
    """Where a person's hands rest at a bench: the lowest quarter of their xyxy box, a little wider and a little
    below it (what the gloves classifier looks at)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    return x1 - 0.1 * w, y2 - 0.25 * h, x2 + 0.1 * w, y2 + 0.05 * h


def head_region(box) -> tuple[float, float, float, float]:
    """A person's head seen from the front: the middle 60 % of their xyxy box's width, from a little above its top
    to a third of the way down (what the goggles classifier looks at)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    return x1 + 0.2 * w, y1 - 0.05 * h, x2 - 0.2 * w, y1 + 0.33 * h
