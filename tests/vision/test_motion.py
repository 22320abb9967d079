"""The motion gate on real synthetic frames: moving things are motion; lighting, IR and shake are not."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.vision.scripted import analyzer_for
from vision.motion import MotionGate
from vision.replay import frames_from_images

W, H = 320, 180


def scene(seed: int = 3) -> np.ndarray:
    """A textured still scene: blocks of colour with sensor noise added per frame by `noisy`."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 200, (H // 20, W // 20, 3), dtype=np.uint8)
    return cv2.resize(small, (W, H), interpolation=cv2.INTER_NEAREST)


def noisy(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return cv2.add(img, rng.integers(0, 6, img.shape, dtype=np.uint8))


def with_box(img: np.ndarray, x: int) -> np.ndarray:
    out = img.copy()
    cv2.rectangle(out, (x, 60), (x + 30, 110), (20, 20, 240), -1)
    return out


def brighter(img, delta=40):
    return cv2.add(img, np.full(img.shape, delta, np.uint8))


def gain(img, g=1.3):
    return np.clip(img.astype(np.float32) * g, 0, 255).astype(np.uint8)


def infrared(img):
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return cv2.cvtColor(255 - grey, cv2.COLOR_GRAY2BGR)  # night mode: grey, different contrast


def shaken(img, dx=3, dy=2):
    return cv2.warpAffine(img, np.float32([[1, 0, dx], [0, 1, dy]]), (W, H), borderMode=cv2.BORDER_REFLECT)


CHANGES = [
    ("still", lambda base: base, False),
    ("moving-box", lambda base: with_box(base, 150), True),
    ("brighter", brighter, False),
    ("gain", gain, False),
    ("infrared-switch", infrared, False),
    ("camera-shake", shaken, False),
    ("box-under-motion-mask", lambda base: with_box(base, 20), False),
]


@pytest.mark.parametrize("change, expect_motion", [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_gate_tells_motion_from_whole_frame_changes(change, expect_motion):
    rng = np.random.default_rng(0)
    base = scene()
    gate = MotionGate(mask=[[(0.0, 0.0), (0.2, 0.0), (0.2, 1.0), (0.0, 1.0)]])
    for _ in range(5):
        assert gate.update(noisy(base, rng)).motion is False
    results = [gate.update(noisy(change(base), rng)) for _ in range(2)]
    assert results[0].motion is expect_motion, results[0]
    if not expect_motion:
        assert results[1].motion is False  # and it stays quiet afterwards (the background caught up)


def test_an_object_that_stops_stops_being_motion():
    rng = np.random.default_rng(1)
    base = scene()
    gate = MotionGate(alpha=0.1)
    gate.update(base)
    moving = [gate.update(noisy(with_box(base, 40 + 10 * i), rng)).motion for i in range(10)]
    parked = [gate.update(noisy(with_box(base, 130), rng)).motion for _ in range(80)]
    assert all(moving) and parked[0] and not any(parked[-10:])


def test_analyzer_skips_still_frames_but_checks_every_idle_period():
    analyzer = analyzer_for("site", "motion: {enabled: true, idle_check_s: 5}")
    rng = np.random.default_rng(2)
    base = scene()
    images = [noisy(with_box(base, 10 + 8 * (i - 40)) if 40 <= i < 50 else base, rng) for i in range(120)]
    wanted = []
    for frame in frames_from_images("cam", images, fps=2):
        want = analyzer.wants_detection(frame)
        wanted.append(want)
        analyzer.update(frame, None if not want else _no_dets())
    idx = [i for i, w in enumerate(wanted) if w]
    assert idx[0] == 0 and all(i in idx for i in range(40, 50))  # first frame and the moving box
    assert all(b - a <= 10 for a, b in zip(idx, idx[1:]))  # an idle check at least every 5 s (10 frames)
    stats = analyzer.stats
    assert stats["frames"] == 120 and stats["detected"] == len(idx)
    assert stats["skip_ratio"] == pytest.approx(1 - len(idx) / 120) and stats["skip_ratio"] > 0.6


def _no_dets():
    from tests.vision.scripted import dets_of

    return dets_of([])


def test_a_static_fire_on_a_still_camera_is_reported_through_idle_checks():
    from tests.vision.scripted import Obj, dets_of
    from vigil.catalogue import DetClass

    analyzer = analyzer_for("site", "motion: {enabled: true, idle_check_s: 5}")
    base = scene()
    opened = []
    for frame in frames_from_images("cam", [base] * 60, fps=2):
        want = analyzer.wants_detection(frame)
        dets = dets_of([Obj(DetClass.FIRE.value, (100.0, 100.0, 150.0, 170.0))]) if want else None
        result = analyzer.update(frame, dets)
        opened += [v for v in result.violations if v.phase == "open"]
        if not want:
            assert not result.detected and len(result.detections) == 1  # carried forward on still frames
    # every frame while the candidate forms (0-3 s, 7 frames), then an idle check every 5 s: 8, 13, 18, 23, 28 s
    assert analyzer.stats["detected"] == 7 + 5
    assert len(opened) == 1 and opened[0].start_s == 0.0 and opened[0].end_s == 3.0
