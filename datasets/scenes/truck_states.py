"""Crops of dump trucks in the three load states a reviewer tells apart (covered, uncovered, empty), rendered the
way the site scenes are (background, perspective, shadow, camera drift, blur and noise), for the load-state
classifier that decides `dump_truck` vs `dump_truck_uncovered` on the detector's truck boxes."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from datasets.scenes.base import jittered_crops
from datasets.scenes.site import TRUCK_COLORS, crop_stage
from datasets.scenes.site_actors import Vehicle, truck_sprite
from vigil.crops import CROP_PAD

LOADS = ("covered", "uncovered", "empty")
CROP_HW = (48, 96)  # what the classifier sees: a truck box resized to 48 x 96


def truck_frames(seed: int, *, size: tuple[int, int] = (640, 360)) -> Iterator[tuple[np.ndarray, list]]:
    """Endless site frames (BGR uint8) with one or two standing trucks, and each truck's (xyxy box clipped to
    the frame, load index into LOADS); deterministic by seed. A quarter of the trucks are cut by the frame's edge,
    some stand behind another; trucks mostly outside the frame are left out of the list."""
    rng = np.random.default_rng((seed, 31))
    W, H = size
    while True:
        persp, background, camera, lanes = crop_stage(size, rng)
        for _ in range(16):  # several frames per background: the background is the slow part
            img = background.copy()
            trucks = []
            for k in range(1 + int(rng.random() < 0.3)):
                lane = float(lanes[int(rng.integers(len(lanes)))] + rng.uniform(-6, 6))
                length = int(0.62 * W * persp.scale(lane) * rng.uniform(0.7, 1.3))
                load = int(rng.integers(len(LOADS)))
                spr, alpha = truck_sprite(length, TRUCK_COLORS[rng.integers(len(TRUCK_COLORS))], LOADS[load], rng)
                if rng.random() < 0.5:
                    spr, alpha = spr[:, ::-1].copy(), alpha[:, ::-1].copy()
                w = alpha.shape[1]
                cx = float(rng.uniform(-0.35 * w, W + 0.35 * w)) if rng.random() < 0.25 else float(
                    rng.uniform(w / 2, W - w / 2))
                trucks.append((Vehicle(spr, alpha, [(0.0, cx), (1.0, cx)], lane, 0.0, 1.0, "truck", size), load))
            for v, _ in sorted(trucks, key=lambda tv: tv[0].depth):
                v.draw(img, 0.5)
            frame = camera.apply(img, float(rng.uniform(0, 300)), int(rng.integers(1000)))
            boxes = []
            for v, load in trucks:
                x1, y1, x2, y2 = v.box_at(0.5)
                cx1, cx2 = max(0.0, x1), min(float(W), x2)
                if cx2 - cx1 >= max(12.0, 0.3 * (x2 - x1)):  # a detector would box it
                    boxes.append(((cx1, y1, cx2, y2), load))
            yield frame, boxes


def truck_crops(seed: int, n: int, *, size: tuple[int, int] = (640, 360)) -> tuple[np.ndarray, np.ndarray]:
    """`n` crops (N, 48, 96, 3 BGR uint8) of `truck_frames` trucks and their load index into LOADS, cropped along
    a jittered box the way a detector's box would frame it; deterministic by seed."""
    return jittered_crops(truck_frames(seed, size=size), n, np.random.default_rng((seed, 32)), label=0, hw=CROP_HW,
                          sigma=0.04, pad=CROP_PAD)
