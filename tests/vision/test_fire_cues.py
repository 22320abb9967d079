"""Fire cues: a weak fire box that is flame-coloured and flickers is raised; a still orange lamp is dropped."""
from __future__ import annotations

import numpy as np
import pytest
import supervision as sv

from vision.fire_cues import CueSettings, FireSmokeCues, flame_mask

BOX = (100, 60, 180, 140)


def _frame(kind: str, t: int, rng) -> np.ndarray:
    img = np.full((240, 320, 3), 70, np.uint8)  # a dim grey scene
    img += rng.integers(0, 3, img.shape, dtype=np.uint8)  # sensor noise
    x1, y1, x2, y2 = BOX
    if kind == "flame":  # orange-yellow tongues whose shape changes every frame
        for x in range(x1, x2, 4):
            top = y1 + int(rng.integers(0, 50))
            img[top:y2, x:x + 4] = (30, 150 + int(rng.integers(0, 80)), 255)  # BGR
    elif kind == "lamp":  # the same orange disc in every frame
        yy, xx = np.mgrid[y1:y2, x1:x2]
        disc = (yy - (y1 + y2) / 2) ** 2 + (xx - (x1 + x2) / 2) ** 2 < 35 ** 2
        img[y1:y2, x1:x2][disc] = (40, 170, 250)
    elif kind == "grey_motion":  # something moving, but nothing flame-coloured (a person in grey)
        img[y1:y2, x1 + 8 * (t % 4):x1 + 40 + 8 * (t % 4)] = 150
    return img


def _dets(name: str, conf: float) -> sv.Detections:
    return sv.Detections(xyxy=np.array([BOX], np.float32), confidence=np.array([conf], np.float32),
                         class_id=np.array([0]), data={"class_name": np.array([name])})


@pytest.mark.parametrize("kind, name, conf, kept, score", [
    ("flame", "fire", 0.15, True, 0.45),         # weak box + flame colour + flicker: raised
    ("flame", "fire", 0.70, True, 0.70),         # a confident flame stays as it was
    ("lamp", "fire", 0.70, False, None),         # a confident but still orange lamp: vetoed
    ("lamp", "fire", 0.15, False, None),         # a weak still lamp is not raised (and is below conf)
    ("grey_motion", "fire", 0.15, False, None),  # motion without flame colour is not raised
    ("flame", "smoke", 0.15, False, None),       # smoke has no cue: below conf it goes
    ("flame", "person", 0.15, False, None),      # other classes keep the detector's own threshold
    ("lamp", "person", 0.60, True, 0.60),        # ... and are never vetoed
])
def test_cues_raise_flickering_flames_and_drop_still_lamps(kind, name, conf, kept, score):
    rng = np.random.default_rng(0)
    cues = FireSmokeCues(CueSettings(conf=0.25, weak_conf=0.1, promote_score=0.45))
    first = cues.refine(_dets(name, conf), _frame(kind, 0, rng), 0.0)  # no previous frame: no flicker known yet
    assert len(first) == (1 if conf >= 0.25 else 0)
    out = cues.refine(_dets(name, conf), _frame(kind, 1, rng), 0.5)
    assert (len(out) == 1) is kept
    if kept:
        assert float(out.confidence[0]) == pytest.approx(score)


def test_frames_too_far_apart_neither_raise_nor_veto():
    rng = np.random.default_rng(1)
    cues = FireSmokeCues(CueSettings())
    cues.refine(_dets("fire", 0.7), _frame("lamp", 0, rng), 0.0)
    assert len(cues.refine(_dets("fire", 0.7), _frame("lamp", 1, rng), 10.0)) == 1  # 10 s later: no judgement


@pytest.mark.parametrize("bgr, flame", [
    ((30, 140, 255), True),    # orange
    ((60, 220, 255), True),    # yellow
    ((110, 150, 200), False),  # skin
    ((70, 70, 70), False),     # grey
    ((250, 250, 250), False),  # white wall
    ((40, 40, 200), False),    # dark red sign: too dark, too little green
])
def test_flame_colour(bgr, flame):
    img = np.zeros((4, 4, 3), np.uint8)
    img[:] = bgr
    assert bool(flame_mask(img).all()) is flame
