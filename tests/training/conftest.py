"""Training fixtures: a tiny real site-profile YOLO (coloured shapes as fire/smoke/dust), trained once and cached."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.vision.toy_model import ToyModel, ToyRecipe, build_toy_model, draw_shape, render_toy_image
from vigil.catalogue import PROFILE_CLASSES, RULES
from vigil.config import MotionConfig

SITE = PROFILE_CLASSES["site"]  # toy class ids 0, 1, 2 are the site profile's fire, smoke, dust
FIRE_SIZE = 26  # px, the side of the fire square in `fire_cycle_frames`


@pytest.fixture(scope="session")
def site_toy_model() -> ToyModel:
    cache = Path(os.environ.get("VIGIL_TEST_CACHE") or Path(tempfile.gettempdir()) / "vigil-test-cache")
    return build_toy_model(ToyRecipe(classes=SITE), cache)


def toy_shots(seed: int, n: int, size: int = 96) -> list[tuple[bytes, tuple]]:
    """Evidence frames and a reviewer's boxes for them: toy shapes named by the site classes."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img, labels = render_toy_image(rng, size)
        boxes = tuple((SITE[c], b[0] / size, b[1] / size, b[2] / size, b[3] / size) for c, b in labels)
        out.append((cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes(), boxes))
    return out


def fire_off_s() -> float:
    """How long the fire must stay out for each burst to be its own open_burning event, whatever the model.

    When the square vanishes the motion gate sees no motion (the frame matches its background), so the
    detector next runs at the idle check, up to `idle_check_s` later. Rules no longer count the still frames
    between (they used to, and with 12 s off a model sure of the last fire frame merged every burst into one
    endless event), but the gap still has to outlast `grace_s` after the last detector frame that saw the fire;
    `idle_check_s` + 3 s on top keeps the bursts apart with room to spare.
    """
    return RULES["open_burning"].grace_s + MotionConfig().idle_check_s + 3.0


def fire_cycle_boxes(cycles: int = 3, fps: float = 5.0, on_s: float = 5.0,
                     off_s: float | None = None) -> list[tuple[int, int, int, int] | None]:
    """Per frame of `fire_cycle_frames`: the fire square's xyxy box, or None while the fire is out."""
    off_s = fire_off_s() if off_s is None else off_s
    boxes: list[tuple[int, int, int, int] | None] = []
    for _ in range(cycles):
        for i in range(int((on_s + off_s) * fps)):
            x, y = 20 + (i % 10) * 3, 30 + (i % 7) * 2
            boxes.append((x, y, x + FIRE_SIZE, y + FIRE_SIZE) if i < on_s * fps else None)
    return boxes


def fire_cycle_frames(cycles: int = 3, fps: float = 5.0, size: int = 96, on_s: float = 5.0,
                      off_s: float | None = None, seed: int = 5) -> list[np.ndarray]:
    """A camera view: a moving red square (fire) for `on_s`, then nothing for `off_s` (default `fire_off_s()`),
    repeated."""
    rng = np.random.default_rng(seed)
    frames = []
    for box in fire_cycle_boxes(cycles, fps, on_s, off_s):
        img = np.full((size, size, 3), 130, np.uint8)
        img = cv2.add(img, rng.integers(0, 20, img.shape, dtype=np.uint8))
        if box is not None:
            draw_shape(img, 0, box[0], box[1], FIRE_SIZE)
        frames.append(img)
    return frames
