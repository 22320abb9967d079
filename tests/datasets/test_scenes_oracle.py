"""Scene ground truth agrees with the rules: a scripted detector replaying the scene's own labels through the
camera analyzer finds exactly the ground-truth violations (so a perfect model would score recall 1, no false ones)."""
from __future__ import annotations

import numpy as np
import pytest
import supervision as sv

from datasets.scenes import iter_frames
from datasets.scenes.base import ground_truth
from datasets.scenes.render import build_plan
from training.recipe_scenario import CAMERA, scenario_config
from vigil.catalogue import PROFILE_CLASSES
from vigil.types import ModelInfo
from vision.analyzer import CameraAnalyzer
from vision.replay import frames_from_images, match_events, replay


class LabelOracle:
    """Scripted detector: the scene's own labels for each rendered image (the model's output, scripted)."""

    def __init__(self, profile: str):
        self.classes = PROFILE_CLASSES[profile]
        self.info = ModelInfo(name="oracle", version="0", profile=profile, classes=self.classes, path="",
                              sha256="0" * 64)
        self.labels: dict[int, list] = {}

    def detect(self, images):
        out = []
        for img in images:
            labels = [lb for lb in self.labels[id(img)] if lb.cls in self.classes]
            if not labels:
                out.append(sv.Detections.empty())
                out[-1].data["class_name"] = np.array([], dtype=str)
                continue
            out.append(sv.Detections(xyxy=np.array([lb.box for lb in labels], np.float32),
                                     confidence=np.full(len(labels), 0.9, np.float32),
                                     class_id=np.array([self.classes.index(lb.cls) for lb in labels]),
                                     data={"class_name": np.array([lb.cls for lb in labels])}))
        return out


@pytest.mark.slow
@pytest.mark.parametrize("profile, seed", [("site", 20001), ("site", 20002), ("site", 20005), ("lab", 20501),
                                           ("lab", 20502)])
def test_oracle_detector_recovers_ground_truth(profile, seed):
    duration, fps = 120.0, 2.0
    oracle = LabelOracle(profile)
    images = []

    def frames():
        for _, img, labels in iter_frames(profile, seed, duration, fps=fps):
            images.append(img)  # keep alive: ids stay unique
            oracle.labels[id(img)] = labels
            yield img

    loaded = scenario_config(profile)
    analyzer = CameraAnalyzer.from_config(loaded, CAMERA)
    summary = replay(analyzer, oracle, frames_from_images(CAMERA, frames(), fps=fps))
    expected = list(ground_truth(build_plan(profile, seed, duration, (640, 360), None).episodes, duration))
    found = summary.spans()
    tp, fp, miss = match_events(found, expected)
    assert expected, "a 2-minute scene has violations"
    assert (tp, fp, miss) == (len(expected), 0, 0), {"found": found, "expected": expected}
