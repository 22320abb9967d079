"""What the second-look tests share: the shipped files, an unseen seed, the shared datasets, and small checks."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets.scenes.truck_states import LOADS, truck_frames
from vision.analyzer import CameraAnalyzer
from vision.second_look import CropClassifier
from tests.vision.scripted import Obj, run_script

MODELS = Path(__file__).resolve().parents[2] / "models"
UNSEEN_SEED = 4242  # neither a training (7301 ... 7601) nor a card's held-out (7399 ... 7699) seed


def frame_with(load: str, seed: int = UNSEEN_SEED, *, whole: bool = True):
    """The first rendered frame with a lone truck in `load` state, fully inside the frame when `whole`."""
    for frame, boxes in truck_frames(seed):
        if len(boxes) == 1 and LOADS[boxes[0][1]] == load:
            x1, _, x2, _ = boxes[0][0]
            if not whole or (x1 > 0 and x2 < frame.shape[1]):
                return frame, boxes[0][0]
    raise AssertionError("unreachable")


def predicted(clf: CropClassifier, task: str, classes: tuple, crops: np.ndarray, truth: np.ndarray, *,
              accuracy: float, recall: float) -> np.ndarray:
    """The shipped classifier's predictions on unseen crops, after checking its task, overall accuracy and the
    recall of every class."""
    pred = clf.probabilities(crops).argmax(1)
    assert clf.task == task and clf.classes == classes
    assert (pred == truth).mean() >= accuracy
    for k, name in enumerate(classes):
        assert (pred[truth == k] == k).mean() >= recall, name
    return pred


def swaying(frame: np.ndarray, objs: list[Obj], fps: float = 2.0):
    """`frame` over time, each person in it swaying (their box's pixels shifted 8 px one way, then the other, frame
    by frame): a live person, where the same frame for ever is a photo of one (vision.still_people)."""
    def image(t: float) -> np.ndarray:
        out = frame.copy()
        shift = 8 if int(round(t * fps)) % 2 else -8
        for o in objs:
            if o.cls == "person":
                x1, y1, x2, y2 = (max(int(round(v)), 0) for v in o.xyxy)
                out[y1:y2, x1:x2] = np.roll(frame[y1:y2, x1:x2], shift, axis=1)
        return out
    return image


def analyse(analyzer: CameraAnalyzer, frame: np.ndarray, objs: list[Obj], seconds: float = 20.0) -> list[str]:
    """The rules the analyzer opens on `frame`, its people swaying, with the detector scripted to say `objs`, for
    `seconds`."""
    found = run_script(analyzer, lambda _t: objs, seconds=seconds, image=swaying(frame, objs))
    opened = [v for v in found if v.phase == "open"]
    for v in opened:  # the evidence names the classifiers that looked
        assert v.thresholds.get("second_look", {}) == {c.task: c.version for c in analyzer.second_look}
    return [v.rule for v in opened]


def shared_datasets() -> Path:
    """../shared/datasets; a test that needs real pictures fails (not skips) without it."""
    from datasets.scenes.assets import default_datasets_dir

    shared = default_datasets_dir()
    assert shared is not None, "the checks on real pictures (garbage, people, smokers) read ../shared/datasets"
    return shared
